/**
 * `npm run bench` (`-- --quick` for the short mode): rtc-peer beside raw wrtc and Chromium on this machine,
 * plus signaling load and a stalled recorder. Prints a table and writes bench/results/<mode>-<time>.json
 * with the machine's facts and where each goal of issue 7 stands.
 *
 * Flags:
 *   --quick          a few seconds per run, small client counts; fails only when a figure is missing
 *   --only a,b       run only these sections: floor, rtc-peer, chromium, first-frame, stall, signaling,
 *                    impaired, viewers, cluster (two signaling servers on Redis beside one in memory), crashes,
 *                    data (data channel round trips and throughput, raw wrtc beside Chromium),
 *                    flood (another room's relay beside a flooding client, issue 15)
 *                    memfill (the server's memory under clients filling every held-bytes budget, issue 15)
 *                    capture (a capture alone: the test pattern and a camera-like MJPEG stream, issue 16)
 *   --soak MINUTES   instead: long calls one after the other (default 30 min each): rtc-peer, rtc-peer with
 *                    a segmented recording, the raw wrtc floor; latency p50/p95 per minute (not in CI)
 *
 * `crashes` (issue 18) makes hundreds of call starts on loopback and in the network lab and reports native
 * crashes per thousand starts; RTC_PEER_BENCH_STARTS=N sets its starts per setup (default 500, quick 20).
 *
 * Every run is on loopback, bounded in time, and closes what it started. Figures are noisy on a shared
 * 2-core machine: compare the rows of one run, not runs of different days.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { findCommand } from '../test/system/find-command.js';
import { ROOT, startSignal } from './lib/child.js';
import { machineFacts } from './lib/machine.js';
import { round } from './lib/stats.js';
import { compareThreads } from './lib/threads.js';
import type { FirstFrameResult, MediaResult, SignalingResult, StallResult } from './lib/types.js';
import { runCapture, type CaptureResult } from './scenarios/capture.js';
import { runChromium } from './scenarios/chromium.js';
import { runCrashStarts, type CrashStartsResult } from './scenarios/crash-starts.js';
import {
  runChromiumData,
  runRtcPeerData,
  runWrtcData,
  type DataPlan,
  type DataResult,
} from './scenarios/data.js';
import { runFlood, type FloodResult } from './scenarios/flood.js';
import { runMemoryFill, type MemoryFillResult } from './scenarios/memfill.js';
import { runImpaired, type ImpairedResult } from './scenarios/impaired.js';
import { FFMPEG, runFirstFrame, runRecorderStall, runRtcPeerMedia } from './scenarios/rtc-peer.js';
import { runSignalingLoad } from './scenarios/signaling.js';
import { runFloorSoak, runRtcPeerSoak, type SoakResult } from './scenarios/soak.js';
import { runViewers, type ViewersResult } from './scenarios/viewers.js';
import { runWhipFirstFrame, type WhipFirstFrameResult } from './scenarios/whip-janus.js';
import { runWrtcFloor } from './scenarios/wrtc-floor.js';

const SECTIONS = [
  'floor',
  'rtc-peer',
  'chromium',
  'first-frame',
  'whip',
  'stall',
  'signaling',
  'impaired',
  'viewers',
  'cluster',
  'crashes',
  'data',
  'flood',
  'memfill',
  'capture',
] as const;
type Section = (typeof SECTIONS)[number];

/** Durations and counts of one mode. */
interface Plan {
  sizes: [number, number][];
  fps: number;
  rampSec: number;
  windowSec: number;
  firstFrameTrials: number;
  stall: { width: number; height: number; beforeSec: number; stopSec: number; afterSec: number };
  signaling: { clients: number[]; rate: number; seconds: number };
  /** Random loss each way in the network lab (needs root), rtc-peer beside raw wrtc. */
  impaired: { losses: number[]; rampSec: number; windowSec: number };
  /** One camera, several viewers (issue 12): the viewer counts, at one size. */
  viewers: { counts: number[]; width: number; height: number; rampSec: number; windowSec: number };
  /**
   * Two servers on Redis against one in memory, at one client count (the one-server run is reused), and
   * join -> held offer trials on each.
   */
  cluster: { clients: number; rate: number; seconds: number; heldOfferTrials: number };
  /** Call starts per setup (loopback, network lab) for the crash rate. */
  crashStarts: number;
  /** The data channel: round trips, and a throughput run per message size. */
  data: DataPlan;
  /** Seconds of probe relay per flood run (issue 15). */
  floodSec: number;
  /** The memory fill's rounds against one server, and the longest settle after each, s (issue 15). */
  memfill: { rounds: number; settleMaxSec: number };
  /** A capture alone, test pattern and camera-like MJPEG, at these sizes (issue 16). */
  capture: { sizes: [number, number][]; rampSec: number; windowSec: number };
}

/** RTC_PEER_BENCH_STARTS, when set: the crash row's starts per setup. */
function startsFromEnv(fallback: number): number {
  const value = process.env.RTC_PEER_BENCH_STARTS;
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1)
    throw new TypeError(`RTC_PEER_BENCH_STARTS=${value} is not a whole number of starts`);
  return n;
}

const FULL: Plan = {
  sizes: [
    [640, 480],
    [1280, 720],
  ],
  fps: 30,
  rampSec: 3,
  windowSec: 20,
  firstFrameTrials: 10,
  stall: { width: 1280, height: 720, beforeSec: 4, stopSec: 10, afterSec: 6 },
  signaling: { clients: [1000, 5000, 10_000], rate: 500, seconds: 10 },
  // 30 s: libwebrtc's estimate under 20 % loss takes ~20 s to collapse (docs/network-lab.md)
  impaired: { losses: [5, 20], rampSec: 2, windowSec: 30 },
  viewers: { counts: [1, 2, 4], width: 640, height: 480, rampSec: 3, windowSec: 15 },
  cluster: { clients: 10_000, rate: 500, seconds: 10, heldOfferTrials: 200 },
  crashStarts: startsFromEnv(500),
  data: {
    pings: 2000,
    runs: [
      { size: 64, count: 50_000 },
      { size: 16_384, count: 4000 },
    ],
  },
  floodSec: 8,
  // V8 collects the fill's garbage when its old generation next fills, ~40 s later with the probe running
  memfill: { rounds: 2, settleMaxSec: 90 },
  capture: { sizes: [[1280, 720]], rampSec: 2, windowSec: 15 },
};

