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
}

/** Defaults of {@link RecorderOptions}, in one place. */
export const RECORDER_DEFAULTS = { force: false, maxQueuedFrames: 8, fps: 30 } as const;

/** Events of {@link Recorder}. */
export type RecorderEvents = {
  /** ffmpeg died mid-recording; the recording is over (what was written so far may not be finalized). */
  error: [error: Error];
};

/** What {@link Recorder.stop} reports about the finished file. */
export interface RecordingSummary {
  path: string;
  /** Frames in the file (the timeline's slots, including repeats that fill gaps). */
  frames: number;
  /** Duration of the file in seconds: from the first frame's arrival to `stop()`. */
  durationSec: number;
  width: number;
  height: number;
  /** Frames dropped because ffmpeg fell behind (or arrived faster than `fps`). */
  dropped: number;
}

interface Queued {
  buf: Uint8Array;
  slot: number;
}

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
 * - Audio is a later addition: it would be a second ffmpeg input on its own pipe (stdio fd 3), muxed into
 *   the same file; nothing here assumes video is the only stream beyond the arguments.
 *
 * @example
 * await Recorder.checkPath('out.webm', false); // before the call starts
 * const recorder = new Recorder({ path: 'out.webm', ffmpegPath });
 * sink.onframe = ({ frame }) => recorder.writeFrame(frame);
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
  private readonly log = logger('record').extend(String(++instances));
  private readonly counters = { framesWritten: 0, framesDropped: 0, resized: 0 };

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
      throw new RecordingPathError(
        'RECORDING_EXISTS',
        `recording file ${file} already exists: pass --force to overwrite it, or choose another path.`,
        file,
      );
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

  /** Distinct frames written, frames dropped, frames scaled to the first size. */
  get stats(): { framesWritten: number; framesDropped: number; resized: number } {
    return { ...this.counters };
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
    if (!this.ffmpeg) this.begin(width, height, arrivalMs);

    // Place the frame on the timeline; one slot of lead absorbs jitter, more means frames come faster than fps.
    const due = Math.round(((arrivalMs - this.t0) * this.fps) / 1000);
    if (due < this.lastSlot) {
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

  private begin(width: number, height: number, arrivalMs: number): void {
    this.width = width;
    this.height = height;
    this.frameSize = (width * height * 3) / 2;
    this.t0 = arrivalMs;
    const container = this.format === 'webm' ? 'webm' : 'matroska';
    // Enough bits for a clean picture without wasting disk: ~0.1 bit per pixel per frame, at least 500 kb/s.
    const bitrate = Math.max(500_000, Math.round(width * height * this.fps * 0.1));
    const args = [
      '-hide_banner',
      '-nostats',
      '-loglevel',
      'warning',
      // input 0: raw I420 on stdin at the timeline rate (an audio input would be added as input 1)
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
      // finalizing (writing cues and duration) after the last frames can take a moment on a busy machine
      stopTimeoutMs: 10_000,
    });
    this.ffmpeg = ffmpeg;
    this.log('recording %dx%d@%d to %s', width, height, this.fps, this.file);
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
    ffmpeg.start().catch((err: unknown) => this.fail(err as Error));
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
    return old?.buf;
  }

  private release(buf: Uint8Array): void {
    if (buf !== this.previous && !this.pool.includes(buf)) this.pool.push(buf);
  }

  /** Writes one frame at a time to ffmpeg, waiting for each write to be flushed (buffers are reused). */
  private pump(): void {
    if (this.writing || this.failed || !this.ffmpeg) return;
    let buf: Uint8Array | undefined;
    const next = this.queue[0];
    if (next && this.written < next.slot && this.previous) {
      // a gap: repeat the previous frame until the next one's slot
      buf = this.previous;
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
   * Writes what is queued, extends the last frame up to now (so the duration is the call's), closes ffmpeg's
   * input and waits for it to finalize the file. Idempotent; concurrent callers share one promise.
   *
   * @throws FfmpegError when ffmpeg failed; the file may then be incomplete.
   */
  stop(): Promise<RecordingSummary> {
    this.stopPromise ??= this.finish();
    return this.stopPromise;
  }

  private async finish(): Promise<RecordingSummary> {
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
    const now = performance.now();
    this.stopSlot = Math.max(this.lastSlot + 1, Math.round(((now - this.t0) * this.fps) / 1000));
    if (!this.failed)
      await new Promise<void>((resolve) => {
        this.drained = resolve;
        this.pump();
      });
    await ffmpeg.stop();
    this.removeAllListeners();
    if (this.failed) throw this.failed;
    const summary: RecordingSummary = {
      path: this.file,
      frames: this.written,
      durationSec: this.written / this.fps,
      width: this.width,
      height: this.height,
      dropped: this.counters.framesDropped,
    };
    this.log('finished: %o, %o', summary, this.counters);
    return summary;
  }
}
