/**
 * The page against itself: one Chromium page calls with the fake camera, another watches. Checks the page's
 * protocol flow, its stats and its hang-up, independently of the Node peer.
 */
import type { Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startSignalServer, type SignalServer } from '../../src/signal/index.js';
import { signRoomToken } from '../../src/signal/room-token.js';
import { webPageHandler } from '../../src/web/index.js';
import {
  chromiumCounters,
  launchBrowser,
  openPage,
  pageState,
  remoteVideo,
  waitForPage,
  type OpenedPage,
  type PageState,
} from '../helpers/browser.js';

describe('page <-> page in Chromium', () => {
  let browser: Browser;
  let server: SignalServer | undefined;
  const pages: OpenedPage[] = [];

  beforeAll(async () => {
    browser = await launchBrowser();
  }, 30_000);
  afterAll(async () => {
    await browser?.close();
  });
  afterEach(async () => {
    for (const { page } of pages.splice(0)) await page.context().close();
    await server?.close();
    server = undefined;
  });

  async function open(url: string): Promise<OpenedPage> {
    const opened = await openPage(browser, url);
    pages.push(opened);
    return opened;
  }

  it('the caller page sends its fake camera, the answerer page shows it with live stats; bye ends it', async () => {
    server = await startSignalServer({
      host: '127.0.0.1',
      port: 0,
      token: 's3cret',
      httpHandler: webPageHandler(),
    });
    const caller = await open(`${server.url}/?room=pair&role=call&token=s3cret&size=320x240&fps=15`);
    // The offer is held by the server until the answerer page joins.
    await waitForPage(caller.page, 'wait for an answerer', (s) => s.state === 'waiting');
    const watcher = await open(`${server.url}/?room=pair&token=s3cret`);

    const rx = await waitForPage(
      watcher.page,
      'receive and decode video',
      (s) => s.state === 'connected' && (s.stats?.inbound?.framesDecoded ?? 0) > 10,
    );
    expect(rx.role).toBe('answerer');
    expect(rx.stats?.inbound).toMatchObject({ width: 320, height: 240 });
    const video = await remoteVideo(watcher.page);
    expect(video).toMatchObject({ width: 320, height: 240, paused: false });
    const before = await chromiumCounters(watcher.page);
    const later = await waitForPage(
      watcher.page,
      'keep decoding',
      (s) => (s.stats?.inbound?.framesDecoded ?? 0) >= (rx.stats?.inbound?.framesDecoded ?? 0) + 20,
    );
    const after = await chromiumCounters(watcher.page);
    // The page's figures against Chromium's own counters over the same stretch: its bit rate is the rate
    // of bytesReceived (within a factor of 2: the page's is over its last one-second sample, this over
    // ~1.5 s; a wrong unit is a factor of 8 or 1000), and its round-trip time that of the selected pair,
    // a few ms on loopback.
    const kbps = ((after.bytesReceived - before.bytesReceived) * 8) / (after.at - before.at);
    expect(kbps).toBeGreaterThan(20);
    expect(later.stats?.inbound?.kbps).toBeGreaterThan(kbps / 2);
    expect(later.stats?.inbound?.kbps).toBeLessThan(kbps * 2);
    expect(after.rttMs).not.toBeNull();
    expect(after.rttMs).toBeLessThan(50);
    expect(typeof later.stats?.rttMs).toBe('number');
    expect(later.stats?.rttMs).toBeLessThan(50);
    expect(Math.abs((later.stats?.rttMs ?? -1) - (after.rttMs ?? -1))).toBeLessThan(20);
    expect((await remoteVideo(watcher.page)).totalFrames).toBeGreaterThan(video.totalFrames);

    const tx = await waitForPage(
      caller.page,
      'report what it sends',
      (s) => (s.stats?.outbound?.framesSent ?? 0) > 10,
    );
    expect(tx.state).toBe('connected');
    expect(tx.stats?.outbound?.width).toBe(320);
    expect(await caller.page.textContent('#in-resolution')).toBe('-');
    expect(await watcher.page.textContent('#in-resolution')).toBe('320x240');
    expect(await watcher.page.textContent('#in-bitrate')).toMatch(/^\d+ kbit\/s$/);

    // Hang up on the caller: the answerer hears `bye` and waits for the next caller.
    await caller.page.click('#hangup');
    await waitForPage(watcher.page, 'end the call on bye', (s) => s.state === 'waiting' && s.calls === 1);
    expect((await waitForPage(caller.page, 'close', (s) => s.state === 'closed')).calls).toBe(1);
    expect(caller.errors).toEqual([]);
    expect(watcher.errors).toEqual([]);
  }, 40_000);

  it('the data channel both ways: typed text and arrow keys on the video reach the other page', async () => {
    server = await startSignalServer({ host: '127.0.0.1', port: 0, httpHandler: webPageHandler() });
    const caller = await open(`${server.url}/?room=data&role=call&size=320x240&fps=15`);
    const watcher = await open(`${server.url}/?room=data`);
    await waitForPage(watcher.page, 'connect', (s) => s.state === 'connected');
    await watcher.page.waitForSelector('#data-input:not([disabled])');
    await caller.page.waitForSelector('#data-input:not([disabled])');
    await watcher.page.fill('#data-input', 'hello camera');
    await watcher.page.press('#data-input', 'Enter');
    await watcher.page.focus('#remote');
    await watcher.page.keyboard.press('ArrowUp');
    await watcher.page.keyboard.press('ArrowLeft');
    await caller.page.fill('#data-input', 'hello viewer');
    await caller.page.click('#data-send');
    /** The messages a page received, once there are `n` (or after 10 s, for the assertion to say what came). */
    const received = async (
      page: typeof caller.page,
      n: number,
    ): Promise<{ text: string; from?: string }[]> => {
      const deadline = performance.now() + 10_000;
      for (;;) {
        const all = await page.evaluate(
          () =>
            (window as unknown as { rtcPeer: { data: { direction: string; text: string }[] } }).rtcPeer.data,
        );
        const got = all.filter((m) => m.direction === '<');
        if (got.length >= n || performance.now() > deadline) return got;
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    const atCaller = await received(caller.page, 3);
    expect(atCaller.map((m) => m.text)).toEqual(['hello camera', '{"key":"ArrowUp"}', '{"key":"ArrowLeft"}']);
    // The camera knows whose messages they are.
    expect(atCaller[0]?.from).toMatch(/^[A-Za-z0-9_-]{16}$/);
    expect((await received(watcher.page, 1)).map((m) => m.text)).toEqual(['hello viewer']);
    expect(caller.errors).toEqual([]);
    expect(watcher.errors).toEqual([]);
  }, 40_000);

  it('a call survives a signaling server restart: both pages rejoin, the media never stops, bye still arrives', async () => {
    const first = await startSignalServer({ host: '127.0.0.1', port: 0, httpHandler: webPageHandler() });
    server = first;
    const caller = await open(`${first.url}/?room=restart&role=call&size=320x240&fps=15`);
    const watcher = await open(`${first.url}/?room=restart`);
    const before = await waitForPage(
      watcher.page,
      'receive video',
      (s) => s.state === 'connected' && (s.stats?.inbound?.framesDecoded ?? 0) > 5,
    );

    await first.close();
    server = undefined;
    await waitForPage(watcher.page, 'notice the lost server', (s) =>
      s.log.some((l) => l.includes('signaling lost')),
    );
    const during = await waitForPage(
      watcher.page,
      'keep decoding without a server',
      (s) => (s.stats?.inbound?.framesDecoded ?? 0) > (before.stats?.inbound?.framesDecoded ?? 0) + 15,
    );
    expect(during.state).toBe('connected');

    // A restarted server knows no rooms: both pages join again, and neither starts a new call.
    server = await startSignalServer({ host: '127.0.0.1', port: first.port, httpHandler: webPageHandler() });
    const rejoined = (s: PageState): boolean => s.log.some((l) => l.includes('rejoined room restart'));
    await waitForPage(caller.page, 'rejoin', rejoined);
    const after = await waitForPage(watcher.page, 'rejoin', rejoined);
    expect(after).toMatchObject({ state: 'connected', calls: 1 });
    expect((await pageState(caller.page)).calls).toBe(1);

    await caller.page.click('#hangup');
    await waitForPage(watcher.page, 'end the call on bye', (s) => s.state === 'waiting');
    // The browser itself logs the polls that hit the stopped server; nothing else may go wrong.
    const unexpected = (errors: string[]): string[] =>
      errors.filter((e) => !e.includes('ERR_CONNECTION_REFUSED'));
    expect(unexpected(caller.errors)).toEqual([]);
    expect(unexpected(watcher.errors)).toEqual([]);
  }, 40_000);

  it('a caller page re-sends its unanswered offer to a restarted server, and the answerer gets it', async () => {
    const first = await startSignalServer({ host: '127.0.0.1', port: 0, httpHandler: webPageHandler() });
    server = first;
    const caller = await open(`${first.url}/?room=held&role=call&size=320x240&fps=15`);
    await waitForPage(caller.page, 'wait for an answerer', (s) => s.state === 'waiting');
    await first.close();
    server = await startSignalServer({ host: '127.0.0.1', port: first.port, httpHandler: webPageHandler() });
    await waitForPage(caller.page, 're-send its offer', (s) =>
      s.log.some((l) => l.includes('re-sent the held offer')),
    );

    const watcher = await open(`${server.url}/?room=held`);
    await waitForPage(watcher.page, 'receive video', (s) => (s.stats?.inbound?.framesDecoded ?? 0) > 5);
    // The same offer, not a new call.
    expect((await pageState(caller.page)).calls).toBe(1);
    expect((await pageState(caller.page)).state).toBe('connected');
  }, 30_000);

  it('shows a refused join instead of hanging (wrong token, room full, role taken)', async () => {
    server = await startSignalServer({
      host: '127.0.0.1',
      port: 0,
      token: 'right',
      maxViewers: 1,
      httpHandler: webPageHandler(),
    });
    const wrong = await open(`${server.url}/?room=r&token=wrong`);
    await waitForPage(wrong.page, 'show the refusal', (s) => s.state === 'error');
    expect(await wrong.page.textContent('#status')).toContain('UNAUTHORIZED');

    // The token in the fragment works too, and leaves the address bar.
    const first = await open(`${server.url}/?room=r#token=right`);
    await waitForPage(first.page, 'wait for a caller', (s) => s.state === 'waiting');
    expect(first.page.url()).not.toContain('token');
    // Several viewers may watch one camera, up to the server's --max-viewers (1 here).
    const second = await open(`${server.url}/?room=r&token=right`);
    await waitForPage(second.page, 'show the refusal', (s) => s.state === 'error');
    expect(await second.page.textContent('#status')).toContain('ROOM_FULL');
    const camera = await open(`${server.url}/?room=r&role=call&token=right&size=320x240`);
    await waitForPage(
      camera.page,
      'wait for a viewer',
      (s) => s.state === 'waiting' || s.state === 'connected',
    );
    const another = await open(`${server.url}/?room=r&role=call&token=right&size=320x240`);
    await waitForPage(another.page, 'show the refusal', (s) => s.state === 'error');
    expect(await another.page.textContent('#status')).toContain('ROLE_TAKEN');
  }, 30_000);

  it('room tokens in the fragment: a camera page and a viewer page admitted for their room and role only', async () => {
    const secret = 'p'.repeat(40);
    server = await startSignalServer({
      host: '127.0.0.1',
      port: 0,
      tokenSecret: secret,
      httpHandler: webPageHandler(),
    });
    const token = (room: string, role: 'caller' | 'answerer', key = secret): Promise<string> =>
      signRoomToken(key, { room, role, ttlSeconds: 60 });
    const camera = await open(
      `${server.url}/?room=lab&role=call&size=320x240#token=${await token('lab', 'caller')}`,
    );
    await waitForPage(camera.page, 'wait for a viewer', (s) => s.state === 'waiting');
    expect(camera.page.url()).not.toContain('token');
    // Refusals the page shows: the caller's token used to watch, another room's, another secret's.
    const wrongRole = await open(`${server.url}/?room=lab#token=${await token('lab', 'caller')}`);
    await waitForPage(wrongRole.page, 'show the refusal', (s) => s.state === 'error');
    expect(await wrongRole.page.textContent('#status')).toContain('TOKEN_WRONG_ROLE');
    const wrongRoom = await open(`${server.url}/?room=lab#token=${await token('other', 'answerer')}`);
    await waitForPage(wrongRoom.page, 'show the refusal', (s) => s.state === 'error');
    expect(await wrongRoom.page.textContent('#status')).toContain('TOKEN_WRONG_ROOM');
    const forged = await open(
      `${server.url}/?room=lab#token=${await token('lab', 'answerer', 'f'.repeat(40))}`,
    );
    await waitForPage(forged.page, 'show the refusal', (s) => s.state === 'error');
    expect(await forged.page.textContent('#status')).toContain('TOKEN_INVALID');
    // The viewer's own token: admitted, and the camera's video plays.
    const viewer = await open(`${server.url}/?room=lab#token=${await token('lab', 'answerer')}`);
    await waitForPage(
      viewer.page,
      'receive and decode video',
      (s) => s.state === 'connected' && (s.stats?.inbound?.framesDecoded ?? 0) > 10,
    );
    expect(server.stats().refused.auth).toBe(3);
  }, 30_000);
});
