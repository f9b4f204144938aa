/**
 * `rtc-peer call|answer --restart`: the peer runs in a child process (the same CLI with the same arguments,
 * without `--restart`) and comes back by itself when that process crashes, so that an unattended camera
 * stays online through a native crash of @roamhq/wrtc (issue 18). When to restart and how soon is
 * `restart-policy.ts`; the child's side (dying with its supervisor, saying which error ended it) is
 * `supervised.ts`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { recordingPathFor } from '../record/index.js';
import { logger } from '../util/log.js';
import { ExitCode } from './exit-codes.js';
import type { Reporter } from './reporter.js';
import { judgeExit, RestartPolicy, type PeerExit, type RestartPolicyOptions } from './restart-policy.js';
import {
  HEARTBEAT_MS,
  STANDBY_ENV,
  SUPERVISOR_ENV,
  type SupervisedMessage,
  type SupervisorMessage,
} from './supervised.js';
import { onStopSignals, signalExitCode } from './termination.js';

const log = logger('supervisor');

/** Options of {@link supervise}. */
export interface SuperviseOptions {
  /** The peer's command line after `node`: the script and its arguments, without `--restart`. Required. */
  args: string[];
  /**
   * The `--record` file, when recording: a restarted peer records its first call to the next free number
   * (`--record-from`), never over what the crashed one recorded. Default: none.
   */
  record?: string;
  /** Where the supervisor's lines and events go. Required. */
  reporter: Reporter;
  /** The back-off. Default: {@link RestartPolicy}'s defaults. */
  policy?: RestartPolicyOptions;
  /**
   * A running peer process whose heartbeat (`supervised.ts`, every second from its main thread) has not come
   * for this long is ended (SIGABRT, for a core dump where enabled, then SIGKILL) and restarted, ms: its
   * event loop is blocked (a native call that never returns) or the process is stopped. 0: never. Default
   * {@link WATCHDOG_DEFAULT_MS}.
   */
  watchdogMs?: number;
}

/** The default of {@link SuperviseOptions.watchdogMs}: far beyond any pause of a working peer's event loop. */
export const WATCHDOG_DEFAULT_MS = 15_000;

/** After SIGABRT, how long an unresponsive peer process has to end before it is SIGKILLed, ms. */
const ABORT_GRACE_MS = 2000;

/**
 * How long after a peer process started the supervisor starts the next one in standby, ms: a process that
 * has loaded node and the CLI's modules and waits for its `go`. A cold start of the CLI takes over a second
 * on a busy 2-core machine (more than the whole of the 2 s a crashed camera has to come back in); from
 * standby, the restarted peer only starts its media and joins. Soon, for a crash early in a call; not at
 * once, so that the active process's own media start and join go first.
 */
const STANDBY_AFTER_MS = 500;

/** A peer process: running, or in standby until it gets its `go`. */
interface PeerProcess {
  child: ChildProcess;
  /** Its end; undefined when it could not be started at all. */
  exited: Promise<PeerExit | undefined>;
  /** Resolves true once it waits for its `go`, false if it ended before. */
  ready: Promise<boolean>;
}

/** Whether the process died of a signal (or a shell says it did: 128+N), rather than exiting on an error. */
function crashed(exit: PeerExit): boolean {
  return exit.signal !== null || (exit.code ?? 0) > 128;
}

/** The `peer-exited` event: how the process ended, and when the next one starts (null: none will). */
function exitedEvent(pid: number, exit: PeerExit, restarts: number, restartInSec: number | null) {
  return {
    pid,
    code: exit.code,
    signal: exit.signal,
    ...(exit.errorCode ? { errorCode: exit.errorCode } : {}),
    restarts,
    restartInSec,
  };
}

/**
 * Runs the peer in a child process until it ends normally (resolves 0), ends with a configuration error
 * (resolves with its exit code) or SIGINT/SIGTERM stops it: the first one is passed on to the child, which
 * ends its run cleanly, and resolves with the child's code; a second one exits at once.
 *
 * The child runs in a process group of its own, so that a terminal's Ctrl-C reaches it once, through the
 * supervisor, and not twice (a second signal would make it skip its cleanup).
 */
