/**
 * The recorder: received frames and sound into a VP8/Opus WebM or Matroska file through ffmpeg. It
 * orchestrates the pure parts — the file's container (`recording-path.ts`), ffmpeg's arguments
 * (`recorder-args.ts`), the video timeline and its buffers (`video-timeline.ts`), the audio timeline
 * (`audio-timeline.ts`), PCM conversion (`pcm.ts`) and scaling (`scale-i420.ts`) — and owns the lifecycle:
 * when ffmpeg starts, feeding it, and finalizing the file.
 */
import { performance } from 'node:perf_hooks';
import { ffmpegDied, FfmpegProcess } from '../capture/ffmpeg-process.js';
import { FfmpegError } from '../errors.js';
import { withDefaults } from '../util/defaults.js';
import { logger } from '../util/log.js';
import { TypedEmitter } from '../util/typed-emitter.js';
import { AudioTimeline, type PcmOutput } from './audio-timeline.js';
import { convertPcm } from './pcm.js';
import { buildRecorderArgs } from './recorder-args.js';
import { recordingFormat } from './recording-path.js';
import { scaleI420 } from './scale-i420.js';
import {
  RECORDER_DEFAULTS,
  RECORDER_SAMPLE_RATE,
  type AudioData,
  type I420Frame,
  type ReceivedTrack,
  type RecorderEvents,
  type RecorderOptions,
  type RecorderStats,
  type RecorderStopOptions,
  type RecordingSummary,
} from './types.js';
import { VideoTimeline } from './video-timeline.js';

/** Audio waiting for ffmpeg (its pipe, or its start), in seconds, before new chunks are dropped. */
const AUDIO_MAX_BUFFERED_SEC = 12;

type TrackKind = 'audio' | 'video';

let instances = 0;

/**
 * Records raw I420 frames and PCM (from a call's remote tracks) to a VP8/Opus WebM or Matroska file.
 *
 * - The first frame starts ffmpeg with its size. Later frames of another size (the remote encoder adapting
 *   to bandwidth or CPU) are scaled in node to the first size (nearest-neighbour), so the file stays one
 *   valid stream of one size.
 * - Timestamps follow the wall clock of arrival: frames are placed on a constant-rate timeline by their
 *   arrival, and slots without a new frame repeat the previous one (`VideoTimeline`). The file's duration
 *   therefore matches the call even when frames were dropped, the rate varied or the video stalled, and
 *   every player handles the constant rate. (ffmpeg's `-use_wallclock_as_timestamps` would stamp frames when
 *   ffmpeg reads them, after its start-up delay and any queueing.)
 * - The queue to ffmpeg is bounded (`maxQueuedFrames`); beyond it the oldest frame is dropped and counted.
 * - Audio is a second ffmpeg input, raw 48 kHz PCM on its own pipe (fd 3), encoded to Opus in the same file,
 *   on the video's clock (`AudioTimeline`): leading silence, silence in gaps, sound far ahead of the clock
 *   dropped, padded to the end. Other rates (NetEq starts at 16 kHz) are resampled, other channel counts
 *   mixed, to the first chunk's.
 * - Which tracks the file has: those added with `addTrack()` (or announced with `expectTrack()`) before any
 *   media, or else the first kind written. ffmpeg starts with the first video frame (which gives the size);
 *   sound that has not come yet then starts as silence (mono). Sound that comes first waits for the first
 *   frame, at most `waitForTracksMs`, then is recorded alone. With video, sound that arrived before the first
 *   frame is not recorded: both start with the first frame.
 *
 * @example
 * await checkRecordingPath('out.webm', false); // before the call starts
 * const recorder = new Recorder({ path: 'out.webm', ffmpegPath });
 * call.on('track', (track) => recorder.addTrack(track)); // as aiortc's MediaRecorder.addTrack
 * // ...
 * const summary = await recorder.stop(); // finalized: plays to the end, has a duration
 */