const QUICK: Plan = {
  sizes: FULL.sizes,
  fps: 30,
  rampSec: 1,
  windowSec: 3,
  firstFrameTrials: 2,
  stall: { width: 640, height: 480, beforeSec: 1, stopSec: 2, afterSec: 3 },
  signaling: { clients: [100, 200, 400], rate: 100, seconds: 2 },
  impaired: { losses: [5, 20], rampSec: 1, windowSec: 3 },
  viewers: { counts: [1, 2, 4], width: 640, height: 480, rampSec: 2, windowSec: 5 },
  cluster: { clients: 200, rate: 100, seconds: 2, heldOfferTrials: 20 },
  crashStarts: startsFromEnv(20),
  data: {
    pings: 200,
    runs: [
      { size: 64, count: 5000 },
      { size: 16_384, count: 400 },
    ],
  },
  floodSec: 3,
  memfill: { rounds: 1, settleMaxSec: 10 },
  capture: { sizes: [[1280, 720]], rampSec: 1, windowSec: 3 },
};

/** One goal of the issue and where it stands in this run. */
interface Goal {
  goal: string;
  measured: string;
  met: boolean | null;
}

function parseArgs(argv: string[]): { quick: boolean; only: Set<Section> } {
  const quick = argv.includes('--quick');
  const i = argv.indexOf('--only');
  const only = new Set<Section>(SECTIONS);
  if (i >= 0) {
    only.clear();
    for (const s of (argv[i + 1] ?? '').split(',')) {
      if (!(SECTIONS as readonly string[]).includes(s))
        throw new TypeError(`--only: unknown section "${s}" (known: ${SECTIONS.join(', ')})`);
      only.add(s as Section);
    }
  }
  return { quick, only };
}

