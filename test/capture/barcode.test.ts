import { describe, expect, it } from 'vitest';
import { readBarcode, writeBarcode } from '../../src/capture/barcode.js';

function grayFrame(width: number, height: number, value = 128): Uint8Array {
  return new Uint8Array(width * height).fill(value);
}

/** Nearest-neighbour scaling of a luma plane, as a decoder's scaler would do it roughly. */
function scale(src: Uint8Array, sw: number, sh: number, dw: number, dh: number): Uint8Array {
  const out = new Uint8Array(dw * dh);
  for (let y = 0; y < dh; y++)
    for (let x = 0; x < dw; x++)
      out[y * dw + x] = src[Math.floor((y * sh) / dh) * sw + Math.floor((x * sw) / dw)] ?? 0;
  return out;
}

/** Deterministic pseudo-random noise of +-amplitude on every pixel. */
function addNoise(y: Uint8Array, amplitude: number, seed = 1): void {
  let s = seed;
  for (let i = 0; i < y.length; i++) {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    const v = (y[i] ?? 0) + ((s % (2 * amplitude + 1)) - amplitude);
    y[i] = Math.max(0, Math.min(255, v));
  }
}

describe('barcode', () => {
  it('round-trips frame id and timestamp at 640x480, including extreme values', () => {
    for (const p of [
      { frameId: 0, timestampMs: 0 },
      { frameId: 1, timestampMs: 1_700_000_000 },
      { frameId: 2 ** 24 - 1, timestampMs: 2 ** 32 - 1 },
      { frameId: 123_456, timestampMs: Date.now() % 2 ** 32 },
    ]) {
      const y = grayFrame(640, 480);
      writeBarcode(y, 640, 480, p);
      expect(readBarcode(y, 640, 480)).toEqual(p);
    }
  });

  it('wraps frame ids beyond 24 bits', () => {
    const y = grayFrame(640, 480);
    writeBarcode(y, 640, 480, { frameId: 2 ** 24 + 5, timestampMs: 7 });
    expect(readBarcode(y, 640, 480)).toEqual({ frameId: 5, timestampMs: 7 });
  });

  it('reads back after scaling down and up (positions are proportional)', () => {
    const y = grayFrame(1280, 720, 90);
    const p = { frameId: 4242, timestampMs: 987_654_321 };
    writeBarcode(y, 1280, 720, p);
    expect(readBarcode(scale(y, 1280, 720, 640, 360), 640, 360)).toEqual(p);
    expect(readBarcode(scale(y, 1280, 720, 320, 180), 320, 180)).toEqual(p);
    const small = grayFrame(320, 240);
    writeBarcode(small, 320, 240, p);
    expect(readBarcode(scale(small, 320, 240, 1920, 1080), 1920, 1080)).toEqual(p);
  });

  it('reads back through noise and a brightness shift', () => {
    const y = grayFrame(640, 480);
    const p = { frameId: 99, timestampMs: 31_337 };
    writeBarcode(y, 640, 480, p);
    addNoise(y, 40);
    for (let i = 0; i < y.length; i++) y[i] = Math.max(0, (y[i] ?? 0) - 30);
    expect(readBarcode(y, 640, 480)).toEqual(p);
  });

  it('returns null for a frame without a barcode and for a corrupted one', () => {
    expect(readBarcode(grayFrame(640, 480), 640, 480)).toBeNull();
    const noise = grayFrame(640, 480);
    addNoise(noise, 127, 7);
    expect(readBarcode(noise, 640, 480)).toBeNull();
    const y = grayFrame(640, 480);
    writeBarcode(y, 640, 480, { frameId: 10, timestampMs: 20 });
    // Invert one data cell (row 0, cell 10): the checksum must catch it.
    for (let row = 0; row < 24; row++)
      for (let x = 160; x < 176; x++) y[row * 640 + x] = 255 - (y[row * 640 + x] ?? 0);
    expect(readBarcode(y, 640, 480)).toBeNull();
  });

  it('only touches the top band of the luma plane', () => {
    const frame = new Uint8Array((640 * 480 * 3) / 2).fill(77);
    writeBarcode(frame, 640, 480, { frameId: 1, timestampMs: 1 });
    expect(frame.subarray(640 * 48).every((v) => v === 77)).toBe(true);
  });

  it('rejects frames too small to hold it', () => {
    expect(() => writeBarcode(grayFrame(64, 48), 64, 48, { frameId: 1, timestampMs: 1 })).toThrow(TypeError);
    expect(readBarcode(grayFrame(64, 48), 64, 48)).toBeNull();
  });
});
