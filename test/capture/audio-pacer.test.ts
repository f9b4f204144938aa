import { describe, expect, it } from 'vitest';
import { AudioPacer } from '../../src/capture/audio-pacer.js';

/**
 * An hour of a 10 ms-chunk source at real rate, ticked every 5 ms, with node stalling for `stallMs` every
 * `everyMs` (the source's chunks pile up in the pipe meanwhile, as ffmpeg's do). `pace` is the pacer under
 * test. Returns the send-side latency (sent at - produced at) of each chunk sent, per minute (p50), and
 * the drops.
 */
function simulate(
  pace: (now: number, queued: number) => { drop: number; send: number },
  o: { minutes: number; stallMs: number; everyMs: number; rate?: number },
): { p50PerMinute: number[]; dropped: number; sent: number } {
  const produced: number[] = [];
  const perMinute: number[][] = [];
  let dropped = 0;
  let sent = 0;
  let made = 0;
  const rate = o.rate ?? 1;
  const end = o.minutes * 60_000;
  for (let now = 0; now < end; now += 5) {
    if (o.stallMs > 0 && now % o.everyMs < o.stallMs) continue; // stalled: no tick runs
    for (; made * (10 / rate) <= now; made++) produced.push(made * (10 / rate));
    const step = pace(now, produced.length);
    dropped += step.drop;
    produced.splice(0, step.drop);
    for (const at of produced.splice(0, step.send)) {
      (perMinute[Math.floor(now / 60_000)] ??= []).push(now - at);
      sent++;
    }
  }
  const p50 = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
  return { p50PerMinute: perMinute.map(p50), dropped, sent };
}

/** The pacer before this fix, for comparison: its schedule slid forward after a stall (`nextDue += 10`). */
function slidingPacer(prebuffer: number): (now: number, queued: number) => { drop: number; send: number } {
  let nextDue: number | undefined;
  return (now, queued) => {
    if (nextDue === undefined) {
      if (queued < prebuffer) return { drop: 0, send: 0 };
      nextDue = now;
    }
    nextDue = Math.max(nextDue, now - 100);
    let send = 0;
    while (nextDue <= now && send < queued) {
      send++;
      nextDue += 10;
    }
    if (nextDue <= now) nextDue = undefined;
    return { drop: 0, send };
  };
}

const newPacer = (prebuffer: number) => {
  const pacer = new AudioPacer({ prebufferChunks: prebuffer });
  return (now: number, queued: number) => pacer.tick(now, queued);
};

describe('AudioPacer', () => {
  it('rejects bad options', () => {
    expect(() => new AudioPacer({ prebufferChunks: 0 })).toThrow(TypeError);
    expect(() => new AudioPacer({ prebufferChunks: 3, maxCatchUpMs: 5 })).toThrow(TypeError);
  });

  it('a steady hour: every chunk sent on its slot, nothing dropped, latency flat', () => {
    const r = simulate(newPacer(3), { minutes: 60, stallMs: 0, everyMs: 1 });
    expect(r.dropped).toBe(0);
    expect(r.sent).toBeGreaterThan(359_990);
    expect(Math.max(...r.p50PerMinute) - Math.min(...r.p50PerMinute)).toBeLessThanOrEqual(5);
  });

  it('an hour with a 300 ms stall of node every 20 s: the latency stays where it began (regression: it crept up)', () => {
    const stalls = { minutes: 60, stallMs: 300, everyMs: 20_000 };
    const fixed = simulate(newPacer(3), stalls);
    const first = fixed.p50PerMinute[0] ?? NaN;
    const last = fixed.p50PerMinute.at(-1) ?? NaN;
    expect(Math.abs(last - first)).toBeLessThanOrEqual(5);
    expect(Math.max(...fixed.p50PerMinute)).toBeLessThanOrEqual(60);
    // what the stalls made late was dropped (about 20 chunks per stall), counted
    expect(fixed.dropped).toBeGreaterThan(150 * 10);
    expect(fixed.dropped).toBeLessThan(180 * 25);
    // the pacer this replaced: each stall left its late chunks in the buffer, and every later chunk that
    // much later, until the buffer's bound
    const old = simulate(slidingPacer(3), stalls);
    expect((old.p50PerMinute.at(-1) ?? 0) - (old.p50PerMinute[0] ?? 0)).toBeGreaterThan(100);
  });

  it('a source whose clock runs 0.1 % fast: the excess is dropped now and then, the latency stays bounded', () => {
    const r = simulate(newPacer(3), { minutes: 60, stallMs: 0, everyMs: 1, rate: 1.001 });
    // 0.1 % of an hour is 3.6 s of sound: dropped in small steps rather than queued
    expect(r.dropped).toBeGreaterThan(300);
    expect(Math.max(...r.p50PerMinute)).toBeLessThanOrEqual(70);
  });
});
