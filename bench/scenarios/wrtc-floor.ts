/**
 * The floor: raw `@roamhq/wrtc`, sender and receiver in two node processes (bench/children/wrtc-peer.ts),
 * descriptions and candidates passed across by the bench. No signaling server, no ffmpeg, no recorder.
 */
import { Child, compileChild } from '../lib/child.js';
import { CpuWindow } from '../lib/proc.js';
import { percentiles, sleep } from '../lib/stats.js';
import type { MediaResult } from '../lib/types.js';

/** Options of {@link runWrtcFloor}. */
export interface WrtcFloorOptions {
  width: number;
  height: number;
  fps: number;
  /** Seconds after the first frame before the window starts. */
  rampSec: number;
  /** Seconds of the measured window. */
  windowSec: number;
}

/** One raw wrtc call: steady window, CPU and RSS of both processes, latency over the whole call. */
export async function runWrtcFloor(o: WrtcFloorOptions): Promise<MediaResult> {
  const script = compileChild('wrtc-peer');
  const args = [String(o.width), String(o.height), String(o.fps)];
  const sender = new Child('wrtc-send', script, ['send', ...args]);
  const receiver = new Child('wrtc-recv', script, ['recv', ...args]);
  // The trivial exchange: every description and candidate line goes to the other side as it is.
  const relay = (from: Child, to: Child): void => {
    from.proc.stdout?.on('data', () => {
      for (const e of from.events.splice(0)) {
        if (e.event === 'sdp' || e.event === 'candidate') to.send(e);
        else keep.get(from)?.push(e);
      }
    });
  };
  const keep = new Map<Child, { event: string; [k: string]: unknown }[]>([
    [sender, []],
    [receiver, []],
  ]);
  relay(sender, receiver);
  relay(receiver, sender);
  const seen = (c: Child, name: string): Promise<Record<string, unknown>> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${c.name}: no ${name} within 20 s: ${c.stderr}`)),
        20_000,
      );
      const check = (): void => {
        const e = keep.get(c)?.find((x) => x.event === name);
        if (e) {
          clearTimeout(timer);
          c.proc.stdout?.off('data', check);
          resolve(e);
        }
      };
      c.proc.stdout?.on('data', check);
      check();
    });
  try {
    sender.send({ event: 'start' });
    await seen(receiver, 'first-frame');
    await sleep(o.rampSec * 1000);
    const cpu = new CpuWindow(() => [sender.pid, receiver.pid]);
    receiver.send({ event: 'mark' });
    const before = await seen(receiver, 'mark');
    keep.set(
      receiver,
      (keep.get(receiver) ?? []).filter((e) => e.event !== 'mark'),
    );
    cpu.start();
    const t0 = performance.now();
    await sleep(o.windowSec * 1000);
    const usage = cpu.stop();
    receiver.send({ event: 'mark' });
    const after = await seen(receiver, 'mark');
    const dt = (performance.now() - t0) / 1000;
    receiver.send({ event: 'end' });
    sender.send({ event: 'end' });
    const result = await seen(receiver, 'result');
    await Promise.all([sender.exited, receiver.exited]);
    return {
      setup: 'raw wrtc',
      size: `${o.width}x${o.height}`,
      fps: o.fps,
      latencyMs: percentiles(result.latencies as number[]),
      fpsReceived: ((after.framesReceived as number) - (before.framesReceived as number)) / dt,
      resolution: after.resolution as string,
      cpuCores: usage.cores,
      peakRssMb: usage.peakRssMb,
      pssMb: usage.pssMb,
      processes: usage.processes,
      peers: { sender: sender.pid, receiver: receiver.pid },
      note: 'pattern generated in process, video only',
    };
  } finally {
    await Promise.all([sender.stop('SIGKILL'), receiver.stop('SIGKILL')]);
  }
}
