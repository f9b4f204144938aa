import { describe, expect, it } from 'vitest';
import { buildCaptureArgs, i420Size, sourceFromDevice } from '../../src/capture/capture-args.js';

const ffmpegPath = '/usr/bin/ffmpeg';
const OUTPUT_640 = ['-an', '-f', 'rawvideo', '-pix_fmt', 'yuv420p', '-s', '640x480', '-r', '30', 'pipe:1'];
const PRELUDE = ['-hide_banner', '-nostats', '-loglevel', 'warning'];

describe('buildCaptureArgs', () => {
  it('v4l2: asks the camera for format, rate and size, then scales to yuv420p', () => {
    expect(
      buildCaptureArgs({
        source: { kind: 'v4l2', device: '/dev/video0', inputFormat: 'mjpeg' },
        width: 1280,
        height: 720,
        fps: 25,
        ffmpegPath,
      }),
    ).toEqual([
      ...PRELUDE,
      ...[
        '-f',
        'v4l2',
        '-input_format',
        'mjpeg',
        '-framerate',
        '25',
        '-video_size',
        '1280x720',
        '-i',
        '/dev/video0',
      ],
      ...['-an', '-f', 'rawvideo', '-pix_fmt', 'yuv420p', '-s', '1280x720', '-r', '25', 'pipe:1'],
    ]);
    expect(buildCaptureArgs({ source: { kind: 'v4l2', device: '/dev/video2' }, ffmpegPath })).toEqual([
      ...PRELUDE,
      ...['-f', 'v4l2', '-framerate', '30', '-video_size', '640x480', '-i', '/dev/video2'],
      ...OUTPUT_640,
    ]);
  });

  it('avfoundation: device index or name, no audio', () => {
    expect(buildCaptureArgs({ source: { kind: 'avfoundation', device: '0' }, ffmpegPath })).toEqual([
      ...PRELUDE,
      ...['-f', 'avfoundation', '-framerate', '30', '-i', '0:none'],
      ...OUTPUT_640,
    ]);
    expect(
      buildCaptureArgs({ source: { kind: 'avfoundation', device: 'FaceTime HD Camera' }, ffmpegPath }),
    ).toContain('FaceTime HD Camera:none');
  });

  it('dshow: camera by name with a real-time buffer', () => {
    expect(buildCaptureArgs({ source: { kind: 'dshow', device: 'Integrated Camera' }, ffmpegPath })).toEqual([
      ...PRELUDE,
      ...['-f', 'dshow', '-rtbufsize', '64M', '-i', 'video=Integrated Camera'],
      ...OUTPUT_640,
    ]);
  });

  it('file: paced with -re, looping by default', () => {
    expect(buildCaptureArgs({ source: { kind: 'file', path: 'clip.mp4' }, ffmpegPath })).toEqual([
      ...PRELUDE,
      ...['-re', '-stream_loop', '-1', '-i', 'clip.mp4'],
      ...OUTPUT_640,
    ]);
    expect(buildCaptureArgs({ source: { kind: 'file', path: 'clip.mp4', loop: false }, ffmpegPath })).toEqual(
      [...PRELUDE, ...['-re', '-i', 'clip.mp4'], ...OUTPUT_640],
    );
  });

  it('test-pattern: real-time testsrc2 at the requested size and rate, below the barcode band', () => {
    expect(
      buildCaptureArgs({ source: { kind: 'test-pattern' }, width: 320, height: 240, fps: 15, ffmpegPath }),
    ).toEqual([
      ...PRELUDE,
      ...['-re', '-f', 'lavfi', '-i', 'testsrc2=size=320x216:rate=15,format=yuv420p,pad=320:240:0:24'],
      ...['-an', '-f', 'rawvideo', '-pix_fmt', 'yuv420p', '-s', '320x240', '-r', '15', 'pipe:1'],
    ]);
  });

  it('rejects odd sizes, bad rates and missing pieces with TypeError', () => {
    const source = { kind: 'test-pattern' } as const;
    expect(() => buildCaptureArgs({ source, width: 641, ffmpegPath })).toThrow(
      /width must be an even integer/,
    );
    expect(() => buildCaptureArgs({ source, height: 0, ffmpegPath })).toThrow(TypeError);
    expect(() => buildCaptureArgs({ source, fps: 0, ffmpegPath })).toThrow(/fps/);
    expect(() => buildCaptureArgs({ source, ffmpegPath: '' })).toThrow(/ffmpegPath/);
    expect(() => buildCaptureArgs({ source: { kind: 'v4l2', device: '' }, ffmpegPath })).toThrow(/device/);
  });
});

describe('sourceFromDevice', () => {
  it('picks the capture API of the platform', () => {
    expect(sourceFromDevice('/dev/video0', 'linux')).toEqual({ kind: 'v4l2', device: '/dev/video0' });
    expect(sourceFromDevice('/dev/video0', 'linux', 'yuyv422')).toEqual({
      kind: 'v4l2',
      device: '/dev/video0',
      inputFormat: 'yuyv422',
    });
    expect(sourceFromDevice('0', 'darwin')).toEqual({ kind: 'avfoundation', device: '0' });
    expect(sourceFromDevice('USB Camera', 'win32')).toEqual({ kind: 'dshow', device: 'USB Camera' });
  });

  it('refuses unsupported combinations in plain words', () => {
    expect(() => sourceFromDevice('0', 'darwin', 'mjpeg')).toThrow(/only supported with V4L2/);
    expect(() => sourceFromDevice('x', 'aix')).toThrow(/not supported on aix/);
  });
});

describe('i420Size', () => {
  it('is width*height*3/2', () => {
    expect(i420Size(640, 480)).toBe(460_800);
    expect(i420Size(1280, 720)).toBe(1_382_400);
  });
});