const fmt = (n: number | undefined, digits = 0): string =>
  n === undefined || !Number.isFinite(n) ? '-' : n.toFixed(digits);

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ');
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/** `--soak MINUTES`: the three long calls, a table of latency per minute, and the JSON. */
async function soak(minutes: number): Promise<number> {
  const startedAt = new Date();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rtc-peer-soak-'));
  const results: SoakResult[] = [];
  const errors: string[] = [];
  const { child: signal, url } = await startSignal();
  try {
    const runs: [string, () => Promise<SoakResult>][] = [
      ['rtc-peer', () => runRtcPeerSoak({ url, minutes, dir, record: false })],
      ['rtc-peer --record-segment', () => runRtcPeerSoak({ url, minutes, dir, record: true })],
      ['raw wrtc', () => runFloorSoak(minutes)],
    ];
    for (const [what, run] of runs) {
      process.stderr.write(`bench: soak ${what}, ${minutes} min...`);
      try {
        results.push(await run());
        process.stderr.write(' done\n');
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        errors.push(`${what}: ${message}`);
        process.stderr.write(` FAILED: ${message.split('\n')[0]}\n`);
      }
    }
  } finally {
    await signal.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  const width = Math.max(0, ...results.map((r) => r.p50PerMinute.length));
  console.log(
    table(
      [
        'setup',
        ...Array.from({ length: width }, (_, i) => `m${i + 1}`),
        'drift',
        'fps',
        'peak RSS MB',
        'segments',
      ],
      results.map((r) => [
        r.setup,
        ...Array.from({ length: width }, (_, i) => `${fmt(r.p50PerMinute[i])}/${fmt(r.p95PerMinute[i])}`),
        `${r.driftMs >= 0 ? '+' : ''}${fmt(r.driftMs)} ms`,
        fmt(r.fpsReceived, 1),
        fmt(r.peakRssMb),
        r.segments
          ? `${r.segments.files} files, ${r.segments.frames} frames, ${fmt(r.segments.durationSec, 1)} s`
          : '-',
      ]),
    ),
  );
  console.log('(latency p50/p95 per minute, ms, from the barcode clock; drift: last minute minus first)');
  for (const e of errors) console.log(`error: ${e}`);
  const out = path.join(ROOT, 'bench', 'results');
  mkdirSync(out, { recursive: true });
  const file = path.join(out, `soak-${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify({ startedAt, minutes, results, errors }, null, 2));
  console.log(`written: ${path.relative(ROOT, file)}`);
  return errors.length > 0 ? 1 : 0;
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  const soakAt = argv.indexOf('--soak');
  if (soakAt >= 0) {
    const given = argv[soakAt + 1];
    const minutes = given === undefined || given.startsWith('--') ? 30 : Number(given);
    if (!(minutes >= 1)) throw new TypeError(`--soak ${given}: give the minutes of each call (>= 1)`);
    return soak(Math.round(minutes));
  }
  const { quick, only } = parseArgs(argv);
  const plan = quick ? QUICK : FULL;
  const startedAt = new Date();
  const chromium = findCommand('chromium');
  const machine = machineFacts(chromium.found ? chromium.path : undefined, FFMPEG);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rtc-peer-bench-'));
  const media: MediaResult[] = [];
  const firstFrame: FirstFrameResult[] = [];
  const whipFirstFrame: WhipFirstFrameResult[] = [];
  const signaling: SignalingResult[] = [];
  let stall: StallResult | undefined;
  const impaired: ImpairedResult[] = [];
  const viewers: ViewersResult[] = [];
  const crashes: CrashStartsResult[] = [];
  const data: DataResult[] = [];
  const flood: FloodResult[] = [];
  const memfill: MemoryFillResult[] = [];
  const capture: CaptureResult[] = [];
  const errors: string[] = [];
  const step = async (what: string, run: () => Promise<void>): Promise<void> => {
    const t0 = performance.now();
    process.stderr.write(`bench: ${what}...`);
    try {
      await run();
      process.stderr.write(` ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      errors.push(`${what}: ${message}`);
      process.stderr.write(` FAILED: ${message.split('\n')[0]}\n`);
    }
  };

  const { child: signal, url } = await startSignal();
  try {
    for (const [width, height] of plan.sizes) {
      const size = `${width}x${height}`;
      const m = { width, height, fps: plan.fps, rampSec: plan.rampSec, windowSec: plan.windowSec };
      if (only.has('floor'))
        await step(`raw wrtc ${size}`, async () => void media.push(await runWrtcFloor(m)));
      if (only.has('rtc-peer')) {
        await step(
          `rtc-peer ${size}`,
          async () => void media.push(await runRtcPeerMedia({ ...m, url, record: false, dir })),
        );
        await step(
          `rtc-peer --record ${size}`,
          async () => void media.push(await runRtcPeerMedia({ ...m, url, record: true, dir })),
        );
      }
      if (only.has('chromium'))
        await step(`chromium ${size}`, async () => void media.push(await runChromium(m)));
      if (only.has('first-frame')) {
        await step(
          `join -> first frame ${size} x${plan.firstFrameTrials}`,
          async () =>
            void firstFrame.push(
              await runFirstFrame({ url, width, height, fps: plan.fps, trials: plan.firstFrameTrials, dir }),
            ),
        );
      }
    }
    if (only.has('whip')) {
      // Beside the Socket.IO row of the same size: join -> first frame, published over WHIP into Janus.
      const [width, height] = plan.sizes[0]!;
      await step(
        `join -> first frame over WHIP into Janus ${width}x${height} x${plan.firstFrameTrials}`,
        async () =>
          void whipFirstFrame.push(
            await runWhipFirstFrame({ width, height, fps: plan.fps, trials: plan.firstFrameTrials }),
          ),
      );
    }
    if (only.has('viewers')) {
      const v = plan.viewers;
      for (const count of v.counts)
        await step(`one camera, ${count} viewer(s) at ${v.width}x${v.height}`, async () => {
          viewers.push(await runViewers({ ...v, viewers: count, url, fps: plan.fps }));
        });
    }
    if (only.has('stall')) {
      const s = plan.stall;
      await step(`recorder SIGSTOP ${s.stopSec} s at ${s.width}x${s.height}`, async () => {
        stall = await runRecorderStall({ ...s, url, fps: plan.fps, dir });
      });
    }
  } finally {
    await signal.stop();
  }
  if (only.has('signaling')) {
    for (const clients of plan.signaling.clients) {
      await step(
        `signaling ${clients} clients`,
        async () =>
          void signaling.push(
            await runSignalingLoad({
              clients,
              rate: plan.signaling.rate,
              seconds: plan.signaling.seconds,
              heldOfferTrials: plan.cluster.heldOfferTrials,
            }),
          ),
      );
    }
  }
  if (only.has('impaired')) {
    const { losses, rampSec, windowSec } = plan.impaired;
    await step(`impaired: ${losses.join(' and ')} % loss, rtc-peer and raw wrtc, ${windowSec} s each`, () =>
      runImpaired(losses, { rampSec, windowSec }, (r) => void impaired.push(r)),
    );
  }
  if (only.has('cluster')) {
    const c = plan.cluster;
    const same = (s: SignalingResult): boolean =>
      s.setup === 'one' && s.clients === c.clients && s.rate === c.rate;
    if (!signaling.some(same)) {
      await step(
        `signaling ${c.clients} clients, one server`,
        async () => void signaling.push(await runSignalingLoad({ ...c, servers: 'one' })),
      );
    }
    await step(
      `signaling ${c.clients} clients, two servers on Redis`,
      async () => void signaling.push(await runSignalingLoad({ ...c, servers: 'two+redis' })),
    );
  }
  if (only.has('crashes'))
    await step(`crashes: ${plan.crashStarts} call starts on loopback and in the network lab`, () =>
      runCrashStarts(plan.crashStarts, (r) => void crashes.push(r)),
    );
  if (only.has('data')) {
    const d = plan.data;
    const what = `${d.pings} round trips, ${d.runs.map((r) => `${r.count} x ${r.size} B`).join(', ')}`;
    await step(`data channel, raw wrtc: ${what}`, async () => void data.push(await runWrtcData(d)));
    await step(`data channel, chromium: ${what}`, async () => void data.push(await runChromiumData(d)));
    await step(`data channel, rtc-peer CLI: ${what}`, async () => void data.push(await runRtcPeerData(d)));
  }
  if (only.has('flood')) {
    const setups: FloodResult['setup'][] = [
      'no flooder',
      'flooder, default limits',
      'flooder, no message limit',
    ];
    for (const setup of setups)
      await step(
        `flood: ${setup}, ${plan.floodSec} s`,
        async () => void flood.push(await runFlood(setup, plan.floodSec)),
      );
  }
  if (only.has('memfill'))
    await step(
      `memory fill: 64 addresses x 32 callers, 256 MB heap, ${plan.memfill.rounds} round(s)`,
      async () => void memfill.push(...(await runMemoryFill(plan.memfill))),
    );
  if (only.has('capture'))
    for (const [width, height] of plan.capture.sizes)
      for (const source of ['pattern', 'mjpeg'] as const)
        await step(
          `capture alone, ${source === 'mjpeg' ? 'camera-like MJPEG' : 'test pattern'} ${width}x${height}`,
          async () =>
            void capture.push(
              await runCapture({
                ...plan.capture,
                source,
                width,
                height,
                fps: plan.fps,
                ffmpegPath: FFMPEG,
                dir,
              }),
            ),
        );
  rmSync(dir, { recursive: true, force: true });

  const goals = [
    ...evaluateGoals(media, firstFrame, signaling, stall, plan),
    ...impairedGoals(impaired),
    ...viewersGoals(viewers, media),
    ...floodGoals(flood),
    ...memfillGoals(memfill),
    ...captureGoals(capture),
  ];
  print(media, firstFrame, signaling, stall, goals, impaired);
  printWhipFirstFrame(whipFirstFrame, firstFrame);
  printViewers(viewers);
  printCrashes(crashes);
  printData(data);
  printFlood(flood);
  printMemfill(memfill);
  printCapture(capture);
  const missing = quick ? missingFigures(media, firstFrame, signaling, stall, only, plan) : [];
  if (quick && only.has('whip'))
    for (const r of whipFirstFrame)
      if (!r.skipped && (r.firstFrame?.count ?? 0) < plan.firstFrameTrials) missing.push(`whip ${r.size}`);
  if (quick && only.has('whip') && whipFirstFrame.length === 0) missing.push('whip: no result');
  if (quick && only.has('crashes') && !crashes.some((r) => r.setup === 'loopback'))
    missing.push('crashes loopback');
  if (quick && only.has('viewers'))
    for (const count of plan.viewers.counts) {
      const v = viewers.find((x) => x.viewers === count);
      if (!v || v.perViewer.length !== count || v.perViewer.some((p) => !(p.fpsReceived > 0) || !p.latencyMs))
        missing.push(`viewers ${count}`);
    }
  if (quick && only.has('impaired'))
    for (const loss of plan.impaired.losses)
      for (const setup of ['rtc-peer', 'raw wrtc'])
        if (
          !impaired.some(
            (r) => r.setup === setup && r.lossPercent === loss && r.fpsReceived > 0 && r.latencyMs,
          )
        )
          missing.push(`impaired ${setup} ${loss} %`);
  if (quick && only.has('data'))
    for (const setup of ['raw wrtc', 'chromium', 'rtc-peer CLI'] as const) {
      const r = data.find((x) => x.setup === setup);
      if (!r?.rttMs || r.runs.length !== plan.data.runs.length || r.runs.some((x) => !x.intact))
        missing.push(`data ${setup}`);
    }
  if (quick && only.has('memfill') && memfill.length === 0) missing.push('memfill: no result');
  if (quick && only.has('capture'))
    for (const [width, height] of plan.capture.sizes)
      for (const source of ['test pattern', 'MJPEG (camera-like)'])
        if (!capture.some((r) => r.source === source && r.size === `${width}x${height}` && r.fpsCaptured > 0))
          missing.push(`capture ${source} ${width}x${height}`);
  if (quick && only.has('flood'))
    for (const r of flood) if (r.relayMs === undefined) missing.push(`flood ${r.setup}`);
  const result = {
    mode: quick ? 'quick' : 'full',
    startedAt: startedAt.toISOString(),
    durationSec: round((Date.now() - startedAt.getTime()) / 1000, 1),
    machine,
    plan,
    media,
    firstFrame,
    whipFirstFrame,
    stall: stall ?? null,
    signaling,
    impaired,
    viewers,
    crashes,
    data,
    flood,
    memfill,
    capture,
    goals,
    errors,
    missing,
  };
  const outDir = path.join(ROOT, 'bench/results');
  mkdirSync(outDir, { recursive: true });
  const file = path.join(outDir, `${result.mode}-${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`\nresults: ${path.relative(process.cwd(), file)} (${result.durationSec} s)`);
  for (const e of errors) console.error(`error: ${e}`);
  for (const m of missing) console.error(`missing: ${m}`);
  return errors.length > 0 || missing.length > 0 ? 1 : 0;
}

/** A capture alone: the test pattern beside the camera-like MJPEG stream (issue 16). */
function printCapture(capture: CaptureResult[]): void {
  if (capture.length === 0) return;
  console.log(
    "\ncapture alone, no call (cores over the steady window): rtc-peer's VideoCapture and its ffmpeg, the test " +
      'pattern beside MJPEG as a UVC webcam sends it (decoded and converted to I420 by ffmpeg)',
  );
  console.log(
    table(
      ['source', 'size', 'fps', 'ffmpeg', 'node', 'total', 'dropped', 'stream Mbit/s'],
      capture.map((r) => [
        r.source,
        r.size,
        fmt(r.fpsCaptured, 1),
        fmt(r.ffmpegCores, 3),
        fmt(r.nodeCores, 3),
        fmt(r.cores, 3),
        String(r.dropped),
        fmt(r.mjpegMbps, 1),
      ]),
    ),
  );
}

/** Issue 16: capture of a camera-like MJPEG 1280x720@30 stream at most 0.15 core. */
function captureGoals(capture: CaptureResult[]): Goal[] {
  return capture
    .filter((r) => r.source === 'MJPEG (camera-like)' && r.size === '1280x720')
    .map((r) => ({
      goal: 'capture of a camera-like MJPEG 1280x720@30 stream <= 0.15 core (issue 16)',
      measured: `${fmt(r.cores, 3)} core (ffmpeg ${fmt(r.ffmpegCores, 3)}, node ${fmt(r.nodeCores, 3)}) at ${fmt(r.fpsCaptured, 1)} fps`,
      met: r.cores <= 0.15 && r.fpsCaptured >= r.fps * 0.95,
    }));
}

/** Join -> first frame over WHIP into Janus, beside the Socket.IO row of the same size from this run. */
function printWhipFirstFrame(whip: WhipFirstFrameResult[], firstFrame: FirstFrameResult[]): void {
  if (whip.length === 0) return;
  console.log('\njoin -> first frame, ms: over WHIP into Janus beside the Socket.IO held offer (this run)');
  const rows: string[][] = [];
  for (const w of whip) {
    const io = firstFrame.find((f) => f.size === w.size);
    if (io)
      rows.push([
        'socket.io: answerer joins a held offer -> its first frame',
        w.size,
        String(io.trials),
        fmt(io.firstFrame?.p50),
        fmt(io.firstFrame?.p95),
        '-',
      ]);
    rows.push([
      'WHIP: call --whip POSTs -> Janus has its first frame',
      w.size,
      String(w.trials),
      w.skipped ? `skipped: ${w.skipped}` : fmt(w.firstFrame?.p50),
      fmt(w.firstFrame?.p95),
      fmt(w.connected?.p50),
    ]);
  }
  console.log(table(['path', 'size', 'trials', 'first p50', 'p95', 'connected p50'], rows));
}

function printData(data: DataResult[]): void {
  if (data.length === 0) return;
  console.log(
    '\ndata channel over loopback (reliable, ordered): round trip one message at a time, ms; throughput as ' +
      'fast as the channel takes them (1 MiB buffered at most), every message checked in order',
  );
  console.log(
    table(
      ['setup', 'rtt p50', 'rtt p99', 'size B', 'messages', 'msg/s', 'MB/s', 'intact'],
      data.flatMap((r) =>
        r.runs.map((run, i) => [
          i === 0 ? r.setup : '',
          i === 0 ? fmt(r.rttMs?.p50, 2) : '',
          i === 0 ? fmt(r.rttMs?.p99, 2) : '',
          String(run.size),
          String(run.count),
          fmt(run.messagesPerSec),
          fmt(run.mbPerSec, 1),
          run.intact ? 'yes' : 'NO',
        ]),
      ),
    ),
  );
}

function printCrashes(crashes: CrashStartsResult[]): void {
  if (crashes.length === 0) return;
  console.log(
    '\ncall starts (a fresh answerer and caller each, both must exit 0): native crashes per 1000 starts ' +
      '(upper: 95 % bound)',
  );
  console.log(
    table(
      ['setup', 'starts', 'crashes', 'per 1000', 'upper', 'other failures', 'cores', 'starts/min'],
      crashes.map((r) => [
        r.setup,
        String(r.starts),
        String(r.crashes),
        fmt(r.perThousand, 1),
        fmt(r.upperPerThousand, 1),
        String(r.otherFailures),
        r.cores.length > 0 ? `${r.cores.length} in ${r.dir}` : '0',
        fmt(r.startsPerMinute, 0),
      ]),
    ),
  );
  for (const r of crashes) if (r.details) console.log(`${r.setup}:\n${r.details}`);
}

function print(
  media: MediaResult[],
  firstFrame: FirstFrameResult[],
  signaling: SignalingResult[],
  stall: StallResult | undefined,
  goals: Goal[],
  impaired: ImpairedResult[],
): void {
  if (media.length > 0) {
    console.log('\nmedia (latency over the whole call; fps, CPU over the steady window; RSS = sum of peaks)');
    console.log(
      table(
        ['setup', 'size', 'lat p50', 'p95', 'p99', 'fps rx', 'received', 'CPU cores', 'RSS MB', 'PSS MB'],
        media.map((m) => [
          m.setup,
          m.size,
          fmt(m.latencyMs?.p50),
          fmt(m.latencyMs?.p95),
          fmt(m.latencyMs?.p99),
          fmt(m.fpsReceived, 1),
          m.resolution ?? '-',
          fmt(m.cpuCores, 2),
          fmt(m.peakRssMb),
          fmt(m.pssMb),
        ]),
      ),
    );
  }
  for (const size of new Set(media.map((m) => m.size))) {
    // Where the time goes, thread by thread: rtc-peer beside the raw floor (issue 16).
    const setups = ['raw wrtc', 'rtc-peer', 'rtc-peer --record']
      .map((setup) => media.find((m) => m.setup === setup && m.size === size))
      .filter((m): m is MediaResult => m !== undefined);
    if (setups.length < 2 || setups[0]?.setup !== 'raw wrtc') continue;
    console.log(`\nCPU by thread, ${size} (cores over the steady window; x = rtc-peer / raw wrtc)`);
    console.log(
      table(
        ['thread', ...setups.map((m) => m.setup), 'x'],
        compareThreads(setups).map((r) => [
          r.what,
          ...r.cores.map((c) => fmt(c, 3)),
          (r.cores[0] ?? 0) > 0.005 ? fmt((r.cores[1] ?? 0) / (r.cores[0] ?? 1), 2) : '-',
        ]),
      ),
    );
  }
  if (firstFrame.length > 0) {
    console.log('\nrtc-peer answerer joins a held offer: join -> first frame, ms');
    console.log(
      table(
        ['size', 'trials', 'first p50', 'p95', 'recorded p50', 'p95'],
        firstFrame.map((f) => [
          f.size,
          String(f.trials),
          fmt(f.firstFrame?.p50),
          fmt(f.firstFrame?.p95),
          fmt(f.firstRecorded?.p50),
          fmt(f.firstRecorded?.p95),
        ]),
      ),
    );
  }
  if (stall) {
    console.log(
      `\nrecorder ffmpeg SIGSTOP ${stall.stopSec} s (${stall.size}): answerer RSS ${fmt(stall.rssBeforeMb)} -> ` +
        `${fmt(stall.rssPeakMb)} MB (+${fmt(stall.growthMb, 1)}), fps rx during ${fmt(stall.fpsReceivedDuringStop, 1)}, ` +
        `after ${fmt(stall.fpsReceivedAfter, 1)}, recording resumed: ${stall.recordingResumed ? 'yes' : 'no'}, ` +
        `recorder dropped ${stall.framesDropped ?? '-'}`,
    );
  }
  if (signaling.length > 0) {
    console.log(
      '\nsignaling: clients in rooms of two (2 client processes); "one": one rtc-peer signal process; ' +
        '"two+redis": callers on one of two --redis servers, answerers on the other',
    );
    console.log(
      table(
        [
          'servers',
          'clients',
          'connect all ms',
          'conn p50',
          'p99',
          'KB/client',
          'server MB',
          'hs/s',
          'relay p50',
          'p99',
          'handshake p99',
          'lost',
          'join→held offer p50',
          'p99',
          'server CPU',
          'Redis CPU',
          'Redis KB/client',
        ],
        signaling.map((s) => [
          s.setup,
          String(s.clients),
          fmt(s.connectAllMs),
          fmt(s.connectMs?.p50),
          fmt(s.connectMs?.p99),
          fmt(s.rssPerClientKb, 1),
          fmt(s.serverRssMb),
          `${fmt(s.rateAchieved)}/${s.rate}`,
          fmt(s.relayMs?.p50, 2),
          fmt(s.relayMs?.p99, 2),
          fmt(s.handshakeMs?.p99, 2),
          String(s.handshakesLost),
          fmt(s.heldOfferMs?.p50, 2),
          fmt(s.heldOfferMs?.p99, 2),
          fmt(s.serverCpuCores, 2),
          fmt(s.redisCpuCores, 2),
          fmt(s.redisRssPerClientKb, 1),
        ]),
      ),
    );
  }
  if (impaired.length > 0) {
    console.log(
      "\nimpaired link: random loss each way on the receiver's link, 640x480@30 video only, network lab " +
        '(fps and freezes over the window: raw wrtc at its sink, rtc-peer in its recording; latency over the call)',
    );
    console.log(
      table(
        [
          'setup',
          'loss',
          'dropped',
          'window s',
          'fps rx',
          'lowest fps',
          'freezes>500ms',
          'longest ms',
          'lat p50',
          'p95',
        ],
        impaired.map((r) => [
          r.setup,
          `${r.lossPercent} %`,
          `${fmt(r.measuredLossPercent, 1)} %`,
          String(r.windowSec),
          fmt(r.fpsReceived, 1),
          `${fmt(r.lowestFps, 1)} /${r.lowestOverSec}s`,
          String(r.freezes),
          String(r.longestFreezeMs),
          fmt(r.latencyMs?.p50),
          fmt(r.latencyMs?.p95),
        ]),
      ),
    );
  }
  if (goals.length > 0) {
    console.log('\ngoals (issues 7 and 13)');
    console.log(
      table(
        ['', 'goal', 'measured'],
        goals.map((g) => [g.met === null ? '?' : g.met ? 'met' : 'MISSED', g.goal, g.measured]),
      ),
    );
  }
}

function evaluateGoals(
  media: MediaResult[],
  firstFrame: FirstFrameResult[],
  signaling: SignalingResult[],
  stall: StallResult | undefined,
  plan: Plan,
): Goal[] {
  const goals: Goal[] = [];
  const find = (setup: string, size: string): MediaResult | undefined =>
    media.find((m) => m.setup === setup && m.size === size);
  for (const [w, h] of plan.sizes) {
    const size = `${w}x${h}`;
    const peer = find('rtc-peer', size);
    const rec = find('rtc-peer --record', size);
    const floor = find('raw wrtc', size);
    const chrome = find('chromium', size);
    if (peer?.latencyMs && chrome?.latencyMs) {
      goals.push({
        goal: `${size} rtc-peer latency p50 <= Chromium's`,
        measured: `${peer.latencyMs.p50} vs ${chrome.latencyMs.p50} ms (raw wrtc ${fmt(floor?.latencyMs?.p50)})`,
        met: peer.latencyMs.p50 <= chrome.latencyMs.p50,
      });
    }
    const p95s = [peer, floor, chrome]
      .map((m) => m?.latencyMs?.p95)
      .filter((p): p is number => p !== undefined);
    if (peer?.latencyMs && p95s.length > 1) {
      const best = Math.min(...p95s);
      goals.push({
        goal: `${size} rtc-peer latency p95 <= 1.1x the best p95`,
        measured: `${peer.latencyMs.p95} ms vs 1.1 x ${best} = ${fmt(best * 1.1, 1)} ms`,
        met: peer.latencyMs.p95 <= best * 1.1,
      });
    }
    if (peer && floor) {
      goals.push({
        goal: `${size} rtc-peer CPU <= raw wrtc + 0.05 core`,
        measured: `${fmt(peer.cpuCores, 2)} vs ${fmt(floor.cpuCores, 2)} + 0.05 (x${fmt(peer.cpuCores / floor.cpuCores, 2)})`,
        met: peer.cpuCores <= floor.cpuCores + 0.05,
      });
    }
    if (peer && chrome) {
      goals.push({
        goal: `${size} rtc-peer CPU <= 0.8x Chromium's`,
        measured: `${fmt(peer.cpuCores, 2)} vs 0.8 x ${fmt(chrome.cpuCores, 2)} (x${fmt(peer.cpuCores / chrome.cpuCores, 2)})`,
        met: peer.cpuCores <= 0.8 * chrome.cpuCores,
      });
    }
    if (rec && h === 720) {
      goals.push({
        goal: `${size}@${plan.fps} with --record: whole call <= 1.0 core`,
        measured: `${fmt(rec.cpuCores, 2)} cores`,
        met: rec.cpuCores <= 1.0,
      });
    }
    if (h === 720) {
      for (const m of [peer, rec]) {
        if (!m) continue;
        goals.push({
          goal: `${size}@${plan.fps} ${m.setup}: 30 fps received in steady state`,
          measured: `${fmt(m.fpsReceived, 1)} fps`,
          met: m.fpsReceived >= 29,
        });
      }
    }
  }
  for (const f of firstFrame) {
    if (!f.firstRecorded) continue;
    goals.push({
      goal: `${f.size} join -> first recorded frame p95 <= 300 ms`,
      measured: `p95 ${fmt(f.firstRecorded.p95)} ms over ${f.firstRecorded.count} joins`,
      met: f.firstRecorded.p95 <= 300,
    });
  }
  const big = signaling.filter((s) => s.setup === 'one').at(-1);
  if (big) {
    goals.push({
      goal: `signaling ${big.clients} clients <= 30 KB RSS each`,
      measured: `${fmt(big.rssPerClientKb, 1)} KB`,
      met: big.rssPerClientKb <= 30,
    });
    goals.push({
      goal: `signaling relay p99 <= 5 ms at ${big.rate} handshakes/s (${big.clients} clients)`,
      measured: `p99 ${fmt(big.relayMs?.p99, 2)} ms`,
      met: big.relayMs ? big.relayMs.p99 <= 5 : false,
    });
  }
  const pair = signaling.find((s) => s.setup === 'two+redis');
  const alone = signaling.find(
    (s) => s.setup === 'one' && s.clients === pair?.clients && s.rate === pair?.rate,
  );
  if (pair && alone) {
    goals.push({
      goal: `two servers on Redis: relay p99 <= 2x one server's (${pair.clients} clients, ${pair.rate} handshakes/s across)`,
      measured: `p99 ${fmt(pair.relayMs?.p99, 2)} ms vs ${fmt(alone.relayMs?.p99, 2)} ms: ${fmt((pair.relayMs?.p99 ?? NaN) / (alone.relayMs?.p99 ?? NaN), 2)}x`,
      met: pair.relayMs && alone.relayMs ? pair.relayMs.p99 <= 2 * alone.relayMs.p99 : false,
    });
    // The issue asks for the held offer "at once, exactly as on one node": judged as the relay is.
    if (pair.heldOfferMs && alone.heldOfferMs)
      goals.push({
        goal: `two servers on Redis: join -> held offer across p99 <= 2x one server's (${pair.heldOfferMs.count} joins)`,
        measured: `p99 ${fmt(pair.heldOfferMs.p99, 2)} ms vs ${fmt(alone.heldOfferMs.p99, 2)} ms: ${fmt(pair.heldOfferMs.p99 / alone.heldOfferMs.p99, 2)}x`,
        met: pair.heldOfferMs.p99 <= 2 * alone.heldOfferMs.p99,
      });
    goals.push({
      goal: 'two servers on Redis: no handshake lost',
      measured: `${pair.handshakesLost} of ${Math.round(pair.rate * plan.cluster.seconds)} lost (one server: ${alone.handshakesLost})`,
      met: pair.handshakesLost === 0,
    });
  }
  if (stall) {
    goals.push({
      goal: `recorder SIGSTOP ${stall.stopSec} s: answerer grows <= 50 MB and the call recovers`,
      measured: `+${fmt(stall.growthMb, 1)} MB, ${fmt(stall.fpsReceivedAfter, 1)} fps after, recording resumed: ${stall.recordingResumed}`,
      met: stall.growthMb <= 50 && stall.recordingResumed && stall.fpsReceivedAfter >= 25,
    });
  }
  return goals;
}

