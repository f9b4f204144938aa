import {
  DeviceError,
  FfmpegError,
  FfmpegNotFoundError,
  ListenError,
  RecordingPathError,
  SignalError,
  TlsError,
} from '../errors.js';

/**
 * Process exit codes of `rtc-peer`, documented in README.md. A normal end (duration reached, hang-up,
 * SIGINT/SIGTERM) is 0.
 */
export const ExitCode = {
  OK: 0,
  /** Something failed during the run (a call error, ffmpeg dying mid-call). */
  FAILURE: 1,
  /** Bad command line: unknown option, invalid value. */
  USAGE: 2,
  /** Signaling: server unreachable, token refused, role taken, port in use for `signal`. */
  SIGNALING: 3,
  /** Media: no ffmpeg, camera missing, busy or not permitted, capture failed to start. */
  MEDIA: 4,
  /** Recording path exists (without --force) or cannot be written. */
  RECORDING: 5,
} as const;

/** Error classes and the exit code each stands for; the first match wins. */
const CODES: ReadonlyArray<[new (...args: never[]) => Error, number]> = [
  // Invalid options throw TypeError at construction: a bad command line.
  [TypeError, ExitCode.USAGE],
  // A certificate or key file that cannot serve: a bad --cert/--key, fixed on the command line.
  [TlsError, ExitCode.USAGE],
  [SignalError, ExitCode.SIGNALING],
  [ListenError, ExitCode.SIGNALING],
  [FfmpegNotFoundError, ExitCode.MEDIA],
  [FfmpegError, ExitCode.MEDIA],
  [DeviceError, ExitCode.MEDIA],
  [RecordingPathError, ExitCode.RECORDING],
];

/** Maps an error to the exit code that tells its category, by its class. */
export function exitCodeFor(error: unknown): number {
  for (const [type, code] of CODES) if (error instanceof type) return code;
  return ExitCode.FAILURE;
}
