/**
 * Pure ffmpeg argument building for every capture source: no I/O, unit-tested.
 */
import { withDefaults } from '../util/defaults.js';
import { barcodeBandHeight } from './barcode.js';

/** A media file, paced at real time (`-re`), looping unless `loop` is false: sent as picture, sound or both. */
export interface FileSource {
  kind: 'file';
  path: string;
  /** Default: true. */
  loop?: boolean;
}

/** Where frames come from. */
export type CaptureSource =
  /** Linux V4L2 camera, e.g. `/dev/video0`; `inputFormat` (`mjpeg`, `yuyv422`, `h264`...) is asked of it. */
  | { kind: 'v4l2'; device: string; inputFormat?: string }
  /** macOS AVFoundation camera: its index (`0`) or name. */
  | { kind: 'avfoundation'; device: string }
  /** Windows DirectShow camera, by name. */
  | { kind: 'dshow'; device: string }
  /** A media file's video. */
  | FileSource
  /**
   * ffmpeg's moving `testsrc2` (colour bars, moving shapes, a running clock and frame counter), paced at real
   * time, below the band where the barcode goes.
   */
  | { kind: 'test-pattern' };

/** Options of a capture (`buildCaptureArgs`, `VideoCapture`). Defaults live in {@link CAPTURE_DEFAULTS}. */
export interface CaptureOptions {
  /** Where frames come from. Required. */
  source: CaptureSource;
  /** Output width in pixels (even). Default: 640. */
  width?: number;
  /** Output height in pixels (even). Default: 480. */
  height?: number;
  /** Output frame rate. Default: 30. */
  fps?: number;
  /** The ffmpeg binary (see `locateFfmpeg`). Required. */
  ffmpegPath: string;
  /** Stamp a barcode (frame id, `Date.now()`) into each frame's luma. Default: true for `test-pattern` only. */
  stampBarcode?: boolean;
  /**
   * Draw the flash block (white while the test beep sounds, see `test-beep.ts`) into each frame's luma.
   * Default: true for `test-pattern` only.
   */
  stampFlash?: boolean;
  /**
   * Lists the V4L2 cameras that exist, for the message when the one asked for does not. Default: the
   * `/dev/video*` of this machine (`listV4l2Paths`). A seam for tests, which cannot know what a machine has.
   */
  listV4l2Devices?: () => Promise<string[]>;
}

/** Defaults of {@link CaptureOptions}, in one place. */
export const CAPTURE_DEFAULTS = { width: 640, height: 480, fps: 30 } as const;

/** Capture options with defaults applied and validated. */
export interface ResolvedCaptureOptions {
  source: CaptureSource;
  width: number;
  height: number;
  fps: number;
  ffmpegPath: string;
  stampBarcode: boolean;
  stampFlash: boolean;
}

/**
 * A capture's options with {@link CAPTURE_DEFAULTS} applied, its size, rate and source checked.
 *
 * @throws TypeError on a bad size, rate or source.
 */
export function resolveCaptureOptions(o: CaptureOptions): ResolvedCaptureOptions {
  const { width, height, fps } = withDefaults(o, CAPTURE_DEFAULTS);
  for (const [name, v] of [
    ['width', width],
    ['height', height],
  ] as const) {
    // I420 halves chroma in both directions: odd sizes do not split into whole planes.
    if (!Number.isInteger(v) || v < 16 || v > 7680 || v % 2 !== 0)
      throw new TypeError(`capture: ${name} must be an even integer between 16 and 7680, got ${v}`);
  }
  if (!Number.isFinite(fps) || fps <= 0 || fps > 240)
    throw new TypeError(`capture: fps must be a number in (0, 240], got ${fps}`);
  checkSource('capture', o.ffmpegPath, o.source, ['v4l2', 'avfoundation', 'dshow']);
  const s = o.source;
  return {
    source: s,
    width,
    height,
    fps,
    ffmpegPath: o.ffmpegPath,
    stampBarcode: o.stampBarcode ?? s.kind === 'test-pattern',
    stampFlash: o.stampFlash ?? s.kind === 'test-pattern',
  };
}

/** How a video source is named in messages: `camera /dev/video0`, `file a.mp4`, `test pattern`. */
export function captureSourceLabel(s: CaptureSource): string {
  switch (s.kind) {
    case 'v4l2':
    case 'avfoundation':
    case 'dshow':
      return `camera ${s.device}`;
    case 'file':
      return `file ${s.path}`;
    case 'test-pattern':
      return 'test pattern';
  }
}

/** The first arguments of every ffmpeg rtc-peer runs: no banner, no progress, warnings and errors only. */
export const FFMPEG_QUIET: readonly string[] = ['-hide_banner', '-nostats', '-loglevel', 'warning'];

/** The format of raw I420 frames of `width`x`height` on a pipe: what a capture writes, what a recorder reads. */
export function rawI420(width: number, height: number): string[] {
  return ['-f', 'rawvideo', '-pix_fmt', 'yuv420p', '-s', `${width}x${height}`];
}

