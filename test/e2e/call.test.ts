/**
 * The three commands as users run them: `rtc-peer signal`, `rtc-peer answer --record`, `rtc-peer call`, each a
 * separate process on loopback, and the recording decoded and checked.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { killAll, startCli, startSignalCli, type CliEvent } from '../helpers/cli.js';
import { inspectRecording, sentSpanSec } from '../helpers/media.js';

/** No STUN: loopback only, and nothing waits on an unreachable server. */
const NO_STUN = ['--stun', 'none'];

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'rtc-peer-e2e-'));
});
afterEach(async () => {
  await killAll();
  rmSync(dir, { recursive: true, force: true });
});

/** `Date.now()` as the barcode carries it (modulo 2^32 ms). */
const stampOf = (ms: number): number => ms % 2 ** 32;
/** Milliseconds from barcode stamp `a` to `b` (they wrap every 49 days). */
const stampDiff = (a: number, b: number): number => (((b - a) % 2 ** 32) + 2 ** 32) % 2 ** 32;

/**
 * Checks a recording of a test-pattern call against what was sent, as the pictures say: each frame's barcode
 * holds the sender's frame id and its clock when it captured the frame (one machine, one clock). Not against
 * the peers' counters.
 */
async function expectPatternRecording(
  file: string,
  expected: {
    durationSec: number;
    /** `Date.now()` before the sender started and after the call ended: every frame was sent in between. */
    sentBetween: { from: number; to: number };
    /** The recording side's call-ended event: its reported frame count must agree with the file. */
    receiver?: CliEvent;
    width?: number;
    height?: number;
  },
): Promise<void> {
  const rec = await inspectRecording(file);
  // Finalized: the container states its duration, and the file decodes without errors.
  expect(rec.containerDurationSec).not.toBeNull();
  expect(rec.decodeErrors).toEqual([]);
  expect(rec.codec).toBe('vp8');
  expect(rec.width).toBe(expected.width ?? 640);
  expect(rec.height).toBe(expected.height ?? 480);
  // The file plays as long as its frames were being sent, by the sender's clock stamped into them (so the
  // time the answerer took to hear the bye is not in it), and that is about the call: the first frame comes
  // a moment after connecting, --duration counts from connecting.
  expect(Math.abs(rec.decodedDurationSec - sentSpanSec(rec))).toBeLessThan(0.25);
  expect(sentSpanSec(rec)).toBeGreaterThan(expected.durationSec - 0.6);
  expect(sentSpanSec(rec)).toBeLessThan(expected.durationSec * 1.1);
  const ids = rec.barcodes.filter((b) => b !== null).map((b) => b.frameId);
  // Every decoded frame carries a readable id, and the ids never go back: nothing replayed or reordered.
  // The recorder's timeline is constant-rate (30 fps): a slot with no new frame repeats the previous one.
  expect(ids.length).toBeGreaterThan(rec.frames * 0.95);
  for (let i = 1; i < ids.length; i++) expect(ids[i]).toBeGreaterThanOrEqual(ids[i - 1] ?? -1);
  // The timeline is 30 fps of wall clock.
  expect(Math.abs(rec.frames - rec.decodedDurationSec * 30)).toBeLessThanOrEqual(2);
  const codes = rec.barcodes.filter((b) => b !== null);
  const first = codes[0]!;
  const last = codes.at(-1)!;
  // Sent during this call (nothing stale, nothing invented): every stamp lies in the test's own window.
  const { from, to } = expected.sentBetween;
  for (const c of codes) expect(stampDiff(stampOf(from), c.timestampMs)).toBeLessThanOrEqual(to - from);
  // What was sent in the recorded span: the ids from the first to the last one, sent at 30 fps by the
  // sender's clock (stamped in the pictures) over about the call's duration.
  const sentSpan = last.frameId - first.frameId + 1;
  const sentSec = stampDiff(first.timestampMs, last.timestampMs) / 1000;
  expect(sentSpan / sentSec).toBeGreaterThan(30 * 0.9);
  expect(sentSpan / sentSec).toBeLessThan(30 * 1.1);
  // Most of what was sent was recorded; the margin is for the receiver's decoder, which skips frames when
  // two cores are shared by several calls at once in the test suite.
  const distinct = new Set(ids).size;
  expect(distinct / sentSpan).toBeGreaterThan(0.75);
  // The file's timeline follows the sender's clock: each frame is where its stamp says, give or take the
  // network's and decoders' jitter.
  const ptsIndex = rec.barcodes.map((b, i) => (b === null ? -1 : i)).filter((i) => i >= 0);
  let worst = 0;
  for (const i of ptsIndex) {
    const b = rec.barcodes[i]!;
    const byStamp = stampDiff(first.timestampMs, b.timestampMs) / 1000;
    worst = Math.max(worst, Math.abs((rec.ptsSec[i] ?? 0) - (rec.ptsSec[ptsIndex[0]!] ?? 0) - byStamp));
  }
  expect(worst).toBeLessThan(0.5);
  if (expected.receiver) {
    // The figure the recording side reports agrees with the file (the recorder keeps what it is given, and
    // drops, counted, only when ffmpeg falls behind).
    expect(distinct).toBeGreaterThan(Number(expected.receiver.framesReceived) * 0.9);
  }
}

