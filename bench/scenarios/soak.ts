/**
 * `npm run bench -- --soak MINUTES`: long calls one after the other on this machine — rtc-peer as users run
 * it (the test pattern with its beep, so the receiver's lip sync is in play), rtc-peer with a segmented
 * recording, and the raw wrtc floor (video only) — each with latency p50/p95 per minute, to see whether
 * latency drifts over a long call, and by how much more than the floor's.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { startCli } from '../lib/child.js';
import { CpuWindow } from '../lib/proc.js';
import { percentile } from '../lib/stats.js';
import { runWrtcFloorSamples } from './wrtc-floor.js';

/** One soak run's figures. */
export interface SoakResult {
  setup: string;
  minutes: number;
  /** Latency p50 and p95 of each minute, ms (from the barcode clock). */
  p50PerMinute: number[];
  p95PerMinute: number[];
  /** p50 of the last minute minus that of the first. */
  driftMs: number;
  fpsReceived: number;
  peakRssMb: number;
  /** With a recording: segments written, frames in them, and their total duration. */
  segments?: { files: number; frames: number; durationSec: number };
}

/** Latency p50/p95 per minute from (time ms, latency ms) samples. */
export function perMinute(samples: { atMs: number; ms: number }[]): { p50: number[]; p95: number[] } {
  const minutes: number[][] = [];
  for (const s of samples) (minutes[Math.floor(s.atMs / 60_000)] ??= []).push(s.ms);
  const full = minutes.filter((m) => m && m.length > 0);
  return { p50: full.map((m) => percentile(m, 0.5)), p95: full.map((m) => percentile(m, 0.95)) };
}

/** A call of `minutes` between `rtc-peer call` and `rtc-peer answer --measure-latency`. */
export async function runRtcPeerSoak(o: {
  url: string;
  minutes: number;
  dir: string;
  record: boolean;
}): Promise<SoakResult> {
  const room = `soak-${process.pid}-${o.record ? 'rec' : 'plain'}`;
  const common = ['--signal', o.url, '--room', room, '--stun', 'none', '--json'];
  const caller = startCli('call', [
    ...['call', ...common],
    '--test-pattern',
    '--once',
    '--duration',
    String(o.minutes * 60),
  ]);
  const answerer = startCli('answer', [
    ...['answer', ...common, '--once', '--measure-latency'],
    ...(o.record
      ? ['--record', path.join(o.dir, `${room}-%Y%m%d-%H%M%S.webm`), '--record-segment', '1m']
      : []),
  ]);
  try {
    await answerer.waitFor('first-frame', 30_000);
    const t0 = Date.now();
    const cpu = new CpuWindow(() => [caller.pid, answerer.pid]);
    cpu.start();
    const ended = await answerer.waitFor('call-ended', o.minutes * 60_000 + 60_000);
    const usage = cpu.stop();
    await Promise.all([answerer.exited, caller.exited]);
    // every second's own latency (latencyIntervalMs), weighted by its frames
    const samples: { atMs: number; ms: number }[] = [];
    const fps: number[] = [];
    for (const e of answerer.events) {
      if (e.event !== 'stats' || e.at < t0) continue;
      fps.push(Number(e.fpsReceived));
      const l = e.latencyIntervalMs as { p50: number; p95: number; count: number } | undefined;
      if (!l) continue;
      samples.push({ atMs: e.at - t0, ms: l.p50 });
    }
    const { p50, p95 } = perMinute(samples);
    const seg = answerer.events.filter((e) => e.event === 'segment');
    return {
      setup: o.record ? 'rtc-peer --record-segment 1m' : 'rtc-peer',
      minutes: o.minutes,
      p50PerMinute: p50,
      p95PerMinute: p95,
      driftMs: (p50.at(-1) ?? NaN) - (p50[0] ?? NaN),
      fpsReceived: fps.reduce((a, b) => a + b, 0) / Math.max(1, fps.length),
      peakRssMb: usage.peakRssMb,
      ...(o.record
        ? {
            segments: {
              files: readdirSync(o.dir).filter((n) => n.startsWith(`${room}-`)).length,
              frames: Number((ended.recording as { frames?: number } | null)?.frames ?? 0),
              durationSec: seg.reduce((n, e) => n + Number(e.durationSec), 0),
            },
          }
        : {}),
    };
  } finally {
    await Promise.all([caller.stop(), answerer.stop()]);
  }
}

/** The raw wrtc floor for `minutes`, its latency per minute. */
export async function runFloorSoak(minutes: number): Promise<SoakResult> {
  const r = await runWrtcFloorSamples({ width: 640, height: 480, fps: 30, seconds: minutes * 60 });
  const { p50, p95 } = perMinute(r.samples);
  return {
    setup: 'raw wrtc (video only)',
    minutes,
    p50PerMinute: p50,
    p95PerMinute: p95,
    driftMs: (p50.at(-1) ?? NaN) - (p50[0] ?? NaN),
    fpsReceived: r.fpsReceived,
    peakRssMb: r.peakRssMb,
  };
}
