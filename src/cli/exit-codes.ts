import { RtcPeerError } from '../errors.js';

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

/** Maps an error to the exit code that tells its category. */
export function exitCodeFor(error: unknown): number {
  if (error instanceof TypeError) return ExitCode.USAGE;
  if (!(error instanceof RtcPeerError)) return ExitCode.FAILURE;
  switch (error.name) {
    case 'SignalError':
    case 'ListenError':
      return ExitCode.SIGNALING;
    case 'FfmpegNotFoundError':
    case 'FfmpegError':
    case 'DeviceError':
      return ExitCode.MEDIA;
    case 'RecordingPathError':
      return ExitCode.RECORDING;
    default:
      return ExitCode.FAILURE;
  }
}
