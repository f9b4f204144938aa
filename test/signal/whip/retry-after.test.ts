/** Retry-After: delay-seconds and HTTP-dates, clamped; junk is no advice. */
import { describe, expect, it } from 'vitest';
import { retryAfterMs } from '../../../src/signal/whip/retry-after.js';

describe('retryAfterMs', () => {
  it('reads seconds and dates, and clamps them', () => {
    const now = Date.parse('Wed, 21 Oct 2015 07:28:00 GMT');
    expect(retryAfterMs('3')).toBe(3000);
    expect(retryAfterMs(' 0 ')).toBe(0);
    expect(retryAfterMs('Wed, 21 Oct 2015 07:28:05 GMT', now)).toBe(5000);
    expect(retryAfterMs('Wed, 21 Oct 2015 07:27:00 GMT', now)).toBe(0);
    expect(retryAfterMs('86400')).toBe(60_000);
    expect(retryAfterMs('86400', now, 5000)).toBe(5000);
  });

  it('gives no advice for an absent or unreadable header', () => {
    expect(retryAfterMs(null)).toBeUndefined();
    expect(retryAfterMs(undefined)).toBeUndefined();
    expect(retryAfterMs('soon')).toBeUndefined();
    expect(retryAfterMs('-5')).toBeUndefined();
    expect(retryAfterMs('1.5')).toBeUndefined();
  });
});
