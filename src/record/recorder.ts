import { open, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { FfmpegError, RecordingPathError } from '../errors.js';
import { FfmpegProcess } from '../capture/ffmpeg-process.js';
import { logger } from '../util/log.js';
import { TypedEmitter } from '../util/typed-emitter.js';
import { scaleI420 } from './scale-i420.js';

/** Options of {@link Recorder}. Defaults live in {@link RECORDER_DEFAULTS}. */
export interface RecorderOptions {
  /** Output file, `.webm` or `.mkv`. Required. */
  path: string;
  /** The ffmpeg binary (see `locateFfmpeg`). Required. */
  ffmpegPath: string;
  /** Overwrite an existing file. Default: false. */
  force?: boolean;
  /** Container. Default: from the extension (`.webm` -> webm, `.mkv` -> mkv). */
  format?: 'webm' | 'mkv';
  /** Frames queued for ffmpeg before the oldest is dropped (and counted). Default: 8. */
  maxQueuedFrames?: number;
  /** Frame rate of the file's timeline: arrivals are placed on it by wall clock. Default: 30. */
  fps?: number;
  /**
   * With video announced by {@link Recorder.expectTrack}, how long sound that came first waits for the first
   * frame before it is recorded alone, ms. Default: 10000.
   */
  waitForTracksMs?: number;
  /** Opus bitrate of the recorded audio, bit/s. Default: 64000. */
  audioBitrate?: number;
}

/** Defaults of {@link RecorderOptions}, in one place. */
export const RECORDER_DEFAULTS = {
  force: false,
  maxQueuedFrames: 8,
  fps: 30,
  waitForTracksMs: 10_000,
  audioBitrate: 64_000,
} as const;

/** Sample rate of recorded audio (Opus's own rate); other rates are resampled to it. */
export const RECORDER_SAMPLE_RATE = 48_000;

/** Audio that arrives this much later than the samples written so far, persistently, is a gap: silence fills it. */
const AUDIO_GAP_MS = 40;
/** Audio this much ahead of the wall clock (more sound than time passed) is dropped. */
const AUDIO_AHEAD_MS = 200;
/** Arrival time over which a lag must persist to count as a gap (a burst after an event-loop stall is not one). */
const AUDIO_GAP_WINDOW_MS = 100;
/** Audio waiting for ffmpeg (its pipe, or its start), in seconds, before new chunks are dropped. */
const AUDIO_MAX_BUFFERED_SEC = 12;

/** Events of {@link Recorder}. */
export type RecorderEvents = {
  /** ffmpeg died mid-recording; the recording is over (what was written so far may not be finalized). */
  error: [error: Error];
};

/** Options of {@link Recorder.stop}. */
export interface RecorderStopOptions {
  /**
   * Where the file ends, as a `performance.now()` time: the last frame is held up to it. Default: now. A
   * call the other side ended passes the arrival of its last media, so that the time it took to notice the
   * hang-up (a bye through the server, a vanished peer's silence) is not recorded as a frozen picture.
   */
  endAtMs?: number;
}

/** What {@link Recorder.stop} reports about the finished file. */
export interface RecordingSummary {
  path: string;
  /** Frames in the file (the timeline's slots, including repeats that fill gaps); 0 without video. */
  frames: number;
  /** Duration of the file in seconds: from the first frame's (or, without video, sound's) arrival to `stop()`. */
  durationSec: number;
  /** Video size; 0x0 without video. */
  width: number;
  height: number;
  /** Frames dropped because ffmpeg fell behind (or arrived faster than `fps`). */
  dropped: number;
  /** The Opus audio track, when the file has one. */
  audio?: RecordedAudio;
}

/** The audio part of a {@link RecordingSummary}. */
export interface RecordedAudio {
  /** Seconds of sound in the file, silence that filled gaps included. */
  durationSec: number;
  sampleRate: number;
  channels: number;
  /** Seconds of silence inserted where sound was missing (at the start, in gaps, up to `stop()`). */
  silenceSec: number;
  /** 10 ms chunks dropped (ahead of the clock, or ffmpeg not keeping up). */
  droppedChunks: number;
}

/** One chunk of PCM as `RTCAudioSink` gives it. */
export interface AudioData {
  samples: Int16Array;
  sampleRate: number;
  channelCount?: number;
}

type TrackKind = 'audio' | 'video';

interface Queued {
  buf: Uint8Array;
  slot: number;
}

/**
 * How many slots a frame may be placed after its arrival slot when earlier slots are taken (4 at 30 fps:
 * 133 ms). Bounds the timing error of a spread burst; a steady rate above fps still drops.
 */
const MAX_LEAD_SLOTS = 4;

let instances = 0;

function formatOf(file: string, explicit?: 'webm' | 'mkv'): 'webm' | 'mkv' {
  if (explicit) return explicit;
  const ext = path.extname(file).toLowerCase();
  if (ext === '.webm') return 'webm';
  if (ext === '.mkv') return 'mkv';
  throw new TypeError(
    `recorder: cannot tell the format of "${file}": use a .webm or .mkv name, or pass format`,
  );
}

/**
 * Records raw I420 frames (from `RTCVideoSink`) to a VP8 WebM/Matroska file through ffmpeg.
 *
 * - The first frame starts ffmpeg with its size. Later frames of another size (the remote encoder adapting
 *   to bandwidth or CPU) are scaled in node to the first size (nearest-neighbour), so the file stays one
 *   valid stream of one size.
 * - Timestamps follow the wall clock of arrival: each frame is placed on a constant-rate timeline at
 *   `round((arrival - first arrival) * fps)`; slots without a new frame repeat the previous one. The file's
 *   duration therefore matches the call even when frames were dropped, the rate varied or the video
 *   stalled, and every player handles the constant rate. (ffmpeg's `-use_wallclock_as_timestamps` would
 *   stamp frames when ffmpeg reads them, after its start-up delay and any queueing.)
 * - The queue to ffmpeg is bounded (`maxQueuedFrames`); beyond it the oldest frame is dropped and counted.
 * - Audio (from `RTCAudioSink`) is a second ffmpeg input, raw 48 kHz PCM on its own pipe (fd 3), encoded
 *   to Opus in the same file. Its timeline is the sample count, on the video's clock: the first chunk is
 *   placed by its arrival after the first frame (leading silence), a lag that persists over the next 100 ms
 *   of arrivals is filled with silence, sound far ahead of the clock is dropped, and `stop()` pads to the end.
 *   Other rates (NetEq starts at 16 kHz) are resampled, other channel counts mixed, to the first chunk's.
 * - Which tracks the file has: those announced with `expectTrack()` (the call does it from `ontrack`,
 *   before any media), or else the first kind written. ffmpeg starts with the first video frame (which
 *   gives the size); sound that has not come yet then starts as silence (mono). Sound that comes first waits
 *   for the first frame, at most `waitForTracksMs`, then is recorded alone. With video, sound that arrived
 *   before the first frame is not recorded: both start with the first frame.
 *
 * @example
 * await Recorder.checkPath('out.webm', false); // before the call starts
 * const recorder = new Recorder({ path: 'out.webm', ffmpegPath });
 * recorder.expectTrack('video');
 * recorder.expectTrack('audio');
 * videoSink.onframe = ({ frame }) => recorder.writeFrame(frame);
 * audioSink.ondata = (data) => recorder.writeAudio(data);
 * // ...
 * const summary = await recorder.stop(); // finalized: plays to the end, has a duration
 */
export class Recorder extends TypedEmitter<RecorderEvents> {
  private readonly file: string;
  private readonly ffmpegPath: string;
  private readonly force: boolean;
  private readonly format: 'webm' | 'mkv';
  private readonly maxQueued: number;
  private readonly fps: number;
  private readonly waitForTracksMs: number;
  private readonly audioBitrate: number;
  private readonly log = logger('record').extend(String(++instances));
  private readonly counters = { framesWritten: 0, framesDropped: 0, resized: 0 };
  private readonly expected = new Set<TrackKind>();
  /** Kinds in the file, fixed when ffmpeg starts. */
  private readonly inFile = new Set<TrackKind>();
  private waitTimer: NodeJS.Timeout | undefined;
  private firstDataAt: number | undefined;
  private ignoredLate = false;

  // audio
  private audioChannels = 0;
  private firstAudioAt = 0;
  /** Whether a chunk of real sound has been placed yet. */
  private audioPlaced = false;
  /** Chunks that arrived before ffmpeg started (converted to the file's format), placed when it starts. */
  private audioEarly: { samples: Int16Array; arrivalMs: number }[] = [];
  /** Samples (per channel) written to ffmpeg's audio pipe, silence included. */
  private audioWritten = 0;
  /** Chunks waiting {@link AUDIO_GAP_WINDOW_MS} before they are written, with their due sample position. */
  private audioPending: { samples: Int16Array; due: number }[] = [];
  private readonly audioCounters = { silenceSamples: 0, droppedChunks: 0 };

  private ffmpeg: FfmpegProcess | undefined;
  private width = 0;
  private height = 0;
  private frameSize = 0;
  private t0 = 0;
  /** Slot of the last accepted frame. */
  private lastSlot = -1;
  /** Slots written to ffmpeg so far (the next slot to write is `written`). */
  private written = 0;
  private readonly queue: Queued[] = [];
  private readonly pool: Uint8Array[] = [];
  private allocated = 0;
  /** The last frame written, kept to repeat it over gaps. */
  private previous: Uint8Array | undefined;
  private writing = false;
  private failed: Error | undefined;
  private stopping = false;
  private stopSlot: number | undefined;
  private drained: (() => void) | undefined;
  private stopPromise: Promise<RecordingSummary> | undefined;

  /** @throws TypeError on invalid options. */
  constructor(options: RecorderOptions) {
    super();
    if (!options.path) throw new TypeError('recorder: path is required');
    if (!options.ffmpegPath) throw new TypeError('recorder: ffmpegPath is required (see locateFfmpeg)');
    const maxQueued = options.maxQueuedFrames ?? RECORDER_DEFAULTS.maxQueuedFrames;
    if (!Number.isInteger(maxQueued) || maxQueued < 1)
      throw new TypeError(`recorder: maxQueuedFrames must be an integer >= 1, got ${maxQueued}`);
    const fps = options.fps ?? RECORDER_DEFAULTS.fps;
    if (!Number.isFinite(fps) || fps <= 0 || fps > 240)
      throw new TypeError(`recorder: fps must be in (0, 240], got ${fps}`);
    this.file = options.path;
    this.ffmpegPath = options.ffmpegPath;
    this.force = options.force ?? RECORDER_DEFAULTS.force;
    this.format = formatOf(options.path, options.format);
    this.maxQueued = maxQueued;
    this.fps = fps;
    this.waitForTracksMs = options.waitForTracksMs ?? RECORDER_DEFAULTS.waitForTracksMs;
    this.audioBitrate = options.audioBitrate ?? RECORDER_DEFAULTS.audioBitrate;
    if (!(this.waitForTracksMs >= 0))
      throw new TypeError(`recorder: waitForTracksMs must be >= 0, got ${this.waitForTracksMs}`);
    if (!(this.audioBitrate >= 6000 && this.audioBitrate <= 510_000))
      throw new TypeError(`recorder: audioBitrate must be in [6000, 510000], got ${this.audioBitrate}`);
  }

  /**
   * Announces a track the file should have (the call does it from `ontrack`, before media flows), so that
   * ffmpeg waits for its first data instead of starting with the other track alone. Ignored once started.
   */
  expectTrack(kind: TrackKind): void {
    if (this.ffmpeg || this.stopping) return;
    this.expected.add(kind);
  }

  /**
   * Checks, before any call starts, that `file` can be recorded to: it must not exist unless `force`, and its
   * directory must exist and be writable.
   *
   * @throws RecordingPathError `RECORDING_EXISTS` or `RECORDING_UNWRITABLE`.
   */
  static async checkPath(file: string, force: boolean): Promise<void> {
    const existing = await stat(file).catch(() => undefined);
    if (existing?.isDirectory())
      throw new RecordingPathError(
        'RECORDING_UNWRITABLE',
        `cannot record to ${file}: it is a directory. Give a file name such as ${path.join(file, 'call.webm')}.`,
        file,
      );
    if (existing && !force)
      throw new RecordingPathError('RECORDING_EXISTS', `recording file ${file} already exists.`, file);
    const dir = path.dirname(path.resolve(file));
    const dirInfo = await stat(dir).catch(() => undefined);
    if (!dirInfo?.isDirectory())
      throw new RecordingPathError(
        'RECORDING_UNWRITABLE',
        `cannot record to ${file}: directory ${dir} does not exist. Create it first.`,
        file,
      );
    // A real probe rather than access(W_OK), which says yes to root even on read-only or virtual filesystems.
    try {
      if (existing) await (await open(file, 'r+')).close();
      else {
        await (await open(file, 'wx')).close();
        await unlink(file);
      }
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? String(err);
      throw new RecordingPathError(
        'RECORDING_UNWRITABLE',
        `cannot record to ${file}: ${existing ? 'the file' : `directory ${dir}`} is not writable (${code}). Choose another path or fix its permissions.`,
        file,
        { cause: err },
      );
    }
  }

  /**
   * Distinct frames written, frames dropped, frames scaled to the first size, and the frames in the file so
   * far (timeline slots written, repeats included: what `stop()` reports as `frames` once it is finished).
   */
  get stats(): { framesWritten: number; framesDropped: number; resized: number; framesInFile: number } {
    return { ...this.counters, framesInFile: this.written };
  }

  /**
   * Queues a frame that arrived at `arrivalMs` (a `performance.now()` time). The first frame starts ffmpeg
   * at its size; frames of another size are scaled to it. The frame is copied: the caller may reuse it.
   * Ignored after `stop()` or a failure.
   */
  writeFrame(
    frame: { width: number; height: number; data: Uint8Array | Uint8ClampedArray },
    arrivalMs: number = performance.now(),
  ): void {
    if (this.stopping || this.failed) return;
    const { width, height, data } = frame;
    if (width % 2 || height % 2 || data.length < (width * height * 3) / 2) {
      this.log('ignoring a malformed %dx%d frame of %d bytes', width, height, data.length);
      return;
    }
    if (this.ffmpeg && !this.inFile.has('video')) return this.lateTrack('video');
    if (!this.frameSize) {
      this.initVideo(width, height);
      // the timeline starts with the first frame
      this.t0 = arrivalMs;
    }
    this.gotData('video', arrivalMs);

    // Place the frame on the timeline at its arrival slot, or just after the previous frame when that slot is
    // taken: a burst after a stall (a busy CPU, a late packet) is spread over the next slots instead of lost,
    // up to MAX_LEAD_SLOTS ahead of the wall clock. Further ahead, frames come faster than fps: dropped.
    const due = Math.round(((arrivalMs - this.t0) * this.fps) / 1000);
    if (this.lastSlot + 1 - due > MAX_LEAD_SLOTS) {
      this.counters.framesDropped++;
      return;
    }
    const slot = Math.max(due, this.lastSlot + 1);

    const buf = this.acquire();
    if (!buf) {
      this.counters.framesDropped++;
      return;
    }
    if (width === this.width && height === this.height) buf.set(data.subarray(0, this.frameSize));
    else {
      scaleI420(data, width, height, buf, this.width, this.height);
      if (this.counters.resized++ === 0)
        this.log(
          'frames changed to %dx%d: scaling to the first size %dx%d',
          width,
          height,
          this.width,
          this.height,
        );
    }
    this.lastSlot = slot;
    this.queue.push({ buf, slot });
    if (this.queue.length > this.maxQueued) {
      const old = this.queue.shift();
      if (old) this.release(old.buf);
      this.counters.framesDropped++;
    }
    this.pump();
  }

  /**
   * Queues a chunk of PCM (from `RTCAudioSink`) that arrived at `arrivalMs` (a `performance.now()` time),
   * placed on the file's timeline by arrival (see the class comment). Copied: the caller may reuse it.
   * Ignored after `stop()` or a failure, and when the file was started without audio.
   */
  writeAudio(data: AudioData, arrivalMs: number = performance.now()): void {
    if (this.stopping || this.failed) return;
    const channels = data.channelCount ?? 1;
    if (!data.samples?.length || !(data.sampleRate > 0) || channels < 1 || data.samples.length % channels) {
      this.log(
        'ignoring malformed audio (%d samples, %d Hz, %d channels)',
        data.samples?.length,
        data.sampleRate,
        channels,
      );
      return;
    }
    if (this.ffmpeg && !this.inFile.has('audio')) return this.lateTrack('audio');
    if (!this.audioChannels) this.audioChannels = Math.min(2, channels);
    if (!this.firstAudioAt) this.firstAudioAt = arrivalMs;
    const samples = convertPcm(data.samples, data.sampleRate, channels, this.audioChannels);
    this.gotData('audio', arrivalMs);
    if (!this.ffmpeg) {
      // Waiting for the video's first frame (or ffmpeg's start): bounded by waitForTracksMs.
      this.audioEarly.push({ samples, arrivalMs });
      return;
    }
    this.placeAudio(samples, arrivalMs);
  }

  private lateTrack(kind: TrackKind): void {
    if (this.ignoredLate) return;
    this.ignoredLate = true;
    this.log('%s arrived after the recording started without it: not recorded', kind);
  }

  private initVideo(width: number, height: number): void {
    this.width = width;
    this.height = height;
    this.frameSize = (width * height * 3) / 2;
  }

  /** Starts ffmpeg once every expected track has given data, or after `waitForTracksMs`. */
  private gotData(kind: TrackKind, arrivalMs: number): void {
    if (this.ffmpeg) return;
    if (this.expected.size === 0) this.expected.add(kind);
    const haveVideo = this.frameSize > 0;
    // Video sets the size and the start: once it is there, start at once (frames must not pile up). Sound
    // that is expected but not there yet gets an audio input anyway (mono, silence until it comes).
    if (haveVideo || !this.expected.has('video')) {
      if (!this.audioChannels && this.expected.has('audio')) this.audioChannels = 1;
      this.begin();
      return;
    }
    if (this.firstDataAt === undefined) {
      this.firstDataAt = arrivalMs;
      this.waitTimer = setTimeout(() => {
        if (this.ffmpeg || this.stopping || this.failed) return;
        this.log('no video after %d ms: recording the sound alone', this.waitForTracksMs);
        this.begin();
      }, this.waitForTracksMs);
    }
  }

  /**
   * Places a chunk on the audio timeline. Chunks wait 100 ms (by arrival) before they are written, so that a
   * lag is judged over the chunks that came after it too: a burst after an event-loop stall catches up by
   * itself (its last chunks are on time), while sound that really stopped for a while leaves every later
   * chunk late by the same amount, and that much silence goes in before them.
   */
  private placeAudio(samples: Int16Array, arrivalMs: number): void {
    if (!this.ffmpeg || arrivalMs < this.t0) return; // before the recording's start (the first video frame)
    const rate = RECORDER_SAMPLE_RATE;
    const due = Math.round(((arrivalMs - this.t0) * rate) / 1000);
    if (!this.audioPlaced) {
      // the first sound: silence before it, from the start (or from the silence written at the start)
      this.audioPlaced = true;
      this.writeSilence(due - this.audioWritten);
    }
    const pendingFrames = this.audioPending.reduce((n, p) => n + p.samples.length, 0) / this.audioChannels;
    if (due - (this.audioWritten + pendingFrames) < -(AUDIO_AHEAD_MS * rate) / 1000) {
      this.audioCounters.droppedChunks++;
      return;
    }
    this.audioPending.push({ samples, due });
    const oldest = this.audioPending[0];
    if (oldest && due - oldest.due >= (AUDIO_GAP_WINDOW_MS * rate) / 1000) this.writePendingAudio(false);
  }

  /** Writes the pending chunks that have waited long enough (all of them with `all`), filling gaps first. */
  private writePendingAudio(all: boolean): void {
    const rate = RECORDER_SAMPLE_RATE;
    const window = (AUDIO_GAP_WINDOW_MS * rate) / 1000;
    for (;;) {
      const newest = this.audioPending.at(-1);
      const oldest = this.audioPending[0];
      if (!oldest || !newest || (!all && newest.due - oldest.due < window)) return;
      let pos = this.audioWritten;
      let minLag = Infinity;
      for (const p of this.audioPending) {
        minLag = Math.min(minLag, p.due - pos);
        pos += p.samples.length / this.audioChannels;
      }
      if (minLag > (AUDIO_GAP_MS * rate) / 1000) this.writeSilence(minLag);
      this.audioPending.shift();
      this.writePcm(oldest.samples);
    }
  }

  private writePcm(samples: Int16Array): void {
    const pipe = this.ffmpeg?.pipe3;
    if (!pipe) return;
    if (pipe.writableLength > AUDIO_MAX_BUFFERED_SEC * RECORDER_SAMPLE_RATE * this.audioChannels * 2) {
      // ffmpeg is not reading: drop (the next chunks' lag then brings silence in its place)
      this.audioCounters.droppedChunks++;
      return;
    }
    pipe.write(Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength));
    this.audioWritten += samples.length / this.audioChannels;
  }

  private writeSilence(frames: number): void {
    if (frames <= 0) return;
    this.ffmpeg?.pipe3.write(Buffer.alloc(frames * this.audioChannels * 2));
    this.audioWritten += frames;
    this.audioCounters.silenceSamples += frames;
  }

  private begin(): void {
    if (this.ffmpeg) return;
    clearTimeout(this.waitTimer);
    const { width, height } = this;
    const video = this.frameSize > 0;
    const audio = this.audioChannels > 0;
    if (video) this.inFile.add('video');
    if (audio) this.inFile.add('audio');
    // Without video, the timeline starts with the first sound.
    if (!video) this.t0 = this.firstAudioAt;
    const container = this.format === 'webm' ? 'webm' : 'matroska';
    // Enough bits for a clean picture without wasting disk: ~0.1 bit per pixel per frame, at least 500 kb/s.
    const bitrate = Math.max(500_000, Math.round(width * height * this.fps * 0.1));
    const videoInput = [
      // raw I420 on stdin at the timeline rate
      '-f',
      'rawvideo',
      '-pix_fmt',
      'yuv420p',
      '-s',
      `${width}x${height}`,
      '-framerate',
      String(this.fps),
      '-i',
      'pipe:0',
    ];
    // raw PCM on fd 3, its timeline the sample count
    const audioInput = [
      // Raw PCM needs no probing; without these, opening this input reads (and waits for) about a second of
      // sound in real time while the video on stdin is not read, and the frame queue overflows.
      '-probesize',
      '32',
      '-analyzeduration',
      '0',
      '-f',
      's16le',
      '-ar',
      String(RECORDER_SAMPLE_RATE),
      '-ac',
      String(this.audioChannels),
      '-i',
      'pipe:3',
    ];
    const videoOutput = [
      '-map',
      '0:v',
      '-c:v',
      'libvpx',
      // realtime deadline and cpu-used 8: keeps up with 720p30 on one core
      '-deadline',
      'realtime',
      '-cpu-used',
      '8',
      '-b:v',
      String(bitrate),
      '-g',
      String(Math.round(this.fps * 2)),
      '-auto-alt-ref',
      '0',
      '-lag-in-frames',
      '0',
    ];
    const audioOutput = ['-map', `${video ? 1 : 0}:a`, '-c:a', 'libopus', '-b:a', String(this.audioBitrate)];
    const args = [
      '-hide_banner',
      '-nostats',
      '-loglevel',
      'warning',
      ...(video ? videoInput : []),
      ...(audio ? audioInput : []),
      ...(video ? videoOutput : []),
      ...(audio ? audioOutput : []),
      '-f',
      container,
      this.force ? '-y' : '-n',
      this.file,
    ];
    const ffmpeg = new FfmpegProcess({
      ffmpegPath: this.ffmpegPath,
      args,
      name: 'recorder',
      readyOn: 'running',
      stopWith: 'end',
      inputPipe3: audio,
      // finalizing (writing cues and duration) after the last frames can take a moment on a busy machine
      stopTimeoutMs: 10_000,
    });
    this.ffmpeg = ffmpeg;
    this.log(
      'recording %s%s to %s',
      video ? `${width}x${height}@${this.fps}` : 'no video',
      audio ? `, audio ${this.audioChannels} ch` : ', no audio',
      this.file,
    );
    ffmpeg.on('exit', (code, signal, tail) => {
      if (this.stopping && code === 0) return;
      const err = new FfmpegError(
        'FFMPEG_DIED',
        `recorder: ffmpeg writing ${this.file} exited (code ${code}, signal ${signal}); its last output:\n  ${tail.slice(-10).join('\n  ')}`,
        { exitCode: code, signal, stderr: tail },
      );
      this.fail(err);
    });
    // start() spawns synchronously; a start failure also shows up as the exit above.
    ffmpeg.start().catch((err: unknown) => {
      // A short recording stopped within the start-up grace period: a clean exit is not a failure.
      if (this.stopping && err instanceof FfmpegError && err.details.exitCode === 0) return;
      this.fail(err as Error);
    });
    for (const { samples, arrivalMs } of this.audioEarly.splice(0)) this.placeAudio(samples, arrivalMs);
    // ffmpeg opens the audio input before it reads the video: when no sound came yet, give it silence (up to
    // now) at once rather than let it block the video.
    if (audio && video && !this.firstAudioAt)
      this.writeSilence(
        Math.max(480, Math.round(((performance.now() - this.t0) * RECORDER_SAMPLE_RATE) / 1000)),
      );
    this.pump();
  }

  private fail(err: Error): void {
    if (this.failed) return;
    this.failed = err;
    for (const q of this.queue.splice(0)) this.release(q.buf);
    this.drained?.();
    this.log('failed: %s', err.message);
    if (!this.stopping) this.emit('error', err);
  }

  private acquire(): Uint8Array | undefined {
    const free = this.pool.pop();
    if (free) return free;
    // queue + the frame being written + the previous frame kept for repeats
    if (this.allocated < this.maxQueued + 3) {
      this.allocated++;
      return new Uint8Array(this.frameSize);
    }
    const old = this.queue.shift();
    if (old) this.counters.framesDropped++;
    // the oldest queued frame may be the one being repeated: then drop the new frame instead
    return old?.buf === this.previous ? undefined : old?.buf;
  }

  private release(buf: Uint8Array): void {
    if (buf !== this.previous && !this.pool.includes(buf)) this.pool.push(buf);
  }

  /** Writes one frame at a time to ffmpeg, waiting for each write to be flushed (buffers are reused). */
  private pump(): void {
    if (this.writing || this.failed || !this.ffmpeg) return;
    let buf: Uint8Array | undefined;
    const next = this.queue[0];
    if (next && this.written < next.slot) {
      // a gap: repeat the previous frame until the next one's slot (before the first, show the first)
      buf = this.previous ?? next.buf;
    } else if (next) {
      this.queue.shift();
      buf = next.buf;
      this.counters.framesWritten++;
    } else if (this.stopSlot !== undefined && this.previous && this.written < this.stopSlot) {
      buf = this.previous;
    } else {
      if (this.stopping) this.drained?.();
      return;
    }
    const frame = buf;
    this.writing = true;
    this.ffmpeg.stdin.write(frame, (err) => {
      this.writing = false;
      if (err) {
        this.fail(
          new FfmpegError(
            'FFMPEG_DIED',
            `recorder: writing to ffmpeg failed (${err.message})`,
            {},
            { cause: err },
          ),
        );
        return;
      }
      this.written++;
      if (frame !== this.previous) {
        const old = this.previous;
        this.previous = frame;
        if (old) this.release(old);
      }
      this.pump();
    });
  }

  /**
   * Writes what is queued, extends the last frame up to now or `endAtMs` (so the duration is the call's),
   * closes ffmpeg's input and waits for it to finalize the file. Idempotent; concurrent callers share one
   * promise (the first call's options count).
   *
   * @throws FfmpegError when ffmpeg failed; the file may then be incomplete.
   */
  stop(options: RecorderStopOptions = {}): Promise<RecordingSummary> {
    this.stopPromise ??= this.finish(options.endAtMs);
    return this.stopPromise;
  }

  private async finish(endAtMs: number | undefined): Promise<RecordingSummary> {
    clearTimeout(this.waitTimer);
    // Data arrived but ffmpeg was still waiting for the other track: record what there is.
    if (!this.ffmpeg && !this.failed && (this.frameSize > 0 || this.audioChannels > 0)) this.begin();
    this.stopping = true;
    const ffmpeg = this.ffmpeg;
    if (!ffmpeg) {
      this.removeAllListeners();
      return {
        path: this.file,
        frames: 0,
        durationSec: 0,
        width: 0,
        height: 0,
        dropped: this.counters.framesDropped,
      };
    }
    const now = Math.min(endAtMs ?? Infinity, performance.now());
    const video = this.inFile.has('video');
    const audio = this.inFile.has('audio');
    if (video) this.stopSlot = Math.max(this.lastSlot + 1, Math.round(((now - this.t0) * this.fps) / 1000));
    if (audio && !this.failed) {
      this.writePendingAudio(true);
      // sound up to now, like the video
      this.writeSilence(Math.round(((now - this.t0) * RECORDER_SAMPLE_RATE) / 1000) - this.audioWritten);
    }
    if (video && !this.failed)
      await new Promise<void>((resolve) => {
        this.drained = resolve;
        this.pump();
      });
    await ffmpeg.stop();
    this.removeAllListeners();
    if (this.failed) throw this.failed;
    const audioSec = this.audioWritten / RECORDER_SAMPLE_RATE;
    const summary: RecordingSummary = {
      path: this.file,
      frames: video ? this.written : 0,
      durationSec: Math.max(video ? this.written / this.fps : 0, audio ? audioSec : 0),
      width: video ? this.width : 0,
      height: video ? this.height : 0,
      dropped: this.counters.framesDropped,
      ...(audio
        ? {
            audio: {
              durationSec: audioSec,
              sampleRate: RECORDER_SAMPLE_RATE,
              channels: this.audioChannels,
              silenceSec: this.audioCounters.silenceSamples / RECORDER_SAMPLE_RATE,
              droppedChunks: this.audioCounters.droppedChunks,
            },
          }
        : {}),
    };
    this.log('finished: %o, %o', summary, this.counters);
    return summary;
  }
}

