import { performance } from 'node:perf_hooks';
import { DeviceError, FfmpegError } from '../errors.js';
import { logger } from '../util/log.js';
import { TypedEmitter } from '../util/typed-emitter.js';
import {
  audioSourceLabel,
  buildAudioCaptureArgs,
  resolveAudioCaptureOptions,
  type AudioCaptureOptions,
  type AudioSource,
  type ResolvedAudioCaptureOptions,
} from './audio-args.js';
import { AudioPacer } from './audio-pacer.js';
import { AudioChunker } from './audio-chunker.js';
import { ffmpegDied, FfmpegProcess, startCapturing } from './ffmpeg-process.js';
import { applyBeep } from './test-beep.js';

/** One 10 ms chunk of 16-bit PCM, in the shape wrtc's `RTCAudioSource.onData` takes. */
export interface AudioChunk {
  /** Interleaved samples, `numberOfFrames * channelCount` long. */
  samples: Int16Array;
  sampleRate: number;
  bitsPerSample: 16;
  channelCount: number;
  /** Samples per channel: 480 at 48 kHz. */
  numberOfFrames: number;
}

/** Events of {@link AudioCapture}. */
export type AudioCaptureEvents = {
  /** A 10 ms chunk, paced in real time. The listener may keep it (a fresh buffer each time). */
  data: [chunk: AudioChunk];
  /**
   * ffmpeg died (with the error), or a non-looping file ended and its last chunk was sent (no error). Not
   * fired by `stop()`.
   */
  ended: [error?: Error];
};

/** Counters of an {@link AudioCapture}. */
export interface AudioCaptureStats {
  /** 10 ms chunks handed to the listeners. */
  chunksSent: number;
  /** Chunks dropped because the buffer was full (the source ran ahead of the clock, or node stalled). */
  chunksDropped: number;
  /** Times the buffer ran dry and sending paused until it refilled (the source ran behind). */
  underruns: number;
}

/** How often the pacer looks at the clock, ms: half a chunk, so a chunk leaves at most ~5 ms late. */
const TICK_MS = 5;
/** After a stall of node's event loop, at most this much of what was due is sent in one burst (see AudioPacer). */
const MAX_CATCH_UP_MS = 100;

let instances = 0;

/**
 * Recognizes a missing, busy or forbidden microphone in ffmpeg's stderr, with a message in plain words
 * naming the device. Returns undefined when the output says nothing about the device.
 */
export function audioDeviceErrorFromStderr(source: AudioSource, stderr: string[]): DeviceError | undefined {
  if (source.kind === 'file' || source.kind === 'test-tone') return undefined;
  const text = stderr.join('\n');
  const label = audioSourceLabel(source);
  const device = source.device;
  const said = stderr
    .filter((l) => l.trim())
    .slice(-1)[0]
    ?.trim();
  const quote = said ? ` (ffmpeg: "${said}")` : '';
  if (/Device or resource busy|EBUSY|already in use/i.test(text))
    return new DeviceError(
      'DEVICE_BUSY',
      `${label} is busy: another program is using it${quote}. Close that program.`,
      device,
      { kind: 'microphone' },
    );
  if (/Permission denied|EACCES|not authorized|access denied/i.test(text))
    return new DeviceError(
      'DEVICE_PERMISSION',
      source.kind === 'alsa' || source.kind === 'pulse'
        ? `no permission to open ${label}${quote}: add your user to the "audio" group (\`sudo usermod -aG audio $USER\`, then log in again).`
        : `no permission to open ${label}${quote}: allow microphone access for this terminal in the OS privacy settings.`,
      device,
      { kind: 'microphone' },
    );
  if (
    /cannot open audio device|No such file or directory|No such device|not found|Invalid value for card|Connection refused|Could not find audio|Invalid device index|Unknown input format|I\/O error|Input\/output error/i.test(
      text,
    )
  )
    return new DeviceError('DEVICE_NOT_FOUND', `${label} not found or cannot be opened${quote}.`, device, {
      kind: 'microphone',
    });
  return undefined;
}

