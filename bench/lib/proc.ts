/**
 * CPU and memory of process trees, from /proc (Linux only): utime+stime of every process in the trees over
 * a window, and the peak RSS (VmHWM) of each.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second of /proc/<pid>/stat times (`getconf CLK_TCK`; 100 on every Linux we run on). */
const CLK_TCK = 100;

interface ProcStat {
  pid: number;
  ppid: number;
  comm: string;
  /** utime + stime, seconds. */
  cpuSec: number;
}

function readStat(pid: number): ProcStat | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm is in parentheses and may contain spaces: split after the last ')'.
    const close = text.lastIndexOf(')');
    const comm = text.slice(text.indexOf('(') + 1, close);
    const fields = text.slice(close + 2).split(' ');
    // fields[0] is state (field 3); ppid is field 4, utime 14, stime 15.
    const ppid = Number(fields[1]);
    const cpuSec = (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
    return { pid, ppid, comm, cpuSec };
  } catch {
    return undefined; // exited meanwhile
  }
}

function allStats(): ProcStat[] {
  const out: ProcStat[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const s = readStat(Number(name));
    if (s) out.push(s);
  }
  return out;
}

/** The pids of `roots` and all their descendants still alive, with their names. */
export function processTree(roots: readonly number[]): Map<number, string> {
  const stats = allStats();
  const children = new Map<number, ProcStat[]>();
  for (const s of stats) {
    const list = children.get(s.ppid) ?? [];
    list.push(s);
    children.set(s.ppid, list);
  }
  const byPid = new Map(stats.map((s) => [s.pid, s]));
  const out = new Map<number, string>();
  const stack = roots.filter((pid) => byPid.has(pid));
  while (stack.length > 0) {
    const pid = stack.pop() as number;
    if (out.has(pid)) continue;
    out.set(pid, byPid.get(pid)?.comm ?? '?');
    for (const c of children.get(pid) ?? []) stack.push(c.pid);
  }
  return out;
}

/** CPU seconds (utime+stime) of each process, by pid. */
export function cpuSeconds(pids: Iterable<number>): Map<number, number> {
  const out = new Map<number, number>();
  for (const pid of pids) {
    const s = readStat(pid);
    if (s) out.set(pid, s.cpuSec);
  }
  return out;
}

/**
 * CPU seconds of each thread of a process, by thread id, with the thread's name (`comm`: libwebrtc names its
 * threads — `EncoderQueue`, `DecodingQueue`, `network_thread`, `worker_thread`, `signaling_thread` …; node's
 * main thread carries the process's name, its pool threads `node`/`libuv-worker`).
 */
export function threadSeconds(pid: number): Map<number, { name: string; cpuSec: number }> {
  const out = new Map<number, { name: string; cpuSec: number }>();
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out; // exited meanwhile
  }
  for (const tid of tids) {
    try {
      const text = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const close = text.lastIndexOf(')');
      const name = text.slice(text.indexOf('(') + 1, close);
      const fields = text.slice(close + 2).split(' ');
      out.set(Number(tid), { name, cpuSec: (Number(fields[11]) + Number(fields[12])) / CLK_TCK });
    } catch {
      // the thread ended meanwhile
    }
  }
  return out;
}

/** Threads' CPU over a window, summed by thread name (digits dropped: `worker-3` → `worker-#`), in cores. */
function threadCores(
  start: Map<number, { name: string; cpuSec: number }>,
  end: Map<number, { name: string; cpuSec: number }>,
  wallSec: number,
): Record<string, number> {
  const byName: Record<string, number> = {};
  for (const [tid, t] of end) {
    const used = t.cpuSec - (start.get(tid)?.cpuSec ?? 0);
    const name = t.name.replace(/\d+/g, '#');
    byName[name] = (byName[name] ?? 0) + (wallSec > 0 ? used / wallSec : 0);
  }
  return byName;
}

/** A field of /proc/<pid>/status in kB (VmRSS, VmHWM), or 0 when the process is gone. */
export function statusKb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** Proportional set size of a process (shared pages split among their users), kB; 0 when gone. */
export function pssKb(pid: number): number {
  try {
    const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** What a {@link CpuWindow} measured. */
export interface CpuResult {
  /** CPU time over wall time: 1.0 is one core busy all the time. */
  cores: number;
  /** Sum over the processes of their peak RSS (VmHWM), MB, read at the end of the window. */
  peakRssMb: number;
  /**
   * Sum of the processes' PSS at the end of the window, MB: unlike the RSS sum, pages shared between
   * processes (a browser's many processes, node's binary) count once.
   */
  pssMb: number;
  /**
   * Processes seen at the end, by pid: name, CPU over the window in cores, and that CPU by thread name
   * (threads of one name summed).
   */
  processes: Record<string, { comm: string; cores: number; threads: Record<string, number> }>;
}

/**
 * CPU of process trees over a window. `start()` snapshots the trees; `stop()` snapshots them again and
 * divides the CPU time used by the wall time. Processes that appear during the window count from zero;
 * processes that exit during it are lost (none do in these runs: the trees are stable once media flows).
 * `roots` is called at both ends so that trees found by name (browsers) can be re-discovered.
 *
 * @example
 * const w = new CpuWindow(() => [caller.pid, answerer.pid]);
 * w.start(); await sleep(20_000); const { cores, peakRssMb } = w.stop();
 */
export class CpuWindow {
  readonly #roots: () => number[];
  readonly #filter: (comm: string) => boolean;
  #startCpu = new Map<number, number>();
  #startThreads = new Map<number, Map<number, { name: string; cpuSec: number }>>();
  #startAt = 0;

  constructor(roots: () => number[], filter: (comm: string) => boolean = () => true) {
    this.#roots = roots;
    this.#filter = filter;
  }

  #pids(): Map<number, string> {
    const tree = processTree(this.#roots());
    for (const [pid, comm] of tree) if (!this.#filter(comm)) tree.delete(pid);
    return tree;
  }

  /** Starts the window. */
  start(): void {
    const pids = [...this.#pids().keys()];
    this.#startCpu = cpuSeconds(pids);
    this.#startThreads = new Map(pids.map((pid) => [pid, threadSeconds(pid)]));
    this.#startAt = performance.now();
  }

  /** Ends the window. */
  stop(): CpuResult {
    const tree = this.#pids();
    const end = cpuSeconds(tree.keys());
    const endThreads = new Map([...tree.keys()].map((pid) => [pid, threadSeconds(pid)]));
    const wallSec = (performance.now() - this.#startAt) / 1000;
    let cpu = 0;
    let rssKb = 0;
    let pss = 0;
    const processes: CpuResult['processes'] = {};
    for (const [pid, sec] of end) {
      const used = sec - (this.#startCpu.get(pid) ?? 0);
      cpu += used;
      processes[String(pid)] = {
        comm: tree.get(pid) ?? '?',
        cores: wallSec > 0 ? used / wallSec : 0,
        threads: threadCores(
          this.#startThreads.get(pid) ?? new Map(),
          endThreads.get(pid) ?? new Map(),
          wallSec,
        ),
      };
      rssKb += statusKb(pid, 'VmHWM');
      pss += pssKb(pid);
    }
    return {
      cores: wallSec > 0 ? cpu / wallSec : 0,
      peakRssMb: rssKb / 1024,
      pssMb: pss / 1024,
      processes,
    };
  }
}
