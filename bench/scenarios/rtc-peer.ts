/**
 * rtc-peer as users run it: `signal`, `call` (the test pattern through ffmpeg) and `answer` as separate
 * processes of the built CLI, on loopback with `--stun none`.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { readBarcode } from '../../src/capture/barcode.js';
import { startCli, CLI, ROOT, type Child, type ChildEvent } from '../lib/child.js';
import { CpuWindow, processTree, statusKb } from '../lib/proc.js';
import { mean, percentiles, sleep, type Percentiles } from '../lib/stats.js';
import type { FirstFrameResult, MediaResult, StallResult } from '../lib/types.js';

/** The ffmpeg the CLI finds first (the one the bench decodes recordings with). */
export const FFMPEG = path.join(ROOT, 'node_modules/@ffmpeg-installer/linux-x64/ffmpeg');

let roomSeq = 0;
const nextRoom = (): string => `bench-${process.pid}-${++roomSeq}`;

/**
 * Flags that keep the call video-only when the CLI has them (`--no-audio`, added with audio). Returns the
 * flags and a note saying what was measured.
 */
export function videoOnlyFlags(): { flags: string[]; note: string } {
  const help = spawnSync(process.execPath, [CLI, 'call', '--help'], { encoding: 'utf8' }).stdout;
  if (help.includes('--no-audio')) return { flags: ['--no-audio'], note: 'video only (--no-audio)' };
  if (/audio/i.test(help)) return { flags: [], note: 'CLI default media (audio flag not recognized)' };
  return { flags: [], note: 'video only (this CLI sends no audio)' };
}

/** Options of {@link runRtcPeerMedia}. */
export interface RtcPeerMediaOptions {
  /** Signaling server URL. */
  url: string;
  width: number;
  height: number;
  fps: number;
  /** Record on the answerer (`--record`). */
  record: boolean;
  /** Seconds after the first frame before the window starts. */
  rampSec: number;
  /** Seconds of the measured window. */
  windowSec: number;
  /** Directory for recordings. */
  dir: string;
}

/** Common flags of both peers. */
function peerArgs(url: string, room: string, width: number, height: number, fps: number): string[] {
  return [
    '--signal',
    url,
    '--room',
    room,
    '--stun',
    'none',
    '--json',
    '--size',
    `${width}x${height}`,
    '--fps',
    String(fps),
  ];
}

/** One call: caller and answerer, steady window, CPU and RSS of both trees, latency from the answerer. */
export async function runRtcPeerMedia(o: RtcPeerMediaOptions): Promise<MediaResult> {
  const room = nextRoom();
  const { flags, note } = videoOnlyFlags();
  const common = peerArgs(o.url, room, o.width, o.height, o.fps);
  const duration = String(Math.ceil(o.rampSec + o.windowSec + 4));
  const file = path.join(o.dir, `${room}.webm`);
  const caller = startCli('call', [
    'call',
    ...common,
    ...flags,
    '--test-pattern',
    '--once',
    '--duration',
    duration,
  ]);
  const answerer = startCli('answer', [
    'answer',
    ...common,
    '--once',
    '--measure-latency',
    ...(o.record ? ['--record', file, '--force'] : []),
  ]);
  try {
    await answerer.waitFor('first-frame', 20_000);
    await sleep(o.rampSec * 1000);
    const cpu = new CpuWindow(() => [caller.pid, answerer.pid]);
    cpu.start();
    const startAt = Date.now();
    await sleep(o.windowSec * 1000);
    const usage = cpu.stop();
    const endAt = Date.now();
    const ended = await answerer.waitFor('call-ended', 30_000);
    await Promise.all([answerer.exited, caller.exited]);
    const inWindow = answerer.events.filter(
      (e) => e.event === 'stats' && e.at >= startAt && e.at <= endAt + 500,
    );
    const last = inWindow.at(-1);
    const recording = ended.recording as { frames?: number } | null;
    return {
      setup: o.record ? 'rtc-peer --record' : 'rtc-peer',
      size: `${o.width}x${o.height}`,
      fps: o.fps,
      latencyMs: (ended.latencyMs as Percentiles | null) ?? undefined,
      fpsReceived: mean(inWindow.map((e) => Number(e.fpsReceived))),
      resolution: typeof last?.receiveResolution === 'string' ? last.receiveResolution : undefined,
      cpuCores: usage.cores,
      peakRssMb: usage.peakRssMb,
      pssMb: usage.pssMb,
      processes: usage.processes,
      peers: { sender: caller.pid, receiver: answerer.pid },
      framesRecorded: o.record ? (recording?.frames ?? 0) : undefined,
      note,
    };
  } finally {
    await Promise.all([caller.stop(), answerer.stop()]);
    rmSync(file, { force: true });
  }
}

