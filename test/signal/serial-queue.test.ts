/**
 * One connection's queue: tasks in order even when some wait (Redis), at once when nothing waits (the
 * in-memory registry), bounded with a counted drop, and a forced task (a departure) never dropped.
 */
import { describe, expect, it } from 'vitest';
import { SerialQueue } from '../../src/signal/serial-queue.js';

const tick = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('SerialQueue', { timeout: 5000 }, () => {
  it('runs a synchronous task at once when idle', () => {
    const q = new SerialQueue(4);
    const done: number[] = [];
    q.push(() => void done.push(1));
    expect(done).toEqual([1]);
  });

  it('keeps the order of tasks that wait, whatever their durations, and of sync ones queued behind', async () => {
    const q = new SerialQueue(10);
    const done: number[] = [];
    q.push(async () => {
      await tick(30);
      done.push(1);
    });
    q.push(() => void done.push(2));
    q.push(async () => {
      await tick(1);
      done.push(3);
    });
    q.push(() => {
      throw new Error('a failing task does not stop the queue');
    });
    q.push(async () => {
      done.push(4);
      return Promise.reject(new Error('nor a rejecting one'));
    });
    q.push(() => void done.push(5));
    expect(done).toEqual([]);
    await q.idle();
    expect(done).toEqual([1, 2, 3, 4, 5]);
  });

  it('refuses past its limit, counted; a forced task still runs, last', async () => {
    const q = new SerialQueue(2);
    const done: string[] = [];
    q.push(() => tick(10).then(() => void done.push('running')));
    expect(q.push(() => void done.push('a'))).toBe(true);
    expect(q.push(() => void done.push('b'))).toBe(true);
    expect(q.push(() => void done.push('dropped'))).toBe(false);
    expect(q.dropped).toBe(1);
    expect(q.push(() => void done.push('bye'), true)).toBe(true);
    await q.idle();
    expect(done).toEqual(['running', 'a', 'b', 'bye']);
    expect(() => new SerialQueue(0)).toThrow(TypeError);
  });
});
