import { describe, expect, test } from 'vitest';
import { halvedSize, halveI420 } from '../../src/record/scale-i420.js';
import { sizeAt } from '../../src/peer/send-ladder.js';
import { maxPixelsFor, SendResolution } from '../../src/peer/send-resolution.js';

/** Feeds one sample a second at `kbps` (audio 40) for `seconds`; returns the divisor after each. */
function feed(r: SendResolution, kbps: number, seconds: number, from: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < seconds; i++)
    out.push(r.update({ atMs: (from + i) * 1000, availableKbps: kbps, audioKbps: 40 }));
  return out;
}

describe('SendResolution: the size sent from the bandwidth estimate', () => {
  test("libwebrtc's limits: QVGA below 300 kbit/s of video, VGA below 500, a quarter below 60", () => {
    expect(maxPixelsFor(250)).toBe(320 * 240);
    expect(maxPixelsFor(450)).toBe(640 * 480);
    expect(maxPixelsFor(40)).toBe(160 * 120);
    expect(maxPixelsFor(900)).toBe(Number.POSITIVE_INFINITY);
  });

  test('a 250 kbit/s link: half size after 2 s below, and it stays there', () => {
    const r = new SendResolution({ width: 640, height: 480 });
    expect(feed(r, 1000, 3, 0)).toEqual([1, 1, 1]);
    // 250 - 40 of sound = 210 kbit/s of video: below 300 → 320x240 once it held 2 s.
    expect(feed(r, 250, 4, 3)).toEqual([1, 1, 2, 2]);
    expect(feed(r, 250, 30, 7).every((d) => d === 2)).toBe(true);
  });

  test('the first estimate decides at once: a call that starts on a thin link starts small', () => {
    const r = new SendResolution({ width: 640, height: 480 });
    expect(r.update({ atMs: 0 })).toBe(1); // no estimate yet
    // The first one, 236 kbit/s (as the 250 kbit/s lab link gives): 196 of video, QVGA now, not in 2 s.
    expect(feed(r, 236, 3, 1)).toEqual([2, 2, 2]);
    // A first estimate that carries VGA changes nothing, and later drops wait the 2 s.
    const wide = new SendResolution({ width: 640, height: 480 });
    expect(feed(wide, 800, 1, 0)).toEqual([1]);
    expect(feed(wide, 236, 3, 1)).toEqual([1, 1, 2]);
  });

  test('a dip shorter than 2 s changes nothing', () => {
    const r = new SendResolution({ width: 640, height: 480 });
    feed(r, 1000, 2, 0);
    expect(feed(r, 200, 2, 2)).toEqual([1, 1]);
    expect(feed(r, 1000, 5, 4)).toEqual([1, 1, 1, 1, 1]);
    expect(feed(r, 200, 2, 9)).toEqual([1, 1]);
  });

  test('back up one step at a time, after 10 s above the next size with a 25 % margin', () => {
    const r = new SendResolution({ width: 640, height: 480 });
    feed(r, 60, 3, 0); // 20 kbit/s of video: a quarter
    expect(r.divisor).toBe(4);
    // 340 - 40 = 300: VGA would fit, but not with the margin (300 / 1.25 = 240 < 300); QVGA does.
    const up = feed(r, 340, 12, 3);
    expect(up.slice(0, 10).every((d) => d === 4)).toBe(true);
    expect(up[11]).toBe(2);
    expect(feed(r, 340, 30, 15).every((d) => d === 2)).toBe(true);
    expect(feed(r, 700, 11, 45).at(-1)).toBe(1);
  });

  test('no estimate: no change; force() sets the size back', () => {
    const r = new SendResolution({ width: 640, height: 480 });
    expect(r.update({ atMs: 0 })).toBe(1);
    feed(r, 100, 3, 1);
    expect(r.divisor).toBe(2);
    r.force(1);
    expect(r.update({ atMs: 5000, availableKbps: 100 })).toBe(1);
    expect(() => new SendResolution({ width: 0, height: 480 })).toThrow(TypeError);
  });

  test('a 1280x720 capture at 400 kbit/s sends 640x360', () => {
    const r = new SendResolution({ width: 1280, height: 720 });
    expect(feed(r, 440, 3, 0).at(-1)).toBe(2);
    expect(sizeAt(1280, 720, 2)).toEqual({ width: 640, height: 360 });
  });
});

describe('halveI420: the box filter the smaller sizes are made with', () => {
  test('each pixel is the mean of its 2x2 block, in every plane', () => {
    const w = 8;
    const h = 4;
    const src = new Uint8ClampedArray((w * h * 3) / 2);
    for (let i = 0; i < w * h; i++) src[i] = (i % w) * 10 + Math.floor(i / w); // luma: 10x + y
    src.fill(100, w * h, w * h + (w * h) / 4); // U
    src.fill(200, w * h + (w * h) / 4); // V
    const size = halvedSize(w, h);
    expect(size).toEqual({ width: 4, height: 2 });
    const dst = new Uint8ClampedArray((size.width * size.height * 3) / 2);
    halveI420(src, w, h, dst);
    // (10·2x + y) + (10·(2x+1) + y) + the row below: mean 20x + 5 + 2y + 0.5, rounded.
    expect([...dst.subarray(0, 8)]).toEqual([6, 26, 46, 66, 8, 28, 48, 68]);
    expect([...dst.subarray(8, 10)]).toEqual([100, 100]);
    expect([...dst.subarray(10, 12)]).toEqual([200, 200]);
  });

  test('odd halves are rounded down to even', () => {
    expect(halvedSize(1920, 540)).toEqual({ width: 960, height: 270 });
    expect(halvedSize(480, 270)).toEqual({ width: 240, height: 134 });
    expect(sizeAt(640, 480, 4)).toEqual({ width: 160, height: 120 });
  });
});