/** A media file as an input read at its own pace (`-re`), looping unless `loop` is false. */
export function fileInput(path: string, loop: boolean | undefined): string[] {
  return ['-re', ...(loop === false ? [] : ['-stream_loop', '-1']), '-i', path];
}

/**
 * Checks what every capture needs: the ffmpeg binary, and a source with its device (for `deviceKinds`) or
 * its file. `what` names the capture in the message.
 *
 * @throws TypeError naming what is missing.
 */
export function checkSource(
  what: string,
  ffmpegPath: string,
  source: { kind: string; device?: string; path?: string } | undefined,
  deviceKinds: readonly string[],
): void {
  if (!ffmpegPath) throw new TypeError(`${what}: ffmpegPath is required (see locateFfmpeg)`);
  if (!source || typeof source !== 'object') throw new TypeError(`${what}: source is required`);
  if (deviceKinds.includes(source.kind) && !source.device)
    throw new TypeError(`${what}: a ${source.kind} source needs a device`);
  if (source.kind === 'file' && !source.path) throw new TypeError(`${what}: a file source needs a path`);
}

/** The size of one I420 frame in bytes. */
export function i420Size(width: number, height: number): number {
  return width * height + 2 * (width / 2) * (height / 2);
}

function inputArgs(source: CaptureSource, width: number, height: number, fps: number): string[] {
  const size = `${width}x${height}`;
  switch (source.kind) {
    case 'v4l2':
      // Ask the camera for the size and rate; a driver that cannot do it picks the nearest and the output
      // scaler below fixes the rest. mjpeg is often the only way to 720p30 on USB 2.
      return [
        '-f',
        'v4l2',
        ...(source.inputFormat ? ['-input_format', source.inputFormat] : []),
        '-framerate',
        String(fps),
        '-video_size',
        size,
        '-i',
        source.device,
      ];
    case 'avfoundation':
      // AVFoundation refuses sizes the camera does not list, so the size is left to the output scaler;
      // `:none` means no audio device.
      return ['-f', 'avfoundation', '-framerate', String(fps), '-i', `${source.device}:none`];
    case 'dshow':
      // DirectShow drops frames when its real-time buffer is small; 64 MB holds a few seconds of 720p.
      return ['-f', 'dshow', '-rtbufsize', '64M', '-i', `video=${source.device}`];
    case 'file':
      return fileInput(source.path, source.loop);
    case 'test-pattern': {
      // testsrc2 draws moving shapes and a clock with a frame counter, without fonts, straight in yuv420p
      // (testsrc draws rgb24, and its drawing plus the conversion cost 4x the CPU: 0.09 core at 720p30).
      // The picture is moved down below the barcode band, so the clock in its corner stays visible.
      const band = barcodeBandHeight(height);
      const lavfi = `testsrc2=size=${width}x${height - band}:rate=${fps},format=yuv420p,pad=${width}:${height}:0:${band}`;
      return ['-re', '-f', 'lavfi', '-i', lavfi];
    }
  }
}

/**
 * The full ffmpeg argument array for a capture: the source's input arguments, then raw I420 frames of exactly
 * `width`x`height` at `fps` on stdout, whatever the source gives.
 *
 * @example
 * buildCaptureArgs({ source: { kind: 'v4l2', device: '/dev/video0', inputFormat: 'mjpeg' }, ffmpegPath });
 * // ['-hide_banner', '-nostats', '-loglevel', 'warning', '-f', 'v4l2', '-input_format', 'mjpeg', ...,
 * //  '-an', '-f', 'rawvideo', '-pix_fmt', 'yuv420p', '-s', '640x480', '-r', '30', 'pipe:1']
 */
export function buildCaptureArgs(o: CaptureOptions): string[] {
  const { source, width, height, fps } = resolveCaptureOptions(o);
  return [
    ...FFMPEG_QUIET,
    ...inputArgs(source, width, height, fps),
    '-an',
    ...rawI420(width, height),
    '-r',
    String(fps),
    'pipe:1',
  ];
}

/**
 * The capture source for a device name on a platform (the CLI's `--device`): V4L2 on Linux, AVFoundation on macOS, DirectShow
 * on Windows.
 *
 * @throws TypeError on another platform, or an `inputFormat` off Linux.
 */
export function sourceFromDevice(
  device: string,
  platform: NodeJS.Platform = process.platform,
  inputFormat?: string,
): CaptureSource {
  if (!device) throw new TypeError('capture: a camera device is required');
  if (inputFormat !== undefined && platform !== 'linux')
    throw new TypeError(`capture: an input format is only supported with V4L2 (Linux), not on ${platform}`);
  switch (platform) {
    case 'linux':
      return inputFormat ? { kind: 'v4l2', device, inputFormat } : { kind: 'v4l2', device };
    case 'darwin':
      return { kind: 'avfoundation', device };
    case 'win32':
      return { kind: 'dshow', device };
    default:
      throw new TypeError(
        `capture: cameras are not supported on ${platform}: send a file or the test pattern`,
      );
  }
}
