import { describe, expect, it } from 'vitest';
import { FrameReader } from '../../src/capture/frame-reader.js';

/** A byte stream of `count` frames where every byte of frame n is n. */
function stream(frameSize: number, count: number): Uint8Array {
  const out = new Uint8Array(frameSize * count);
  for (let n = 0; n < count; n++) out.fill(n, n * frameSize, (n + 1) * frameSize);
  return out;
}

function drain(reader: FrameReader): number[] {
  const ids: number[] = [];
  for (let f = reader.take(); f; f = reader.take()) {
    expect(f.every((v) => v === f[0])).toBe(true);
    ids.push(f[0] ?? -1);
    reader.release(f);
  }
  return ids;
}

describe('FrameReader', () => {
  it('cuts exact frames across arbitrary chunk boundaries', () => {
    const frameSize = 600;
    const bytes = stream(frameSize, 10);
    // the 1800-byte chunk holds 3 frames: a queue of 3 takes them all
    const reader = new FrameReader({ frameSize, maxQueued: 3 });
    const ids: number[] = [];
    // chunk sizes that straddle, split and span frames
    let at = 0;
    for (const size of [1, 599, 600, 1000, 7, 193, 1200, 1800, 600]) {
      reader.push(bytes.subarray(at, at + size));
      at += size;
      ids.push(...drain(reader));
    }
    expect(at).toBe(bytes.length);
    expect(ids).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(reader.stats).toEqual({ framesRead: 10, framesDropped: 0 });
    expect(reader.pendingBytes).toBe(0);
  });

  it('keeps a partial frame until its last byte arrives', () => {
    const reader = new FrameReader({ frameSize: 100 });
    reader.push(new Uint8Array(99));
    expect(reader.queued).toBe(0);
    expect(reader.pendingBytes).toBe(99);
    reader.push(new Uint8Array(1));
    expect(reader.queued).toBe(1);
  });

  it('drops the oldest frames when the consumer falls behind (latest wins), with fixed memory', () => {
    const frameSize = 1000;
    const reader = new FrameReader({ frameSize, maxQueued: 2 });
    reader.push(stream(frameSize, 50));
    expect(drain(reader)).toEqual([48, 49]);
    expect(reader.stats).toEqual({ framesRead: 50, framesDropped: 48 });
    for (let round = 0; round < 100; round++) {
      reader.push(stream(frameSize, 5));
      drain(reader);
    }
    expect(reader.allocatedBuffers).toBeLessThanOrEqual(4);
  });

  it('recycles queued frames when the consumer holds buffers without releasing them', () => {
    const frameSize = 10;
    const reader = new FrameReader({ frameSize, maxQueued: 1 });
    const held: Uint8ClampedArray[] = [];
    for (let n = 0; n < 20; n++) {
      reader.push(new Uint8Array(frameSize).fill(n));
      const f = reader.take();
      if (f) held.push(f); // never released
    }
    expect(reader.allocatedBuffers).toBeLessThanOrEqual(3);
    expect(reader.stats.framesRead).toBe(20);
    expect(reader.stats.framesDropped).toBeGreaterThan(0);
  });

  it('rejects invalid sizes', () => {
    expect(() => new FrameReader({ frameSize: 0 })).toThrow(TypeError);
    expect(() => new FrameReader({ frameSize: 10, maxQueued: 0 })).toThrow(TypeError);
  });
});
