/**
 * The peer process's side of `--restart` (the supervisor is `supervisor.ts`): it dies with its supervisor,
 * and it tells the supervisor which error ended it, so that a crash is told from a configuration error.
 * Both go through the IPC channel the supervisor opens; a process without one is not supervised and nothing
 * here does anything.
 */

/** The environment variable the supervisor sets in its peer process: the supervisor's pid. */
export const SUPERVISOR_ENV = 'RTC_PEER_SUPERVISOR';

/**
 * Set by the supervisor in a peer process it starts in standby: the process loads the CLI and waits for the
 * supervisor's `go` before it runs the command.
 */
export const STANDBY_ENV = 'RTC_PEER_STANDBY';

/** What the supervisor tells a peer process in standby: run now, with these arguments added. */
export interface SupervisorMessage {
  type: 'go';
  /** Arguments after the command line's own (`--record-from N` for a restarted answerer). */
  args: string[];
}

/**
 * What a peer process tells its supervisor: that it is ready for its `go` (in standby, with its modules
 * loaded and listening for it), or the error that ends its run.
 */
export type SupervisedMessage =
  | { type: 'ready' }
  /** Sent every {@link HEARTBEAT_MS} by the running peer's main thread: its event loop turns. */
  | { type: 'alive' }
  | {
      type: 'error';
      /** The exit code the process is about to exit with. */
      exitCode: number;
      /** The error's `code`, when it has one (`UNREACHABLE`, `DEVICE_BUSY`, ...). */
      code?: string;
    };

/** How often a running supervised peer tells its supervisor it is alive, ms (see {@link startHeartbeat}). */
export const HEARTBEAT_MS = 1000;

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

/**
 * In standby (see {@link STANDBY_ENV}), resolves with the supervisor's extra arguments once it says `go`; at
 * once with none otherwise. A supervisor gone meanwhile ends the process ({@link watchSupervisor}).
 */
export function awaitGo(): Promise<string[]> {
  if (!isSupervised() || process.env[STANDBY_ENV] === undefined) return Promise.resolve([]);
  delete process.env[STANDBY_ENV];
  return new Promise((resolve) => {
    const onMessage = (message: SupervisorMessage): void => {
      if (message?.type !== 'go') return;
      process.off('message', onMessage);
      // Unreferenced again: from now on only the run keeps the process alive.
      process.channel?.unref();
      resolve(Array.isArray(message.args) ? message.args.map(String) : []);
    };
    process.on('message', onMessage);
    // Waiting for the go is all a standby does: the channel keeps it alive until then.
    process.channel?.ref();
    // Only now: a message that came before a listener would be lost.
    process.send?.({ type: 'ready' } satisfies SupervisedMessage);
  });
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

/**
 * In a supervised peer that runs (after its `go`), tells the supervisor every {@link HEARTBEAT_MS} that its
 * main thread turns: a process wedged in native code (or stopped) falls silent, and the supervisor ends it
 * and starts the next one (`--restart-watchdog`). Nothing in a process that is not supervised.
 */
export function startHeartbeat(): void {
  if (!isSupervised()) return;
  const beat = (): void => {
    if (process.connected) process.send?.({ type: 'alive' } satisfies SupervisedMessage);
  };
  beat();
  setInterval(beat, HEARTBEAT_MS).unref();
}
