/**
 * WHIP/WHEP sessions under the server's limits (server-guard.ts), over real HTTP from real client addresses
 * (127.0.0.2 beside 127.0.0.1): a session's room connection is a loopback connection of the server to
 * itself, yet it is charged to the HTTP client's address (connections, rooms, held bytes); a page of another
 * origin is refused as on the websocket; wrong Bearer tokens share the websocket's back-off.
 */
import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import type { SignalServer, SignalServerOptions } from '../../../src/signal/server.js';
import { SignalTestKit, waitFor } from '../../helpers/signal-server.js';
import { FAKE_OFFER } from './fake-sdp.js';

const OFFER = FAKE_OFFER;

const kit = new SignalTestKit();
afterEach(() => kit.closeAll());

/** A server whose sessions give up waiting for a room peer after 800 ms (503): no viewer is needed here. */
function server(options: SignalServerOptions = {}): Promise<SignalServer> {
  return kit.server({ whip: { answerTimeoutMs: 800, candidateWaitMs: 100 }, ...options });
}

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/** A POST of an SDP offer from `from` (a local address), as a WHIP client on that machine sends it. */
function post(url: string, from: string, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        localAddress: from,
        headers: { 'content-type': 'application/sdp', ...headers },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
      },
    );
    req.on('error', reject);
    req.end(OFFER);
  });
}

describe('WHIP/WHEP sessions under the limits', { timeout: 20_000 }, () => {
  it("charges a session's connection to the HTTP client's address, not the bridge's loopback", async () => {
    const s = await server({ limits: { connectionsPerAddress: 2 } });
    // 127.0.0.1 at its limit.
    await kit.socket(s.url);
    await kit.socket(s.url);
    // A session from 127.0.0.2 gets in (its bridge joins the room, then nobody answers: 503 after 800 ms).
    const other = post(`${s.url}/whip/lab`, '127.0.0.2');
    await waitFor('the bridge of 127.0.0.2 connected', () => (s.stats().clients === 3 ? true : undefined));
    const otherReply = await other;
    expect(otherReply.status).toBe(503);
    expect(otherReply.text).toMatch(/nobody|no viewer|answer/i);
    // A session from 127.0.0.1 counts against 127.0.0.1, which is at its limit: 429 at once.
    const local = await post(`${s.url}/whip/lab2`, '127.0.0.1');
    expect(local.status).toBe(429);
    expect(local.headers['retry-after']).toBe('5');
    expect(local.text).toMatch(/TOO_MANY_CONNECTIONS: 2 connections from 127\.0\.0\.1/);
    expect(s.stats().refused.connections).toBe(1);
  });

  it("counts a session's room and held offer against its client's address", async () => {
    const s = await server({ limits: { roomsPerAddress: 1, heldBytesPerAddress: 4096 } });
    // 127.0.0.2's publisher holds its offer in room a, waiting for a viewer.
    const first = post(`${s.url}/whip/a`, '127.0.0.2');
    await waitFor('room a held', () => (s.stats().heldBytes > 0 ? true : undefined));
    expect(s.stats().heldBytes).toBe(Buffer.byteLength(OFFER));
    // A second room from 127.0.0.2: over its rooms.
    const second = await post(`${s.url}/whip/b`, '127.0.0.2');
    expect(second.status).toBe(429);
    expect(second.text).toMatch(/TOO_MANY_ROOMS\): 127\.0\.0\.2 has created 1 rooms/);
    // 127.0.0.1 has created none: its session in room c gets in (and waits in vain: 503).
    const third = await post(`${s.url}/whip/c`, '127.0.0.1');
    expect(third.status).toBe(503);
    expect((await first).status).toBe(503);
    // The sessions gave up: their rooms and held bytes are freed.
    await waitFor('freed', () => (s.stats().heldBytes === 0 && s.stats().rooms === 0 ? true : undefined));
    expect(s.stats().refused.rooms).toBe(1);
  });

  it('refuses an offer over the held-bytes budget of its client (429 OVER_BUDGET)', async () => {
    const s = await server({ limits: { heldBytesPerAddress: 100 } });
    const reply = await post(`${s.url}/whip/a`, '127.0.0.2');
    expect(reply.status).toBe(429);
    expect(reply.text).toMatch(/OVER_BUDGET\): .* for 127\.0\.0\.2 \(limit 100\)/);
    expect(s.stats().refused.heldBytes).toBe(1);
  });

  it("refuses a page of another origin (403), admits the server's own page and allowed origins", async () => {
    const s = await server({ allowOrigin: ['https://ok.example'] });
    const evil = await post(`${s.url}/whip/a`, '127.0.0.1', { origin: 'https://evil.example' });
    expect(evil.status).toBe(403);
    expect(evil.text).toMatch(
      /^FORBIDDEN_ORIGIN: pages from https:\/\/evil\.example may not use this server/,
    );
    expect(s.stats().refused.origin).toBe(1);
    // The server's own page and an allowed origin get in (then wait in vain for a viewer: 503).
    const own = await post(`${s.url}/whip/a`, '127.0.0.1', { origin: s.url });
    expect(own.status).toBe(503);
    const ok = await post(`${s.url}/whip/b`, '127.0.0.1', { origin: 'https://ok.example' });
    expect(ok.status).toBe(503);
    expect(ok.headers['access-control-allow-origin']).toBe('https://ok.example');
  });

  it('makes an address that keeps presenting wrong Bearer tokens wait, on HTTP and websocket alike', async () => {
    const s = await server({ token: 'right', limits: { authFailures: 2, authBackoffMs: 1500 } });
    const wrong = { authorization: 'Bearer wrong' };
    // Two wrong tokens are allowed for, the third starts the wait.
    for (let i = 0; i < 3; i++) expect((await post(`${s.url}/whip/a`, '127.0.0.2', wrong)).status).toBe(401);
    // Now even the right token waits, with a Retry-After.
    const waiting = await post(`${s.url}/whip/a`, '127.0.0.2', { authorization: 'Bearer right' });
    expect(waiting.status).toBe(429);
    expect(waiting.headers['retry-after']).toBe('2');
    expect(waiting.text).toMatch(/too many wrong tokens from 127\.0\.0\.2/);
    // The websocket door shares the wait.
    const socket = kit.rawSocket(s.url, { token: 'right' }, { localAddress: '127.0.0.2' } as object);
    const refused = new Promise<Error>((resolve) => socket.once('connect_error', resolve));
    socket.connect();
    expect((await refused).message).toMatch(/too many wrong tokens from 127\.0\.0\.2/);
    // Another address is not concerned.
    expect((await post(`${s.url}/whip/a`, '127.0.0.1', { authorization: 'Bearer right' })).status).toBe(503);
    expect(s.stats().refused.auth).toBeGreaterThanOrEqual(3);
  });
});