/** Issue 13's figures for loss: 5 % -> at least 28 fps; 20 % -> at least 15 fps sustained, no freeze over 1 s. */
function impairedGoals(impaired: ImpairedResult[]): Goal[] {
  const goals: Goal[] = [];
  for (const r of impaired.filter((x) => x.setup === 'rtc-peer')) {
    const raw = impaired.find((x) => x.setup === 'raw wrtc' && x.lossPercent === r.lossPercent);
    const vs = raw ? ` (raw wrtc ${fmt(raw.fpsReceived, 1)}, lowest ${fmt(raw.lowestFps, 1)})` : '';
    if (r.lossPercent === 5)
      goals.push({
        goal: '5 % loss: rtc-peer receives >= 28 fps',
        measured: `${fmt(r.fpsReceived, 1)} fps over ${r.windowSec} s${vs}`,
        met: r.fpsReceived >= 28,
      });
    if (r.lossPercent === 20)
      goals.push({
        goal: '20 % loss: rtc-peer >= 15 fps sustained, no freeze over 1 s',
        measured: `lowest ${fmt(r.lowestFps, 1)} fps per ${r.lowestOverSec} s, longest freeze ${r.longestFreezeMs} ms over ${r.windowSec} s${vs}`,
        met: r.lowestFps >= 15 && r.longestFreezeMs < 1000,
      });
  }
  return goals;
}

