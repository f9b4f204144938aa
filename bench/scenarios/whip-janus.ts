/**
 * Join → first frame over WHIP into Janus: `rtc-peer call --whip URL --once --duration 1` publishing the test
 * pattern (video only, as the Socket.IO row) into Janus's VideoRoom behind simple-whip-server, in the lab of
 * test/helpers/janus.ts (a network namespace: needs root). One fresh endpoint per trial, one trial after the
 * other. For each: from the CLI's `waiting` (it is about to POST its offer: WHIP's "join"; the bench's clock
 * when the line came) to the first video packet Janus wrote to its recording of the publisher (the `.mjr`
 * header's `u`, Janus's wall clock: one machine, one clock), and to the CLI's own `connected`.
 */
import { execFileSync } from 'node:child_process';
import { systemCommand } from '../../test/system/find-command.js';
import { startJanusLab } from '../../test/helpers/janus.js';
import { startCli } from '../lib/child.js';
import { percentiles, type Percentiles } from '../lib/stats.js';
import { videoOnlyFlags } from './rtc-peer.js';

/** Options of {@link runWhipFirstFrame}. */
export interface WhipFirstFrameOptions {
  width: number;
  height: number;
  fps: number;
  /** Publishes, one after the other. */
  trials: number;
}

/** What {@link runWhipFirstFrame} measured (or why it could not). */
export interface WhipFirstFrameResult {
  size: string;
  trials: number;
  /** The CLI's `waiting` to Janus's first video packet of it, ms, one per trial. */
  firstFrameMs: number[];
  /** The CLI's `waiting` to its `connected`, ms, one per trial. */
  connectedMs: number[];
  firstFrame?: Percentiles;
  connected?: Percentiles;
  /** Why nothing was measured (no root, no Janus). */
  skipped?: string;
}

/** Janus's recording header: `u` is when the first packet was written, µs since 1970. */
function firstWrittenMs(mjr: string): number {
  const header = JSON.parse(
    execFileSync(systemCommand('janus-pp-rec'), ['-j', mjr], { encoding: 'utf8' }),
  ) as { u?: number };
  if (typeof header.u !== 'number') throw new Error(`${mjr}: no first-write time in its header`);
  return header.u / 1000;
}

async function until(what: string, check: () => boolean, ms: number): Promise<void> {
  const deadline = performance.now() + ms;
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`${what} within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** See the module comment. */
export async function runWhipFirstFrame(o: WhipFirstFrameOptions): Promise<WhipFirstFrameResult> {
  const size = `${o.width}x${o.height}`;
  const result: WhipFirstFrameResult = { size, trials: o.trials, firstFrameMs: [], connectedMs: [] };
  if (process.getuid?.() !== 0)
    return { ...result, skipped: 'needs root (Janus runs in a network namespace)' };
  const lab = await startJanusLab();
  try {
    const { flags } = videoOnlyFlags();
    for (let trial = 1; trial <= o.trials; trial++) {
      const url = await lab.createEndpoint(`bench-${process.pid}-${trial}`);
      const before = lab.videoRecordings().length;
      const closed = (lab.logs().janus.match(/Closed video recording/g) ?? []).length;
      const caller = startCli('call --whip', [
        'call',
        '--whip',
        url,
        '--stun',
        'none',
        '--test-pattern',
        '--size',
        size,
        '--fps',
        String(o.fps),
        '--once',
        '--duration',
        '1',
        '--json',
        ...flags,
      ]);
      try {
        const waiting = await caller.waitFor('waiting', 15_000);
        const connected = await caller.waitFor('connected', 15_000);
        await caller.waitFor('call-ended', 15_000);
        await caller.exited;
        await until('Janus recorded the publisher', () => lab.videoRecordings().length > before, 10_000);
        await until(
          'Janus closed its recording',
          () => (lab.logs().janus.match(/Closed video recording/g) ?? []).length > closed,
          10_000,
        );
        const mjr = lab.videoRecordings()[before]!;
        result.firstFrameMs.push(firstWrittenMs(mjr) - waiting.at);
        result.connectedMs.push(connected.at - waiting.at);
      } finally {
        await caller.stop();
      }
    }
  } finally {
    await lab.stop();
  }
  return {
    ...result,
    firstFrame: percentiles(result.firstFrameMs),
    connected: percentiles(result.connectedMs),
  };
}