export class Recorder extends TypedEmitter<RecorderEvents> {
  readonly #path: string;
  readonly #ffmpegPath: string;
  readonly #force: boolean;
  readonly #format: 'webm' | 'mkv';
  readonly #maxQueued: number;
  readonly #fps: number;
  readonly #waitForTracksMs: number;
  readonly #audioBitrate: number;
  readonly #log = logger('record').extend(String(++instances));
  readonly #expected = new Set<TrackKind>();
  /** Kinds in the file, fixed when ffmpeg starts. */
  readonly #inFile = new Set<TrackKind>();
  #waitTimer: NodeJS.Timeout | undefined;
  #firstDataAt: number | undefined;
  #ignoredLate = false;
  /** The recording's start (`performance.now()`): the first frame's arrival, or without video the first sound's. */
  #t0 = 0;

  // video: the first frame's size, and its timeline once it came
  #width = 0;
  #height = 0;
  #video: VideoTimeline | undefined;
  #resized = 0;
  #writing = false;

  // audio: its channels and first arrival once it came, its timeline once ffmpeg started
  #audioChannels = 0;
  #firstAudioAt = 0;
  /** Chunks that arrived before ffmpeg started (converted to the file's format), placed when it starts. */
  #audioEarly: { samples: Int16Array; arrivalMs: number }[] = [];
  #audio: AudioTimeline | undefined;

  #ffmpeg: FfmpegProcess | undefined;
  #failed: Error | undefined;
  #stopping = false;
  #drained: (() => void) | undefined;
  #stopPromise: Promise<RecordingSummary> | undefined;

  /** @throws TypeError on invalid options (a file that is neither `.webm` nor `.mkv` among them). */
  constructor(options: RecorderOptions) {
    super();
    if (!options.path) throw new TypeError('recorder: path is required');
    if (!options.ffmpegPath) throw new TypeError('recorder: ffmpegPath is required (see locateFfmpeg)');
    const o = withDefaults(options, RECORDER_DEFAULTS);
    if (!Number.isInteger(o.maxQueuedFrames) || o.maxQueuedFrames < 1)
      throw new TypeError(`recorder: maxQueuedFrames must be an integer >= 1, got ${o.maxQueuedFrames}`);
    if (!Number.isFinite(o.fps) || o.fps <= 0 || o.fps > 240)
      throw new TypeError(`recorder: fps must be in (0, 240], got ${o.fps}`);
    if (!(o.waitForTracksMs >= 0))
      throw new TypeError(`recorder: waitForTracksMs must be >= 0, got ${o.waitForTracksMs}`);
    if (!(o.audioBitrate >= 6000 && o.audioBitrate <= 510_000))
      throw new TypeError(`recorder: audioBitrate must be in [6000, 510000], got ${o.audioBitrate}`);
    this.#path = o.path;
    this.#ffmpegPath = o.ffmpegPath;
    this.#force = o.force;
    this.#format = recordingFormat(o.path, o.format);
    this.#maxQueued = o.maxQueuedFrames;
    this.#fps = o.fps;
    this.#waitForTracksMs = o.waitForTracksMs;
    this.#audioBitrate = o.audioBitrate;
  }

  /** The file recorded to. */
  get path(): string {
    return this.#path;
  }

  /** Live counters. */
  get stats(): RecorderStats {
    return {
      framesWritten: this.#video?.framesWritten ?? 0,
      framesDropped: this.#video?.framesDropped ?? 0,
      resized: this.#resized,
      framesInFile: this.#video?.slotsWritten ?? 0,
    };
  }

  /**
   * Records a remote track: announces it (see {@link expectTrack}) and writes its frames or sound as they
   * come. Add a call's tracks as they appear (`ontrack` fires before any media); one track of each kind.
   */
  addTrack(track: ReceivedTrack): void {
    this.expectTrack(track.kind);
    if (track.kind === 'video') track.on('frame', (frame, arrivalMs) => this.writeFrame(frame, arrivalMs));
    else track.on('data', (data, arrivalMs) => this.writeAudio(data, arrivalMs));
  }

