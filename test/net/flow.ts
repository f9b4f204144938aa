/**
 * How the picture flowed through an impaired network, read from a decoded recording of rtc-peer's test
 * pattern (not from the peers' counters): each frame carries the sender's frame id and capture clock in its
 * barcode, and the recorder's timeline is the receiver's clock at 30 slots a second, a slot with no new frame
 * repeating the last one. So a new frame id at a slot is a frame that arrived; a run of repeats is a freeze.
 * Pure: give it what `inspectRecording()` read.
 */
import type { RecordingInfo } from '../helpers/media.js';

/** One frame that arrived: its id, the sender's stamp, where it first appears in the file. */
export interface ArrivedFrame {
  id: number;
  stampMs: number;
  ptsSec: number;
}

/** The flow of new frames through a recording. */
export interface Flow {
  /** Frames in order of first appearance (ids increasing: a replayed or reordered one fails the check). */
  frames: ArrivedFrame[];
  /** Slots whose barcode could not be read. */
  unreadable: number;
  /** Whether the ids only ever grew. */
  monotonic: boolean;
  /** The file's timeline: first and last slot, seconds. */
  startSec: number;
  endSec: number;
}

/** Reads the flow of new frames out of a decoded recording. */
export function readFlow(rec: RecordingInfo): Flow {
  const frames: ArrivedFrame[] = [];
  let unreadable = 0;
  let monotonic = true;
  let last = -1;
  rec.barcodes.forEach((b, i) => {
    if (b === null) {
      unreadable++;
      return;
    }
    if (b.frameId < last) monotonic = false;
    if (b.frameId <= last) return;
    last = b.frameId;
    frames.push({ id: b.frameId, stampMs: b.timestampMs, ptsSec: rec.ptsSec[i] ?? 0 });
  });
  return {
    frames,
    unreadable,
    monotonic,
    startSec: rec.ptsSec[0] ?? 0,
    endSec: rec.ptsSec.at(-1) ?? 0,
  };
}

/** New frames per second in `[fromSec, toSec)` of the file's timeline. */
export function fpsBetween(flow: Flow, fromSec: number, toSec: number): number {
  const n = flow.frames.filter((f) => f.ptsSec >= fromSec && f.ptsSec < toSec).length;
  return n / (toSec - fromSec);
}

/**
 * The longest time the picture stood still in `[fromSec, toSec]` of the file's timeline: the longest gap
 * between two new frames, the window's edges counting as frames (a picture that never moved inside the
 * window froze for all of it).
 */
export function longestFreezeSec(flow: Flow, fromSec = flow.startSec, toSec = flow.endSec): number {
  const times = [fromSec, ...flow.frames.map((f) => f.ptsSec).filter((t) => t > fromSec && t < toSec), toSec];
  let worst = 0;
  for (let i = 1; i < times.length; i++) worst = Math.max(worst, (times[i] ?? 0) - (times[i - 1] ?? 0));
  return worst;
}

/** The lowest frame rate over any `windowSec` window sliding in `[fromSec, toSec]` by a tenth of a second. */
export function lowestFps(flow: Flow, windowSec: number, fromSec: number, toSec: number): number {
  let lowest = Infinity;
  // Each window's start from an integer step, and its rate over the nominal width: accumulating `t += 0.1`
  // made a window 2.0000000000000004 s wide, so 6 frames in it were 2.9999999999999996 fps, and a call at
  // exactly 3 fps failed a `>= 3` (a full-suite run, 2026-12-02).
  for (let i = 0; fromSec + i / 10 + windowSec <= toSec + 1e-9; i++) {
    const t = fromSec + i / 10;
    const n = flow.frames.filter((f) => f.ptsSec >= t && f.ptsSec < t + windowSec).length;
    lowest = Math.min(lowest, n / windowSec);
  }
  if (lowest === Infinity) throw new RangeError(`no ${windowSec} s window fits in ${fromSec}-${toSec} s`);
  return lowest;
}

/** A short account of a flow for assertion messages: fps per `stepSec` and the longest freeze. */
export function describeFlow(flow: Flow, stepSec = 5): string {
  const parts: string[] = [];
  for (let t = flow.startSec; t < flow.endSec; t += stepSec)
    parts.push(fpsBetween(flow, t, Math.min(flow.endSec, t + stepSec)).toFixed(1));
  return (
    `${flow.frames.length} new frames over ${(flow.endSec - flow.startSec).toFixed(1)} s, ` +
    `fps per ${stepSec} s: ${parts.join(' ')}, longest freeze ${longestFreezeSec(flow).toFixed(2)} s, ` +
    `${flow.unreadable} unreadable slots`
  );
}