export async function supervise(options: SuperviseOptions): Promise<number> {
  const { args, record, reporter } = options;
  const policy = new RestartPolicy(options.policy);
  let child: ChildProcess | undefined;
  let stopSignal: NodeJS.Signals | undefined;
  let wakeUp: (() => void) | undefined;
  const removeSignalHandlers = onStopSignals(
    (sig) => {
      stopSignal = sig;
      child?.kill(sig);
      wakeUp?.();
    },
    // The child gets the second one too: its own second signal makes it exit at once.
    (sig) => child?.kill(sig),
  );
  // The number of the next peer process's first recording (1: as the command line says).
  let firstNumber = 1;
  // The next peer process, started ahead and waiting with its modules loaded (see STANDBY_AFTER_MS).
  let standby: PeerProcess | undefined;
  let standbyTimer: NodeJS.Timeout | undefined;
  try {
    for (;;) {
      const extra = record !== undefined && firstNumber > 1 ? ['--record-from', String(firstNumber)] : [];
      const startedAt = performance.now();
      const run = standby?.child.connected ? standby : startPeerProcess(args);
      standby = undefined;
      child = run.child;
      // Ready: loaded and listening for its go (false: it ended first, which its exit says).
      // It may end between the two (its exit says how): a failed send is no error of ours.
      if (await run.ready)
        run.child.send({ type: 'go', args: extra } satisfies SupervisorMessage, (error) => {
          if (error) log('peer process %d: go not sent: %s', run.child.pid, error.message);
        });
      standbyTimer = setTimeout(() => {
        if (stopSignal !== undefined) return;
        const next = startPeerProcess(args);
        standby = next;
        // For a JSON reader (and the tests): from now on a crash is met by a process with its modules loaded.
        void next.ready.then((ready) => {
          if (ready && standby === next) reporter.event('peer-standby', { pid: next.child.pid ?? 0 });
        });
      }, STANDBY_AFTER_MS);
      const pid = child.pid ?? 0;
      reporter.announce(
        'peer-process',
        { pid, restarts: policy.restarts },
        `rtc-peer: peer process ${pid} started${policy.restarts > 0 ? ` (restart ${policy.restarts})` : ''}`,
      );
      // A signal that came while the process was being spawned.
      if (stopSignal !== undefined) child.kill(stopSignal);
      const stopWatchdog = watch(run, options.watchdogMs ?? WATCHDOG_DEFAULT_MS);
      const exit = await run.exited;
      stopWatchdog();
      child = undefined;
      clearTimeout(standbyTimer);
      const ranForMs = performance.now() - startedAt;
      if (exit === undefined) return ExitCode.FAILURE;
      log('peer process %d ended: %o after %d ms', pid, exit, Math.round(ranForMs));
      if (stopSignal !== undefined) {
        // Stopped by us: its exit is the run's, and the signal we passed on is a normal end.
        if (exit.signal === stopSignal) return ExitCode.OK;
        return exit.code ?? signalExitCode(exit.signal ?? 'SIGKILL');
      }
      const verdict = judgeExit(exit);
      if (verdict.action === 'done') return ExitCode.OK;
      if (verdict.action === 'stop') {
        reporter.announce(
          'peer-exited',
          exitedEvent(pid, exit, policy.restarts, null),
          `rtc-peer: peer process ${pid} ended with ${verdict.why}; not restarting`,
        );
        return exit.code ?? ExitCode.FAILURE;
      }
      const delayMs = policy.nextDelay(ranForMs);
      reporter.announce(
        'peer-exited',
        exitedEvent(pid, exit, policy.restarts, delayMs / 1000),
        `rtc-peer: peer process ${pid} ${crashed(exit) ? 'crashed' : 'failed'} (${verdict.why}) after ${(ranForMs / 1000).toFixed(1)} s; ` +
          `restart ${policy.restarts} in ${delayMs / 1000} s`,
      );
      // The crashed process's files stay as they are (its recorder finalized the last one on EOF); the next
      // one starts after the last number that has a file.
      if (record !== undefined) while (existsSync(recordingPathFor(record, firstNumber, true))) firstNumber++;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delayMs);
        wakeUp = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wakeUp = undefined;
      if (stopSignal !== undefined) return ExitCode.OK;
    }
  } finally {
    clearTimeout(standbyTimer);
    // A standby has started nothing: SIGKILL is its whole clean-up.
    if (standby) {
      standby.child.kill('SIGKILL');
      await standby.exited;
    }
    removeSignalHandlers();
  }

  /**
   * The watchdog of a running peer process: when its heartbeat has not come for `limitMs`, it is told
   * (`peer-unresponsive`), SIGABRTed and, if still there after {@link ABORT_GRACE_MS}, SIGKILLed; its exit is
   * then a crash like any other (restarted). Returns the function that stops watching.
   */
  function watch(run: PeerProcess, limitMs: number): () => void {
    if (!(limitMs > 0)) return () => undefined;
    let lastAlive = performance.now();
    let lastCheck = lastAlive;
    let killTimer: NodeJS.Timeout | undefined;
    const onMessage = (message: SupervisedMessage): void => {
      if (message?.type === 'alive') lastAlive = performance.now();
    };
    run.child.on('message', onMessage);
    const check = setInterval(() => {
      const now = performance.now();
      // This process was not running either (the machine suspended, or it was stopped itself): the
      // silence is not the peer's.
      if (now - lastCheck > 4 * HEARTBEAT_MS) lastAlive = now;
      lastCheck = now;
      const silentMs = now - lastAlive;
      if (silentMs < limitMs || stopSignal !== undefined) return;
      clearInterval(check);
      const pid = run.child.pid ?? 0;
      reporter.announce(
        'peer-unresponsive',
        { pid, silentSec: Math.round(silentMs / 100) / 10 },
        `rtc-peer: peer process ${pid} has not answered for ${(silentMs / 1000).toFixed(1)} s (its main ` +
          'thread is blocked, or the process is stopped): ending it (SIGABRT, then SIGKILL) to restart it',
      );
      run.child.kill('SIGABRT');
      killTimer = setTimeout(() => run.child.kill('SIGKILL'), ABORT_GRACE_MS);
    }, HEARTBEAT_MS);
    return () => {
      clearInterval(check);
      clearTimeout(killTimer);
      run.child.off('message', onMessage);
    };
  }

  /** Starts a peer process in standby: it loads the CLI, then waits for its `go` (and its extra arguments). */
  function startPeerProcess(argv: string[]): PeerProcess {
    const proc = spawn(process.execPath, [...process.execArgv, ...argv], {
      // stdin: unused; stdout and stderr: the peer's own events and lines, straight to ours; an IPC channel,
      // through which the child learns that we are gone (it then ends) and tells us what error ended it.
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      // Its own process group: see supervise().
      detached: true,
      env: { ...process.env, [SUPERVISOR_ENV]: String(process.pid), [STANDBY_ENV]: '1' },
    });
    let errorCode: string | undefined;
    let markReady: (ready: boolean) => void = () => undefined;
    const ready = new Promise<boolean>((resolve) => (markReady = resolve));
    proc.on('message', (message: SupervisedMessage) => {
      if (message?.type === 'ready') markReady(true);
      if (message?.type === 'error' && typeof message.code === 'string') errorCode = message.code;
    });
    const exited = new Promise<PeerExit | undefined>((resolve) => {
      proc.on('error', (error) => {
        // Running already (a signal or a message that could not be sent): its exit will say the rest.
        if (proc.pid !== undefined) {
          log('peer process %d: %s', proc.pid, error.message);
          return;
        }
        // Not started at all (the node binary gone?): nothing to restart.
        reporter.error(new Error(`cannot start the peer process: ${error.message}`), ExitCode.FAILURE);
        resolve(undefined);
      });
      // 'close', not 'exit': after the IPC channel closed too, so the message that came before is in.
      proc.once('close', (code: number | null, signal: NodeJS.Signals | null) =>
        resolve({ code, signal, errorCode }),
      );
    });
    void exited.then(() => markReady(false));
    return { child: proc, exited, ready };
  }
}
