import { describe, expect, test } from 'vitest';
import { parsePositive, parseSize, sourceFromFlags } from '../../src/cli/options.js';
import { exitCodeFor, ExitCode } from '../../src/cli/exit-codes.js';
import { DeviceError, RecordingPathError, SignalError } from '../../src/errors.js';

describe('command-line values', () => {
  test('parseSize', () => {
    expect(parseSize('1280x720')).toEqual({ width: 1280, height: 720 });
    expect(() => parseSize('1280*720')).toThrow(/--size "1280\*720" is not WIDTHxHEIGHT/);
    expect(() => parseSize('641x480')).toThrow(/even numbers/);
  });

  test('parsePositive', () => {
    expect(parsePositive('--fps', '15')).toBe(15);
    expect(() => parsePositive('--duration', '-1')).toThrow('--duration "-1" is not a positive number');
    expect(() => parsePositive('--fps', 'abc')).toThrow(TypeError);
  });

  test('the caller falls back to the test pattern, the answerer to receiving only', () => {
    expect(sourceFromFlags({}, 'test-pattern')).toEqual({ kind: 'test-pattern' });
    expect(sourceFromFlags({}, 'none')).toBeUndefined();
    expect(sourceFromFlags({ input: 'a.mp4', loop: false }, 'none')).toEqual({
      kind: 'file',
      path: 'a.mp4',
      loop: false,
    });
    expect(sourceFromFlags({ device: '/dev/video0', inputFormat: 'mjpeg' }, 'none', 'linux')).toMatchObject({
      kind: 'v4l2',
      device: '/dev/video0',
      inputFormat: 'mjpeg',
    });
    expect(sourceFromFlags({ device: '0' }, 'none', 'darwin')).toMatchObject({
      kind: 'avfoundation',
      device: '0',
    });
    expect(sourceFromFlags({ device: 'Integrated Camera' }, 'none', 'win32')).toMatchObject({
      kind: 'dshow',
    });
  });

  test('conflicting sources are refused', () => {
    expect(() => sourceFromFlags({ device: '/dev/video0', input: 'a.mp4' }, 'none')).toThrow(
      /at most one of/,
    );
    expect(() => sourceFromFlags({ inputFormat: 'mjpeg' }, 'none')).toThrow(
      /--input-format applies to --device/,
    );
  });

  test('exit codes by error category', () => {
    expect(exitCodeFor(new TypeError('x'))).toBe(ExitCode.USAGE);
    expect(exitCodeFor(new SignalError('UNREACHABLE', 'x'))).toBe(ExitCode.SIGNALING);
    expect(exitCodeFor(new DeviceError('DEVICE_NOT_FOUND', 'x', '/dev/video0'))).toBe(ExitCode.MEDIA);
    expect(exitCodeFor(new RecordingPathError('RECORDING_EXISTS', 'x', 'a.webm'))).toBe(ExitCode.RECORDING);
    expect(exitCodeFor(new Error('x'))).toBe(ExitCode.FAILURE);
  });
});
