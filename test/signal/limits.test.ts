/** The pure pieces of the limits (limits.ts): token bucket, counters, back-off, rate-limited log, parsing. */
import { describe, expect, it } from 'vitest';
import {
  AuthBackoff,
  Counter,
  over,
  parseLimit,
  RateLimitedLog,
  resolveLimits,
  SIGNAL_LIMITS_DEFAULTS,
  TokenBucket,
  truncate,
} from '../../src/signal/limits.js';

describe('limits', () => {
  it('a token bucket gives its burst at once, then its rate', () => {
    const bucket = new TokenBucket(10, 5, 0);
    const first = Array.from({ length: 8 }, () => bucket.take(0));
    expect(first).toEqual([true, true, true, true, true, false, false, false]);
    expect(bucket.take(50)).toBe(false); // half a token
    expect(bucket.take(100)).toBe(true); // one token after 100 ms at 10/s
    expect(bucket.take(100)).toBe(false);
    // Refill stops at the burst.
    expect(Array.from({ length: 7 }, () => bucket.take(10_000)).filter(Boolean)).toHaveLength(5);
  });

  it('counters forget a key at zero and never go negative', () => {
    const c = new Counter();
    c.add('a', 2);
    c.add('b', 1);
    c.add('a', -5);
    expect([c.of('a'), c.of('b'), c.total]).toEqual([0, 1, 1]);
  });

  it('over() treats 0 as unlimited', () => {
    expect(over(0, 1e9)).toBe(false);
    expect(over(3, 2)).toBe(false);
    expect(over(3, 3)).toBe(true);
    expect(over(10, 5, 6)).toBe(true);
  });

  it('back-off starts after the allowance, doubles, caps, and a success forgets', () => {
    const b = new AuthBackoff({ authFailures: 2, authBackoffMs: 1000, authBackoffMaxMs: 3000 });
    expect([b.failed('x', 0), b.failed('x', 0)]).toEqual([0, 0]);
    expect(b.failed('x', 0)).toBe(1000);
    expect(b.waitMs('x', 400)).toBe(600);
    expect(b.failed('x', 1000)).toBe(2000);
    expect(b.failed('x', 3000)).toBe(3000); // capped
    expect(b.waitMs('y', 0)).toBe(0);
    b.succeeded('x');
    expect(b.waitMs('x', 3000)).toBe(0);
  });

  it('back-off remembers a bounded number of addresses', () => {
    const b = new AuthBackoff({ authFailures: 0, authBackoffMs: 1000, authBackoffMaxMs: 1000 }, 3);
    for (const a of ['a', 'b', 'c', 'd']) b.failed(a, 0);
    expect(['a', 'b', 'c', 'd'].map((a) => b.waitMs(a, 0))).toEqual([0, 1000, 1000, 1000]);
  });

  it('the rate-limited log lets 5 lines per window through, then says how many it held back', () => {
    const lines: string[] = [];
    const l = new RateLimitedLog((s) => lines.push(s), 5, 10_000);
    for (let i = 0; i < 12; i++) l.line('auth', `line ${i}`, i);
    l.line('rooms', 'other kind', 20);
    l.line('auth', 'next window', 10_500);
    expect(lines).toEqual([
      'line 0',
      'line 1',
      'line 2',
      'line 3',
      'line 4',
      'other kind',
      '7 more auth refusals in the last 11 s',
      'next window',
    ]);
  });

  it('resolves and parses limits, refusing unknown names and bad values with the name', () => {
    expect(resolveLimits({ connections: 0 })).toEqual({ ...SIGNAL_LIMITS_DEFAULTS, connections: 0 });
    expect(() => resolveLimits({ messageBurst: 0 })).toThrow(/messageBurst must be a number ≥ 1/);
    expect(() => resolveLimits({ nope: 1 } as object)).toThrow(/unknown signal server limit "nope"/);
    expect(parseLimit('heldBytes=128Mi')).toEqual(['heldBytes', 128 * 1024 * 1024]);
    expect(parseLimit('connectionsPerAddress=64')).toEqual(['connectionsPerAddress', 64]);
    expect(() => parseLimit('connections')).toThrow(/expected NAME=NUMBER/);
    expect(() => parseLimit('bogus=1')).toThrow(/unknown limit bogus/);
  });

  it('truncates quoted input and says so', () => {
    expect(truncate('short')).toBe('short');
    expect(truncate('x'.repeat(200), 10)).toBe('xxxxxxxxxx… (200 characters)');
  });
});
