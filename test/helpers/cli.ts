/**
 * Runs the real `rtc-peer` CLI (dist/cli.js, built by `npm test`'s pretest) as a separate process and reads
 * its JSON event lines.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { systemCommand } from '../system/find-command.js';
import { assertDistFresh, DIST } from './dist.js';

/** The built CLI, as `npm install` leaves it (the package's `bin`). */
export const CLI = path.join(DIST, 'cli.js');

/** One JSON event line printed by the CLI. */
export type CliEvent = { event: string; t: number } & Record<string, unknown>;

/** A running CLI process with its output collected. */
export interface CliProcess {
  child: ChildProcess;
  events: CliEvent[];
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the first event (already seen or future) named `name` that passes `filter`. */
  waitFor(name: string, timeoutMs?: number, filter?: (e: CliEvent) => boolean): Promise<CliEvent>;
  /** Resolves when a stdout line matches. */
  waitForLine(re: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  /** Resolves with the exit code (or signal name) once the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Kills it if still running (afterEach). */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

const running = new Set<CliProcess>();
/** Lines that looked like JSON events but did not parse, from any process: {@link killAll} fails on them. */
const malformed: string[] = [];

/**
 * Starts `node dist/cli.js ...args` (inside network namespace `netns` when given, through `ip netns exec`,
 * which execs node: the pid is node's). Every process started here is killed by {@link killAll}.
 */
export function startCli(
  args: string[],
  options: {
    env?: NodeJS.ProcessEnv;
    cwd?: string;
    netns?: string;
    /** `pipe`: the process's standard input is `child.stdin` (for `--data`). Default: ignored. */
    stdin?: 'pipe';
  } = {},
): CliProcess {
  assertDistFresh();
  const argv = [process.execPath, CLI, ...args];
  if (options.netns) argv.unshift(systemCommand('ip'), 'netns', 'exec', options.netns);
  const child = spawn(argv[0]!, argv.slice(1), {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    // stdin ignored (or the test's, for --data); stdout carries JSON events (not a terminal) or, with
    // --data, the data messages; stderr human messages.
    stdio: [options.stdin ?? 'ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  let partial = '';
  const events: CliEvent[] = [];
  // Every stdout line that starts with '{' is an event and must parse: a broken one is a bug in the CLI's
  // output (a reader such as jq would choke on it), never something to drop. Other lines are for humans.
  const readLine = (line: string): void => {
    if (!line.startsWith('{')) return;
    try {
      events.push(JSON.parse(line) as CliEvent);
    } catch (error) {
      malformed.push(`rtc-peer ${args.join(' ')}: ${String(error)} in: ${line}`);
    }
  };
  const listeners = new Set<() => void>();
  const notify = (): void => {
    for (const l of [...listeners]) l();
  };
  child.stdout?.setEncoding('utf8');
  child.stderr?.setEncoding('utf8');
  child.stdout?.on('data', (chunk: string) => {
    out += chunk;
    partial += chunk;
    const lines = partial.split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) readLine(line);
    notify();
  });
  child.stderr?.on('data', (chunk: string) => {
    err += chunk;
    if (process.env.RTC_PEER_TEST_VERBOSE) process.stderr.write(`[${args[0]}] ${chunk}`);
  });
  let ended = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => {
      // A last line without its newline is still a line.
      readLine(partial);
      partial = '';
      ended = ` (it had exited: ${signal !== null ? `killed by ${signal}` : `code ${String(code)}`})`;
      resolve({ code, signal });
      notify();
    }),
  );
  const waitUntil = <T>(check: () => T | undefined, timeoutMs: number, what: string): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const attempt = (): boolean => {
        const value = check();
        if (value === undefined) return false;
        cleanup();
        resolve(value);
        return true;
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(
          new Error(
            `timed out after ${timeoutMs} ms waiting for ${what} from rtc-peer ${args.join(' ')}${ended}\n` +
              `stdout:\n${out}\nstderr:\n${err}`,
          ),
        );
      }, timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        listeners.delete(listener);
      };
      const listener = (): void => {
        attempt();
      };
      listeners.add(listener);
      attempt();
    });
  const proc: CliProcess = {
    child,
    events,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitFor: (name, timeoutMs = 15_000, filter = () => true) =>
      waitUntil(() => events.find((e) => e.event === name && filter(e)), timeoutMs, `event "${name}"`),
    waitForLine: (re, timeoutMs = 15_000) =>
      waitUntil(() => re.exec(out) ?? undefined, timeoutMs, `a line ${re}`),
    kill: async (signal = 'SIGKILL') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
  running.add(proc);
  void exited.then(() => running.delete(proc));
  return proc;
}

/**
 * Kills every CLI process still running (use in afterEach), then fails if any process printed a line that
 * started like a JSON event but did not parse.
 */
export async function killAll(): Promise<void> {
  await Promise.all([...running].map((p) => p.kill('SIGKILL')));
  const bad = malformed.splice(0);
  if (bad.length > 0)
    throw new Error(`malformed JSON event lines on stdout:
${bad.join('\n')}`);
}

/**
 * Starts `rtc-peer signal` on a free port of loopback (or of `host`, inside `netns`) and resolves with the
 * process and its URL.
 */
export async function startSignalCli(
  extra: string[] = [],
  where: { host?: string; netns?: string } = {},
): Promise<{ proc: CliProcess; url: string }> {
  const host = where.host ?? '127.0.0.1';
  // A lab address is not loopback: without a token the server would generate one (issue 15); these
  // tests run an open server there on purpose.
  const open = !/^127\./.test(host) && !extra.includes('--token') ? ['--open'] : [];
  const proc = startCli(['signal', '--host', host, '--port', '0', ...open, ...extra], { netns: where.netns });
  const m = await proc.waitForLine(/listening on (https?:\/\/\S+)/);
  return { proc, url: m[1] ?? '' };
}
