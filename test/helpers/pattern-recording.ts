/**
 * The check of a recording of rtc-peer's test pattern against what was sent, for the end-to-end tests: each
 * frame's barcode holds the sender's frame id and its clock when it captured the frame (one machine, one
 * clock), read back from the decoded file. See test/README.md.
 */
import path from 'node:path';
import { expect } from 'vitest';
import type { CliEvent } from './cli.js';
import { inspectRecording, sentSpanSec } from './media.js';

/** `Date.now()` as the barcode carries it (modulo 2^32 ms). */
const stampOf = (ms: number): number => ms % 2 ** 32;
/** Milliseconds from barcode stamp `a` to `b` (they wrap every 49 days). */
const stampDiff = (a: number, b: number): number => (((b - a) % 2 ** 32) + 2 ** 32) % 2 ** 32;

/**
 * Checks a recording of a test-pattern call against what was sent, as the pictures say: each frame's barcode
 * holds the sender's frame id and its clock when it captured the frame (one machine, one clock). Not against
 * the peers' counters.
 */
export async function expectPatternRecording(
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
): Promise<{ distinct: number; sentSpan: number }> {
  const rec = await inspectRecording(file);
  const ids = rec.barcodes.filter((b) => b !== null).map((b) => b.frameId);
  const facts = (): string =>
    `${path.basename(file)}: ${JSON.stringify({
      frames: rec.frames,
      decodedSec: rec.decodedDurationSec,
      distinct: new Set(ids).size,
      firstId: ids[0],
      lastId: ids.at(-1),
      received: expected.receiver?.framesReceived,
      recording: expected.receiver?.recording,
    })}`;
  // Finalized: the container states its duration, and the file decodes without errors.
  expect(rec.containerDurationSec).not.toBeNull();
  expect(rec.decodeErrors).toEqual([]);
  expect(rec.codec).toBe('vp8');
  expect(rec.width).toBe(expected.width ?? 640);
  expect(rec.height).toBe(expected.height ?? 480);
  // The file plays as long as its frames were being sent, by the sender's clock stamped into them (so the
  // time the answerer took to hear the bye is not in it), and that is about the call: the first frame comes
  // a moment after connecting, --duration counts from connecting.
  expect(Math.abs(rec.decodedDurationSec - sentSpanSec(rec)), facts()).toBeLessThan(0.25);
  expect(sentSpanSec(rec), facts()).toBeGreaterThan(expected.durationSec - 0.6);
  expect(sentSpanSec(rec), facts()).toBeLessThan(expected.durationSec * 1.1);
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
  // Most of what was sent was recorded, or dropped by the recorder and counted as such (it drops when its
  // ffmpeg falls behind, as on two cores shared by several calls); the margin is for the receiver's
  // decoder, which skips frames then too.
  const distinct = new Set(ids).size;
  const recorderDropped = Number((expected.receiver?.recording as { dropped?: number } | null)?.dropped ?? 0);
  expect((distinct + recorderDropped) / sentSpan, facts()).toBeGreaterThan(0.75);
  // The file's timeline follows the sender's clock: each frame, where it first appears, is where its stamp
  // says, give or take the network's and decoders' jitter. (A slot with no new frame repeats the previous one,
  // by design: repeats are not compared.)
  let worst = 0;
  let firstPts: number | undefined;
  const seen = new Set<number>();
  rec.barcodes.forEach((b, i) => {
    if (b === null || seen.has(b.frameId)) return;
    seen.add(b.frameId);
    firstPts ??= rec.ptsSec[i] ?? 0;
    const byStamp = stampDiff(first.timestampMs, b.timestampMs) / 1000;
    worst = Math.max(worst, Math.abs((rec.ptsSec[i] ?? 0) - firstPts - byStamp));
  });
  expect(worst, facts()).toBeLessThan(0.5);
  if (expected.receiver) {
    // The figure the recording side reports agrees with the file (the recorder keeps what it is given, and
    // drops, counted, only when ffmpeg falls behind).
    expect(distinct + recorderDropped, facts()).toBeGreaterThan(
      Number(expected.receiver.framesReceived) * 0.9,
    );
  }
  return { distinct, sentSpan };
}
