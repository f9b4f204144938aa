/**
 * Pure ffmpeg argument building for audio capture: no I/O, unit-tested. Every source comes out as 16-bit
 * little-endian PCM at 48 kHz on stdout, cut into 10 ms chunks in node (`AudioChunker`).
 */
import { withDefaults } from '../util/defaults.js';
import { checkSource, FFMPEG_QUIET, fileInput, type FileSource } from './capture-args.js';

/** Where sound comes from. */
export type AudioSource =
  /** Linux ALSA: `default`, `hw:1,0`, `plughw:1,0`, a name from `arecord -L`. */
  | { kind: 'alsa'; device: string }
  /** Linux PulseAudio (or PipeWire's pulse server): `default` or a source name from `pactl list sources`. */
  | { kind: 'pulse'; device: string }
  /** macOS AVFoundation microphone: its audio index (`0`) or name. */
  | { kind: 'avfoundation'; device: string }
  /** Windows DirectShow microphone, by name. */
  | { kind: 'dshow'; device: string }
  /** A media file's own first audio track. */
  | FileSource
  /** A continuous 1 kHz tone (ffmpeg's `sine`), gated into a beep each second in node (see `test-beep.ts`). */
  | { kind: 'test-tone' };

/** Options of an audio capture (`buildAudioCaptureArgs`, `AudioCapture`). Defaults: {@link AUDIO_DEFAULTS}. */
export interface AudioCaptureOptions {
  /** Where sound comes from. Required. */
  source: AudioSource;
  /** The ffmpeg binary (see `locateFfmpeg`). Required. */
  ffmpegPath: string;
  /** 1 (mono) or 2 (stereo). Default: 1. */
  channels?: number;
  /** Chunks (10 ms each) buffered between ffmpeg and the real-time pacer before the oldest is dropped. Default: 20. */
  maxQueuedChunks?: number;
  /** Chunks buffered before sending starts, to ride out ffmpeg's bursty writes. Default: 3. */
  prebufferChunks?: number;
}

/** Defaults of {@link AudioCaptureOptions}, in one place. 48 kHz is fixed: it is what Opus and wrtc use. */
export const AUDIO_DEFAULTS = {
  sampleRate: 48_000,
  channels: 1,
  maxQueuedChunks: 20,
  prebufferChunks: 3,
} as const;

/** Audio capture options with defaults applied and validated. */
export interface ResolvedAudioCaptureOptions {
  source: AudioSource;
  ffmpegPath: string;
  sampleRate: number;
  channels: number;
  maxQueuedChunks: number;
  prebufferChunks: number;
}

/**
 * An audio capture's options with {@link AUDIO_DEFAULTS} applied, its channels, buffers and source checked.
 *
 * @throws TypeError on a bad source, channel count or buffer size.
 */
export function resolveAudioCaptureOptions(o: AudioCaptureOptions): ResolvedAudioCaptureOptions {
  const { channels, maxQueuedChunks, prebufferChunks } = withDefaults(o, AUDIO_DEFAULTS);
  if (channels !== 1 && channels !== 2)
    throw new TypeError(`audio capture: channels must be 1 or 2, got ${channels}`);
  if (!Number.isInteger(maxQueuedChunks) || maxQueuedChunks < 2)
    throw new TypeError(`audio capture: maxQueuedChunks must be an integer >= 2, got ${maxQueuedChunks}`);
  if (!Number.isInteger(prebufferChunks) || prebufferChunks < 1 || prebufferChunks > maxQueuedChunks)
    throw new TypeError(
      `audio capture: prebufferChunks must be an integer in [1, maxQueuedChunks], got ${prebufferChunks}`,
    );
  checkSource('audio capture', o.ffmpegPath, o.source, ['alsa', 'pulse', 'avfoundation', 'dshow']);
  const s = o.source;
  return {
    source: s,
    ffmpegPath: o.ffmpegPath,
    sampleRate: AUDIO_DEFAULTS.sampleRate,
    channels,
    maxQueuedChunks,
    prebufferChunks,
  };
}

