/**
 * Impaired links, in the network lab (test/net/lab.ts): the sender behind the caller's router, the receiver
 * behind the answerer's, random loss each way on the answerer's router. rtc-peer (the CLI, video only, the
 * answerer recording) beside raw wrtc (bench/children/wrtc-peer.ts) under the same loss, one after the other.
 *
 * Per run, over the steady window: the frame rate received, the lowest frame rate over any 5 s (1 s in quick
 * mode), the freezes (gaps between new frames over 500 ms) and the longest one, and the latency over the whole
 * call. Raw wrtc's frames are timed where its sink gets them; rtc-peer's on its recording's timeline (the
 * decoded file, test/net/flow.ts), which is what its user gets.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { inspectRecording } from '../../test/helpers/media.js';
import { fpsBetween, readFlow, type Flow } from '../../test/net/flow.js';
import { createLab, labUnavailable, type Lab } from '../../test/net/lab.js';
import { Child, compileChild, startCli } from '../lib/child.js';
import { percentiles, sleep, type Percentiles } from '../lib/stats.js';
import { videoOnlyFlags } from './rtc-peer.js';

/** One impaired run. */
export interface ImpairedResult {
  setup: 'rtc-peer' | 'raw wrtc';
  /** Random loss each way, %. */
  lossPercent: number;
  /** New frames per second over the window. */
  fpsReceived: number;
  /** Lowest frame rate over any `lowestOverSec` window inside it. */
  lowestFps: number;
  lowestOverSec: number;
  /** Gaps between new frames over 500 ms inside the window, and the longest gap, ms. */
  freezes: number;
  longestFreezeMs: number;
  latencyMs?: Percentiles;
  /** What nftables dropped of what crossed the answerer's router towards it, %. */
  measuredLossPercent: number;
  windowSec: number;
}

/** Options of {@link runImpaired}. */
export interface ImpairedOptions {
  lossPercent: number;
  rampSec: number;
  windowSec: number;
  /** Directory for the recording. */
  dir: string;
}

/** Frame times (s) of one run, and the window to judge. */
function judge(
  times: number[],
  from: number,
  to: number,
): Pick<ImpairedResult, 'fpsReceived' | 'lowestFps' | 'lowestOverSec' | 'freezes' | 'longestFreezeMs'> {
  const flow: Flow = {
    frames: times.map((t, id) => ({ id, stampMs: 0, ptsSec: t })),
    unreadable: 0,
    monotonic: true,
    startSec: from,
    endSec: to,
  };
  const span = Math.round(Math.min(5, to - from) * 10) / 10;
  let lowest = Infinity;
  for (let t = from; t + span <= to + 1e-9; t += 0.1)
    lowest = Math.min(lowest, fpsBetween(flow, t, t + span));
  const inside = [from, ...times.filter((t) => t > from && t < to), to];
  let freezes = 0;
  let longest = 0;
  for (let i = 1; i < inside.length; i++) {
    const gap = (inside[i] ?? 0) - (inside[i - 1] ?? 0);
    if (gap > 0.5) freezes++;
    longest = Math.max(longest, gap);
  }
  return {
    fpsReceived: fpsBetween(flow, from, to),
    lowestFps: lowest,
    lowestOverSec: span,
    freezes,
    longestFreezeMs: Math.round(longest * 1000),
  };
}

const lossSeen = (lab: Lab): number => {
  const n = lab.answerer.counters();
  return n.downPackets > 0 ? (100 * n.downLost) / n.downPackets : 0;
};

