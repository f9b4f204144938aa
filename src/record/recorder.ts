/**
 * The recorder: received frames and sound into a VP8/Opus WebM or Matroska file through ffmpeg. It
 * orchestrates the pure parts — the file's container (`recording-path.ts`), ffmpeg's arguments
 * (`recorder-args.ts`), the video timeline and its buffers (`video-timeline.ts`), the audio timeline
 * (`audio-timeline.ts`), PCM conversion (`pcm.ts`) and scaling (`scale-i420.ts`) — and owns the lifecycle:
 * when ffmpeg starts, feeding it, and finalizing the file.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { ffmpegDied } from '../capture/ffmpeg-process.js';
import { FfmpegError } from '../errors.js';
import { withDefaults } from '../util/defaults.js';
import { logger } from '../util/log.js';
import { TypedEmitter } from '../util/typed-emitter.js';
import { AudioTimeline } from './audio-timeline.js';
import { diskReserveBytes, freeBytes, saysDiskFull } from './disk-space.js';
import { convertPcm } from './pcm.js';
import { recordingBitrate } from './recorder-args.js';
import { RecordingFile } from './recording-file.js';
import { recordingFormat } from './recording-path.js';
import { applyRetention, type RetentionLimits } from './retention.js';
import { scaleI420 } from './scale-i420.js';
import { formatSegmentName, segmentPattern } from './segment-name.js';
import { SegmentPlan } from './segment-plan.js';
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

type TrackKind = 'audio' | 'video';

/** How long before its first frame the next segment's ffmpeg is spawned (its start-up must not delay the cut). */
const PRESPAWN_SEC = 2;
/** How often the recording's disk is checked for free space, ms. */
const DISK_CHECK_MS = 1000;
/** Retention runs after each finished file and every this many disk checks (the file being written grows). */
const RETENTION_EVERY_CHECKS = 10;

/**
 * A stretch of the timeline, `[from, to)` in slots (audio: from the sample of `from` to that of `to`),
 * written to one file, or to none while recording is paused.
 */
