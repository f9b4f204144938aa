/** SIGINT and SIGTERM, as `rtc-peer` treats them: the first ends the run cleanly, a second one at once. */
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

/** SIGINT/SIGTERM abort the run gracefully; a second one exits at once, without the cleanup. */
export function onTermination(): Termination {
  const controller = new AbortController();
  const handler = (sig: NodeJS.Signals): void => {
    if (controller.signal.aborted) {
      process.stderr.write(`rtc-peer: ${sig} again, exiting without cleanup\n`);
      process.exit(128 + (sig === 'SIGINT' ? 2 : 15));
    }
    controller.abort();
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    signal: controller.signal,
    dispose: () => {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    },
  };
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
