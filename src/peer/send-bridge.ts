/**
 * The send bridge: local capture (ffmpeg) into wrtc's sources (`RTCVideoSource`, `RTCAudioSource`), and the
 * tracks every call adds — the walk-through's step 1, "the caller gets its media".
 */
import wrtc from '@roamhq/wrtc';
import {
  AudioCapture,
  VideoCapture,
  type AudioCaptureStats,
  type AudioSource,
  type CaptureSource,
} from '../capture/index.js';
import { FfmpegError } from '../errors.js';
import { logger } from '../util/log.js';
import { TypedEmitter } from '../util/typed-emitter.js';
import { PeakMeter } from './audio-level.js';
import { SendLadder } from './send-ladder.js';
import type { MediaDescription, MediaFailure, PeerWarning } from './types.js';

const log = logger('peer');

/** How long to wait for the other capture's failure before reporting one, ms (see {@link SendBridge}). */
const MEDIA_FAILURE_GRACE_MS = 300;

/** Options of a {@link SendBridge}. */
export interface SendBridgeOptions {
  /** What video to send. Default: none. */
  video?: CaptureSource;
  /** What sound to send. Default: none. */
  audio?: AudioSource;
  /** Video size and rate sent. Default: the capture's (640x480 at 30 fps, `CAPTURE_DEFAULTS`). */
  width?: number;
  height?: number;
  fps?: number;
  /** Channels of the sound sent, 1 or 2. Default: the capture's (1, `AUDIO_DEFAULTS`). */
  audioChannels?: number;
  /** The ffmpeg binary (see `locateFfmpeg`). Required. */
  ffmpegPath: string;
}

/** Events of a {@link SendBridge}. */
export type SendBridgeEvents = {
  /** A capture delivers: what it sends. */
  'media-started': [media: MediaDescription];
  /** Something that does not stop the sending (a file without sound: its video goes alone). */
  warning: [warning: PeerWarning];
  /**
   * Our media ended: a file played without loop reached its end (no failures), or captures died (their
   * failures, the picture's first). Not fired by `stop()`.
   */
  ended: [failures: MediaFailure[]];
};

/** What a {@link SendBridge} sent. */
export interface SendBridgeStats {
  framesCaptured: number;
  /** Frames dropped before wrtc took them (it fell behind). */
  framesDropped: number;
  /** Sound sent: 10 ms chunks, chunks dropped, buffer underruns (when sending sound). */
  audio?: AudioCaptureStats;
}

/**
 * Our media, from ffmpeg to the tracks each call adds: a video capture into an `RTCVideoSource`, a sound
 * capture into an `RTCAudioSource`, started together. Sound and picture often fail together (a device
 * unplugged, ffmpegs killed): failures within a moment are reported as one `ended`, the picture's first.
 *
 * @example
 * const media = new SendBridge({ video: { kind: 'test-pattern' }, audio: { kind: 'test-tone' }, ffmpegPath });
 * media.on('ended', (failures) => hangUp(failures));
 * await media.start();
 * new Call({ ..., videoTrack: media.videoTrack, audioTrack: media.audioTrack });
 * // ...
 * await media.stop(); // after the calls: the tracks, then the captures
 */
export class SendBridge extends TypedEmitter<SendBridgeEvents> {
  /** Peak level of the sound we send, read by each call's stats. */
  readonly sentLevel = new PeakMeter();
  readonly #options: SendBridgeOptions;
  #video?: VideoCapture;
  #audio?: AudioCapture;
  #videoLadder?: SendLadder;
  #audioTrack?: MediaStreamTrack;
  #failures: MediaFailure[] = [];
  #failureTimer?: NodeJS.Timeout;
  #stopping = false;
  #stopPromise?: Promise<void>;

  constructor(options: SendBridgeOptions) {
    super();
    if (!options.ffmpegPath) throw new TypeError('send bridge: ffmpegPath is required (see locateFfmpeg)');
    this.#options = options;
  }

  /** The video track, once started with video. Not stopped by the calls that add it: it outlives them. */
  get videoTrack(): MediaStreamTrack | undefined {
    return this.#videoLadder?.track;
  }

  /** Our picture at its size and smaller ones (`send-ladder.ts`), for calls on thin links. */
  get videoLadder(): SendLadder | undefined {
    return this.#videoLadder;
  }