/**
 * Captures sound through ffmpeg (a microphone, a file's own audio, or the test tone) as 16-bit PCM at
 * 48 kHz, cuts it into exact 10 ms chunks and emits them paced in real time from a bounded buffer: a few
 * chunks are buffered before sending starts (ffmpeg writes in bursts), a full buffer drops its oldest chunk
 * and an empty one pauses sending until it refills, both counted. The test tone is gated into a beep each
 * second by the wall clock at the moment a chunk is sent, the same clock that draws the flash into the
 * test pattern's frames.
 *
 * A separate ffmpeg from the video's: a microphone can fail, or be turned off (`--no-audio`), without
 * touching the camera, and each pipe carries one kind of data at its own cadence.
 *
 * @example
 * const audio = new AudioCapture({ source: { kind: 'alsa', device: 'default' }, ffmpegPath });
 * audio.on('data', (chunk) => audioSource.onData(chunk));
 * audio.on('ended', (err) => shutdown(err));
 * await audio.start();
 */
export class AudioCapture extends TypedEmitter<AudioCaptureEvents> {
  readonly #options: ResolvedAudioCaptureOptions;
  readonly #log = logger('audio').extend(String(++instances));
  readonly #chunker: AudioChunker;
  #ffmpeg: FfmpegProcess | undefined;
  #startPromise: Promise<void> | undefined;
  #stopPromise: Promise<void> | undefined;
  #stopping = false;
  #timer: NodeJS.Timeout | undefined;
  /** When each chunk goes out, and which stale ones are dropped. */
  readonly #pacer: AudioPacer;
  #firstData: (() => void) | undefined;
  #sourceEnded = false;
  #endedEmitted = false;
  readonly #counters = { chunksSent: 0, underruns: 0, chunksLate: 0 };