/** Raw wrtc under `lossPercent` each way. */
async function rawWrtc(o: ImpairedOptions, lab: Lab): Promise<ImpairedResult> {
  const script = compileChild('wrtc-peer');
  const args = ['640', '480', '30', JSON.stringify({ iceServers: [] })];
  const sender = new Child('wrtc-send', script, ['send', ...args], { netns: lab.caller.ns });
  const receiver = new Child('wrtc-recv', script, ['recv', ...args], { netns: lab.answerer.ns });
  const pass = (from: Child, to: Child): void => {
    from.proc.stdout?.on('data', () => {
      for (const e of from.events)
        if ((e.event === 'sdp' || e.event === 'candidate') && !e.passed) {
          e.passed = true;
          to.send(e);
        }
    });
  };
  pass(sender, receiver);
  pass(receiver, sender);
  try {
    sender.send({ event: 'start' });
    await receiver.waitFor('first-frame', 20_000);
    await sleep((o.rampSec + o.windowSec) * 1000 + 500);
    receiver.send({ event: 'end' });
    sender.send({ event: 'end' });
    const result = await receiver.waitFor('result', 10_000);
    const arrivals = (result.arrivals as number[]).map((ms) => ms / 1000);
    const from = (arrivals[0] ?? 0) + o.rampSec;
    return {
      setup: 'raw wrtc',
      lossPercent: o.lossPercent,
      ...judge(arrivals, from, from + o.windowSec),
      latencyMs: percentiles(result.latencies as number[]),
      measuredLossPercent: lossSeen(lab),
      windowSec: o.windowSec,
    };
  } finally {
    await Promise.all([sender.stop('SIGKILL'), receiver.stop('SIGKILL')]);
  }
}

/** rtc-peer (the CLI) under `lossPercent` each way; the answerer records, and its recording is judged. */
async function rtcPeer(o: ImpairedOptions, lab: Lab, url: string): Promise<ImpairedResult> {
  const { flags } = videoOnlyFlags();
  const file = path.join(o.dir, `impaired-${o.lossPercent}.webm`);
  const common = ['--signal', url, '--room', `impaired-${o.lossPercent}`, '--stun', 'none', '--json'];
  const answerer = startCli(
    'answer',
    ['answer', ...common, '--once', '--measure-latency', '--record', file, '--force'],
    { netns: lab.answerer.ns },
  );
  let caller: Child | undefined;
  try {
    await answerer.waitFor('joined', 15_000);
    const duration = String(Math.ceil(o.rampSec + o.windowSec + 1));
    caller = startCli(
      'call',
      ['call', ...common, ...flags, '--test-pattern', '--once', '--duration', duration],
      {
        netns: lab.caller.ns,
      },
    );
    const ended = await answerer.waitFor('call-ended', (o.rampSec + o.windowSec + 40) * 1000);
    await Promise.all([answerer.exited, caller.exited]);
    const flow = readFlow(await inspectRecording(file));
    const from = flow.startSec + o.rampSec;
    return {
      setup: 'rtc-peer',
      lossPercent: o.lossPercent,
      ...judge(
        flow.frames.map((f) => f.ptsSec),
        from,
        Math.min(flow.endSec, from + o.windowSec),
      ),
      latencyMs: (ended.latencyMs as Percentiles | null) ?? undefined,
      measuredLossPercent: lossSeen(lab),
      windowSec: o.windowSec,
    };
  } finally {
    await Promise.all([caller?.stop(), answerer.stop()]);
    rmSync(file, { force: true });
  }
}

/**
 * Both setups under each loss, each in a fresh lab (the routers' counters are the run's own), with the
 * signaling server in the middle for rtc-peer. Throws when the lab cannot run here (it needs root).
 */
export async function runImpaired(
  losses: number[],
  plan: { rampSec: number; windowSec: number },
  onResult: (r: ImpairedResult) => void,
): Promise<void> {
  const reason = labUnavailable();
  if (reason) throw new Error(`the network lab cannot run here: ${reason}`);
  const dir = mkdtempSync(path.join(tmpdir(), 'rtc-peer-bench-impaired-'));
  try {
    for (const lossPercent of losses) {
      for (const setup of ['rtc-peer', 'raw wrtc'] as const) {
        const lab = await createLab();
        try {
          lab.answerer.setLoss({ down: lossPercent, up: lossPercent });
          const o = { lossPercent, ...plan, dir };
          if (setup === 'raw wrtc') onResult(await rawWrtc(o, lab));
          else {
            // the signaling server in the middle
            const signal = startCli(
              'signal',
              ['signal', '--host', lab.middle.ip, '--port', '0', '--open', '--json'],
              {
                netns: lab.middle.ns,
              },
            );
            try {
              const listening = await signal.waitFor('listening', 15_000);
              onResult(await rtcPeer(o, lab, String(listening.url)));
            } finally {
              await signal.stop();
            }
          }
        } finally {
          await lab.close();
        }
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