/** Quick mode: every figure must have been produced (never a timing check). */
function missingFigures(
  media: MediaResult[],
  firstFrame: FirstFrameResult[],
  signaling: SignalingResult[],
  stall: StallResult | undefined,
  only: Set<Section>,
  plan: Plan,
): string[] {
  const missing: string[] = [];
  const setups: [Section, string][] = [
    ['floor', 'raw wrtc'],
    ['rtc-peer', 'rtc-peer'],
    ['rtc-peer', 'rtc-peer --record'],
    ['chromium', 'chromium'],
  ];
  for (const [w, h] of plan.sizes) {
    const size = `${w}x${h}`;
    for (const [section, setup] of setups) {
      if (!only.has(section)) continue;
      const m = media.find((x) => x.setup === setup && x.size === size);
      if (!m) {
        missing.push(`${setup} ${size}: no result`);
        continue;
      }
      if (!m.latencyMs || m.latencyMs.count === 0) missing.push(`${setup} ${size}: latency`);
      if (!(m.fpsReceived > 0)) missing.push(`${setup} ${size}: fps received`);
      if (!m.resolution) missing.push(`${setup} ${size}: resolution`);
      if (!(m.cpuCores > 0)) missing.push(`${setup} ${size}: CPU`);
      if (!(m.peakRssMb > 0)) missing.push(`${setup} ${size}: peak RSS`);
      if (setup === 'rtc-peer --record' && !(m.framesRecorded && m.framesRecorded > 0))
        missing.push(`${setup} ${size}: frames recorded`);
    }
    if (only.has('first-frame')) {
      const f = firstFrame.find((x) => x.size === size);
      if (!f?.firstFrame || f.firstFrame.count < plan.firstFrameTrials) missing.push(`first frame ${size}`);
      if (!f?.firstRecorded || f.firstRecorded.count < plan.firstFrameTrials)
        missing.push(`first recorded frame ${size}`);
    }
  }
  if (
    only.has('stall') &&
    (!stall || !Number.isFinite(stall.growthMb) || !Number.isFinite(stall.fpsReceivedAfter))
  )
    missing.push('recorder stall');
  if (only.has('cluster')) {
    const s = signaling.find((x) => x.setup === 'two+redis');
    if (!s || !s.relayMs || !s.handshakeMs || s.handshakes === 0 || !(s.redisCpuCores !== undefined))
      missing.push('signaling on two servers with Redis');
    for (const setup of ['one', 'two+redis'])
      if (
        (signaling.find((x) => x.setup === setup && x.clients === plan.cluster.clients)?.heldOfferMs?.count ??
          0) < plan.cluster.heldOfferTrials
      )
        missing.push(`join -> held offer, ${setup}`);
  }
  if (only.has('signaling')) {
    for (const clients of plan.signaling.clients) {
      const s = signaling.find((x) => x.setup === 'one' && x.clients === clients);
      if (
        !s ||
        !s.connectMs ||
        !s.relayMs ||
        !s.handshakeMs ||
        !Number.isFinite(s.rssPerClientKb) ||
        s.handshakes === 0
      )
        missing.push(`signaling ${clients} clients`);
    }
  }
  return missing;
}

