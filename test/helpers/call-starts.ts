/**
 * Call starts by the hundred, for issue 18's native crash (a SIGSEGV of `rtc-peer call` right after it joined,
 * before its offer went out): each start is a fresh `rtc-peer answer` and a fresh `rtc-peer call` (the real
 * CLI, dist/cli.js, as separate processes) in a room of their own, the answerer first or both at once, the caller sending a small test pattern,
 * ending the call a moment after it connects; both must exit 0. Anything else is counted: a signal exit
 * (SIGSEGV: `signal` SIGSEGV, or code 139 through a shell), an abort, a non-zero code, a start that hangs.
 *
 * The witness is the OS: each process's own exit status, and the core files the kernel writes into `dir`
 * (each child runs there, and with `core_pattern` at its default `core` a crash leaves `dir/core[.PID]` when
 * the shell that started the run allowed it: `ulimit -c unlimited`).
 *
 * No vitest here: `npm run bench` runs the long version (bench/scenarios/crash-starts.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { DIST } from './dist.js';

/** How one process of a start ended. */
export interface ProcessEnd {
  role: 'caller' | 'answerer';
  pid: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Killed by the loop after {@link CallStartsOptions.timeoutMs}. */
  timedOut: boolean;
  /** The last lines of its stderr. */
  stderrTail: string;
  /** Its stderr's last 20 KB (with `DEBUG=rtc-peer:*` in the environment, its debug log). */
  stderr: string;
  /** The JSON events it printed, by name, in order (to tell where it died). */
  events: string[];
}

/** One start that did not end cleanly. */
export interface BadStart {
  index: number;
  ends: ProcessEnd[];
}

/** What a run of starts saw. */
export interface CallStartsResult {
  /** Starts made (each a caller process, and with fresh answerers an answerer process). */
  starts: number;
  /** Processes that died of a signal or with 128+signal (SIGSEGV, SIGABRT, ...): native crashes. */
  crashes: ProcessEnd[];
  /** Starts with anything else than two clean exits (crashes included). */
  bad: BadStart[];
  /** Core files the kernel left in the directory. */
  cores: string[];
  elapsedMs: number;
}

/** Options of {@link runCallStarts}. */
export interface CallStartsOptions {
  /** Signaling server URL. Required. */
  url: string;
  /** Number of starts. Required. */
  starts: number;
  /** Working directory of the children (their core files land here). Required. */
  dir: string;
  /** Starts running side by side. Default 1. */
  parallel?: number;
  /**
   * `fresh`: a new answerer process for every start (call starts and answer starts). `shared`: one answerer
   * per parallel lane, in the lane's room, answering every call of the lane (call starts only, at half the
   * processes; it must then count every call and exit 0 on SIGTERM). Default `fresh`.
   */
  answerers?: 'fresh' | 'shared';
  /** Network namespaces to run each role in (the network lab's). Default: none (this host, loopback). */
  netns?: { caller: string; answerer: string };
  /** How long after connecting the caller ends the call, s. Default 0.3. */
  durationSec?: number;
  /** Kill a start's processes after this long, ms. Default 60000: a busy machine starves a start for seconds. */
  timeoutMs?: number;
  /** Extra environment of the children (e.g. NODE_OPTIONS). */
  env?: NodeJS.ProcessEnv;
  /**
   * Called with a hung process's pid before it is killed (e.g. to attach gdb for its threads' stacks); the
   * kill waits for it.
   */
  onHang?: (role: 'caller' | 'answerer', pid: number) => Promise<void>;
  /** Called after each start (a progress line). */
  onStart?: (index: number, bad: BadStart | undefined) => void;
}

const CLI = path.join(DIST, 'cli.js');

/** Every process the loop started that has not exited yet: {@link killCallStarts} ends them. */
const live = new Set<ChildProcess>();

/**
 * SIGKILLs whatever the loop started and is still running, and waits for it (a test's afterEach: a test
 * that timed out leaves its starts behind otherwise, with nobody's timer left to end them).
 */
export async function killCallStarts(): Promise<void> {
  await Promise.all(
    [...live].map(
      (child) =>
        new Promise<void>((resolve) => {
          child.once('close', () => resolve());
          child.kill('SIGKILL');
        }),
    ),
  );
}

/** Whether a process end is a native crash: a signal we did not send, or a shell's 128+N for one. */
export function isCrash(end: Pick<ProcessEnd, 'code' | 'signal' | 'timedOut'>): boolean {
  if (end.timedOut) return false;
  return end.signal !== null || (end.code !== null && end.code > 128);
}

interface Running {
  done: Promise<ProcessEnd>;
  joined: Promise<void>;
  /** Its JSON events so far, by name. */
  events: string[];
  kill(signal: NodeJS.Signals): void;
}

