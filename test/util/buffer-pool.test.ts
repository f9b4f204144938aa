import { describe, expect, test } from 'vitest';
import { BufferPool } from '../../src/util/buffer-pool.js';

describe('BufferPool', () => {
  test('makes at most max buffers, reuses what is given back, once', () => {
    const pool = new BufferPool(Uint8Array, 4, 2);
    const a = pool.take();
    const b = pool.take();
    expect([a?.length, b?.length]).toEqual([4, 4]);
    expect(pool.take()).toBeUndefined();
    expect(pool.allocated).toBe(2);
    pool.give(a!);
    pool.give(a!); // twice: still one free buffer
    pool.give(new Uint8Array(8)); // not of this pool's size
    expect(pool.take()).toBe(a);
    expect(pool.take()).toBeUndefined();
    expect(pool.allocated).toBe(2);
  });

  test('invalid sizes are a TypeError', () => {
    expect(() => new BufferPool(Uint8ClampedArray, 0, 1)).toThrow(TypeError);
    expect(() => new BufferPool(Uint8ClampedArray, 4, 0)).toThrow(TypeError);
  });
});