function inputArgs(source: AudioSource, sampleRate: number): string[] {
  switch (source.kind) {
    case 'alsa':
      return ['-f', 'alsa', '-i', source.device];
    case 'pulse':
      return ['-f', 'pulse', '-i', source.device];
    case 'avfoundation':
      // AVFoundation names "video:audio"; an empty video part means sound only.
      return ['-f', 'avfoundation', '-i', `:${source.device}`];
    case 'dshow':
      return ['-f', 'dshow', '-i', `audio=${source.device}`];
    case 'file':
      return fileInput(source.path, source.loop);
    case 'test-tone':
      // 10 ms frames: with -re, ffmpeg then writes every 10 ms rather than in 21 ms bursts.
      return [
        '-re',
        '-f',
        'lavfi',
        '-i',
        `sine=frequency=1000:sample_rate=${sampleRate}:samples_per_frame=${sampleRate / 100}`,
      ];
  }
}

/**
 * The full ffmpeg argument array for an audio capture: the source's input arguments, then raw s16le PCM at
 * 48 kHz with `channels` channels on stdout, flushed packet by packet.
 *
 * @example
 * buildAudioCaptureArgs({ source: { kind: 'alsa', device: 'hw:1,0' }, ffmpegPath });
 * // ['-hide_banner', '-nostats', '-loglevel', 'warning', '-f', 'alsa', '-i', 'hw:1,0',
 * //  '-map', '0:a:0', '-vn', '-f', 's16le', '-acodec', 'pcm_s16le', '-ar', '48000', '-ac', '1',
 * //  '-flush_packets', '1', 'pipe:1']
 */
export function buildAudioCaptureArgs(o: AudioCaptureOptions): string[] {
  const { source, sampleRate, channels } = resolveAudioCaptureOptions(o);
  return [
    ...FFMPEG_QUIET,
    ...inputArgs(source, sampleRate),
    // the first audio track (a file may have none: ffmpeg then says "matches no streams")
    '-map',
    '0:a:0',
    '-vn',
    '-f',
    's16le',
    '-acodec',
    'pcm_s16le',
    '-ar',
    String(sampleRate),
    '-ac',
    String(channels),
    // a pipe is not seekable: write each packet at once instead of filling a 32 KB buffer first
    '-flush_packets',
    '1',
    'pipe:1',
  ];
}

/**
 * The audio source for an `--audio-device` value on a platform. On Linux, `pulse` or `pulse:NAME` picks
 * PulseAudio, `alsa:NAME` or anything else ALSA (`default`, `hw:1,0`); AVFoundation on macOS (index or
 * name); DirectShow on Windows (name).
 *
 * @throws TypeError on an empty value or another platform.
 */
export function audioSourceFromDevice(
  device: string,
  platform: NodeJS.Platform = process.platform,
): AudioSource {
  if (!device) throw new TypeError('capture: a microphone device is required');
  switch (platform) {
    case 'linux':
      if (device === 'pulse') return { kind: 'pulse', device: 'default' };
      if (device.startsWith('pulse:')) return { kind: 'pulse', device: device.slice(6) || 'default' };
      if (device.startsWith('alsa:')) return { kind: 'alsa', device: device.slice(5) || 'default' };
      return { kind: 'alsa', device };
    case 'darwin':
      return { kind: 'avfoundation', device };
    case 'win32':
      return { kind: 'dshow', device };
    default:
      throw new TypeError(
        `capture: microphones are not supported on ${platform}: send a file's sound, the test tone, or none`,
      );
  }
}

/** How an audio source is named in messages: `microphone hw:1,0 (ALSA)`, `file a.mp4`, `test tone`. */
export function audioSourceLabel(s: AudioSource): string {
  switch (s.kind) {
    case 'alsa':
      return `microphone ${s.device} (ALSA)`;
    case 'pulse':
      return `microphone ${s.device} (PulseAudio)`;
    case 'avfoundation':
      return `microphone ${s.device} (AVFoundation)`;
    case 'dshow':
      return `microphone ${s.device} (DirectShow)`;
    case 'file':
      return `file ${s.path}`;
    case 'test-tone':
      return 'test tone';
  }
}