main().then(
  // An explicit exit: nothing of the bench must keep running, and wrtc is never loaded here anyway.
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
    process.exit(1);
  },
);

/** The one-camera, several-viewers rows: the caller's CPU, and each viewer's fps and latency. */
function printViewers(viewers: ViewersResult[]): void {
  if (viewers.length === 0) return;
  console.log(
    '\none camera, several viewers (caller CPU over the steady window: node and ffmpeg; per viewer)',
  );
  console.log(
    table(
      ['viewers', 'size', 'caller CPU', 'encoders', 'per extra', 'fps rx each', 'lat p50 each', 'p95 each'],
      viewers.map((v) => {
        const one = viewers.find((x) => x.viewers === 1);
        const extra =
          one && v.viewers > 1 ? round((v.callerCores - one.callerCores) / (v.viewers - 1)).toString() : '-';
        return [
          String(v.viewers),
          v.size,
          v.callerCores.toFixed(2),
          v.encoderCores.toFixed(2),
          extra,
          v.perViewer.map((p) => p.fpsReceived.toFixed(1)).join(' '),
          v.perViewer.map((p) => (p.latencyMs ? String(p.latencyMs.p50) : '-')).join(' '),
          v.perViewer.map((p) => (p.latencyMs ? String(p.latencyMs.p95) : '-')).join(' '),
        ];
      }),
    ),
  );
}

