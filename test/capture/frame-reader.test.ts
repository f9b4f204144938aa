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

  it('reads straight into its frames: writable() is the rest of the frame, commit() says how much came', () => {
    const frameSize = 600;
    const bytes = stream(frameSize, 6);
    const reader = new FrameReader({ frameSize, maxQueued: 2 });
    const ids: number[] = [];
    let at = 0;
    // a reader that reads at most `size` bytes at a time into the memory it is given, as a pipe does
    for (const size of [1, 599, 250, 350, 600, 1000, 800]) {
      let left = size;
      while (left > 0) {
        const room = reader.writable();
        expect(room.length).toBeGreaterThan(0);
        expect(room.length).toBeLessThanOrEqual(frameSize - reader.pendingBytes);
        const n = Math.min(left, room.length);
        room.set(bytes.subarray(at, at + n));
        reader.commit(n);
        at += n;
        left -= n;
      }
      ids.push(...drain(reader));
    }
    expect(at).toBe(bytes.length);
    expect(ids).toEqual([0, 1, 2, 3, 4, 5]);
    expect(reader.allocatedBuffers).toBeLessThanOrEqual(4);
    expect(() => reader.commit(frameSize + 1)).toThrow(RangeError);
  });

  it('a frame with no buffer to go to is read into scratch memory, counted as dropped', () => {
    const frameSize = 100_000;
    const reader = new FrameReader({ frameSize, maxQueued: 1 });
    // the consumer takes frames and never gives them back: the pool (maxQueued + 2 = 3) runs dry
    const held: Uint8ClampedArray[] = [];
    const fill = (): void => {
      for (let left = frameSize; left > 0;) {
        const room = reader.writable();
        room.fill(7);
        reader.commit(room.length);
        left -= room.length;
      }
      for (let f = reader.take(); f; f = reader.take()) held.push(f);
    };
    for (let i = 0; i < 5; i++) fill();
    expect(held).toHaveLength(3);
    expect(reader.stats).toEqual({ framesRead: 5, framesDropped: 2 });
    // scratch reads are bounded (64 KiB), never a frame-sized allocation per skipped frame
    reader.writable();
    expect(reader.allocatedBuffers).toBe(3);
  });

  it('rejects invalid sizes', () => {
    expect(() => new FrameReader({ frameSize: 0 })).toThrow(TypeError);
    expect(() => new FrameReader({ frameSize: 10, maxQueued: 0 })).toThrow(TypeError);
  });
});