/** Options of {@link runFirstFrame}. */
export interface FirstFrameOptions {
  url: string;
  width: number;
  height: number;
  fps: number;
  /** Answerers to join, one after the other. */
  trials: number;
  dir: string;
}

/** The Y plane of the first frame of a recording, decoded by ffmpeg. */
function firstFrameLuma(file: string, width: number, height: number): Uint8Array {
  const out = execFileSync(
    FFMPEG,
    [
      '-v',
      'error',
      '-i',
      file,
      '-frames:v',
      '1',
      '-f',
      'rawvideo',
      '-pix_fmt',
      'gray',
      '-s',
      `${width}x${height}`,
      'pipe:1',
    ],
    { maxBuffer: width * height * 2 },
  );
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

/**
 * Join to first frame: one caller keeps a held offer on the server; answerers join one after the other
 * (`--once --duration 1 --record`). For each: `joined` -> `first-frame` (the answerer's own clock), and
 * `joined` -> first recorded frame: the first frame in the file is decoded, its barcode gives the sender's
 * stamp, and stamp + the call's p50 latency is when it reached the answerer (never before its first frame).
 */
export async function runFirstFrame(o: FirstFrameOptions): Promise<FirstFrameResult> {
  const room = nextRoom();
  const { flags } = videoOnlyFlags();
  const common = peerArgs(o.url, room, o.width, o.height, o.fps);
  const caller = startCli('call', ['call', ...common, ...flags, '--test-pattern']);
  const firstFrameMs: number[] = [];
  const firstRecordedMs: number[] = [];
  let answerer: Child | undefined;
  try {
    for (let trial = 1; trial <= o.trials; trial++) {
      // The caller's next call is offered (and held by the server) before the answerer joins.
      await caller.waitFor('offer-sent', 20_000, (e) => e.call === trial);
      await sleep(300);
      const file = path.join(o.dir, `${room}-${trial}.webm`);
      answerer = startCli('answer', [
        'answer',
        ...common,
        '--once',
        '--duration',
        '1',
        '--measure-latency',
        '--record',
        file,
        '--force',
      ]);
      const joined = await answerer.waitFor('joined', 15_000);
      const first = await answerer.waitFor('first-frame', 15_000);
      const ended = await answerer.waitFor('call-ended', 15_000);
      await answerer.exited;
      const ffMs = (first.t as number) * 1000 - (joined.t as number) * 1000;
      firstFrameMs.push(ffMs);
      const rec = ended.recording as { width: number; height: number } | null;
      const latency = ended.latencyMs as Percentiles | null;
      if (rec && latency) {
        const code = readBarcode(firstFrameLuma(file, rec.width, rec.height), rec.width, rec.height);
        if (code) {
          // Stamps are Date.now() mod 2^32: compare them mod 2^32 too.
          const sinceJoin = wrapMs(code.timestampMs + latency.p50 - ((joined as ChildEvent).at % 2 ** 32));
          firstRecordedMs.push(Math.max(ffMs, sinceJoin));
        }
      }
      rmSync(file, { force: true });
    }
  } finally {
    await answerer?.stop();
    await caller.stop();
  }
  return {
    size: `${o.width}x${o.height}`,
    trials: o.trials,
    firstFrameMs,
    firstRecordedMs,
    firstFrame: percentiles(firstFrameMs),
    firstRecorded: percentiles(firstRecordedMs),
  };
}

/** A difference of two `Date.now() mod 2^32` values, as a signed number of ms. */
function wrapMs(diff: number): number {
  const d = ((diff % 2 ** 32) + 2 ** 32) % 2 ** 32;
  return d >= 2 ** 31 ? d - 2 ** 32 : d;
}

/** Options of {@link runRecorderStall}. */
export interface StallOptions {
  url: string;
  width: number;
  height: number;
  fps: number;
  /** Seconds of the call before the stop. */
  beforeSec: number;
  /** Seconds the recorder's ffmpeg stays stopped. */
  stopSec: number;
  /** Seconds after SIGCONT. */
  afterSec: number;
  dir: string;
}

/**
 * The recorder's ffmpeg is stopped (SIGSTOP) for `stopSec` in a recorded call: how much the answerer's
 * memory grows (its queue to ffmpeg must be bounded), and whether the call and the recording recover.
 */
export async function runRecorderStall(o: StallOptions): Promise<StallResult> {
  const room = nextRoom();
  const { flags } = videoOnlyFlags();
  const common = peerArgs(o.url, room, o.width, o.height, o.fps);
  const file = path.join(o.dir, `${room}.webm`);
  const caller = startCli('call', ['call', ...common, ...flags, '--test-pattern', '--once']);
  const answerer = startCli('answer', ['answer', ...common, '--once', '--record', file, '--force']);
  let recorderPid: number | undefined;
  try {
    await answerer.waitFor('first-frame', 20_000);
    await sleep(o.beforeSec * 1000);
    for (const [pid, comm] of processTree([answerer.pid])) if (comm.includes('ffmpeg')) recorderPid = pid;
    if (recorderPid === undefined)
      throw new Error('stall: the answerer has no ffmpeg child (is it recording?)');
    const rssBeforeKb = statusKb(answerer.pid, 'VmRSS');
    let peakKb = rssBeforeKb;
    const sampler = setInterval(() => (peakKb = Math.max(peakKb, statusKb(answerer.pid, 'VmRSS'))), 100);
    process.kill(recorderPid, 'SIGSTOP');
    const stopAt = Date.now();
    await sleep(o.stopSec * 1000);
    process.kill(recorderPid, 'SIGCONT');
    const contAt = Date.now();
    await sleep(o.afterSec * 1000);
    clearInterval(sampler);
    const stats = answerer.events.filter((e) => e.event === 'stats');
    const during = stats.filter((e) => e.at > stopAt + 1000 && e.at <= contAt);
    const after = stats.filter((e) => e.at > contAt + 1500);
    const recordedAtCont = stats.filter((e) => e.at <= contAt + 200).at(-1)?.framesRecorded as
      number | undefined;
    const recordedAtEnd = stats.at(-1)?.framesRecorded as number | undefined;
    await caller.stop('SIGINT');
    const ended = await answerer.waitFor('call-ended', 20_000).catch(() => undefined);
    const recording = ended?.recording as { dropped?: number } | null | undefined;
    return {
      size: `${o.width}x${o.height}`,
      stopSec: o.stopSec,
      rssBeforeMb: rssBeforeKb / 1024,
      rssPeakMb: peakKb / 1024,
      growthMb: (peakKb - rssBeforeKb) / 1024,
      fpsReceivedDuringStop: mean(during.map((e) => Number(e.fpsReceived))),
      fpsReceivedAfter: mean(after.map((e) => Number(e.fpsReceived))),
      recordingResumed: (recordedAtEnd ?? 0) > (recordedAtCont ?? 0),
      framesDropped: recording?.dropped,
      endReason: ended?.reason as string | undefined,
    };
  } finally {
    if (recorderPid !== undefined) {
      try {
        process.kill(recorderPid, 'SIGCONT');
      } catch {
        // already gone
      }
    }
    await Promise.all([caller.stop(), answerer.stop()]);
    rmSync(file, { force: true });
  }
}
