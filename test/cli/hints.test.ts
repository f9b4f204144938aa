/**
 * What the command line makes of library errors: the exit code by class, the flag that fixes it as a hint,
 * and the fields of the JSON error event. The library's messages name no flag; the hints do.
 */
import { describe, expect, test } from 'vitest';
import { ExitCode, exitCodeFor } from '../../src/cli/exit-codes.js';
import { errorFields, errorText, hintFor } from '../../src/cli/hints.js';
import {
  DeviceError,
  FfmpegError,
  FfmpegNotFoundError,
  ListenError,
  RecordingPathError,
  RtcPeerError,
  SignalError,
} from '../../src/errors.js';

describe('exit codes', () => {
  test('come from the error class', () => {
    expect(exitCodeFor(new TypeError('x'))).toBe(ExitCode.USAGE);
    expect(exitCodeFor(new SignalError('UNREACHABLE', 'x'))).toBe(ExitCode.SIGNALING);
    expect(exitCodeFor(new ListenError('PORT_IN_USE', 'x', '0.0.0.0', 8080))).toBe(ExitCode.SIGNALING);
    expect(exitCodeFor(new FfmpegNotFoundError([]))).toBe(ExitCode.MEDIA);
    expect(exitCodeFor(new FfmpegError('FFMPEG_DIED', 'x', {}))).toBe(ExitCode.MEDIA);
    expect(exitCodeFor(new DeviceError('DEVICE_NOT_FOUND', 'x', '/dev/video0'))).toBe(ExitCode.MEDIA);
    expect(exitCodeFor(new RecordingPathError('RECORDING_EXISTS', 'x', 'a.webm'))).toBe(ExitCode.RECORDING);
    expect(exitCodeFor(new RtcPeerError('SOMETHING', 'x'))).toBe(ExitCode.FAILURE);
    expect(exitCodeFor(new Error('x'))).toBe(ExitCode.FAILURE);
  });

  test('not from the name: a renamed error keeps its code, a look-alike gets none', () => {
    const renamed = new DeviceError('DEVICE_BUSY', 'x', '/dev/video0');
    renamed.name = 'Whatever';
    expect(exitCodeFor(renamed)).toBe(ExitCode.MEDIA);
    const lookalike = Object.assign(new Error('x'), { name: 'DeviceError' });
    expect(exitCodeFor(lookalike)).toBe(ExitCode.FAILURE);
  });
});

describe('hints', () => {
  test('a recording that exists: --force', () => {
    const error = new RecordingPathError(
      'RECORDING_EXISTS',
      'recording file a.webm already exists.',
      'a.webm',
    );
    expect(hintFor(error)).toBe('pass --force to overwrite it, or choose another path');
    expect(errorText(error)).toBe(
      'rtc-peer: recording file a.webm already exists.\n  hint: pass --force to overwrite it, or choose another path\n',
    );
    expect(errorFields(error)).toEqual({ code: 'RECORDING_EXISTS', path: 'a.webm' });
    expect(hintFor(new RecordingPathError('RECORDING_UNWRITABLE', 'x', 'a.webm'))).toBeUndefined();
  });

  test('a camera not found: the ones found, the test pattern when none, `rtc-peer devices` when unlisted', () => {
    const listed = new DeviceError('DEVICE_NOT_FOUND', 'x', '/dev/video3', { found: ['/dev/video0'] });
    expect(hintFor(listed)).toBe('pass one of those to --device');
    expect(errorFields(listed)).toEqual({
      code: 'DEVICE_NOT_FOUND',
      device: '/dev/video3',
      kind: 'camera',
      found: ['/dev/video0'],
    });
    expect(hintFor(new DeviceError('DEVICE_NOT_FOUND', 'x', '/dev/video3', { found: [] }))).toMatch(
      /--input FILE.*--test-pattern/,
    );
    expect(hintFor(new DeviceError('DEVICE_NOT_FOUND', 'x', 'Cam'))).toMatch(/rtc-peer devices/);
    expect(hintFor(new DeviceError('DEVICE_BUSY', 'x', '/dev/video0'))).toBeUndefined();
  });

  test('a microphone: another --audio-device, or --no-audio', () => {
    const mic = (code: 'DEVICE_NOT_FOUND' | 'DEVICE_BUSY' | 'DEVICE_PERMISSION') =>
      hintFor(new DeviceError(code, 'x', 'hw:9,0', { kind: 'microphone' }));
    expect(mic('DEVICE_NOT_FOUND')).toMatch(/rtc-peer devices.*--audio-device.*--no-audio/);
    expect(mic('DEVICE_BUSY')).toMatch(/--audio-device.*--no-audio/);
    expect(mic('DEVICE_PERMISSION')).toMatch(/--no-audio/);
  });

  test('ffmpeg: --ffmpeg PATH when none is found, --no-audio for a file without sound', () => {
    const none = new FfmpegNotFoundError(['PATH: not found']);
    expect(none.message).not.toMatch(/--/);
    expect(hintFor(none)).toMatch(/--ffmpeg PATH/);
    expect(errorFields(none)).toEqual({ code: 'FFMPEG_NOT_FOUND', tried: ['PATH: not found'] });
    const silent = new FfmpegError('NO_AUDIO_STREAM', 'file a.mp4 has no audio track.', { path: 'a.mp4' });
    expect(hintFor(silent)).toMatch(/--no-audio/);
    expect(errorFields(silent)).toEqual({
      code: 'NO_AUDIO_STREAM',
      ffmpegExitCode: null,
      ffmpegSignal: null,
      path: 'a.mp4',
    });
  });

  test('signaling errors: their fields, no hint added', () => {
    expect(errorFields(new SignalError('UNREACHABLE', 'x', 'http://h:1'))).toEqual({
      code: 'UNREACHABLE',
      url: 'http://h:1',
    });
    expect(errorFields(new ListenError('PORT_IN_USE', 'x', '::', 80))).toEqual({
      code: 'PORT_IN_USE',
      host: '::',
      port: 80,
    });
    expect(hintFor(new SignalError('UNREACHABLE', 'x'))).toBeUndefined();
    expect(errorText(new Error('plain'))).toBe('rtc-peer: plain\n');
  });
});
