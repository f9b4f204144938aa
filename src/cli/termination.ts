/** SIGINT and SIGTERM, as `rtc-peer` treats them: the first ends the run cleanly, a second one at once. */
import { constants } from 'node:os';
import { exitCodeFor } from './exit-codes.js';
import { errorFields } from './hints.js';
import type { Reporter } from './reporter.js';
import { tellSupervisor } from './supervised.js';

/** A run's stop signal, and the release of the handlers once the run is over. */
export interface Termination {
  /** Aborted on the first SIGINT or SIGTERM. */
  signal: AbortSignal;
  /** Removes the handlers. */
  dispose(): void;
}

/** 128 + the signal's number, as a shell reports a process killed by it. */
export function signalExitCode(signal: NodeJS.Signals): number {
  return 128 + (constants.signals[signal] ?? 0);
}

/**
 * Handles SIGINT and SIGTERM the one way every rtc-peer process does (the run, and the `--restart`
 * supervisor): the first calls `first`, a second one says so, calls `again` (to pass it on) and exits at once
 * with 128 + its number, without the cleanup. Returns the removal of the handlers.
 */
export function onStopSignals(
  first: (sig: NodeJS.Signals) => void,
  again?: (sig: NodeJS.Signals) => void,
): () => void {
  let stopped = false;
  const handler = (sig: NodeJS.Signals): void => {
    if (stopped) {
      process.stderr.write(`rtc-peer: ${sig} again, exiting without cleanup\n`);
      again?.(sig);
      process.exit(signalExitCode(sig));
    }
    stopped = true;
    first(sig);
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };
}

/** SIGINT/SIGTERM abort the run gracefully; a second one exits at once, without the cleanup. */
export function onTermination(): Termination {
  const controller = new AbortController();
  const dispose = onStopSignals(() => controller.abort());
  return { signal: controller.signal, dispose };
}

/**
 * Runs `run` until it ends or the first SIGINT/SIGTERM aborts it; an error that ends it is reported (with
 * its hint) and becomes its exit code (and, under `--restart`, is told to the supervisor).
 */
export async function runUntilTerminated(
  reporter: Reporter,
  run: (stop: AbortSignal) => Promise<number>,
): Promise<number> {
  const stop = onTermination();
  try {
    return await run(stop.signal);
  } catch (error) {
    const code = exitCodeFor(error);
    reporter.error(error, code);
    const { code: errorCode } = errorFields(error);
    await tellSupervisor({
      type: 'error',
      exitCode: code,
      ...(typeof errorCode === 'string' ? { code: errorCode } : {}),
    });
    return code;
  } finally {
    stop.dispose();
  }
}
