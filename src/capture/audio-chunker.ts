/**
 * Cuts a byte stream of 16-bit little-endian PCM (ffmpeg's `s16le` stdout) into exact 10 ms chunks, the only
 * size wrtc's `RTCAudioSource.onData` accepts, with a bounded queue to the consumer: when the consumer falls
 * behind, the oldest chunk is dropped and counted. At the end of the stream the last partial chunk is faded
 * out and padded with silence, so the consumer never sees a partial chunk and the sound ends without a click.
 * Pure: no I/O, unit-tested.
 */

/** Options of {@link AudioChunker}. Defaults live in {@link AUDIO_CHUNKER_DEFAULTS}. */
export interface AudioChunkerOptions {
  /** Samples per second per channel. Default: 48000. */
  sampleRate?: number;
  /** Interleaved channels (1 mono, 2 stereo). Default: 1. */
  channels?: number;
  /** Chunk length in milliseconds (wrtc wants 10). Default: 10. */
  chunkMs?: number;
  /** Complete chunks kept for the consumer before the oldest is dropped. Default: 50 (half a second). */
  maxQueued?: number;
}

/** Defaults of {@link AudioChunkerOptions}, in one place. */
export const AUDIO_CHUNKER_DEFAULTS = {
  sampleRate: 48_000,
  channels: 1,
  chunkMs: 10,
  maxQueued: 50,
} as const;

/** Samples (per channel) faded out at the end of a stream that stops mid-chunk: 2.5 ms at 48 kHz. */
const FADE_SAMPLES = 120;

/**
 * Exact-size PCM chunks out of arbitrary byte pushes: odd byte counts (a sample split between two pushes)
 * are carried over.
 *
 * @example
 * const chunker = new AudioChunker({ channels: 1 });
 * stdout.on('data', (bytes) => chunker.push(bytes));
 * stdout.on('end', () => chunker.end());
 * // every 10 ms:
 * const samples = chunker.take(); // Int16Array of 480 samples, or undefined
 */
export class AudioChunker {
  /** Samples (per channel) in one chunk: `sampleRate * chunkMs / 1000`. */
  readonly frames: number;
  /** Bytes in one chunk. */
  readonly chunkBytes: number;
  readonly sampleRate: number;
  readonly channels: number;
  /** Chunks completed, chunks dropped because the consumer fell behind, silence samples padded at the end. */
  readonly stats = { chunksRead: 0, chunksDropped: 0, paddedSamples: 0 };
  readonly #maxQueued: number;
  readonly #queue: Int16Array[] = [];
  #filling: Uint8Array;
  #filled = 0;
  #ended = false;

  /** @throws TypeError on invalid options (a chunk must hold a whole number of samples). */
  constructor(options: AudioChunkerOptions = {}) {
    const { sampleRate, channels, chunkMs, maxQueued } = { ...AUDIO_CHUNKER_DEFAULTS, ...options };
    if (!Number.isInteger(sampleRate) || sampleRate < 8000 || sampleRate > 192_000)
      throw new TypeError(`AudioChunker: sampleRate must be an integer in [8000, 192000], got ${sampleRate}`);
    if (channels !== 1 && channels !== 2)
      throw new TypeError(`AudioChunker: channels must be 1 or 2, got ${channels}`);
    const frames = (sampleRate * chunkMs) / 1000;
    if (!Number.isInteger(frames) || frames <= 0)
      throw new TypeError(
        `AudioChunker: ${chunkMs} ms at ${sampleRate} Hz is not a whole number of samples; use 10 ms`,
      );
    if (!Number.isInteger(maxQueued) || maxQueued < 1)
      throw new TypeError(`AudioChunker: maxQueued must be an integer >= 1, got ${maxQueued}`);
    this.sampleRate = sampleRate;
    this.channels = channels;
    this.frames = frames;
    this.chunkBytes = frames * channels * 2;
    this.#maxQueued = maxQueued;
    this.#filling = new Uint8Array(this.chunkBytes);
  }

  /** Complete chunks waiting for the consumer. */
  get queued(): number {
    return this.#queue.length;
  }

  /** Bytes of the partial chunk being filled. */
  get pendingBytes(): number {
    return this.#filled;
  }

  /** True once {@link end} was called. */
  get isEnded(): boolean {
    return this.#ended;
  }

  /** Feeds bytes; completed chunks are queued (dropping the oldest beyond `maxQueued`). Ignored after `end()`. */
  push(bytes: Uint8Array): void {
    if (this.#ended) return;
    let offset = 0;
    while (offset < bytes.length) {
      const n = Math.min(this.chunkBytes - this.#filled, bytes.length - offset);
      this.#filling.set(bytes.subarray(offset, offset + n), this.#filled);
      this.#filled += n;
      offset += n;
      if (this.#filled === this.chunkBytes) this.#complete();
    }
  }

  /**
   * End of stream: a partial chunk is completed with silence after a short fade-out of its last samples (an
   * odd trailing byte, half a sample, is discarded). Whole chunks already queued are kept.
   */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    const sampleBytes = 2 * this.channels;
    const whole = this.#filled - (this.#filled % sampleBytes);
    if (whole === 0) {
      this.#filled = 0;
      return;
    }
    this.#filling.fill(0, whole);
    const samples = this.#view(this.#filling);
    const framesHeld = whole / sampleBytes;
    const fade = Math.min(FADE_SAMPLES, framesHeld);
    for (let i = 0; i < fade; i++) {
      const frame = framesHeld - fade + i;
      const gain = (fade - i) / (fade + 1);
      for (let c = 0; c < this.channels; c++) {
        const k = frame * this.channels + c;
        samples[k] = Math.round((samples[k] ?? 0) * gain);
      }
    }
    this.stats.paddedSamples += this.frames - framesHeld;
    this.#filled = this.chunkBytes;
    this.#complete();
  }

  /** The oldest queued chunk (`frames * channels` interleaved samples), or undefined. The caller owns it. */
  take(): Int16Array | undefined {
    return this.#queue.shift();
  }

  #complete(): void {
    this.#queue.push(this.#view(this.#filling));
    this.stats.chunksRead++;
    this.#filling = new Uint8Array(this.chunkBytes);
    this.#filled = 0;
    if (this.#queue.length > this.#maxQueued) {
      this.#queue.shift();
      this.stats.chunksDropped++;
    }
  }

  #view(bytes: Uint8Array): Int16Array {
    // s16le read in place: every platform node and wrtc run on (x64, arm64) is little-endian.
    return new Int16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 2);
  }
}
