import { describe, expect, test } from 'vitest';
import {
  mediaFromFlags,
  parseByteSize,
  parseDuration,
  parseKeep,
  parsePort,
  parsePositive,
  parsePositiveInteger,
  parseSize,
  sourceFromFlags,
} from '../../src/cli/options.js';

describe('command-line values', () => {
  test('parseDuration: s, m, h, d, w or plain seconds', () => {
    expect(parseDuration('--record-segment', '10s')).toBe(10);
    expect(parseDuration('--record-segment', '10m')).toBe(600);
    expect(parseDuration('--record-segment', '1.5h')).toBe(5400);
    expect(parseDuration('--record-keep', '7d')).toBe(604_800);
    expect(parseDuration('--record-keep', '2W')).toBe(1_209_600);
    expect(parseDuration('--record-segment', '90')).toBe(90);
    expect(() => parseDuration('--record-segment', '0m')).toThrow('--record-segment "0m" is not a duration');
    expect(() => parseDuration('--record-segment', '10 minutes')).toThrow(/e\.g\. 10m, 1h, 7d/);
  });

  test('parseKeep: an age, a size, or both', () => {
    expect(parseKeep('--record-keep', '7d')).toEqual({ maxAgeSec: 604_800 });
    expect(parseKeep('--record-keep', '50GB')).toEqual({ maxBytes: 50e9 });
    expect(parseKeep('--record-keep', '7d,500MiB')).toEqual({ maxAgeSec: 604_800, maxBytes: 500 * 2 ** 20 });
    expect(parseByteSize('--record-keep', '2kb')).toBe(2000);
    expect(parseByteSize('--record-keep', '7d')).toBeUndefined();
    expect(() => parseKeep('--record-keep', '7d,8d')).toThrow('two ages');
    expect(() => parseKeep('--record-keep', 'big')).toThrow(/is not an age \(7d, 12h\), a size/);
  });

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

  test('parsePositiveInteger, parsePort', () => {
    expect(parsePositiveInteger('--max-viewers', '8')).toBe(8);
    for (const bad of ['0', '-1', '2.5', '1e3', 'x', ''])
      expect(() => parsePositiveInteger('--max-viewers', bad)).toThrow(
        `--max-viewers ${JSON.stringify(bad)} is not a positive whole number`,
      );
    expect(parsePort('--port', '0')).toBe(0);
    expect(parsePort('--port', '8443')).toBe(8443);
    for (const bad of ['65536', '-1', '80.5', 'http', ''])
      expect(() => parsePort('--port', bad)).toThrow(/is not a port number \(0-65535; 0 picks a free port\)/);
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

  test("the capture's refusals come back naming the flags", () => {
    expect(() => sourceFromFlags({ device: '0', inputFormat: 'mjpeg' }, 'none', 'darwin')).toThrow(
      '--device "0" --input-format "mjpeg": an input format is only supported with V4L2 (Linux), not on darwin',
    );
    expect(() => mediaFromFlags({ audioDevice: 'mic' }, 'none', 'aix')).toThrow(
      /^--audio-device "mic": microphones are not supported on aix/,
    );
  });
});

describe('mediaFromFlags', () => {
  test('sound follows the source: test tone with the test pattern, the file its own sound, none for a camera', () => {
    expect(mediaFromFlags({}, 'test-pattern')).toEqual({
      video: { kind: 'test-pattern' },
      audio: { kind: 'test-tone' },
    });
    expect(mediaFromFlags({ input: 'a.mp4', loop: false }, 'none')).toEqual({
      video: { kind: 'file', path: 'a.mp4', loop: false },
      audio: { kind: 'file', path: 'a.mp4', loop: false },
    });
    expect(mediaFromFlags({ device: '/dev/video0' }, 'none', 'linux')).toEqual({
      video: { kind: 'v4l2', device: '/dev/video0' },
    });
    expect(mediaFromFlags({}, 'none')).toEqual({});
  });

  test('--audio-device, --no-audio, --no-video', () => {
    expect(mediaFromFlags({ device: '/dev/video0', audioDevice: 'hw:1,0' }, 'none', 'linux').audio).toEqual({
      kind: 'alsa',
      device: 'hw:1,0',
    });
    expect(mediaFromFlags({ audioDevice: 'pulse' }, 'none', 'linux')).toEqual({
      audio: { kind: 'pulse', device: 'default' },
    });
    expect(mediaFromFlags({ audio: false }, 'test-pattern')).toEqual({ video: { kind: 'test-pattern' } });
    expect(mediaFromFlags({ video: false }, 'test-pattern')).toEqual({ audio: { kind: 'test-tone' } });
    expect(() => mediaFromFlags({ audio: false, audioDevice: 'default' }, 'none')).toThrow(
      /--no-audio and --audio-device contradict/,
    );
    expect(() => mediaFromFlags({ video: false, device: '/dev/video0' }, 'none', 'linux')).toThrow(
      /--no-video and --device contradict/,
    );
  });
});