/** The flood rows (issue 15): other rooms' relay with and without a flooder, in one run. */
function printFlood(flood: FloodResult[]): void {
  if (flood.length === 0) return;
  console.log(
    "\nflood: another room's offer relay (40/s) beside one client flooding join/bye pairs (issue 15)",
  );
  console.log(
    table(
      ['setup', 'probes', 'lost', 'relay p50 ms', 'p99', 'flood msgs', 'cuts', 'first cut ms'],
      flood.map((r) => [
        r.setup,
        String(r.probes),
        String(r.lost),
        fmt(r.relayMs?.p50, 2),
        fmt(r.relayMs?.p99, 2),
        r.floodSent === null ? '-' : String(r.floodSent),
        r.floodCuts === null ? '-' : String(r.floodCuts),
        r.firstCutMs === null ? '-' : String(r.firstCutMs),
      ]),
    ),
  );
}

/**
 * Issue 12's goals: no viewer below 29 fps with 4 viewers; and, when the floor ran at the same size in this
 * run, each viewer beyond the first costs the caller no more than the floor's sender process (one raw wrtc
 * encode, its pattern drawn in process).
 */
function viewersGoals(viewers: ViewersResult[], media: MediaResult[]): Goal[] {
  const four = viewers.find((v) => v.viewers === 4);
  if (!four) return [];
  const worst = Math.min(...four.perViewer.map((p) => p.fpsReceived));
  const goals: Goal[] = [
    {
      goal: 'one camera, 4 viewers at 640x480@30: no viewer below 29 fps',
      measured: `worst viewer ${worst.toFixed(1)} fps, caller ${four.callerCores.toFixed(2)} cores`,
      met: worst >= 29,
    },
  ];
  const one = viewers.find((v) => v.viewers === 1);
  const floor = media.find((m) => m.setup === 'raw wrtc' && m.size === four.size);
  const sender = floor?.peers && floor.processes[String(floor.peers.sender)];
  if (one && sender) {
    const perExtra = (four.callerCores - one.callerCores) / (four.viewers - 1);
    goals.push({
      goal: `one camera, ${four.size}: each extra viewer costs <= the raw wrtc floor's sender`,
      measured: `${perExtra.toFixed(2)} cores per extra viewer (1 -> 4) vs sender ${sender.cores.toFixed(2)}: ${(perExtra / sender.cores).toFixed(2)}x`,
      met: perExtra <= sender.cores,
    });
  }
  return goals;
}