  /** The size of the picture captured, once started with video. */
  get videoSize(): { width: number; height: number } | undefined {
    const format = this.#video?.format;
    return this.#videoLadder && format ? { width: format.width, height: format.height } : undefined;
  }

  /** The sound track, once started with sound (and a file that has some). */
  get audioTrack(): MediaStreamTrack | undefined {
    return this.#audioTrack;
  }

  /** What was captured and sent so far. */
  get stats(): SendBridgeStats {
    return {
      framesCaptured: this.#video?.stats.framesCaptured ?? 0,
      framesDropped: this.#video?.stats.framesDropped ?? 0,
      ...(this.#audio ? { audio: this.#audio.stats } : {}),
    };
  }

  /**
   * Starts both captures at once, so they start sending about together, and resolves when both deliver.
   * Rejects with the first one's error (a `DeviceError`, an `FfmpegError`); `stop()` then stops the other.
   */
  async start(): Promise<void> {
    const { video, audio } = this.#options;
    const started = await Promise.allSettled([
      video !== undefined ? this.#startVideo(video) : undefined,
      audio !== undefined ? this.#startAudio(audio) : undefined,
    ]);
    for (const result of started) if (result.status === 'rejected') throw result.reason;
  }

  /** Stops the tracks, then the captures. Idempotent; concurrent callers share one promise. */
  stop(): Promise<void> {
    this.#stopPromise ??= (async () => {
      this.#stopping = true;
      clearTimeout(this.#failureTimer);
      this.#videoLadder?.stop();
      this.#audioTrack?.stop();
      await Promise.all([this.#video?.stop(), this.#audio?.stop()]);
      this.removeAllListeners();
    })();
    return this.#stopPromise;
  }

  async #startVideo(source: CaptureSource): Promise<void> {
    const { width, height, fps, ffmpegPath } = this.#options;
    const capture = new VideoCapture({ source, width, height, fps, ffmpegPath });
    const ladder = new SendLadder();
    capture.on('frame', (frame) => ladder.push(frame));
    capture.on('ended', (error) => {
      if (this.#stopping) return;
      // ffmpeg died mid-call: the session ends cleanly (recording finalized, bye sent); or a file played
      // without loop reached its end: a normal hang-up.
      if (error) this.#failed('video', error);
      else this.emit('ended', []);
    });
    this.#video = capture;
    try {
      await capture.start();
    } catch (error) {
      ladder.stop();
      throw error;
    }
    this.#videoLadder = ladder;
    this.emit('media-started', { kind: 'video', source, ...capture.format });
  }

  async #startAudio(source: AudioSource): Promise<void> {
    const { audioChannels, ffmpegPath } = this.#options;
    const capture = new AudioCapture({ source, ffmpegPath, channels: audioChannels });
    const audioSource = new wrtc.nonstandard.RTCAudioSource();
    // wrtc copies the samples; onData throws on anything but exactly 10 ms, which the capture guarantees.
    capture.on('data', (chunk) => {
      audioSource.onData(chunk);
      this.sentLevel.add(chunk.samples);
    });
    capture.on('ended', (error) => {
      if (this.#stopping) return;
      if (error) this.#failed('audio', error);
      // A sound-only file played without loop reached its end; with video, the video's end decides.
      else if (this.#options.video === undefined) this.emit('ended', []);
    });
    this.#audio = capture;
    try {
      await capture.start();
    } catch (error) {
      if (source.kind === 'file' && error instanceof FfmpegError && error.code === 'NO_AUDIO_STREAM') {
        // A file without sound: send its video alone.
        this.emit('warning', { kind: 'no-audio-track', path: source.path });
        await capture.stop();
        this.#audio = undefined;
        return;
      }
      throw error;
    }
    this.#audioTrack = audioSource.createTrack();
    this.emit('media-started', { kind: 'audio', source, ...capture.format });
  }

  /** A capture died: wait a moment for the other one's failure, then report them together. */
  #failed(media: 'video' | 'audio', error: Error): void {
    log('%s source failed: %s', media, error.message);
    this.#failures.push({ media, error });
    if (this.#failures.length > 1) return;
    this.#failureTimer = setTimeout(() => {
      if (this.#stopping) return;
      const failures = [...this.#failures].sort((a, b) =>
        a.media === b.media ? 0 : a.media === 'video' ? -1 : 1,
      );
      this.emit('ended', failures);
    }, MEDIA_FAILURE_GRACE_MS);
  }
}