/**
 * Converts interleaved PCM to `RECORDER_SAMPLE_RATE` with `toChannels` channels: channels averaged or
 * duplicated, the rate changed by linear interpolation (enough for NetEq's first 16 kHz chunks of silence).
 */
export function convertPcm(
  samples: Int16Array,
  sampleRate: number,
  channels: number,
  toChannels: number,
): Int16Array {
  const frames = samples.length / channels;
  let mixed: Int16Array;
  if (channels === toChannels) mixed = samples;
  else {
    mixed = new Int16Array(frames * toChannels);
    for (let f = 0; f < frames; f++) {
      let sum = 0;
      for (let c = 0; c < channels; c++) sum += samples[f * channels + c] ?? 0;
      const avg = Math.round(sum / channels);
      for (let c = 0; c < toChannels; c++)
        mixed[f * toChannels + c] = toChannels === channels ? (samples[f * channels + c] ?? 0) : avg;
    }
  }
  if (sampleRate === RECORDER_SAMPLE_RATE) return mixed === samples ? new Int16Array(samples) : mixed;
  const outFrames = Math.round((frames * RECORDER_SAMPLE_RATE) / sampleRate);
  const out = new Int16Array(outFrames * toChannels);
  for (let f = 0; f < outFrames; f++) {
    const pos = (f * sampleRate) / RECORDER_SAMPLE_RATE;
    const i = Math.floor(pos);
    const frac = pos - i;
    const j = Math.min(frames - 1, i + 1);
    for (let c = 0; c < toChannels; c++) {
      const a = mixed[i * toChannels + c] ?? 0;
      const b = mixed[j * toChannels + c] ?? 0;
      out[f * toChannels + c] = Math.round(a + (b - a) * frac);
    }
  }
  return out;
}
