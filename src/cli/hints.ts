/**
 * What the command line adds to an error: the flag that fixes it (a hint), and the error's own fields for the
 * JSON `error` event. Library errors say what happened in words that hold for any caller; only here do they
 * meet `rtc-peer`'s flags. Pure: unit-tested.
 */
import {
  DeviceError,
  FfmpegError,
  FfmpegNotFoundError,
  ListenError,
  RecordingPathError,
  SignalError,
} from '../errors.js';

/**
 * The next step in `rtc-peer`'s own terms (its flags and commands), or undefined when the message says all.
 *
 * @example
 * hintFor(new RecordingPathError('RECORDING_EXISTS', 'recording file out.webm already exists.', 'out.webm'));
 * // 'pass --force to overwrite it, or choose another path'
 */
export function hintFor(error: unknown): string | undefined {
  if (error instanceof RecordingPathError && error.code === 'RECORDING_EXISTS')
    return 'pass --force to overwrite it, or choose another path';
  if (error instanceof FfmpegNotFoundError) return 'pass --ffmpeg PATH to use a binary elsewhere';
  if (error instanceof FfmpegError && error.code === 'NO_AUDIO_STREAM')
    return 'send it without sound (--no-audio) or pick a file with sound';
  if (error instanceof DeviceError)
    return error.kind === 'microphone' ? microphoneHint(error) : cameraHint(error);
  return undefined;
}

function cameraHint(error: DeviceError): string | undefined {
  if (error.code !== 'DEVICE_NOT_FOUND') return undefined;
  if (error.found === undefined) return 'run `rtc-peer devices` to see the cameras ffmpeg can open';
  if (error.found.length > 0) return 'pass one of those to --device';
  return 'without a camera, send a file (--input FILE) or the test pattern (--test-pattern)';
}

function microphoneHint(error: DeviceError): string {
  switch (error.code) {
    case 'DEVICE_NOT_FOUND':
      return 'run `rtc-peer devices` to see the microphones ffmpeg can open, pass another --audio-device, or pass --no-audio to send video only';
    case 'DEVICE_BUSY':
      return 'pick another --audio-device, or pass --no-audio to send video only';
    default:
      return 'pass --no-audio to send video only';
  }
}

/** The fields of an error worth a JSON reader's while: its code and what it is about. */
export function errorFields(error: unknown): Record<string, unknown> {
  const code = (error as { code?: unknown } | null)?.code;
  const fields: Record<string, unknown> = typeof code === 'string' ? { code } : {};
  if (error instanceof RecordingPathError) fields.path = error.path;
  if (error instanceof DeviceError)
    Object.assign(
      fields,
      { device: error.device, kind: error.kind },
      error.found ? { found: error.found } : {},
    );
  if (error instanceof FfmpegNotFoundError) fields.tried = error.tried;
  if (error instanceof FfmpegError) {
    const { exitCode, signal, path } = error.details;
    // `exitCode` is the process's own in the error event: ffmpeg's gets its name.
    Object.assign(
      fields,
      { ffmpegExitCode: exitCode ?? null, ffmpegSignal: signal ?? null },
      path ? { path } : {},
    );
  }
  if (error instanceof SignalError && error.url !== undefined) fields.url = error.url;
  if (error instanceof ListenError) Object.assign(fields, { host: error.host, port: error.port });
  return fields;
}

/** The lines `rtc-peer` prints on stderr for an error that ends the run: the message, then its hint. */
export function errorText(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const hint = hintFor(error);
  return `rtc-peer: ${message}\n${hint ? `  hint: ${hint}\n` : ''}`;
}
