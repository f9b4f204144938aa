/**
 * One camera, many viewers, as users run them: `rtc-peer signal`, one `rtc-peer call`, several
 * `rtc-peer answer --record` and a Chromium page watching the same camera at once, each a separate process
 * on loopback. Judged by the recordings decoded: the test pattern's frame ids read back from every file.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import {
  launchBrowser,
  openPage,
  readRemoteBarcode,
  waitForPage,
  type OpenedPage,
} from '../helpers/browser.js';
import { killAll, startCli, startSignalCli, type CliProcess } from '../helpers/cli.js';
import { inspectRecording } from '../helpers/media.js';

const NO_STUN = ['--stun', 'none'];
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

let dir: string;
let browser: Browser | undefined;
const pages: OpenedPage[] = [];
beforeAll(async () => {
  browser = await launchBrowser();
}, 30_000);
afterAll(async () => {
  await browser?.close();
});
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'rtc-peer-multi-'));
});
afterEach(async () => {
  await killAll();
  for (const { page } of pages.splice(0)) await page.context().close();
  rmSync(dir, { recursive: true, force: true });
});

/** `Date.now()` as the barcode carries it (modulo 2^32 ms). */
const stampOf = (ms: number): number => ms % 2 ** 32;

/**
 * The frame ids of a recording of the test pattern (each frame's barcode: the camera's frame id and clock),
 * checked to ascend, and the worst gap between consecutive ids among the frames the camera captured in
 * `window` (by its clock, `Date.now()` values).
 */
async function framesOf(
  file: string,
  window: { from: number; to: number },
): Promise<{ ids: number[]; distinct: number; worstGap: number }> {
  const rec = await inspectRecording(file);
  expect(rec.containerDurationSec, `${file}: finalized`).not.toBeNull();
  expect(rec.decodeErrors, file).toEqual([]);
  const codes = rec.barcodes.filter((b) => b !== null);
  expect(codes.length, `${file}: every frame carries its id`).toBeGreaterThan(rec.frames * 0.95);
  const ids = codes.map((b) => b.frameId);
  let worstGap = 0;
  const [from, to] = [stampOf(window.from), stampOf(window.to)];
  for (let i = 1; i < codes.length; i++) {
    // Ascending: nothing replayed, nothing from another camera (repeats are the recorder's constant rate).
    expect(ids[i], `${file}: ids ascend`).toBeGreaterThanOrEqual(ids[i - 1]!);
    const stamp = codes[i]!.timestampMs;
    if (stamp >= from && stamp <= to) worstGap = Math.max(worstGap, ids[i]! - ids[i - 1]!);
  }
  return { ids, distinct: new Set(ids).size, worstGap };
}

/** `rtc-peer answer --record FILE` in `room`. */
function viewer(url: string, room: string, file?: string, extra: string[] = []): CliProcess {
  return startCli([
    ...['answer', '--signal', url, '--room', room, '--once'],
    ...(file === undefined ? [] : ['--record', file]),
    ...NO_STUN,
    ...extra,
  ]);
}

