/**
 * When `--restart` brings a peer back, and how soon: which ends of its process are crashes (restart), which
 * are a normal end or a configuration the next attempt would only repeat (stop), and the back-off between
 * attempts. Pure: unit-tested.
 */
import { ExitCode } from './exit-codes.js';

/** Options of a {@link RestartPolicy}. */
export interface RestartPolicyOptions {
  /** The first delay, ms. Default 250. */
  initialDelayMs?: number;
  /** The longest delay, ms. Default 30000. */
  maxDelayMs?: number;
  /** A process that ran this long (ms) was stable: the next delay is the first one again. Default 60000. */
  stableAfterMs?: number;
}

/** The policy's defaults. */
export const RESTART_DEFAULTS = {
  // Short: a crashed camera is back within 2 s, start-up included (a busy machine takes over 1 s to start it).
  initialDelayMs: 250,
  maxDelayMs: 30_000,
  stableAfterMs: 60_000,
} as const satisfies Required<RestartPolicyOptions>;

/** How a peer process ended, as the supervisor saw it. */
export interface PeerExit {
  /** Its exit code, or null when a signal ended it. */
  code: number | null;
  /** The signal that ended it, or null. */
  signal: NodeJS.Signals | null;
  /**
   * The `code` of the error it reported before a non-zero exit (`UNREACHABLE`, `DEVICE_BUSY`, ...), when it
   * reported one.
   */
  errorCode?: string;
}

/** What to do after a peer process ended, and why in words. */
export type ExitVerdict =
  { action: 'done'; why: string } | { action: 'restart'; why: string } | { action: 'stop'; why: string };

/**
 * Errors behind exit codes 3 and 4 that a later attempt can get past: a signaling server that is not up
 * yet (or restarting), a camera still held by the crashed process's capture while it winds down.
 */
const TRANSIENT: Readonly<Record<number, readonly string[]>> = {
  [ExitCode.SIGNALING]: ['UNREACHABLE'],
  [ExitCode.MEDIA]: ['DEVICE_BUSY'],
};

const CATEGORY: Readonly<Record<number, string>> = {
  [ExitCode.USAGE]: 'usage',
  [ExitCode.SIGNALING]: 'signaling',
  [ExitCode.MEDIA]: 'media',
  [ExitCode.RECORDING]: 'recording',
};

/**
 * The verdict on one end: exit 0 is a normal end (done); a signal, a shell's 128+N, exit 1 (a failure during
 * the run) or a transient error behind 3/4 is a crash (restart); exit 2-5 otherwise is a usage or
 * configuration error that the same command line would meet again (stop).
 *
 * @example
 * judgeExit({ code: null, signal: 'SIGSEGV' }); // { action: 'restart', why: 'killed by SIGSEGV' }
 * judgeExit({ code: 5, signal: null });         // { action: 'stop', why: 'exit 5 (recording): ...' }
 */
export function judgeExit(exit: PeerExit): ExitVerdict {
  const { code, signal, errorCode } = exit;
  if (signal !== null) return { action: 'restart', why: `killed by ${signal}` };
  if (code === ExitCode.OK) return { action: 'done', why: 'exit 0' };
  if (code === null || code > 128) return { action: 'restart', why: `exit ${code ?? '?'}` };
  if (code === ExitCode.FAILURE) return { action: 'restart', why: 'exit 1 (failure during the run)' };
  const category = CATEGORY[code];
  const detail = errorCode ? `, ${errorCode}` : '';
  if (errorCode && TRANSIENT[code]?.includes(errorCode))
    return { action: 'restart', why: `exit ${code} (${category}${detail})` };
  return {
    action: 'stop',
    why: `exit ${code} (${category ?? 'unknown'}${detail}): the same command line would fail again`,
  };
}

/**
 * The back-off between attempts: `initialDelayMs`, doubled after each crash up to `maxDelayMs`, and back to
 * `initialDelayMs` once a process has run for `stableAfterMs`.
 *
 * @example
 * const policy = new RestartPolicy();
 * policy.nextDelay(1200);   // 250: the first crash
 * policy.nextDelay(800);    // 500
 * policy.nextDelay(90_000); // 250: that one had been up for a stable minute
 */
export class RestartPolicy {
  readonly #o: Required<RestartPolicyOptions>;
  #delayMs: number;
  /** Crashes so far. */
  restarts = 0;

  /** @throws TypeError on a delay that is not a positive number, or a maximum below the first delay. */
  constructor(options: RestartPolicyOptions = {}) {
    const o = { ...RESTART_DEFAULTS, ...options };
    for (const name of ['initialDelayMs', 'maxDelayMs', 'stableAfterMs'] as const)
      if (!(Number.isFinite(o[name]) && o[name] > 0))
        throw new TypeError(`restart policy: ${name} must be a positive number of ms, not ${o[name]}`);
    if (o.maxDelayMs < o.initialDelayMs)
      throw new TypeError(
        `restart policy: maxDelayMs ${o.maxDelayMs} is below initialDelayMs ${o.initialDelayMs}`,
      );
    this.#o = o;
    this.#delayMs = o.initialDelayMs;
  }

  /** Counts a crash of a process that had run `ranForMs`, and returns how long to wait before the next one. */
  nextDelay(ranForMs: number): number {
    if (ranForMs >= this.#o.stableAfterMs) this.#delayMs = this.#o.initialDelayMs;
    const delay = this.#delayMs;
    this.#delayMs = Math.min(this.#o.maxDelayMs, this.#delayMs * 2);
    this.restarts++;
    return delay;
  }
}
