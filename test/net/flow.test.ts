/** The flow reader of the lab's tests, on made-up recordings (no lab, no media). */
import { describe, expect, test } from 'vitest';
import type { RecordingInfo } from '../helpers/media.js';
import { fpsBetween, longestFreezeSec, lowestFps, readFlow } from './flow.js';

/** A recording of 30 slots a second whose slot i shows frame `ids[i]` (null: unreadable). */
function recording(ids: (number | null)[]): RecordingInfo {
  return {
    format: 'matroska,webm',
    codec: 'vp8',
    width: 640,
    height: 480,
    containerDurationSec: ids.length / 30,
    frames: ids.length,
    ptsSec: ids.map((_, i) => i / 30),
    decodedDurationSec: ids.length / 30,
    barcodes: ids.map((id) => (id === null ? null : { frameId: id, timestampMs: 1000 + id * 33 })),
    flashes: ids.map(() => false),
    decodeErrors: [],
    exitCode: 0,
  };
}

describe('flow', () => {
  test('repeats are not new frames; a run of repeats is a freeze', () => {
    // 1 s of new frames, 1 s of the last one repeated, then 1 s of new frames again
    const ids = [
      ...Array.from({ length: 30 }, (_, i) => i),
      ...Array.from({ length: 30 }, () => 29),
      ...Array.from({ length: 30 }, (_, i) => 60 + i),
    ];
    const flow = readFlow(recording(ids));
    expect(flow.frames).toHaveLength(60);
    expect(flow.monotonic).toBe(true);
    expect(fpsBetween(flow, 0, 1)).toBe(30);
    expect(fpsBetween(flow, 1, 2)).toBe(0);
    expect(longestFreezeSec(flow)).toBeCloseTo(31 / 30, 5);
    expect(lowestFps(flow, 1, 0, 3)).toBe(0);
  });

  test('a picture that never moves inside the window froze for all of it', () => {
    const flow = readFlow(recording(Array.from({ length: 60 }, () => 5)));
    expect(flow.frames).toHaveLength(1);
    expect(longestFreezeSec(flow, 0.5, 1.5)).toBeCloseTo(1, 5);
  });

  test('an id going back is caught, unreadable slots are counted', () => {
    const flow = readFlow(recording([1, 2, null, 3, 2, 4]));
    expect(flow.monotonic).toBe(false);
    expect(flow.unreadable).toBe(1);
    expect(flow.frames.map((f) => f.id)).toEqual([1, 2, 3, 4]);
  });

  test('no window fits: an error, not Infinity', () => {
    const flow = readFlow(recording([1, 2, 3]));
    expect(() => lowestFps(flow, 5, 0, 1)).toThrow(RangeError);
  });

  test('a steady 3 fps is 3 fps in every window, not 2.9999999999999996', () => {
    // A new frame every 10 slots (every 1/3 s) for 10 s; windows of 2 s sliding from 1.0 s by 0.1 s.
    const flow = readFlow(recording(Array.from({ length: 300 }, (_, i) => Math.floor(i / 10))));
    expect(lowestFps(flow, 2, 1, 9.9)).toBe(3);
  });
});