  /** @throws TypeError on invalid options. */
  constructor(options: AudioCaptureOptions) {
    super();
    this.#options = resolveAudioCaptureOptions(options);
    this.#chunker = new AudioChunker({
      sampleRate: this.#options.sampleRate,
      channels: this.#options.channels,
      maxQueued: this.#options.maxQueuedChunks,
    });
    this.#pacer = new AudioPacer({
      prebufferChunks: this.#options.prebufferChunks,
      maxCatchUpMs: MAX_CATCH_UP_MS,
    });
  }

  /** What is captured, in words (`microphone default (ALSA)`, `test tone`). */
  get label(): string {
    return audioSourceLabel(this.#options.source);
  }

  /** The sound emitted: its rate and channels. */
  get format(): { sampleRate: number; channels: number } {
    const { sampleRate, channels } = this.#options;
    return { sampleRate, channels };
  }

  /** Chunks sent, dropped, and buffer underruns. */
  get stats(): AudioCaptureStats {
    return {
      chunksSent: this.#counters.chunksSent,
      chunksDropped: this.#chunker.stats.chunksDropped + this.#counters.chunksLate,
      underruns: this.#counters.underruns,
    };
  }

  /**
   * Starts ffmpeg and resolves once the first chunk is sent. Rejects with a {@link DeviceError} naming a
   * missing, busy or forbidden microphone, or an {@link FfmpegError} (code `NO_AUDIO_STREAM` for a file
   * without sound).
   */
  start(): Promise<void> {
    this.#startPromise ??= this.#doStart();
    return this.#startPromise;
  }

  async #doStart(): Promise<void> {
    const { source, ffmpegPath, channels } = this.#options;
    this.#log('starting %s, %d channel(s)', audioSourceLabel(source), channels);
    const ffmpeg = new FfmpegProcess({
      ffmpegPath,
      args: buildAudioCaptureArgs(this.#options),
      name: 'audio-capture',
      onOutput: (bytes) => this.#onOutput(bytes),
    });
    this.#ffmpeg = ffmpeg;
    await startCapturing(ffmpeg, {
      what: `audio capture of ${audioSourceLabel(source)}`,
      unit: 'chunk',
      delivered: new Promise<void>((resolve) => (this.#firstData = resolve)),
      explain: (tail) => this.#startError(tail),
      started: () => {
        ffmpeg.on('exit', (code, signal, tail) => this.#onExit(code, signal, tail));
        this.#timer = setInterval(() => this.#tick(), TICK_MS);
      },
      stillDelivering: async () => {
        // a short file may end before its first chunk was paced out: let the pacer drain first
        await new Promise((r) => setTimeout(r, TICK_MS * 2));
        return this.#counters.chunksSent > 0 || this.#chunker.queued > 0;
      },
    });
    this.#log('first chunk sent');
  }

  #startError(tail: string[]): Error | undefined {
    const { source } = this.#options;
    const device = audioDeviceErrorFromStderr(source, tail);
    if (device) return device;
    if (source.kind === 'file' && tail.some((l) => /matches no streams/.test(l)))
      return new FfmpegError('NO_AUDIO_STREAM', `file ${source.path} has no audio track.`, {
        stderr: tail,
        path: source.path,
      });
    return undefined;
  }

  #onOutput(bytes: Buffer): void {
    this.#chunker.push(bytes);
  }

  /** The real-time pacer: sends every chunk that is due, from the buffer (see AudioPacer). */
  #tick(): void {
    if (this.#stopping) return;
    const now = performance.now();
    const wasRunning = this.#pacer.running;
    const step = this.#pacer.tick(now, this.#chunker.queued, this.#sourceEnded);
    if (!wasRunning && step.send === 0) {
      if (this.#sourceEnded && this.#chunker.queued === 0) this.#finishEnded();
      return;
    }
    // Stale (their time passed during a stall of node) or excess (the source runs ahead of the clock):
    // dropped, counted, so that what is sent stays on time.
    for (let i = 0; i < step.drop; i++) if (this.#chunker.take()) this.#counters.chunksLate++;
    const { sampleRate, channels } = this.#options;
    for (const dueAt of step.dueAtMs) {
      const samples = this.#chunker.take();
      if (!samples) break;
      if (this.#options.source.kind === 'test-tone') {
        // The wall-clock time this chunk is due, without the pacer's timer jitter.
        applyBeep(samples, channels, sampleRate, Date.now() - (now - dueAt));
      }
      this.#counters.chunksSent++;
      this.emit('data', {
        samples,
        sampleRate,
        bitsPerSample: 16,
        channelCount: channels,
        numberOfFrames: this.#chunker.frames,
      });
      if (this.#firstData) {
        this.#firstData();
        this.#firstData = undefined;
      }
    }
    if (step.underrun) {
      this.#counters.underruns++;
      this.#log('buffer ran dry (%d so far): waiting for ffmpeg', this.#counters.underruns);
    }
  }

  #onExit(code: number | null, signal: NodeJS.Signals | null, tail: string[]): void {
    if (this.#stopping) return;
    const { source } = this.#options;
    if (code === 0 && source.kind === 'file') {
      // Send what is left, the last partial chunk faded out and padded; then 'ended'.
      this.#log('file ended');
      this.#chunker.end();
      this.#sourceEnded = true;
      return;
    }
    if (this.#counters.chunksSent === 0) return; // start() rejects instead
    const err =
      audioDeviceErrorFromStderr(source, tail) ??
      ffmpegDied(`audio capture of ${audioSourceLabel(source)}: ffmpeg`, code, signal, tail);
    this.#log('ended: %s', err.message);
    this.#clearTimer();
    this.#endedEmitted = true;
    this.emit('ended', err);
  }

  #finishEnded(): void {
    if (this.#endedEmitted) return;
    this.#endedEmitted = true;
    this.#clearTimer();
    this.emit('ended');
  }

  #clearTimer(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Stops ffmpeg (`q`, then SIGTERM, then SIGKILL) and the pacer. Idempotent; concurrent callers share one promise. */
  stop(): Promise<void> {
    this.#stopPromise ??= (async () => {
      this.#stopping = true;
      this.#clearTimer();
      await this.#ffmpeg?.stop();
      this.#log('stopped: %o', this.stats);
      this.removeAllListeners();
    })();
    return this.#stopPromise;
  }
}
