/**
 * The OS's view of processes, for "nothing left behind" checks that do not trust the program's own
 * bookkeeping (src/capture/ffmpeg-process.ts keeps a Set of its children; a leak is exactly a child that Set
 * has forgotten). Reads /proc (Linux: the machines this suite runs on).
 */
import { readdirSync, readFileSync } from 'node:fs';

/** One process as /proc shows it. */
export interface ProcInfo {
  pid: number;
  ppid: number;
  /** The executable's name, at most 15 characters (`/proc/PID/comm`). */
  comm: string;
  /** `R`, `S`, `D`, `T`, `Z` (zombie: dead, not yet reaped by its parent), ... */
  state: string;
  /** The arguments, `argv[0]` first (empty for a zombie). */
  argv: string[];
}

function readProc(pid: number): ProcInfo | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "PID (COMM) STATE PPID ...": COMM may hold spaces and parentheses, so split at the last ')'.
    const close = stat.lastIndexOf(')');
    const comm = stat.slice(stat.indexOf('(') + 1, close);
    const [state = '?', ppid = '0'] = stat
      .slice(close + 2)
      .split(' ')
      .slice(0, 2);
    let argv: string[] = [];
    try {
      argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').slice(0, -1);
    } catch {
      // gone meanwhile
    }
    return { pid, ppid: Number(ppid), comm, state, argv };
  } catch {
    return undefined; // exited between readdir and read
  }
}

/** Every process on the machine (that still exists by the time its entry is read). */
export function allProcesses(): ProcInfo[] {
  const out: ProcInfo[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const info = readProc(Number(name));
    if (info) out.push(info);
  }
  return out;
}

/** The live (not zombie) descendants of `root` (default: this process), children first. */
export function descendants(root = process.pid): ProcInfo[] {
  const all = allProcesses();
  const out: ProcInfo[] = [];
  const parents = new Set([root]);
  // /proc lists in pid order, and a child can have a lower pid than its parent (pid wrap): loop to a fixpoint.
  for (let grew = true; grew;) {
    grew = false;
    for (const p of all) {
      if (parents.has(p.ppid) && !parents.has(p.pid)) {
        parents.add(p.pid);
        if (p.state !== 'Z') out.push(p);
        grew = true;
      }
    }
  }
  return out;
}

/** The live ffmpeg processes among the descendants of `root` (default: this process). */
export function ffmpegDescendants(root = process.pid): ProcInfo[] {
  return descendants(root).filter((p) => p.comm === 'ffmpeg');
}

/**
 * Live processes anywhere on the machine whose arguments contain `needle` (a path unique to one test, e.g.
 * its temporary directory): finds orphans, which are no one's descendants any more.
 */
export function processesWithArg(needle: string): ProcInfo[] {
  return allProcesses().filter((p) => p.state !== 'Z' && p.argv.some((a) => a.includes(needle)));
}

/** Pids and command lines, for an assertion message. */
export function describeProcs(procs: ProcInfo[]): string {
  return procs.map((p) => `${p.pid} ${p.argv.join(' ')}`).join('\n');
}
