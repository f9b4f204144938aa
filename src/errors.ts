/**
 * Named errors with the fields a caller needs to react: a stable `code`, and what the error is about (the
 * device, the path, the URL, the address). A message says what happened, to what, and what to do next in
 * words that hold for any caller; the command line adds its flags as hints (`src/cli/hints.ts`) and picks
 * its exit code by class (`src/cli/exit-codes.ts`).
 */

/** Base class: every error thrown by rtc-peer on purpose is one of these. */
export class RtcPeerError extends Error {
  /** A stable machine-readable code, e.g. `FFMPEG_NOT_FOUND`. */
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/**
 * No usable ffmpeg binary was found (`FFMPEG_NOT_FOUND`). `tried` lists every place looked at, with why it
 * did not work. Remedy: install ffmpeg, or name a binary (`locateFfmpeg`'s `explicit`, `RTC_PEER_FFMPEG`).
 */
export class FfmpegNotFoundError extends RtcPeerError {
  constructor(readonly tried: readonly string[]) {
    super(
      'FFMPEG_NOT_FOUND',
      `no usable ffmpeg found; tried:\n  ${tried.join('\n  ')}\n` +
        'Install ffmpeg (e.g. `apt-get install ffmpeg`) or point RTC_PEER_FFMPEG at one.',
    );
  }
}

/** What ffmpeg left behind when it failed. */
export interface FfmpegErrorDetails {
  /** Its exit code, or null when a signal ended it. */
  exitCode?: number | null;
  signal?: NodeJS.Signals | null;
  /** Its last stderr lines. */
  stderr?: string[];
  /** The file it was reading or writing, when the error is about that file. */
  path?: string;
}

/**
 * ffmpeg could not start (`FFMPEG_START_FAILED`), died (`FFMPEG_DIED`), or found no sound in a file
 * (`NO_AUDIO_STREAM`, with `details.path`). Carries its last stderr lines.
 */
export class FfmpegError extends RtcPeerError {
  constructor(
    code: string,
    message: string,
    readonly details: FfmpegErrorDetails,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }
}

/** What a {@link DeviceError} is about. */
export interface DeviceErrorOptions {
  /** A camera (the default) or a microphone. */
  kind?: 'camera' | 'microphone';
  /**
   * For a camera that was not found, the cameras that do exist, when they can be listed (V4L2: the
   * `/dev/video*` of this machine; empty when there are none). Undefined where they cannot be listed.
   */
  found?: readonly string[];
  cause?: unknown;
}

/**
 * A capture device is missing (`DEVICE_NOT_FOUND`), busy (`DEVICE_BUSY`), not permitted
 * (`DEVICE_PERMISSION`) or failed (`DEVICE_FAILED`).
 */
export class DeviceError extends RtcPeerError {
  /** A camera or a microphone. */
  readonly kind: 'camera' | 'microphone';
  /** See {@link DeviceErrorOptions.found}. */
  readonly found?: readonly string[];

  constructor(
    code: 'DEVICE_NOT_FOUND' | 'DEVICE_BUSY' | 'DEVICE_PERMISSION' | 'DEVICE_FAILED',
    message: string,
    /** The device as it was asked for, e.g. `/dev/video0` or `hw:1,0`. */
    readonly device: string,
    options: DeviceErrorOptions = {},
  ) {
    super(code, message, { cause: options.cause });
    this.kind = options.kind ?? 'camera';
    if (options.found !== undefined) this.found = options.found;
  }
}

/**
 * A recording path that exists (`RECORDING_EXISTS`: pass `force` to overwrite it) or cannot be written
 * (`RECORDING_UNWRITABLE`).
 */
export class RecordingPathError extends RtcPeerError {
  constructor(
    code: 'RECORDING_EXISTS' | 'RECORDING_UNWRITABLE',
    message: string,
    readonly path: string,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }
}

/**
 * The signaling server could not be reached, refused us, or answered with an error. `status`: the HTTP status
 * a WHIP/WHEP server answered with, when that is what failed.
 */
export class SignalError extends RtcPeerError {
  readonly status?: number;

  constructor(
    code: string,
    message: string,
    readonly url?: string,
    options?: { cause?: unknown; status?: number },
  ) {
    super(code, message, options);
    if (options?.status !== undefined) this.status = options.status;
  }
}

/**
 * A TLS certificate or key that cannot serve (`TLS_FILE_UNREADABLE`, `TLS_BAD_CERT`, `TLS_BAD_KEY`,
 * `TLS_KEY_MISMATCH`): `path` names the file. Remedy: the message says which file and what to fix.
 */
export class TlsError extends RtcPeerError {
  constructor(
    code: 'TLS_FILE_UNREADABLE' | 'TLS_BAD_CERT' | 'TLS_BAD_KEY' | 'TLS_KEY_MISMATCH',
    message: string,
    readonly path: string,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }
}

/** The signaling server could not listen (e.g. the port is taken). */
export class ListenError extends RtcPeerError {
  constructor(
    code: 'PORT_IN_USE' | 'LISTEN_FAILED',
    message: string,
    readonly host: string,
    readonly port: number,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }
}
