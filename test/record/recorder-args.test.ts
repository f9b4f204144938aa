import { describe, expect, test } from 'vitest';
import { buildRecorderArgs, recordingBitrate } from '../../src/record/recorder-args.js';

describe('buildRecorderArgs', () => {
  test('video and sound: raw I420 on stdin, PCM on fd 3, VP8 and Opus out', () => {
    expect(
      buildRecorderArgs({
        path: 'out.webm',
        format: 'webm',
        overwrite: false,
        video: { width: 640, height: 480, fps: 30 },
        audio: { channels: 2, bitrate: 64_000 },
      }),
    ).toEqual([
      ...['-hide_banner', '-nostats', '-loglevel', 'warning'],
      ...['-f', 'rawvideo', '-pix_fmt', 'yuv420p', '-s', '640x480', '-framerate', '30', '-i', 'pipe:0'],
      ...['-probesize', '32', '-analyzeduration', '0'],
      ...['-f', 's16le', '-ar', '48000', '-ac', '2', '-i', 'pipe:3'],
      ...['-map', '0:v', '-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '8', '-b:v', '921600'],
      ...['-g', '60', '-auto-alt-ref', '0', '-lag-in-frames', '0'],
      ...['-map', '1:a', '-c:a', 'libopus', '-b:a', '64000'],
      ...['-f', 'webm', '-n', 'out.webm'],
    ]);
  });

  test('sound alone is input 0; video alone has no fd 3; .mkv is Matroska; overwrite is -y', () => {
    const sound = buildRecorderArgs({
      path: 'a.mkv',
      format: 'mkv',
      overwrite: true,
      audio: { channels: 1, bitrate: 32_000 },
    });
    expect(sound).not.toContain('pipe:0');
    expect(sound.join(' ')).toContain('-map 0:a -c:a libopus -b:a 32000 -f matroska -y a.mkv');
    const picture = buildRecorderArgs({
      path: 'v.webm',
      format: 'webm',
      overwrite: false,
      video: { width: 320, height: 240, fps: 15 },
    });
    expect(picture).not.toContain('pipe:3');
    expect(picture).not.toContain('libopus');
    expect(picture.join(' ')).toContain('-s 320x240 -framerate 15 -i pipe:0');
    expect(picture.join(' ')).toContain('-g 30');
    expect(picture.slice(-2)).toEqual(['-n', 'v.webm']);
  });

  test('a recording of nothing is refused', () => {
    expect(() => buildRecorderArgs({ path: 'x.webm', format: 'webm', overwrite: false })).toThrow(TypeError);
  });

  test('the VP8 bitrate: 0.1 bit per pixel per frame, at least 500 kb/s', () => {
    expect(recordingBitrate(1280, 720, 30)).toBe(2_764_800);
    expect(recordingBitrate(160, 120, 30)).toBe(500_000);
  });
});
