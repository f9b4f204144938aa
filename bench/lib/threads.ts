/**
 * Where a media run's CPU goes, by thread: the sending and receiving node processes' threads (libwebrtc's
 * encoder, decoder, network and worker threads, node's main thread and pools) and their ffmpeg children, for
 * two setups side by side (issue 16: rtc-peer against the raw wrtc floor), from the per-thread figures of
 * {@link CpuWindow}.
 */
import type { MediaResult } from './types.js';

/** One line of the comparison: a thread (or a child process) and its cores in each setup. */
export interface ThreadRow {
  /** `sender node: EncoderQueue`, `receiver ffmpeg (all threads)`, … */
  what: string;
  cores: number[];
}

/** Cores of `m`'s threads, keyed by `side process: thread`; children (ffmpeg) summed per side's process name. */
export function threadBreakdown(m: MediaResult): Map<string, number> {
  const out = new Map<string, number>();
  const add = (key: string, cores: number): void => {
    out.set(key, (out.get(key) ?? 0) + cores);
  };
  for (const [pid, p] of Object.entries(m.processes)) {
    const side =
      Number(pid) === m.peers?.sender ? 'sender' : Number(pid) === m.peers?.receiver ? 'receiver' : undefined;
    if (side === undefined) {
      add(`${p.comm} (all threads)`, p.cores);
      continue;
    }
    for (const [thread, cores] of Object.entries(p.threads)) add(`${side} ${p.comm}: ${thread}`, cores);
  }
  return out;
}

/**
 * The rows comparing `setups` (same size), every thread that used at least `minCores` in one of them, the
 * busiest first; the last row is the total.
 */
export function compareThreads(setups: MediaResult[], minCores = 0.005): ThreadRow[] {
  const breakdowns = setups.map(threadBreakdown);
  const keys = new Set(breakdowns.flatMap((b) => [...b.keys()]));
  const rows: ThreadRow[] = [];
  for (const what of keys) {
    const cores = breakdowns.map((b) => b.get(what) ?? 0);
    if (cores.some((c) => c >= minCores)) rows.push({ what, cores });
  }
  rows.sort((a, b) => Math.max(...b.cores) - Math.max(...a.cores) || a.what.localeCompare(b.what));
  rows.push({ what: 'total', cores: setups.map((m) => m.cpuCores) });
  return rows;
}