describe('rtc-peer signal + answer --record + call', () => {
  test('caller first, as in the walk-through: the held offer reaches the answerer; all exit 0', async () => {
    const { proc: signal, url } = await startSignalCli();
    const file = path.join(dir, 'caller-first.webm');
    const from = Date.now();
    const caller = startCli([
      'call',
      '--signal',
      url,
      '--room',
      'a',
      '--duration',
      '4',
      '--once',
      ...NO_STUN,
    ]);
    await caller.waitFor('offer-sent');
    const answerer = startCli([
      'answer',
      '--signal',
      url,
      '--room',
      'a',
      '--record',
      file,
      '--once',
      ...NO_STUN,
    ]);
    const joined = await answerer.waitFor('joined');
    expect(joined.peerPresent).toBe(true);
    await answerer.waitFor('first-frame', 10_000);
    const callerEnd = await caller.waitFor('call-ended', 15_000);
    const answererEnd = await answerer.waitFor('call-ended', 15_000);
    expect(callerEnd.reason).toBe('hangup');
    expect(answererEnd.reason).toBe('peer-hangup');
    expect((await caller.exited).code).toBe(0);
    expect((await answerer.exited).code).toBe(0);
    const sentBetween = { from, to: Date.now() };
    signal.child.kill('SIGINT');
    expect((await signal.exited).code).toBe(0);
    await expectPatternRecording(file, { durationSec: 4, sentBetween, receiver: answererEnd });
  }, 40_000);

  test('answerer first: it waits, and gets the offer the moment it arrives', async () => {
    const { url } = await startSignalCli();
    const file = path.join(dir, 'answerer-first.webm');
    const answerer = startCli([
      'answer',
      '--signal',
      url,
      '--room',
      'b',
      '--record',
      file,
      '--once',
      '--measure-latency',
      ...NO_STUN,
    ]);
    const joined = await answerer.waitFor('joined');
    expect(joined.peerPresent).toBe(false);
    await answerer.waitFor('waiting');
    const from = Date.now();
    const caller = startCli([
      'call',
      '--signal',
      url,
      '--room',
      'b',
      '--duration',
      '3',
      '--once',
      '--size',
      '320x240',
      ...NO_STUN,
    ]);
    const first = await answerer.waitFor('first-frame', 10_000);
    expect([first.width, first.height]).toEqual([320, 240]);
    await caller.waitFor('call-ended', 15_000);
    expect((await caller.exited).code).toBe(0);
    expect((await answerer.exited).code).toBe(0);
    const sentBetween = { from, to: Date.now() };
    // --measure-latency: the sender's clock read back from each frame's barcode (one machine, one clock).
    const ended = await answerer.waitFor('call-ended');
    const latency = ended.latencyMs as { p50: number; p99: number; count: number };
    expect(latency.count).toBeGreaterThan(60);
    expect(latency.p50).toBeGreaterThan(0);
    expect(latency.p99).toBeLessThan(1000);
    await expectPatternRecording(file, {
      durationSec: 3,
      sentBetween,
      receiver: ended,
      width: 320,
      height: 240,
    });
  }, 40_000);

  test('two calls in a row to one answerer give two valid files', async () => {
    const { url } = await startSignalCli();
    const file = path.join(dir, 'calls.webm');
    const answerer = startCli(['answer', '--signal', url, '--room', 'c', '--record', file, ...NO_STUN]);
    await answerer.waitFor('joined');
    const ends: Array<{ sentBetween: { from: number; to: number }; receiver: CliEvent }> = [];
    for (let i = 1; i <= 2; i++) {
      const from = Date.now();
      const caller = startCli([
        'call',
        '--signal',
        url,
        '--room',
        'c',
        '--duration',
        '2',
        '--once',
        ...NO_STUN,
      ]);
      await caller.waitFor('call-ended', 15_000);
      expect((await caller.exited).code).toBe(0);
      const receiver = await answerer.waitFor('call-ended', 10_000, (e) => e.call === i);
      expect(receiver.reason).toBe('peer-hangup');
      ends.push({ sentBetween: { from, to: Date.now() }, receiver });
    }
    // Still waiting for a third call: SIGINT ends it cleanly.
    await answerer.waitFor(
      'waiting',
      5_000,
      (e) => e.t > 0 && answerer.events.filter((x) => x.event === 'waiting').length >= 3,
    );
    answerer.child.kill('SIGINT');
    expect((await answerer.exited).code).toBe(0);
    await expectPatternRecording(file, { durationSec: 2, ...ends[0]! });
    await expectPatternRecording(path.join(dir, 'calls-2.webm'), { durationSec: 2, ...ends[1]! });
  }, 50_000);

  test('two-way: both peers send and both record', async () => {
    const { url } = await startSignalCli();
    const atAnswerer = path.join(dir, 'at-answerer.webm');
    const atCaller = path.join(dir, 'at-caller.mkv');
    const from = Date.now();
    const answerer = startCli([
      ...['answer', '--signal', url, '--room', 'two', '--once', '--record', atAnswerer],
      ...['--test-pattern', '--size', '320x240', ...NO_STUN],
    ]);
    await answerer.waitFor('joined');
    const caller = startCli([
      ...['call', '--signal', url, '--room', 'two', '--duration', '3', '--once', '--record', atCaller],
      ...NO_STUN,
    ]);
    const callerEnd = await caller.waitFor('call-ended', 15_000);
    const answererEnd = await answerer.waitFor('call-ended', 15_000);
    expect((await caller.exited).code).toBe(0);
    expect((await answerer.exited).code).toBe(0);
    const sentBetween = { from, to: Date.now() };
    await expectPatternRecording(atAnswerer, { durationSec: 3, sentBetween, receiver: answererEnd });
    await expectPatternRecording(atCaller, {
      durationSec: 3,
      sentBetween,
      receiver: callerEnd,
      width: 320,
      height: 240,
    });
  }, 40_000);

  test('rtc-peer demo exits 0 and its recording decodes', async () => {
    const from = Date.now();
    const demo = startCli(['demo', '--duration', '3', '--json'], { cwd: dir });
    const { code } = await demo.exited;
    const sentBetween = { from, to: Date.now() };
    expect(code, demo.stderr()).toBe(0);
    const summary = demo.events.find((e) => e.event === 'summary');
    expect(summary).toBeDefined();
    expect(Number(summary?.framesRecorded)).toBeGreaterThan(60);
    expect(Number(summary?.firstFrameMs)).toBeGreaterThan(0);
    // Neither branch of the old checks ran here: the demo's recording is now matched against what was sent.
    await expectPatternRecording(path.join(dir, 'demo.webm'), { durationSec: 3, sentBetween });
  }, 40_000);
});