  /**
   * Announces a track the file should have, so that ffmpeg waits for its first data instead of starting with
   * the other track alone. Ignored once started.
   */
  expectTrack(kind: TrackKind): void {
    if (this.#ffmpeg || this.#stopping) return;
    this.#expected.add(kind);
  }

  /**
   * Queues a frame that arrived at `arrivalMs` (a `performance.now()` time). The first frame starts ffmpeg
   * at its size; frames of another size are scaled to it. The frame is copied: the caller may reuse it.
   * Ignored after `stop()` or a failure.
   */
  writeFrame(frame: I420Frame, arrivalMs: number = performance.now()): void {
    if (this.#stopping || this.#failed) return;
    const { width, height, data } = frame;
    if (width % 2 || height % 2 || data.length < (width * height * 3) / 2) {
      this.#log('ignoring a malformed %dx%d frame of %d bytes', width, height, data.length);
      return;
    }
    if (this.#ffmpeg && !this.#inFile.has('video')) return this.#lateTrack('video');
    if (!this.#video) {
      this.#width = width;
      this.#height = height;
      const frameSize = (width * height * 3) / 2;
      this.#video = new VideoTimeline({ fps: this.#fps, frameSize, maxQueued: this.#maxQueued });
      // the timeline starts with the first frame
      this.#t0 = arrivalMs;
    }
    this.#gotData('video', arrivalMs);
    if (this.#video.add(arrivalMs - this.#t0, (buf) => this.#copy(frame, buf))) this.#pump();
  }

  /**
   * Queues a chunk of PCM that arrived at `arrivalMs` (a `performance.now()` time), placed on the file's
   * timeline by arrival. Copied: the caller may reuse it. Ignored after `stop()` or a failure, and when the
   * file was started without audio.
   */
  writeAudio(data: AudioData, arrivalMs: number = performance.now()): void {
    if (this.#stopping || this.#failed) return;
    const channels = data.channelCount ?? 1;
    if (!data.samples?.length || !(data.sampleRate > 0) || channels < 1 || data.samples.length % channels) {
      this.#log(
        'ignoring malformed audio (%d samples, %d Hz, %d channels)',
        data.samples?.length,
        data.sampleRate,
        channels,
      );
      return;
    }
    if (this.#ffmpeg && !this.#inFile.has('audio')) return this.#lateTrack('audio');
    if (!this.#audioChannels) this.#audioChannels = Math.min(2, channels);
    if (!this.#firstAudioAt) this.#firstAudioAt = arrivalMs;
    const samples = convertPcm(data.samples, data.sampleRate, channels, this.#audioChannels);
    this.#gotData('audio', arrivalMs);
    if (!this.#ffmpeg) {
      // Waiting for the video's first frame (or ffmpeg's start): bounded by waitForTracksMs.
      this.#audioEarly.push({ samples, arrivalMs });
      return;
    }
    this.#audio?.place(samples, arrivalMs - this.#t0);
  }

  /**
   * Writes what is queued, extends the last frame up to now or `endAtMs` (so the duration is the call's),
   * closes ffmpeg's input and waits for it to finalize the file. Idempotent; concurrent callers share one
   * promise (the first call's options count).
   *
   * @throws FfmpegError when ffmpeg failed; the file may then be incomplete.
   */
  stop(options: RecorderStopOptions = {}): Promise<RecordingSummary> {
    this.#stopPromise ??= this.#finish(options.endAtMs);
    return this.#stopPromise;
  }

  /** Copies (or scales, when the size changed) a frame into a timeline buffer. */
  #copy(frame: I420Frame, buf: Uint8Array): void {
    const { width, height, data } = frame;
    if (width === this.#width && height === this.#height) {
      buf.set(data.subarray(0, buf.length));
      return;
    }
    scaleI420(data, width, height, buf, this.#width, this.#height);
    if (this.#resized++ === 0)
      this.#log(
        'frames changed to %dx%d: scaling to the first size %dx%d',
        width,
        height,
        this.#width,
        this.#height,
      );
  }

  #lateTrack(kind: TrackKind): void {
    if (this.#ignoredLate) return;
    this.#ignoredLate = true;
    this.#log('%s arrived after the recording started without it: not recorded', kind);
  }

  /** Starts ffmpeg once every expected track has given data, or after `waitForTracksMs`. */
  #gotData(kind: TrackKind, arrivalMs: number): void {
    if (this.#ffmpeg) return;
    if (this.#expected.size === 0) this.#expected.add(kind);
    // Video sets the size and the start: once it is there, start at once (frames must not pile up). Sound
    // that is expected but not there yet gets an audio input anyway (mono, silence until it comes).
    if (this.#video || !this.#expected.has('video')) {
      if (!this.#audioChannels && this.#expected.has('audio')) this.#audioChannels = 1;
      this.#begin();
      return;
    }
    if (this.#firstDataAt === undefined) {
      this.#firstDataAt = arrivalMs;
      this.#waitTimer = setTimeout(() => {
        if (this.#ffmpeg || this.#stopping || this.#failed) return;
        this.#log('no video after %d ms: recording the sound alone', this.#waitForTracksMs);
        this.#begin();
      }, this.#waitForTracksMs);
    }
  }

  #begin(): void {
    if (this.#ffmpeg) return;
    clearTimeout(this.#waitTimer);
    const video = this.#video !== undefined;
    const audio = this.#audioChannels > 0;
    if (video) this.#inFile.add('video');
    if (audio) this.#inFile.add('audio');
    // Without video, the timeline starts with the first sound.
    if (!video) this.#t0 = this.#firstAudioAt;
    const args = buildRecorderArgs({
      path: this.#path,
      format: this.#format,
      overwrite: this.#force,
      ...(video ? { video: { width: this.#width, height: this.#height, fps: this.#fps } } : {}),
      ...(audio ? { audio: { channels: this.#audioChannels, bitrate: this.#audioBitrate } } : {}),
    });
    const ffmpeg = new FfmpegProcess({
      ffmpegPath: this.#ffmpegPath,
      args,
      name: 'recorder',
      readyOn: 'running',
      stopWith: 'end',
      inputPipe3: audio,
      // finalizing (writing cues and duration) after the last frames can take a moment on a busy machine
      stopTimeoutMs: 10_000,
    });
    this.#ffmpeg = ffmpeg;
    if (audio)
      this.#audio = new AudioTimeline({ channels: this.#audioChannels, output: this.#pcmOutput(ffmpeg) });
    this.#log(
      'recording %s%s to %s',
      video ? `${this.#width}x${this.#height}@${this.#fps}` : 'no video',
      audio ? `, audio ${this.#audioChannels} ch` : ', no audio',
      this.#path,
    );
    ffmpeg.on('exit', (code, signal, tail) => {
      if (this.#stopping && code === 0) return;
      this.#fail(ffmpegDied(`recorder: ffmpeg writing ${this.#path}`, code, signal, tail, this.#path));
    });
    // start() spawns synchronously; a start failure also shows up as the exit above.
    ffmpeg.start().catch((err: unknown) => {
      // A short recording stopped within the start-up grace period: a clean exit is not a failure.
      if (this.#stopping && err instanceof FfmpegError && err.details.exitCode === 0) return;
      this.#fail(err as Error);
    });
    for (const { samples, arrivalMs } of this.#audioEarly.splice(0))
      this.#audio?.place(samples, arrivalMs - this.#t0);
    // ffmpeg opens the audio input before it reads the video: when no sound came yet, give it silence (up to
    // now) at once rather than let it block the video.
    if (audio && video && !this.#firstAudioAt)
      this.#audio?.silence(
        Math.max(480, Math.round(((performance.now() - this.#t0) * RECORDER_SAMPLE_RATE) / 1000)),
      );
    this.#pump();
  }

  /** ffmpeg's audio pipe, for the audio timeline; a pipe ffmpeg stopped reading refuses more. */
  #pcmOutput(ffmpeg: FfmpegProcess): PcmOutput {
    const bytesPerFrame = this.#audioChannels * 2;
    return {
      write: (samples) => {
        const pipe = ffmpeg.pipe3;
        if (pipe.writableLength > AUDIO_MAX_BUFFERED_SEC * RECORDER_SAMPLE_RATE * bytesPerFrame) return false;
        pipe.write(Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength));
        return true;
      },
      silence: (frames) => {
        ffmpeg.pipe3.write(Buffer.alloc(frames * bytesPerFrame));
      },
    };
  }

  #fail(err: Error): void {
    if (this.#failed) return;
    this.#failed = err;
    this.#video?.clear();
    this.#drained?.();
    this.#log('failed: %s', err.message);
    if (!this.#stopping) this.emit('error', err);
  }

  /** Writes one frame at a time to ffmpeg, waiting for each write to be flushed (buffers are reused). */
  #pump(): void {
    if (this.#writing || this.#failed || !this.#ffmpeg) return;
    const buf = this.#video?.next();
    if (!buf) {
      if (this.#stopping) this.#drained?.();
      return;
    }
    this.#writing = true;
    this.#ffmpeg.stdin.write(buf, (err) => {
      this.#writing = false;
      if (err) {
        this.#fail(
          new FfmpegError(
            'FFMPEG_DIED',
            `recorder: writing to ffmpeg failed (${err.message})`,
            { path: this.#path },
            { cause: err },
          ),
        );
        return;
      }
      this.#video?.wrote(buf);
      this.#pump();
    });
  }

  async #finish(endAtMs: number | undefined): Promise<RecordingSummary> {
    clearTimeout(this.#waitTimer);
    // Data arrived but ffmpeg was still waiting for the other track: record what there is.
    if (!this.#ffmpeg && !this.#failed && (this.#video || this.#audioChannels > 0)) this.#begin();
    this.#stopping = true;
    const ffmpeg = this.#ffmpeg;
    if (!ffmpeg) {
      this.removeAllListeners();
      const dropped = this.#video?.framesDropped ?? 0;
      return { path: this.#path, frames: 0, durationSec: 0, width: 0, height: 0, dropped };
    }
    const end = Math.min(endAtMs ?? Infinity, performance.now()) - this.#t0;
    const video = this.#inFile.has('video') ? this.#video : undefined;
    const audio = this.#inFile.has('audio') ? this.#audio : undefined;
    video?.endAt(end);
    if (audio && !this.#failed) {
      audio.flush();
      // sound up to the end, like the video
      audio.padTo(end);
    }
    if (video && !this.#failed)
      await new Promise<void>((resolve) => {
        this.#drained = resolve;
        this.#pump();
      });
    await ffmpeg.stop();
    this.removeAllListeners();
    if (this.#failed) throw this.#failed;
    const audioSec = (audio?.framesWritten ?? 0) / RECORDER_SAMPLE_RATE;
    const summary: RecordingSummary = {
      path: this.#path,
      frames: video?.slotsWritten ?? 0,
      durationSec: Math.max((video?.slotsWritten ?? 0) / this.#fps, audioSec),
      width: video ? this.#width : 0,
      height: video ? this.#height : 0,
      dropped: this.#video?.framesDropped ?? 0,
      ...(audio
        ? {
            audio: {
              durationSec: audioSec,
              sampleRate: RECORDER_SAMPLE_RATE,
              channels: this.#audioChannels,
              silenceSec: audio.silenceFrames / RECORDER_SAMPLE_RATE,
              droppedChunks: audio.droppedChunks,
            },
          }
        : {}),
    };
    this.#log('finished: %o, %o', summary, this.stats);
    return summary;
  }
}
