import { describe, expect, it } from 'vitest';
import { TypedEmitter } from '../../src/util/typed-emitter.js';

type Events = { tick: [n: number]; error: [error: Error]; done: [] };

describe('TypedEmitter (portable, Node-like)', () => {
  it('calls listeners in order, once listeners once, and off removes one registration', () => {
    const e = new TypedEmitter<Events>();
    const seen: string[] = [];
    const a = (n: number): void => void seen.push(`a${n}`);
    e.on('tick', a);
    e.once('tick', (n) => seen.push(`once${n}`));
    e.on('tick', a);
    expect(e.listenerCount('tick')).toBe(3);
    expect(e.emit('tick', 1)).toBe(true);
    e.off('tick', a);
    e.emit('tick', 2);
    expect(seen).toEqual(['a1', 'once1', 'a1', 'a2']);
    expect(e.emit('done')).toBe(false);
  });

  it('a listener removed or added during an emit does not change that emit', () => {
    const e = new TypedEmitter<Events>();
    const seen: number[] = [];
    const second = (n: number): void => void seen.push(n * 10);
    e.on('tick', (n) => {
      seen.push(n);
      e.off('tick', second);
      e.on('tick', (m) => seen.push(m * 100));
    });
    e.on('tick', second);
    e.emit('tick', 1);
    expect(seen).toEqual([1, 10]);
  });

  it('an error event nobody listens to throws it; with a listener it does not', () => {
    const e = new TypedEmitter<Events>();
    const boom = new Error('boom');
    expect(() => e.emit('error', boom)).toThrow(boom);
    e.on('error', () => undefined);
    expect(e.emit('error', boom)).toBe(true);
    e.removeAllListeners();
    expect(e.listenerCount('error')).toBe(0);
  });
});
