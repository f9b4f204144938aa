import createDebug from 'debug';

/**
 * A `debug` logger in the `rtc-peer:` namespace. Library code logs only through these; `cli.ts` alone
 * writes to the terminal. Enable with `DEBUG=rtc-peer:*` (the CLI's `--verbose` does this).
 *
 * @example
 * const log = logger('capture');
 * log('ffmpeg started, pid %d', child.pid);
 */
export function logger(namespace: string): createDebug.Debugger {
  return createDebug(`rtc-peer:${namespace}`);
}
