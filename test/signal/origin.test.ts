/**
 * The origin check (origin.ts) against the real server: raw socket.io-client sending an `Origin` header
 * (as a browser would), no `Origin` (the CLI), a forged `Host` (DNS rebinding), `allowOrigin`; and headless
 * Chromium itself: a page from another origin opening the websocket is refused, the server's own page is
 * not (the browser sets `Origin`, a page cannot forge it).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { checkOrigin } from '../../src/signal/origin.js';
import { launchBrowser } from '../helpers/browser.js';
import { emitWithAck, SignalTestKit, type RawSocket } from '../helpers/signal-server.js';

const kit = new SignalTestKit();
afterEach(() => kit.closeAll());

function connectError(socket: RawSocket): Promise<Error> {
  return new Promise<Error>((resolve, reject) => {
    socket.once('connect', () => reject(new Error('connected, expected a refusal')));
    socket.once('connect_error', resolve);
    socket.connect();
  });
}

describe('origin check (pure)', () => {
  const req = (origin: string | undefined, host: string, secure = false) => ({
    headers: { ...(origin !== undefined ? { origin } : {}), host },
    secure,
  });
  it('allows no Origin, its own page, allowed origins; refuses others and rebound names on loopback', () => {
    expect(checkOrigin(req(undefined, 'cam:8080'), [], false)).toBeUndefined();
    expect(checkOrigin(req('http://cam:8080', 'cam:8080'), [], false)).toBeUndefined();
    expect(checkOrigin(req('https://cam:8443', 'cam:8443', true), [], false)).toBeUndefined();
    expect(checkOrigin(req('http://cam:8443', 'cam:8443', true), [], false)).toMatch(/^FORBIDDEN_ORIGIN/);
    expect(checkOrigin(req('https://evil.example', 'cam:8080'), [], false)).toMatch(
      /^FORBIDDEN_ORIGIN: pages from https:\/\/evil\.example may not use this server.*--allow-origin https:\/\/evil\.example$/,
    );
    expect(
      checkOrigin(req('https://evil.example', 'cam:8080'), ['https://evil.example'], false),
    ).toBeUndefined();
    expect(checkOrigin(req('https://evil.example', 'cam:8080'), '*', false)).toBeUndefined();
    // Loopback server: its own page is on a loopback name; a rebound name is not its own page.
    expect(checkOrigin(req('http://localhost:8080', 'localhost:8080'), [], true)).toBeUndefined();
    expect(checkOrigin(req('http://127.0.0.1:8080', '127.0.0.1:8080'), [], true)).toBeUndefined();
    expect(checkOrigin(req('http://[::1]:8080', '[::1]:8080'), [], true)).toBeUndefined();
    expect(checkOrigin(req('http://evil.example:8080', 'evil.example:8080'), [], true)).toMatch(
      /^FORBIDDEN_ORIGIN/,
    );
    expect(checkOrigin(req('x'.repeat(5000), 'cam'), [], false)!.length).toBeLessThan(400);
  });
});

describe('origin check (real server)', { timeout: 30_000 }, () => {
  it('admits clients without Origin and the own page; refuses another site, a rebound name; allowOrigin adds one', async () => {
    const server = await kit.server();
    const cli = await kit.socket(server.url);
    expect(await emitWithAck(cli, { type: 'join', room: 'r', role: 'caller' })).toMatchObject({ ok: true });
    const own = await kit.socket(server.url, {}, { extraHeaders: { origin: server.url } });
    expect(own.connected).toBe(true);
    const evil = await connectError(
      kit.rawSocket(server.url, {}, { extraHeaders: { origin: 'https://evil.example' } }),
    );
    expect(evil.message).toMatch(
      /^FORBIDDEN_ORIGIN: pages from https:\/\/evil\.example may not use this server/,
    );
    const rebound = await connectError(
      kit.rawSocket(
        server.url,
        {},
        {
          extraHeaders: { origin: `http://evil.example:${server.port}`, host: `evil.example:${server.port}` },
        },
      ),
    );
    expect(rebound.message).toMatch(/^FORBIDDEN_ORIGIN/);
    expect(server.stats().refused.origin).toBe(2);

    const open = await kit.server({ allowOrigin: ['https://evil.example'] });
    const allowed = await kit.socket(open.url, {}, { extraHeaders: { origin: 'https://evil.example' } });
    expect(allowed.connected).toBe(true);
  });
});

describe('origin check (Chromium)', { timeout: 60_000 }, () => {
  let browser: Browser;
  let other: Server;
  let otherUrl: string;
  beforeAll(async () => {
    browser = await launchBrowser();
    // Another site: a page on another port of 127.0.0.1 (another origin).
    other = createServer((_req, res) => res.end('<!doctype html><title>other</title>'));
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
    otherUrl = `http://127.0.0.1:${(other.address() as AddressInfo).port}/`;
  });
  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => other?.close(resolve));
  });

  /** Opens the Socket.IO websocket by hand from the page at `pageUrl`; what the namespace answered. */
  async function tryFrom(pageUrl: string, wsUrl: string): Promise<string> {
    const page = await browser.newPage();
    try {
      await page.goto(pageUrl);
      return await page.evaluate(
        (url) =>
          new Promise<string>((resolve) => {
            const ws = new WebSocket(url);
            ws.onmessage = (e) => {
              const text = String(e.data);
              if (text.startsWith('0'))
                ws.send('40'); // engine.io open: connect to the namespace
              else if (text.startsWith('40') || text.startsWith('44')) {
                resolve(text);
                ws.close();
              }
            };
            ws.onerror = () => resolve('websocket error');
          }),
        wsUrl,
      );
    } finally {
      await page.close();
    }
  }

  it('refuses a page from another origin; admits the server’s own page', async () => {
    const server = await kit.server();
    const ws = `ws://127.0.0.1:${server.port}/socket.io/?EIO=4&transport=websocket`;
    const refused = await tryFrom(otherUrl, ws);
    expect(refused).toMatch(/^44\{"message":"FORBIDDEN_ORIGIN: pages from http:\/\/127\.0\.0\.1:\d+ may not/);
    const admitted = await tryFrom(`http://127.0.0.1:${server.port}/healthz`, ws);
    expect(admitted).toMatch(/^40\{"sid":/);
    expect(server.stats().refused.origin).toBe(1);
  });
});
