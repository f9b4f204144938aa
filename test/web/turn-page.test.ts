/**
 * The browser page uses the TURN server the signaling server hands out in its join ack: a page has no other
 * source of TURN credentials (its URL may not name ICE servers, params.ts), so an allocation that coturn
 * (`--use-auth-secret`) accepts for a TURN REST username while the caller page prepares its offer is the
 * page's, with the ack's credentials. The held offer's relay candidate, at coturn's relay address, says the
 * same from the page's side.
 */
import type { Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startSignalServer, type SignalServer } from '../../src/signal/index.js';
import { webPageHandler } from '../../src/web/index.js';
import { launchBrowser, openPage, waitForPage, type OpenedPage } from '../helpers/browser.js';
import { SignalTestKit, waitEvent, waitFor } from '../helpers/signal-server.js';
import { startTurnServer, waitForTurnLog, type TurnServer } from '../helpers/turn-server.js';

describe('the page with server-given TURN', () => {
  let browser: Browser;
  let server: SignalServer | undefined;
  let turn: TurnServer | undefined;
  const pages: OpenedPage[] = [];
  const kit = new SignalTestKit();

  beforeAll(async () => {
    browser = await launchBrowser();
  }, 30_000);
  afterAll(async () => {
    await browser?.close();
  });
  afterEach(async () => {
    for (const { page } of pages.splice(0)) await page.context().close();
    await kit.closeAll();
    await server?.close();
    server = undefined;
    await turn?.stop();
    turn = undefined;
  });

  it("the caller page gathers a relay candidate through the join ack's TURN server", async () => {
    turn = await startTurnServer({ useAuthSecret: true });
    server = await startSignalServer({
      host: '127.0.0.1',
      port: 0,
      httpHandler: webPageHandler(),
      turn: { urls: [turn.url], secret: turn.secret ?? '', ttlSeconds: 300 },
    });
    const opened = await openPage(browser, `${server.url}/?room=tp&role=call&size=320x240&fps=15`);
    pages.push(opened);
    await waitForPage(opened.page, 'wait for a viewer', (s) => s.state === 'waiting', 20_000);
    // coturn's side: an allocation for a TURN REST username, <expiry>:<label>, 300 s after the join.
    const log = await waitForTurnLog(turn, "the page's allocation", (l) => l.allocated.length >= 1);
    expect(log.noCredentials).toEqual([]);
    expect(log.badCredentials).toBe(0);
    const users = [
      ...turn.log().matchAll(/user <([^>]*)>: incoming packet ALLOCATE processed, success/g),
    ].map((m) => m[1] ?? '');
    expect(users.length).toBeGreaterThanOrEqual(1);
    for (const user of users) {
      expect(user).toMatch(/^\d+:[A-Za-z0-9_-]+$/);
      const expiresIn = Number(user.split(':')[0]) - Date.now() / 1000;
      expect(expiresIn).toBeGreaterThan(240);
      expect(expiresIn).toBeLessThanOrEqual(301);
    }
    // The page's side: a viewer that joins takes the held offer; its candidates include a relay one at
    // coturn's address (the page trickles them after the offer).
    const viewer = kit.signaling({ url: server.url, role: 'answerer', room: 'tp' });
    await viewer.s.connect();
    const [offer] = await waitEvent(viewer.events, 'offer', 1, 10_000);
    const host = new URL(turn.url.replace(/^turn:/, 'turn://')).hostname;
    const relay = await waitFor(
      'a relay candidate among the offer and its candidates',
      () =>
        [
          ...(offer?.sdp.split('\r\n') ?? []),
          ...viewer.events.flatMap((e) => (e.type === 'candidate' ? [e.candidate.candidate] : [])),
        ].find((line) => / typ relay/.test(line)),
      10_000,
    );
    expect(relay).toContain(` ${host} `);
    expect(opened.errors).toEqual([]);
  }, 60_000);
});
