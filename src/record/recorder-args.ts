/**
 * Pure ffmpeg argument building for a recording: no I/O, unit-tested (as `capture/capture-args.ts` is for a
 * capture). Raw I420 frames come in on stdin at the timeline's rate, raw PCM on fd 3; VP8 and Opus go out to
 * a WebM or Matroska file.
 */
import { FFMPEG_QUIET, rawI420 } from '../capture/capture-args.js';
import { RECORDER_SAMPLE_RATE } from './types.js';

/** What a recording's ffmpeg is asked to do. */
export interface RecorderArgsOptions {
  /** The output file. */
  path: string;
  /** Its container. */
  format: 'webm' | 'mkv';
  /** Overwrite an existing file (`-y`); otherwise ffmpeg refuses it (`-n`). */
  overwrite: boolean;
  /** The video input (stdin), when the file has video. */
  video?: { width: number; height: number; fps: number };
  /** The audio input (fd 3, at `RECORDER_SAMPLE_RATE`), when the file has sound. */
  audio?: { channels: number; bitrate: number };
}

/**
 * The VP8 bitrate for a size and rate: enough bits for a clean picture without wasting disk, ~0.1 bit per
 * pixel per frame, at least 500 kb/s.
 */
export function recordingBitrate(width: number, height: number, fps: number): number {
  return Math.max(500_000, Math.round(width * height * fps * 0.1));
}

/**
 * The full ffmpeg argument array of a recording.
 *
 * @example
 * buildRecorderArgs({ path: 'out.webm', format: 'webm', overwrite: false,
 *   video: { width: 640, height: 480, fps: 30 }, audio: { channels: 1, bitrate: 64_000 } });
 * // ['-hide_banner', ..., '-f', 'rawvideo', ..., '-i', 'pipe:0', ..., '-i', 'pipe:3',
 * //  '-map', '0:v', '-c:v', 'libvpx', ..., '-map', '1:a', '-c:a', 'libopus', ..., '-f', 'webm', '-n', 'out.webm']
 */
export function buildRecorderArgs(o: RecorderArgsOptions): string[] {
  const { video, audio } = o;
  if (!video && !audio) throw new TypeError('recorder: a recording needs video, sound or both');
  const videoInput = video
    ? // raw I420 on stdin at the timeline rate
      [...rawI420(video.width, video.height), '-framerate', String(video.fps), '-i', 'pipe:0']
    : [];
  const audioInput = audio
    ? [
        // Raw PCM needs no probing; without these, opening this input reads (and waits for) about a second
        // of sound in real time while the video on stdin is not read, and the frame queue overflows.
        ...['-probesize', '32', '-analyzeduration', '0'],
        // raw PCM on fd 3, its timeline the sample count
        ...[
          '-f',
          's16le',
          '-ar',
          String(RECORDER_SAMPLE_RATE),
          '-ac',
          String(audio.channels),
          '-i',
          'pipe:3',
        ],
      ]
    : [];
  const videoOutput = video
    ? [
        ...['-map', '0:v', '-c:v', 'libvpx'],
        // realtime deadline and cpu-used 8: keeps up with 720p30 on one core
        ...['-deadline', 'realtime', '-cpu-used', '8'],
        ...['-b:v', String(recordingBitrate(video.width, video.height, video.fps))],
        ...['-g', String(Math.round(video.fps * 2)), '-auto-alt-ref', '0', '-lag-in-frames', '0'],
      ]
    : [];
  const audioOutput = audio
    ? ['-map', `${video ? 1 : 0}:a`, '-c:a', 'libopus', '-b:a', String(audio.bitrate)]
    : [];
  return [
    ...FFMPEG_QUIET,
    ...videoInput,
    ...audioInput,
    ...videoOutput,
    ...audioOutput,
    ...['-f', o.format === 'webm' ? 'webm' : 'matroska'],
    o.overwrite ? '-y' : '-n',
    o.path,
  ];
}