interface Piece {
  file: RecordingFile | undefined;
  from: number;
  to: number;
  /** The recorder's drop counters when it began, for the file's own figures. */
  droppedFrames: number;
  droppedChunks: number;
}

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
 * - With `segmentSec`, the timeline is cut into files of that many slots (`SegmentPlan`), each its own ffmpeg
 *   run (`RecordingFile`), spawned {@link PRESPAWN_SEC} ahead so that it is waiting on its pipes when its first
 *   slot comes: every file starts on a keyframe of the recorder's own encoder (the cut needs nothing from the
 *   sender, whose frames are decoded and encoded anew), the slots and samples of one file end exactly where
 *   the next one's begin, and a `recording` event reports each finished file. `keep` deletes the oldest.
 * - The disk is watched: with less than `diskReserveBytes` free the current file is ended cleanly and
 *   recording pauses (`paused`), the call going on; a segmented recording resumes into a new file once space
 *   returns (`resumed`).
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
  readonly #burstHoldMs: number;
  /** Places the frames the timeline holds after a stall once their time is up (`burstHoldMs`). */
  #holdTimer: NodeJS.Timeout | undefined;
  readonly #fps: number;
  readonly #waitForTracksMs: number;
  readonly #audioBitrate: number;
  readonly #plan: SegmentPlan;
  /** The name pattern of a segmented recording. */
  readonly #pattern: string | undefined;
  readonly #keep: RetentionLimits | undefined;
  readonly #reserveOption: number | undefined;
  readonly #log = logger('record').extend(String(++instances));
  readonly #expected = new Set<TrackKind>();
  /** Kinds in the file, fixed when recording starts. */
  readonly #inFile = new Set<TrackKind>();
  #waitTimer: NodeJS.Timeout | undefined;
  #firstDataAt: number | undefined;
  #ignoredLate = false;
  /** The recording's start (`performance.now()`): the first frame's arrival, or without video the first sound's. */
  #t0 = 0;
  /** `Date.now()` at `#t0`: segment names are this plus their offset on the timeline (never accumulated). */
  #wallAtT0 = 0;
  #started = false;
  /** Slots written into files (the frames in them so far). */
  #slotsInFiles = 0;

  // video: the first frame's size, and its timeline once it came
  #width = 0;
  #height = 0;
  #video: VideoTimeline | undefined;
  #resized = 0;
  #writing = false;

  // audio: its channels and first arrival once it came, its timeline once recording started
  #audioChannels = 0;
  #firstAudioAt = 0;
  /** Chunks that arrived before recording started (converted to the file's format), placed when it starts. */
  #audioEarly: { samples: Int16Array; arrivalMs: number }[] = [];
  #audio: AudioTimeline | undefined;
  /** Audio frames handed to the files (or discarded while paused): the audio timeline's position. */
  #audioPos = 0;

  // the files: the stretches of the timeline not yet finished, in order, and the next file, spawned early
  readonly #pieces: Piece[] = [];
  #spare: { file: RecordingFile; from: number } | undefined;
  /** Files being finalized. */
  readonly #closing = new Set<Promise<void>>();
  /** Paths this recorder has written, never reused for a later file. */
  readonly #used = new Set<string>();
  readonly #done: RecordingSummary[] = [];
  /** The slot the recording ends at, once stopping. */
  #endSlot: number | undefined;
  #paused = false;
  #diskTimer: NodeJS.Timeout | undefined;
  #diskChecks = 0;
  #checkingDisk = false;

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
    if (!(o.burstHoldMs >= 0 && o.burstHoldMs <= 2000))
      throw new TypeError(`recorder: burstHoldMs must be in [0, 2000], got ${o.burstHoldMs}`);
    if (!Number.isFinite(o.fps) || o.fps <= 0 || o.fps > 240)
      throw new TypeError(`recorder: fps must be in (0, 240], got ${o.fps}`);
    if (!(o.waitForTracksMs >= 0))
      throw new TypeError(`recorder: waitForTracksMs must be >= 0, got ${o.waitForTracksMs}`);
    if (!(o.audioBitrate >= 6000 && o.audioBitrate <= 510_000))
      throw new TypeError(`recorder: audioBitrate must be in [6000, 510000], got ${o.audioBitrate}`);
    if (o.segmentSec !== undefined && !(o.segmentSec >= 1))
      throw new TypeError(`recorder: segmentSec must be at least 1 second, got ${o.segmentSec}`);
    if (o.keep !== undefined) {
      if (o.segmentSec === undefined)
        throw new TypeError('recorder: keep needs segmentSec (retention deletes segments)');
      const { maxAgeSec, maxBytes } = o.keep;
      if (maxAgeSec === undefined && maxBytes === undefined)
        throw new TypeError('recorder: keep needs maxAgeSec, maxBytes or both');
      if (maxAgeSec !== undefined && !(maxAgeSec > 0))
        throw new TypeError(`recorder: keep.maxAgeSec must be > 0, got ${maxAgeSec}`);
      if (maxBytes !== undefined && !(maxBytes > 0))
        throw new TypeError(`recorder: keep.maxBytes must be > 0, got ${maxBytes}`);
    }
    if (o.diskReserveBytes !== undefined && !(o.diskReserveBytes >= 0))
      throw new TypeError(`recorder: diskReserveBytes must be >= 0, got ${o.diskReserveBytes}`);
    this.#path = o.path;
    this.#ffmpegPath = o.ffmpegPath;
    this.#force = o.force;
    this.#format = recordingFormat(o.path, o.format);
    this.#maxQueued = o.maxQueuedFrames;
    this.#burstHoldMs = o.burstHoldMs;
    this.#fps = o.fps;
    this.#waitForTracksMs = o.waitForTracksMs;
    this.#audioBitrate = o.audioBitrate;
    this.#plan = new SegmentPlan({ fps: o.fps, segmentSec: o.segmentSec });
    this.#pattern = o.segmentSec === undefined ? undefined : segmentPattern(o.path, o.segmentSec);
    this.#keep = o.keep;
    this.#reserveOption = o.diskReserveBytes;
  }

  /** The file recorded to; for a segmented recording, its name pattern. */
  get path(): string {
    return this.#pattern ?? this.#path;
  }

  /** Live counters. */
  get stats(): RecorderStats {
    return {
      framesWritten: this.#video?.framesWritten ?? 0,
      framesDropped: this.#video?.framesDropped ?? 0,
      resized: this.#resized,
      framesInFile: this.#slotsInFiles,
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
    if (this.#started || this.#stopping) return;
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
    if (this.#started && !this.#inFile.has('video')) return this.#lateTrack('video');
    if (!this.#video) {
      this.#width = width;
      this.#height = height;
      const frameSize = (width * height * 3) / 2;
      this.#video = new VideoTimeline({
        fps: this.#fps,
        frameSize,
        maxQueued: this.#maxQueued,
        burstHoldMs: this.#burstHoldMs,
      });
      // the timeline starts with the first frame
      this.#t0 = arrivalMs;
    }
    this.#gotData('video', arrivalMs);
    const added = this.#video.add(arrivalMs - this.#t0, (buf) => this.#copy(frame, buf));
    this.#armHold();
    if (added) this.#pump();
  }

  /** While the timeline holds frames after a stall, a timer places them when their time is up. */
  #armHold(): void {
    const until = this.#video?.holding;
    if (until === undefined || this.#holdTimer !== undefined) return;
    this.#holdTimer = setTimeout(
      () => {
        this.#holdTimer = undefined;
        if (this.#stopping || this.#failed) return;
        if (this.#video?.settle(performance.now() - this.#t0)) this.#pump();
        this.#armHold();
      },
      Math.max(1, until - (performance.now() - this.#t0)),
    );
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
    if (this.#started && !this.#inFile.has('audio')) return this.#lateTrack('audio');
    if (!this.#audioChannels) this.#audioChannels = Math.min(2, channels);
    if (!this.#firstAudioAt) this.#firstAudioAt = arrivalMs;
    const samples = convertPcm(data.samples, data.sampleRate, channels, this.#audioChannels);
    this.#gotData('audio', arrivalMs);
    if (!this.#started) {
      // Waiting for the video's first frame (or ffmpeg's start): bounded by waitForTracksMs.
      this.#audioEarly.push({ samples, arrivalMs });
      return;
    }
    this.#audio?.place(samples, arrivalMs - this.#t0);
  }

  /**
   * Writes what is queued, extends the last frame up to now or `endAtMs` (so the duration is the call's),
   * closes ffmpeg's input and waits for it to finalize the file (every file, when segmented). Idempotent;
   * concurrent callers share one promise (the first call's options count).
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

  /** Starts recording once every expected track has given data, or after `waitForTracksMs`. */
  #gotData(kind: TrackKind, arrivalMs: number): void {
    if (this.#started) return;
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
        if (this.#started || this.#stopping || this.#failed) return;
        this.#log('no video after %d ms: recording the sound alone', this.#waitForTracksMs);
        this.#begin();
      }, this.#waitForTracksMs);
    }
  }

  #begin(): void {
    if (this.#started) return;
    this.#started = true;
    clearTimeout(this.#waitTimer);
    const video = this.#video !== undefined;
    const audio = this.#audioChannels > 0;
    if (video) this.#inFile.add('video');
    if (audio) this.#inFile.add('audio');
    // Without video, the timeline starts with the first sound.
    if (!video) this.#t0 = this.#firstAudioAt;
    this.#wallAtT0 = Date.now() - (performance.now() - this.#t0);
    this.#log(
      'recording %s%s to %s%s',
      video ? `${this.#width}x${this.#height}@${this.#fps}` : 'no video',
      audio ? `, audio ${this.#audioChannels} ch` : ', no audio',
      this.path,
      this.#plan.segmented ? ` in segments of ${this.#plan.slotsPerSegment} frames` : '',
    );
    // the first file, spawned now (its size is known only with the first frame)
    this.#pieceAt(0);
    if (audio)
      this.#audio = new AudioTimeline({
        channels: this.#audioChannels,
        output: { write: (samples) => this.#writePcm(samples), silence: (frames) => this.#writePcm(frames) },
      });
    for (const { samples, arrivalMs } of this.#audioEarly.splice(0))
      this.#audio?.place(samples, arrivalMs - this.#t0);
    // ffmpeg opens the audio input before it reads the video: when no sound came yet, give it silence (up to
    // now) at once rather than let it block the video.
    if (audio && video && !this.#firstAudioAt)
      this.#audio?.silence(
        Math.max(480, Math.round(((performance.now() - this.#t0) * RECORDER_SAMPLE_RATE) / 1000)),
      );
    this.#diskTimer = setInterval(() => void this.#checkDisk(), DISK_CHECK_MS);
    this.#diskTimer.unref();
    void this.#checkDisk();
    // files of earlier runs count too
    void this.#applyRetention();
    this.#pump();
  }

  /** The bitrate written to disk (video and sound), for the disk reserve. */
  get #bitrate(): number {
    const video = this.#inFile.has('video') ? recordingBitrate(this.#width, this.#height, this.#fps) : 0;
    return video + (this.#inFile.has('audio') ? this.#audioBitrate : 0);
  }

  get #reserve(): number {
    return this.#reserveOption ?? diskReserveBytes(this.#bitrate);
  }

  /** The piece of the timeline that slot `slot` is in, opening the pieces up to it. */
  #pieceAt(slot: number): Piece {
    for (;;) {
      const last = this.#pieces.at(-1);
      if (last && slot < last.to) return this.#pieces.find((p) => slot >= p.from && slot < p.to) ?? last;
      // stopping: nothing is opened past the end (the callers write nothing there)
      if (last && this.#endSlot !== undefined && slot >= this.#endSlot) return last;
      this.#openPiece(last ? last.to : slot);
    }
  }

  /** Opens the stretch that begins at slot `from`: to the next boundary, in a new file unless paused. */
  #openPiece(from: number): void {
    let to = this.#plan.nextBoundary(from);
    // resumed mid-segment: no file shorter than half a segment, it runs on to the boundary after
    if (to - from < this.#plan.slotsPerSegment / 2) to += this.#plan.slotsPerSegment;
    // stopping: nothing goes past the end
    if (this.#endSlot !== undefined) to = Math.min(to, this.#endSlot);
    const piece: Piece = {
      file: this.#paused ? undefined : this.#fileFrom(from),
      from,
      to,
      droppedFrames: this.#video?.framesDropped ?? 0,
      droppedChunks: this.#audio?.droppedChunks ?? 0,
    };
    this.#pieces.push(piece);
  }

  /** The file for a stretch beginning at `from`: the spare spawned for it, or a new one. */
  #fileFrom(from: number): RecordingFile {
    const spare = this.#spare;
    this.#spare = undefined;
    if (spare?.from === from) return spare.file;
    if (spare) void spare.file.discard();
    return this.#newFile(from);
  }

  /** Spawns the ffmpeg of a file whose first slot is `from` (named for its start, when segmented). */
  #newFile(from: number): RecordingFile {
    const file = new RecordingFile(this.#ffmpegPath, {
      path: this.#nameFor(from),
      format: this.#format,
      overwrite: this.#force,
      ...(this.#inFile.has('video')
        ? { video: { width: this.#width, height: this.#height, fps: this.#fps } }
        : {}),
      ...(this.#inFile.has('audio')
        ? { audio: { channels: this.#audioChannels, bitrate: this.#audioBitrate } }
        : {}),
    });
    this.#used.add(file.path);
    file.ffmpeg.on('exit', (code, signal, tail) => this.#fileExited(file, code, signal, tail));
    // A start failure shows up as the exit above.
    file.start().catch(() => undefined);
    this.#log('file %s from slot %d', file.path, from);
    return file;
  }

  /** The path of the file beginning at slot `from`: a name from the pattern, never one already used here. */
  #nameFor(from: number): string {
    if (!this.#pattern) return this.#path;
    const name = formatSegmentName(this.#pattern, new Date(this.#wallAtT0 + this.#plan.msOfSlot(from)));
    const ext = path.extname(name);
    const stem = name.slice(0, name.length - ext.length);
    for (let n = 1; ; n++) {
      const candidate = n === 1 ? name : `${stem}-${n}${ext}`;
      if (!this.#used.has(candidate) && (this.#force || !existsSync(candidate))) return candidate;
    }
  }

  /** Spawns the next file ahead of its first slot, once the video (or sound) is that close to the boundary. */
  #prespawn(slot: number): void {
    if (this.#spare || this.#paused || this.#stopping || this.#failed) return;
    const next = this.#plan.nextBoundary(slot);
    if (!Number.isFinite(next) || next - slot > Math.round(PRESPAWN_SEC * this.#fps)) return;
    if ((this.#pieces.at(-1)?.to ?? 0) > next) return;
    this.#spare = { file: this.#newFile(next), from: next };
  }

  /** Video or sound moved on to `slot` / audio frame `frame`: files whose stretch they both passed end. */
  #passed(): void {
    const slot = this.#video?.slotsWritten ?? Infinity;
    while (this.#pieces.length > 0) {
      const piece = this.#pieces[0];
      if (!piece) return;
      const videoDone = !this.#inFile.has('video') || slot >= piece.to;
      const audioDone = !this.#inFile.has('audio') || this.#audioPos >= this.#plan.audioFrameOfSlot(piece.to);
      if (videoDone) piece.file?.endVideo();
      if (audioDone) piece.file?.endAudio();
      if (!videoDone || !audioDone || this.#pieces.length === 1) return;
      this.#pieces.shift();
      this.#close(piece);
    }
  }

  /** Finalizes the file of a finished stretch, then reports it. */
  #close(piece: Piece): void {
    const file = piece.file;
    if (!file) return;
    piece.file = undefined;
    if (!file.used) {
      void file.discard();
      return;
    }
    const closing = file
      .finish()
      .then(() => {
        if (!file.finalized || this.#failed) return;
        const summary = this.#fileSummary(file, piece);
        this.#done.push(summary);
        this.#log('finished %s: %d frames, %s s', file.path, summary.frames, summary.durationSec.toFixed(3));
        this.emit('recording', summary);
        // its size is final now: the files of the pattern may be too many
        return this.#applyRetention();
      })
      .finally(() => this.#closing.delete(closing));
    this.#closing.add(closing);
  }

  #fileSummary(file: RecordingFile, piece: Piece): RecordingSummary {
    const video = file.hasVideo;
    const audioSec = file.audioFrames / RECORDER_SAMPLE_RATE;
    return {
      path: file.path,
      frames: file.slots,
      durationSec: Math.max(file.slots / this.#fps, audioSec),
      width: video ? this.#width : 0,
      height: video ? this.#height : 0,
      dropped: (this.#video?.framesDropped ?? 0) - piece.droppedFrames,
      ...(file.hasAudio
        ? {
            audio: {
              durationSec: audioSec,
              sampleRate: RECORDER_SAMPLE_RATE,
              channels: this.#audioChannels,
              silenceSec: file.silenceFrames / RECORDER_SAMPLE_RATE,
              droppedChunks: (this.#audio?.droppedChunks ?? 0) - piece.droppedChunks,
            },
          }
        : {}),
    };
  }

  /** A file's ffmpeg exited: normal once its inputs ended; a full disk pauses; anything else is fatal. */
  #fileExited(file: RecordingFile, code: number | null, signal: NodeJS.Signals | null, tail: string[]): void {
    if (code === 0 && file.inputsEnded) return;
    // a spare thrown away, or a file finished after a failure
    if (!this.#pieces.some((p) => p.file === file)) return;
    if (saysDiskFull(tail)) {
      for (const p of this.#pieces) if (p.file === file) p.file = undefined;
      this.#pause(
        `the disk of ${file.path} filled up faster than the reserve allowed: that file is cut short ` +
          `(playable up to the cut, without an index)`,
        file.path,
        undefined,
      );
      return;
    }
    this.#fail(ffmpegDied(`recorder: ffmpeg writing ${file.path}`, code, signal, tail, file.path));
  }

  /** The slot from which nothing has been written by either track: where a pause (or resume) cuts. */
  #cutSlot(): number {
    const video = this.#video?.slotsWritten ?? 0;
    return Math.max(video, Math.ceil((this.#audioPos * this.#fps) / RECORDER_SAMPLE_RATE));
  }

  /** Ends the file being written at the cut and records nothing until {@link #resume}. */
  #pause(reason: string, filePath: string | undefined, free: number | undefined): void {
    if (this.#paused) return;
    this.#paused = true;
    const at = this.#cutSlot();
    // stretches that have not begun are dropped, the current one ends at the cut
    for (let i = this.#pieces.length - 1; i >= 0; i--) {
      const p = this.#pieces[i];
      if (!p) continue;
      if (p.from >= at) {
        if (p.file) void p.file.discard();
        this.#pieces.splice(i, 1);
      } else if (p.to > at) p.to = at;
    }
    if (this.#spare) void this.#spare.file.discard();
    this.#spare = undefined;
    this.#pieces.push({ file: undefined, from: at, to: Infinity, droppedFrames: 0, droppedChunks: 0 });
    const resumes = this.#plan.segmented
      ? `recording resumes in a new file once ${mb(2 * this.#reserve)} is free`
      : 'this recording stays stopped (with --record-segment it would resume once space returns)';
    const message = `recording paused: ${reason}; the call goes on, ${resumes}`;
    this.#log('%s', message);
    this.emit('paused', { message, path: filePath, freeBytes: free, reserveBytes: this.#reserve });
    this.#passed();
  }

  /** Space is back: the next slot starts a new file. */
  #resume(): void {
    if (!this.#paused || !this.#plan.segmented) return;
    this.#paused = false;
    const at = this.#cutSlot();
    const gap = this.#pieces.at(-1);
    if (gap && !gap.file) gap.to = Math.max(gap.from, at);
    const piece = this.#pieceAt(at);
    this.#log('resumed at slot %d into %s', at, piece.file?.path);
    this.emit('resumed', piece.file?.path ?? this.path);
    this.#passed();
  }

  /** Checks the free space (pause below the reserve, resume above twice it) and, now and then, retention. */
  async #checkDisk(): Promise<void> {
    if (this.#checkingDisk || this.#stopping || this.#failed) return;
    this.#checkingDisk = true;
    try {
      const dir = path.dirname(path.resolve(this.path));
      if (this.#keep && ++this.#diskChecks % RETENTION_EVERY_CHECKS === 0) await this.#applyRetention();
      const free = await freeBytes(dir);
      if (free === undefined || this.#stopping || this.#failed) return;
      const reserve = this.#reserve;
      if (!this.#paused && free < reserve) {
        const current = this.#pieces.find((p) => p.file)?.file?.path;
        this.#pause(
          `${mb(free)} free on the disk of ${dir}, less than the ${mb(reserve)} kept free` +
            (current ? `; ${current} was ended cleanly` : ''),
          current,
          free,
        );
      } else if (this.#paused && free >= 2 * reserve) this.#resume();
    } finally {
      this.#checkingDisk = false;
    }
  }

  /** The retention run under way, and whether another was asked for meanwhile. */
  #retaining: Promise<void> | undefined;
  #retainAgain = false;

  /**
   * Deletes the oldest files of the pattern beyond `keep` (never the ones being written). Runs at the start,
   * after each finished file and every {@link RETENTION_EVERY_CHECKS} disk checks; one run at a time, a run
   * asked for during another follows it.
   */
  #applyRetention(): Promise<void> {
    if (!this.#keep || !this.#pattern) return Promise.resolve();
    if (this.#retaining) {
      this.#retainAgain = true;
      return this.#retaining;
    }
    const run = async (pattern: string, keep: RetentionLimits): Promise<void> => {
      do {
        this.#retainAgain = false;
        const open = new Set<string>();
        for (const p of this.#pieces) if (p.file) open.add(p.file.path);
        if (this.#spare) open.add(this.#spare.file.path);
        try {
          const deleted = await applyRetention(pattern, keep, open);
          if (deleted.length > 0) {
            this.#log('retention deleted %s', deleted.join(', '));
            this.emit('deleted', deleted);
          }
        } catch (err) {
          this.#log('retention failed: %s', (err as Error).message);
        }
      } while (this.#retainAgain);
    };
    this.#retaining = run(this.#pattern, this.#keep).finally(() => (this.#retaining = undefined));
    return this.#retaining;
  }

  /**
   * The audio timeline's output: samples (or a count of silent frames) at the current audio position, split
   * where a file's stretch ends. Refuses the chunk (false) when ffmpeg is 12 s behind on its pipe.
   */
  #writePcm(samples: Int16Array | number): boolean {
    const channels = this.#audioChannels;
    const total = typeof samples === 'number' ? samples : samples.length / channels;
    if (typeof samples !== 'number' && this.#pieceAtAudio(this.#audioPos).file?.audioFull) return false;
    for (let done = 0; done < total;) {
      // past the end (stopping): cut
      if (this.#endSlot !== undefined && this.#audioPos >= this.#plan.audioFrameOfSlot(this.#endSlot)) break;
      const piece = this.#pieceAtAudio(this.#audioPos);
      const n = Math.min(total - done, this.#plan.audioFrameOfSlot(piece.to) - this.#audioPos);
      if (piece.file) {
        if (typeof samples === 'number') piece.file.silence(n);
        else piece.file.writeAudio(samples.subarray(done * channels, (done + n) * channels));
      }
      done += n;
      this.#audioPos += n;
      if (!this.#inFile.has('video')) this.#prespawn(this.#plan.slotOfAudioFrame(this.#audioPos));
      this.#passed();
    }
    return true;
  }

  /** The piece that audio frame `frame` goes to. */
  #pieceAtAudio(frame: number): Piece {
    for (const p of this.#pieces)
      if (frame >= this.#plan.audioFrameOfSlot(p.from) && frame < this.#plan.audioFrameOfSlot(p.to)) return p;
    return this.#pieceAt(this.#plan.slotOfAudioFrame(frame));
  }

  #fail(err: Error): void {
    if (this.#failed) return;
    this.#failed = err;
    clearTimeout(this.#holdTimer);
    this.#video?.clear();
    this.#drained?.();
    this.#log('failed: %s', err.message);
    if (!this.#stopping) this.emit('error', err);
  }

  /**
   * Writes one frame at a time to its file's ffmpeg, waiting for each write to be flushed (buffers are
   * reused); while paused, slots pass without being written.
   */
  #pump(): void {
    const video = this.#video;
    while (video && !this.#writing && !this.#failed && this.#started) {
      const slot = video.slotsWritten;
      const piece = this.#pieceAt(slot);
      const file = piece.file;
      const buf = video.next(file !== undefined && slot === piece.from);
      if (!buf) {
        if (this.#stopping) this.#drained?.();
        return;
      }
      this.#passed();
      this.#prespawn(slot);
      if (!file) {
        video.wrote(buf);
        continue;
      }
      this.#writing = true;
      this.#slotsInFiles++;
      file.writeVideo(buf, (err) => {
        if (!err) {
          this.#writing = false;
          video.wrote(buf);
          this.#pump();
          return;
        }
        // Its ffmpeg is gone: its exit says whether for a full disk (recording pauses, the slot passes) or
        // for good (the recording failed).
        void file.ffmpeg.waitForExit().then(() => {
          this.#writing = false;
          if (this.#failed) return;
          if (this.#pieces.some((p) => p.file === file))
            this.#fail(
              new FfmpegError(
                'FFMPEG_DIED',
                `recorder: writing to ffmpeg failed (${err.message})`,
                { path: file.path },
                { cause: err },
              ),
            );
          else {
            video.wrote(buf);
            this.#pump();
          }
        });
      });
      return;
    }
  }

  async #finish(endAtMs: number | undefined): Promise<RecordingSummary> {
    clearTimeout(this.#waitTimer);
    clearTimeout(this.#holdTimer);
    clearInterval(this.#diskTimer);
    // Data arrived but ffmpeg was still waiting for the other track: record what there is.
    if (!this.#started && !this.#failed && (this.#video || this.#audioChannels > 0)) this.#begin();
    clearInterval(this.#diskTimer);
    this.#stopping = true;
    if (!this.#started) {
      this.removeAllListeners();
      const dropped = this.#video?.framesDropped ?? 0;
      return { path: this.path, frames: 0, durationSec: 0, width: 0, height: 0, dropped };
    }
    const end = Math.min(endAtMs ?? Infinity, performance.now()) - this.#t0;
    const video = this.#inFile.has('video') ? this.#video : undefined;
    const audio = this.#inFile.has('audio') ? this.#audio : undefined;
    // With video, both tracks end at the last slot: sound that came after the last frame (it is decoded
    // ~100 ms later) is cut, sound that stops short is padded, so that the last file's picture and sound end
    // together. Sound alone ends where it ends, or is padded up to `end`.
    if (audio && !video && !this.#failed) {
      audio.flush();
      audio.padTo(end);
    }
    const endSlot = video ? video.endAt(end) : Math.ceil((this.#audioPos * this.#fps) / RECORDER_SAMPLE_RATE);
    this.#endSlot = endSlot;
    for (const p of this.#pieces) p.to = Math.min(p.to, endSlot);
    if (this.#spare) await this.#spare.file.discard();
    this.#spare = undefined;
    if (audio && video && !this.#failed) {
      audio.flush();
      audio.padTo(this.#plan.msOfSlot(endSlot));
    }
    if (video && !this.#failed)
      await new Promise<void>((resolve) => {
        this.#drained = resolve;
        this.#pump();
      });
    for (const p of this.#pieces.splice(0)) {
      if (this.#failed && p.file) await p.file.finish();
      else this.#close(p);
    }
    while (this.#closing.size > 0) await Promise.all([...this.#closing]);
    await this.#retaining;
    this.removeAllListeners();
    if (this.#failed) throw this.#failed;
    const summary = this.#totals();
    this.#log('finished: %o, %o', summary, this.stats);
    return summary;
  }

  /** The whole recording's figures: the one file's, or the sum of the segments'. */
  #totals(): RecordingSummary {
    const files = this.#done;
    const only = files.length === 1 && !this.#pattern ? files[0] : undefined;
    if (only) return { ...only, dropped: this.#video?.framesDropped ?? 0 };
    const sum = (f: (s: RecordingSummary) => number): number => files.reduce((n, s) => n + f(s), 0);
    const audio = this.#inFile.has('audio');
    return {
      path: this.path,
      ...(this.#pattern ? { segments: files.length } : {}),
      frames: sum((s) => s.frames),
      durationSec: sum((s) => s.durationSec),
      width: this.#inFile.has('video') ? this.#width : 0,
      height: this.#inFile.has('video') ? this.#height : 0,
      dropped: this.#video?.framesDropped ?? 0,
      ...(audio
        ? {
            audio: {
              durationSec: sum((s) => s.audio?.durationSec ?? 0),
              sampleRate: RECORDER_SAMPLE_RATE,
              channels: this.#audioChannels,
              silenceSec: sum((s) => s.audio?.silenceSec ?? 0),
              droppedChunks: this.#audio?.droppedChunks ?? 0,
            },
          }
        : {}),
    };
  }
}

/** Bytes as megabytes, for messages. */
function mb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}