/** The memory fill row (issue 15): the server's RSS and what its limits refused. */
function printMemfill(rows: MemoryFillResult[]): void {
  if (rows.length === 0) return;
  console.log(
    '\nmemory fill: callers from 64 addresses each holding a 60 KiB offer + 200 candidates, twice against ' +
      'one server (issue 15)',
  );
  console.log(
    table(
      [
        'round',
        'tried',
        'admitted',
        'held',
        'refusals',
        'RSS before MB',
        'peak',
        'after',
        'heap base MB',
        'after',
        'heap back s',
        'left (rooms/clients/held B)',
        'probe p99 ms',
        'lost',
      ],
      rows.map((r) => [
        String(r.round),
        String(r.tried),
        String(r.admitted),
        String(r.held),
        Object.entries(r.refusals)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ') || '-',
        fmt(r.rssBeforeMb, 1),
        fmt(r.rssPeakMb, 1),
        fmt(r.rssAfterMb, 1),
        fmt(r.heapBaselineMb, 1),
        fmt(r.heapAfterMb, 1),
        r.heapBackSec === null ? 'never' : fmt(r.heapBackSec, 0),
        r.after === undefined ? 'server DEAD' : `${r.after.rooms}/${r.after.clients}/${r.after.heldBytes}`,
        fmt(r.relayMs?.p99, 2),
        String(r.lost),
      ]),
    ),
  );
}

/**
 * Issue 15's memory goals: under the fill the server stays under a 256 MB budget and serves the others;
 * afterwards what the fill made it keep is gone (its V8 heap back within 10 MB of where it started), and
 * what the process keeps beyond that (pages its allocators hold, reused) does not grow from one fill to
 * the next (within 10 MB).
 */
function memfillGoals(rows: MemoryFillResult[]): Goal[] {
  const first = rows[0];
  if (first === undefined) return [];
  const last = rows.at(-1) ?? first;
  const peak = Math.max(...rows.map((r) => r.rssPeakMb));
  const goals: Goal[] = [
    {
      goal: 'memory fill: server RSS <= 256 MB, alive, other rooms relayed (issue 15)',
      measured:
        `peak ${rows.map((r) => fmt(r.rssPeakMb, 1)).join(' / ')} MB (before ${fmt(first.rssBeforeMb, 1)}), ` +
        `${rows.reduce((n, r) => n + r.lost, 0)} of ${rows.reduce((n, r) => n + r.probes, 0)} probes lost`,
      met: rows.every((r) => r.alive && r.lost === 0) && peak <= 256,
    },
    {
      goal: 'memory fill: heap back to baseline after each fill (within 10 MB) (issue 15)',
      measured:
        rows
          .map(
            (r) =>
              `${fmt(r.heapAfterMb, 1)} MB ${r.heapBackSec === null ? 'never back' : `at ${fmt(r.heapBackSec, 0)} s`}`,
          )
          .join(' / ') + ` vs ${fmt(first.heapBaselineMb, 1)} before`,
      met: rows.every((r) => r.heapBackSec !== null && r.heapAfterMb - r.heapBaselineMb <= 10),
    },
  ];
  if (rows.length > 1)
    goals.push({
      goal: 'memory fill: RSS after the second fill <= after the first + 10 MB (issue 15)',
      measured: `${fmt(last.rssAfterMb, 1)} MB vs ${fmt(first.rssAfterMb, 1)} (${fmt(first.rssBeforeMb, 1)} before the first)`,
      met: last.rssAfterMb - first.rssAfterMb <= 10,
    });
  return goals;
}

function floodGoals(flood: FloodResult[]): Goal[] {
  const limited = flood.find((r) => r.setup === 'flooder, default limits');
  if (limited === undefined) return [];
  const idle = flood.find((r) => r.setup === 'no flooder');
  return [
    {
      goal: "flood: other rooms' relay p99 <= 10 ms (issue 15)",
      measured: `${fmt(limited.relayMs?.p99, 2)} ms (no flooder ${fmt(idle?.relayMs?.p99, 2)}), ${limited.lost} lost`,
      met: limited.relayMs !== undefined && limited.relayMs.p99 <= 10 && limited.lost === 0,
    },
    {
      goal: 'flood: the flooder cut off within 1 s (issue 15)',
      measured: `first cut after ${limited.firstCutMs ?? '-'} ms, ${limited.floodCuts ?? 0} cuts`,
      met: limited.firstCutMs !== null && limited.firstCutMs <= 1000,
    },
  ];
}