describe('one rtc-peer call, many viewers', () => {
  test('three recording CLI viewers and a Chromium page, joining before and after the camera; one viewer SIGKILLed leaves no gap in the others', async () => {
    const { proc: signal, url } = await startSignalCli(['--max-viewers', '5']);
    const room = 'many';
    const files = [1, 2, 3].map((n) => path.join(dir, `viewer-${n}.webm`));
    // Viewer 1 waits for the camera: it is in the caller's join and gets an offer addressed to it.
    const v1 = viewer(url, room, files[0]);
    await v1.waitFor('waiting');
    const caller = startCli([
      'call',
      '--signal',
      url,
      '--room',
      room,
      '--size',
      '240x180',
      '--no-audio',
      ...NO_STUN,
    ]);
    await v1.waitFor('first-frame', 15_000);
    // The others come to a camera that is there: each takes the offer held for the next viewer.
    await caller.waitFor('offer-sent', 10_000, (e) => e.held === true);
    const v2 = viewer(url, room, files[1]);
    const v3 = viewer(url, room, files[2]);
    const victim = viewer(url, room);
    const watcher = await openPage(browser!, `${url}/?room=${room}`);
    pages.push(watcher);
    for (const v of [v2, v3, victim]) await v.waitFor('first-frame', 15_000);
    await waitForPage(watcher.page, 'play the camera', (s) => (s.stats?.inbound?.framesDecoded ?? 0) >= 15);
    const before = await readRemoteBarcode(watcher.page);
    // All five watch at once for a while; then one of them dies without a word.
    await sleep(2500);
    const killedAt = Date.now();
    await victim.kill('SIGKILL');
    const vanished = await caller.waitFor('call-ended', 10_000, (e) => e.reason === 'peer-vanished');
    await sleep(1500);
    const after = await readRemoteBarcode(watcher.page);
    // The camera hangs up: every viewer hears it, finalizes its file and exits 0.
    caller.child.kill('SIGINT');
    expect((await caller.exited).code).toBe(0);
    const ends = [];
    for (const v of [v1, v2, v3]) {
      const ended = await v.waitFor('call-ended', 10_000);
      ends.push({ received: ended.framesReceived, recording: ended.recording });
      expect(ended.reason).toBe('peer-hangup');
      expect((await v.exited).code).toBe(0);
    }
    signal.child.kill('SIGINT');
    expect((await signal.exited).code).toBe(0);

    // The caller served each viewer on a call of its own, told apart by their ids.
    const calls = caller.events.filter((e) => e.event === 'call');
    expect(calls).toHaveLength(5);
    expect(new Set(calls.map((e) => e.remote)).size).toBe(5);
    expect(calls.map((e) => e.remote)).toContain(vanished.remote);
    // The page kept playing through the viewer's death: later frames, the same camera.
    expect(before).not.toBeNull();
    expect(after?.frameId ?? 0).toBeGreaterThan((before?.frameId ?? 0) + 30);

    // Each file holds the camera's frames from the viewer's first to the hang-up, in order, nearly all of
    // those the camera sent it (the caller's figure for that viewer: libwebrtc's encoder drops frames
    // when the CPU is short, before they are sent), and no gap where the victim died.
    const window = { from: killedAt - 1000, to: killedAt + 3000 };
    const recorded = await Promise.all(files.map((file) => framesOf(file, window)));
    const lastId = Math.max(...recorded.map((f) => f.ids.at(-1) ?? 0));
    for (const [i, f] of recorded.entries()) {
      const id = [v1, v2, v3][i]!.events.find((e) => e.event === 'joined')?.id;
      const served = caller.events.find((e) => e.event === 'call-ended' && e.remote === id);
      const sent = Number(served?.framesSent ?? 0);
      expect(sent, `the caller's call with viewer ${i + 1}`).toBeGreaterThan(4 * 20);
      expect(
        f.distinct / sent,
        `viewer ${i + 1}: ${f.distinct} of ${sent} frames sent; it says: ${JSON.stringify(ends[i])}`,
      ).toBeGreaterThanOrEqual(0.9);
      const facts = `viewer ${i + 1}: ${JSON.stringify({ ...f, ids: undefined, first: f.ids[0], last: f.ids.at(-1) })}`;
      expect(f.worstGap, facts).toBeLessThan(10);
      // To the end of the call: every file ends with the camera's last frames (a few in flight at the hang-up).
      expect(lastId - (f.ids.at(-1) ?? 0), facts).toBeLessThan(30);
      // For the seconds it watched; viewer 1, there before the camera, from before the others.
      expect(f.ids.at(-1)! - f.ids[0]!, facts).toBeGreaterThan(4 * 30);
      if (i > 0) expect(f.ids[0]!, facts).toBeGreaterThan(recorded[0]!.ids[0]!);
    }
    expect(readdirSync(dir).sort()).toEqual(['viewer-1.webm', 'viewer-2.webm', 'viewer-3.webm']);
  }, 60_000);

  test('ROOM_FULL beyond --max-viewers, and rooms isolated: each viewer sees the camera of its own room only', async () => {
    const { url } = await startSignalCli(['--max-viewers', '2']);
    // Two rooms, two cameras told apart by their sizes, two viewers each.
    const cameras = {
      a: startCli(['call', '--signal', url, '--room', 'a', '--size', '320x240', '--no-audio', ...NO_STUN]),
      b: startCli(['call', '--signal', url, '--room', 'b', '--size', '160x120', '--no-audio', ...NO_STUN]),
    };
    const viewers = {
      a: [viewer(url, 'a'), viewer(url, 'a')],
      b: [viewer(url, 'b'), viewer(url, 'b')],
    };
    const sizes = { a: [320, 240], b: [160, 120] };
    const remoteOf = (v: CliProcess): unknown => v.events.find((e) => e.event === 'call')?.remote;
    for (const room of ['a', 'b'] as const) {
      for (const v of viewers[room]) {
        const first = await v.waitFor('first-frame', 15_000);
        expect([first.width, first.height]).toEqual(sizes[room]);
      }
      // Each camera's calls are with its own room's viewers, who see the same caller.
      await cameras[room].waitFor(
        'connected',
        5_000,
        () => cameras[room].events.filter((e) => e.event === 'connected').length === 2,
      );
      expect(cameras[room].events.filter((e) => e.event === 'call')).toHaveLength(2);
      expect(remoteOf(viewers[room][0]!)).toBeDefined();
      expect(remoteOf(viewers[room][1]!)).toBe(remoteOf(viewers[room][0]!));
    }
    expect(remoteOf(viewers.a[0]!)).not.toBe(remoteOf(viewers.b[0]!));
    // A third viewer in room a is refused, with the limit named, and nothing changes for the others.
    const third = viewer(url, 'a');
    expect((await third.exited).code).toBe(3);
    expect(third.stderr()).toMatch(/ROOM_FULL/);
    expect(third.stderr()).toMatch(/2/);
    await sleep(500);
    for (const v of [...viewers.a, ...viewers.b])
      expect(v.events.some((e) => e.event === 'call-ended')).toBe(false);
    for (const c of [cameras.a, cameras.b]) {
      c.child.kill('SIGINT');
      expect((await c.exited).code).toBe(0);
    }
    for (const v of [...viewers.a, ...viewers.b]) {
      expect((await v.waitFor('call-ended', 10_000)).reason).toBe('peer-hangup');
      expect((await v.exited).code).toBe(0);
    }
  }, 50_000);
  test('call --once serves one viewer: a second is not served, and both sides say so; it exits 0 when the caller ends', async () => {
    const { url } = await startSignalCli();
    const camera = startCli(['call', '--signal', url, '--room', 'one', '--once', '--no-audio', ...NO_STUN]);
    await camera.waitFor('waiting');
    const first = viewer(url, 'one');
    await first.waitFor('first-frame', 15_000);
    // The second viewer joins while the camera serves the first: no call for it.
    const second = startCli(['answer', '--signal', url, '--room', 'one', ...NO_STUN]);
    const turnedAway = await camera.waitFor('warning', 10_000, (e) => e.kind === 'viewer-not-served');
    const waiting = await second.waitFor('warning', 10_000, (e) => e.kind === 'no-offer');
    expect(turnedAway.viewer).toBe(second.events.find((e) => e.event === 'joined')?.id);
    expect(waiting.caller).toBe(first.events.find((e) => e.event === 'call')?.remote);
    expect(String(waiting.message)).toMatch(/--once/);
    expect(second.events.some((e) => e.event === 'call')).toBe(false);
    expect(camera.events.filter((e) => e.event === 'call')).toHaveLength(1);
    // The first viewer's call went on meanwhile; the camera's end ends it, and every process exits 0.
    expect(first.events.some((e) => e.event === 'call-ended')).toBe(false);
    camera.child.kill('SIGINT');
    expect((await camera.exited).code).toBe(0);
    expect((await first.exited).code).toBe(0);
    second.child.kill('SIGINT');
    expect((await second.exited).code).toBe(0);
  }, 40_000);
});