function runOne(
  role: 'caller' | 'answerer',
  args: string[],
  o: CallStartsOptions,
  netns: string | undefined,
  timeoutMs = o.timeoutMs ?? 60_000,
): Running {
  const argv = [process.execPath, CLI, ...args];
  if (netns) argv.unshift('ip', 'netns', 'exec', netns);
  const child = spawn(argv[0]!, argv.slice(1), {
    cwd: o.dir,
    env: { ...process.env, ...o.env },
    // stdin ignored; stdout: JSON events; stderr: kept for the report.
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  let stderr = '';
  let partial = '';
  const events: string[] = [];
  let markJoined: () => void = () => undefined;
  const joined = new Promise<void>((resolve) => (markJoined = resolve));
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    partial += chunk;
    const lines = partial.split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      const name = /^\{"event":"([\w-]+)"/.exec(line)?.[1];
      if (!name) continue;
      events.push(name);
      if (name === 'joined') markJoined();
    }
  });
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-20_000);
  });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    const look = o.onHang && child.pid !== undefined ? o.onHang(role, child.pid) : Promise.resolve();
    void look.finally(() => child.kill('SIGKILL'));
  }, timeoutMs);
  const done = new Promise<ProcessEnd>((resolve) => {
    child.on('close', (code, signal) => {
      live.delete(child);
      clearTimeout(timer);
      markJoined();
      resolve({
        role,
        pid: child.pid ?? 0,
        code,
        signal,
        timedOut,
        stderrTail: stderr.split('\n').slice(-8).join('\n'),
        stderr,
        events,
      });
    });
  });
  return { done, joined, events, kill: (signal) => child.kill(signal) };
}

/** The flags of every peer of a start: its room, the server, no STUN, JSON events. */
const peerFlags = (o: CallStartsOptions, room: string): string[] => [
  ...['--signal', o.url, '--room', room, '--stun', 'none', '--json'],
];

/** One start: a fresh caller, and a fresh answerer unless the lane's `shared` one answers. */
async function oneStart(index: number, o: CallStartsOptions, shared?: string): Promise<ProcessEnd[]> {
  const room = shared ?? `starts-${process.pid}-${index}`;
  // The answerer receives only (no ffmpeg). Every other start it has joined before the caller starts, as in
  // the issue's run (the caller joins with its peer present); else both start at once.
  const answerer = shared
    ? undefined
    : runOne('answerer', ['answer', ...peerFlags(o, room), '--once'], o, o.netns?.answerer);
  if (answerer && index % 2 === 0) await answerer.joined;
  const caller = runOne(
    'caller',
    [
      'call',
      ...peerFlags(o, room),
      '--once',
      '--test-pattern',
      '--no-audio',
      '--size',
      '160x120',
      '--fps',
      '15',
      '--duration',
      String(o.durationSec ?? 0.3),
    ],
    o,
    o.netns?.caller,
  );
  return Promise.all([caller.done, ...(answerer ? [answerer.done] : [])]);
}

/** Makes `starts` call starts, `parallel` at a time, and says how each one ended. */
export async function runCallStarts(o: CallStartsOptions): Promise<CallStartsResult> {
  const t0 = performance.now();
  const crashes: ProcessEnd[] = [];
  const bad: BadStart[] = [];
  let next = 0;
  const judge = (index: number, ends: ProcessEnd[]): BadStart | undefined => {
    crashes.push(...ends.filter(isCrash));
    const failed = ends.some((e) => e.code !== 0 || e.signal !== null || e.timedOut);
    const entry = failed ? { index, ends } : undefined;
    if (entry) bad.push(entry);
    return entry;
  };
  const worker = async (lane: number): Promise<void> => {
    const room = o.answerers === 'shared' ? `starts-${process.pid}-lane-${lane}` : undefined;
    // The lane's answerer lives as long as the run: its own timeout is the run's bound.
    const answerer = room
      ? runOne('answerer', ['answer', ...peerFlags(o, room)], o, o.netns?.answerer, 3_600_000)
      : undefined;
    await answerer?.joined;
    let calls = 0;
    while (next < o.starts) {
      const index = next++;
      const ends = await oneStart(index, o, room);
      calls++;
      o.onStart?.(index, judge(index, ends));
    }
    if (!answerer) return;
    // Every call of the lane reached the answerer and ended there, then SIGTERM ends it: exit 0.
    const deadline = performance.now() + (o.timeoutMs ?? 60_000);
    while (answerer.events.filter((e) => e === 'call-ended').length < calls && performance.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    answerer.kill('SIGTERM');
    const end = await answerer.done;
    const ended = end.events.filter((e) => e === 'call-ended').length;
    const entry = judge(-1 - lane, [end]);
    if (!entry && ended !== calls)
      bad.push({ index: -1 - lane, ends: [{ ...end, stderrTail: `${ended} of ${calls} calls ended here` }] });
  };
  await Promise.all(Array.from({ length: Math.max(1, o.parallel ?? 1) }, (_, lane) => worker(lane)));
  const cores = readdirSync(o.dir).filter((f) => /^core(\.\d+)?$/.test(f));
  return { starts: o.starts, crashes, bad, cores, elapsedMs: performance.now() - t0 };
}

/** One line per bad start, for a report or an assertion message. */
export function describeBadStarts(bad: BadStart[]): string {
  return bad
    .map(
      (b) =>
        (b.index >= 0 ? `start ${b.index}: ` : `lane ${-1 - b.index}'s shared answerer: `) +
        b.ends
          .map(
            (e) =>
              `${e.role} pid ${e.pid} ${e.timedOut ? 'timed out' : `exit ${e.signal ?? e.code}`} ` +
              `after [${e.events.join(' ')}]${e.stderrTail.trim() ? `\n    ${e.stderrTail.trim().replace(/\n/g, '\n    ')}` : ''}`,
          )
          .join('; '),
    )
    .join('\n');
}
