import { constants as fsConstants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { DeviceError } from '../errors.js';
import { logger } from '../util/log.js';
import { TypedEmitter } from '../util/typed-emitter.js';
import { writeBarcode } from './barcode.js';
import {
  buildCaptureArgs,
  captureSourceLabel,
  i420Size,
  resolveCaptureOptions,
  type CaptureOptions,
  type CaptureSource,
  type ResolvedCaptureOptions,
} from './capture-args.js';
import { listV4l2Paths } from './devices.js';
import { ffmpegDied, FfmpegProcess, startCapturing } from './ffmpeg-process.js';
import { FrameReader } from './frame-reader.js';
import { flashAt, writeFlash } from './test-beep.js';

/** One raw video frame, I420 (Y plane, then U, then V), as wrtc's `RTCVideoSource.onFrame` takes it. */
export interface VideoFrame {
  width: number;
  height: number;
  /** I420 bytes, `width * height * 3 / 2` long. */
  data: Uint8ClampedArray;
}

/** Events of {@link VideoCapture}. */
export type VideoCaptureEvents = {
  /**
   * A frame, at capture cadence. The frame's buffer is reused after the listener returns: copy it to keep it
   * (wrtc's `RTCVideoSource.onFrame` copies).
   */
  frame: [frame: VideoFrame, frameId: number];
  /** ffmpeg died (with the error) or a non-looping file ended (no error). Not fired by `stop()`. */
  ended: [error?: Error];
};

let instances = 0;

/**
 * Recognizes a missing, busy or forbidden device in ffmpeg's stderr, with a message in plain words.
 * Returns undefined when the output says nothing about the device.
 */
export async function deviceErrorFromStderr(
  source: CaptureSource,
  stderr: string[],
  listDevicePaths: () => Promise<string[]> = listV4l2Paths,
): Promise<DeviceError | undefined> {
  if (source.kind !== 'v4l2' && source.kind !== 'avfoundation' && source.kind !== 'dshow') return undefined;
  const text = stderr.join('\n');
  const device = source.device;
  if (/Device or resource busy|EBUSY|already in use|Could not run graph/i.test(text))
    return new DeviceError(
      'DEVICE_BUSY',
      `camera ${device} is busy: another program is using it. Close that program (e.g. \`fuser ${device}\`) and retry.`,
      device,
    );
  if (/Permission denied|EACCES|not authorized|access denied/i.test(text))
    return new DeviceError(
      'DEVICE_PERMISSION',
      source.kind === 'v4l2'
        ? `no permission to open camera ${device}: add your user to the "video" group (\`sudo usermod -aG video $USER\`, then log in again).`
        : `no permission to open camera ${device}: allow camera access for this terminal in the OS privacy settings.`,
      device,
    );
  if (
    /No such file or directory|No such device|not found|Could not find video device|Invalid device index/i.test(
      text,
    )
  )
    return notFound(source, listDevicePaths);
  return undefined;
}

async function notFound(
  source: Extract<CaptureSource, { device: string }>,
  listDevicePaths: () => Promise<string[]>,
): Promise<DeviceError> {
  const device = source.device;
  // Only V4L2 cameras can be listed here (files in /dev); the others are ffmpeg's to list.
  if (source.kind !== 'v4l2')
    return new DeviceError('DEVICE_NOT_FOUND', `camera ${device} not found.`, device);
  const found = await listDevicePaths();
  return new DeviceError(
    'DEVICE_NOT_FOUND',
    found.length
      ? `camera ${device} not found (found: ${found.join(', ')}).`
      : `camera ${device} not found: there are no /dev/video* devices on this machine. Connect a camera.`,
    device,
    { found },
  );
}

/**
 * Captures raw I420 frames from a camera, a file or the test pattern through ffmpeg, and emits them at
 * capture cadence. The queue between ffmpeg and the listeners is bounded (latest wins, drops counted).
 * When ffmpeg dies mid-capture, `ended` fires with the error and the capture is over: the caller ends the
 * session cleanly (restarting a camera that just failed rarely helps and hides the cause).
 *
 * @example
 * const capture = new VideoCapture({ source: { kind: 'test-pattern' }, ffmpegPath });
 * capture.on('frame', (frame) => videoSource.onFrame(frame));
 * capture.on('ended', (err) => shutdown(err));
 * await capture.start();
 */
export class VideoCapture extends TypedEmitter<VideoCaptureEvents> {
  readonly #options: ResolvedCaptureOptions;
  readonly #listV4l2Devices: () => Promise<string[]>;
  readonly #log = logger('capture').extend(String(++instances));
  readonly #reader: FrameReader;
  #ffmpeg: FfmpegProcess | undefined;
  #startPromise: Promise<void> | undefined;
  #stopPromise: Promise<void> | undefined;
  #stopping = false;
  #deliverScheduled = false;
  #nextFrameId = 0;
  #firstFrame: (() => void) | undefined;
  readonly #counters = { framesCaptured: 0 };

  /** @throws TypeError on invalid options. */
  constructor(options: CaptureOptions) {
    super();
    this.#options = resolveCaptureOptions(options);
    this.#listV4l2Devices = options.listV4l2Devices ?? listV4l2Paths;
    this.#reader = new FrameReader({ frameSize: i420Size(this.#options.width, this.#options.height) });
  }

  /** The size and rate of the frames emitted. */
  get format(): { width: number; height: number; fps: number } {
    const { width, height, fps } = this.#options;
    return { width, height, fps };
  }

  /** Frames emitted, and frames dropped because a listener fell behind. */
  get stats(): { framesCaptured: number; framesDropped: number } {
    return { framesCaptured: this.#counters.framesCaptured, framesDropped: this.#reader.stats.framesDropped };
  }

  /**
   * Starts ffmpeg and resolves on the first frame. Rejects with a {@link DeviceError} (missing device — with
   * the devices that exist —, busy, no permission) or an {@link FfmpegError}.
   */
  start(): Promise<void> {
    this.#startPromise ??= this.#doStart();
    return this.#startPromise;
  }

  async #doStart(): Promise<void> {
    const { source, ffmpegPath, width, height, fps } = this.#options;
    if (source.kind === 'v4l2') await this.#checkV4l2(source.device);
    const args = buildCaptureArgs(this.#options);
    this.#log('starting %s at %dx%d@%d', captureSourceLabel(source), width, height, fps);
    const ffmpeg = new FfmpegProcess({
      ffmpegPath,
      args,
      name: 'capture',
      // Read straight into the frame reader's buffers (no per-read allocation, no copy: issue 16).
      readInto: {
        writable: () => this.#reader.writable(),
        commit: (bytes) => this.#onOutput(bytes),
      },
    });
    this.#ffmpeg = ffmpeg;
    // ffmpeg may die between its first byte and a full frame.
    await startCapturing(ffmpeg, {
      what: `capture of ${captureSourceLabel(source)}`,
      unit: 'frame',
      delivered: new Promise<void>((resolve) => (this.#firstFrame = resolve)),
      explain: (tail) => deviceErrorFromStderr(source, tail, this.#listV4l2Devices),
      started: () => ffmpeg.on('exit', (code, signal, tail) => void this.#onExit(code, signal, tail)),
      stillDelivering: async () => {
        // let a frame that completed with the exit be delivered first
        await new Promise((r) => setImmediate(r));
        return this.#counters.framesCaptured > 0;
      },
    });
    this.#log('first frame');
  }

  #onOutput(bytes: number): void {
    this.#reader.commit(bytes);
    // Deliver after the pending reads of this turn: a burst then yields only the latest frames.
    if (!this.#deliverScheduled && this.#reader.queued > 0) {
      this.#deliverScheduled = true;
      setImmediate(() => this.#deliver());
    }
  }

  async #checkV4l2(device: string): Promise<void> {
    // Checked before spawning: the message can then list the devices that do exist.
    try {
      await stat(device);
    } catch {
      throw await notFound({ kind: 'v4l2', device }, this.#listV4l2Devices);
    }
    try {
      await access(device, fsConstants.R_OK | fsConstants.W_OK);
    } catch {
      throw (await deviceErrorFromStderr({ kind: 'v4l2', device }, ['Permission denied']))!;
    }
  }

  #deliver(): void {
    this.#deliverScheduled = false;
    const { width, height, stampBarcode, stampFlash } = this.#options;
    for (let data = this.#reader.take(); data; data = this.#reader.take()) {
      const frameId = this.#nextFrameId++;
      const now = Date.now();
      if (stampBarcode) writeBarcode(data, width, height, { frameId, timestampMs: now % 2 ** 32 });
      // The same clock as the test beep's, at the moment the frame is handed on (see test-beep.ts).
      if (stampFlash) writeFlash(data, width, height, flashAt(now));
      this.#counters.framesCaptured++;
      try {
        if (!this.#stopping) this.emit('frame', { width, height, data }, frameId);
      } finally {
        this.#reader.release(data);
      }
      if (this.#firstFrame) {
        this.#firstFrame();
        this.#firstFrame = undefined;
      }
    }
  }

  async #onExit(code: number | null, signal: NodeJS.Signals | null, tail: string[]): Promise<void> {
    // Before the first frame, start() rejects instead.
    if (this.#stopping || this.#counters.framesCaptured === 0) return;
    const { source } = this.#options;
    if (code === 0 && source.kind === 'file') {
      this.#log('file ended');
      this.emit('ended');
      return;
    }
    const err =
      (await deviceErrorFromStderr(source, tail, this.#listV4l2Devices)) ??
      ffmpegDied(`capture of ${captureSourceLabel(source)}: ffmpeg`, code, signal, tail);
    this.#log('ended: %s', err.message);
    this.emit('ended', err);
  }

  /** Stops ffmpeg (`q`, then SIGTERM, then SIGKILL). Idempotent; concurrent callers share one promise. */
  stop(): Promise<void> {
    this.#stopPromise ??= (async () => {
      this.#stopping = true;
      // A start still in progress settles on its own once ffmpeg exits.
      await this.#ffmpeg?.stop();
      this.#log('stopped: %o', this.stats);
      this.removeAllListeners();
    })();
    return this.#stopPromise;
  }
}
