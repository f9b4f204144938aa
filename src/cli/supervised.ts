/**
 * The peer process's side of `--restart` (the supervisor is `supervisor.ts`): it dies with its supervisor,
 * and it tells the supervisor which error ended it, so that a crash is told from a configuration error.
 * Both go through the IPC channel the supervisor opens; a process without one is not supervised and nothing
 * here does anything.
 */

/** The environment variable the supervisor sets in its peer process: the supervisor's pid. */
export const SUPERVISOR_ENV = 'RTC_PEER_SUPERVISOR';

/** What a peer process tells its supervisor. */
export interface SupervisedMessage {
  type: 'error';
  /** The exit code the process is about to exit with. */
  exitCode: number;
  /** The error's `code`, when it has one (`UNREACHABLE`, `DEVICE_BUSY`, ...). */
  code?: string;
}

/** How long a peer process left without its supervisor may take to end cleanly before it exits at once. */
const ORPHAN_GRACE_MS = 10_000;

/** Whether this process is a peer run by `rtc-peer --restart` (its channel may be closed by now). */
export function isSupervised(): boolean {
  return process.env[SUPERVISOR_ENV] !== undefined;
}

/**
 * Makes a supervised process end when its supervisor is gone (exited, crashed or SIGKILLed: the IPC channel
 * closes with it), as SIGTERM ends it: the run stops cleanly (bye, recording finalized), and a second
 * SIGTERM after {@link ORPHAN_GRACE_MS} ends it at once if the cleanup hangs. Before the run has its handlers,
 * SIGTERM's default action ends the process, which has nothing to clean up yet. Call once, at start.
 */
export function watchSupervisor(): void {
  if (!isSupervised()) return;
  const gone = (): void => {
    process.kill(process.pid, 'SIGTERM');
    setTimeout(() => process.kill(process.pid, 'SIGTERM'), ORPHAN_GRACE_MS).unref();
  };
  // Gone already, while this process was loading: its channel closed before anyone listened.
  if (!process.connected) {
    gone();
    return;
  }
  // The channel must not keep the process alive by itself: the CLI exits explicitly when its run is over.
  process.channel?.unref();
  process.once('disconnect', gone);
}

/** Tells the supervisor, if any, the error that ends this run; resolves once sent (or at once). */
export function tellSupervisor(message: SupervisedMessage): Promise<void> {
  if (!isSupervised() || !process.connected || !process.send) return Promise.resolve();
  const send = process.send.bind(process);
  return new Promise((resolve) => {
    // Bounded: a supervisor that stopped reading must not hold the exit back.
    const timer = setTimeout(resolve, 1000);
    send(message, undefined, {}, () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
