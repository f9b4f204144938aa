/**
 * One camera, several viewers (issue 12): one `rtc-peer call` (the test pattern, video only) and N
 * `rtc-peer answer --measure-latency` in one room, separate processes of the built CLI on loopback. The
 * caller's CPU (its whole tree: node and ffmpeg) over a steady window, and each viewer's fps and latency.
 */
import { startCli, type Child } from '../lib/child.js';
import { CpuWindow } from '../lib/proc.js';
import { mean, round, sleep, type Percentiles } from '../lib/stats.js';

let roomSeq = 0;

/** Options of {@link runViewers}. */
export interface ViewersOptions {
  url: string;
  viewers: number;
  width: number;
  height: number;
  fps: number;
  rampSec: number;
  windowSec: number;
}

/** What {@link runViewers} measured. */
export interface ViewersResult {
  viewers: number;
  size: string;
  fps: number;
  /** The caller's tree (node, ffmpeg) over the window, in cores. */
  callerCores: number;
  /** Of that, libwebrtc's encoder threads (named `EncoderQueue`, summed), in cores. */
  encoderCores: number;
  /** Each viewer's mean fps received over the window, and its latency over the call. */
  perViewer: { fpsReceived: number; latencyMs?: Percentiles }[];
}

/** Runs one caller with `viewers` answerers; resolves once all have exited. */
export async function runViewers(o: ViewersOptions): Promise<ViewersResult> {
  const room = `bench-viewers-${process.pid}-${++roomSeq}`;
  const common = ['--signal', o.url, '--room', room, '--stun', 'none', '--json'];
  const size = `${o.width}x${o.height}`;
  const caller = startCli('call', [
    ...['call', ...common, '--size', size, '--fps', String(o.fps)],
    ...['--test-pattern', '--no-audio'],
  ]);
  const answerers: Child[] = [];
  try {
    await caller.waitFor('joined', 15_000);
    for (let i = 0; i < o.viewers; i++) {
      const a = startCli(`answer ${i + 1}`, ['answer', ...common, '--once', '--measure-latency']);
      answerers.push(a);
      await a.waitFor('first-frame', 20_000);
    }
    await sleep(o.rampSec * 1000);
    const cpu = new CpuWindow(() => [caller.pid]);
    cpu.start();
    const startAt = Date.now();
    await sleep(o.windowSec * 1000);
    const usage = cpu.stop();
    const endAt = Date.now();
    // The camera hangs up: each viewer reports its call, with its latency.
    await caller.stop('SIGINT');
    const perViewer = [];
    for (const a of answerers) {
      const ended = await a.waitFor('call-ended', 15_000);
      const inWindow = a.events.filter((e) => e.event === 'stats' && e.at >= startAt && e.at <= endAt + 500);
      perViewer.push({
        fpsReceived: round(mean(inWindow.map((e) => Number(e.fpsReceived)))),
        latencyMs: (ended.latencyMs as Percentiles | null) ?? undefined,
      });
      await a.exited;
    }
    let encoderCores = 0;
    for (const p of Object.values(usage.processes))
      for (const [name, cores] of Object.entries(p.threads))
        if (/^EncoderQueue/.test(name)) encoderCores += cores;
    return {
      viewers: o.viewers,
      size,
      fps: o.fps,
      callerCores: round(usage.cores),
      encoderCores: round(encoderCores),
      perViewer,
    };
  } finally {
    await Promise.all([caller.stop(), ...answerers.map((a) => a.stop())]);
  }
}
