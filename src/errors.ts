/**
 * Named errors with the fields a caller needs to react (exit code, device, room). Every message says what
 * happened, to what, and what to do next.
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

/** No usable ffmpeg binary was found. `tried` lists every place looked at, with why it did not work. */
export class FfmpegNotFoundError extends RtcPeerError {
  constructor(readonly tried: string[]) {
    super(
      'FFMPEG_NOT_FOUND',
      `no usable ffmpeg found; tried:\n  ${tried.join('\n  ')}\n` +
        'Install ffmpeg (e.g. `apt-get install ffmpeg`) or pass --ffmpeg PATH / set RTC_PEER_FFMPEG.',
    );
  }
}

/** ffmpeg could not start, or exited before producing output. Carries its last stderr lines. */
export class FfmpegError extends RtcPeerError {
  constructor(
    code: string,
    message: string,
    readonly details: { exitCode?: number | null; signal?: NodeJS.Signals | null; stderr?: string[] },
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }
}

/** A capture device is missing, busy or not permitted. */
export class DeviceError extends RtcPeerError {
  constructor(
    code: 'DEVICE_NOT_FOUND' | 'DEVICE_BUSY' | 'DEVICE_PERMISSION' | 'DEVICE_FAILED',
    message: string,
    readonly device: string,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }
}

/** A recording path that exists (without `force`) or cannot be written. */
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
