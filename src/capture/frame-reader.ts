/**
 * Cuts a byte stream (ffmpeg's raw I420 stdout) into exact frames, into a small pool of preallocated
 * buffers, with a bounded queue to the consumer: when the consumer falls behind, the oldest queued frame is
 * dropped (latest wins) and counted. Pure: no I/O, unit-tested.
 */

import { BufferPool } from '../util/buffer-pool.js';

/** Options of {@link FrameReader}. */
export interface FrameReaderOptions {
  /** Bytes per frame (`width * height * 3 / 2` for I420). Required. */
  frameSize: number;
  /** Complete frames kept for the consumer before the oldest is dropped. Default: 2. */
  maxQueued?: number;
}

/**
 * Frame splitter with a fixed memory footprint of `maxQueued + 2` frames (the queue, the frame being filled,
 * the frame the consumer holds).
 *
 * @example
 * const reader = new FrameReader({ frameSize: i420Size(640, 480) });
 * stdout.on('data', (chunk) => {
 *   reader.push(chunk);
 *   for (let f = reader.take(); f; f = reader.take()) { use(f); reader.release(f); }
 * });
 */
export class FrameReader {
  /** Frames completed, and frames dropped because the consumer fell behind. */
  readonly stats = { framesRead: 0, framesDropped: 0 };
  readonly #frameSize: number;
  readonly #maxQueued: number;
  /** The queue, the frame being filled, the frame the consumer holds. */
  readonly #pool: BufferPool<Uint8ClampedArray>;
  readonly #queue: Uint8ClampedArray[] = [];
  /** The frame being filled, or null while skipping the bytes of a frame there was no buffer for. */
  #filling: Uint8ClampedArray | null | undefined;
  #filled = 0;

  constructor(options: FrameReaderOptions) {
    const { frameSize, maxQueued = 2 } = options;
    if (!Number.isInteger(frameSize) || frameSize <= 0)
      throw new TypeError(`FrameReader: frameSize must be a positive integer, got ${frameSize}`);
    if (!Number.isInteger(maxQueued) || maxQueued < 1)
      throw new TypeError(`FrameReader: maxQueued must be an integer >= 1, got ${maxQueued}`);
    this.#frameSize = frameSize;
    this.#maxQueued = maxQueued;
    this.#pool = new BufferPool(Uint8ClampedArray, frameSize, maxQueued + 2);
  }

  /** Buffers allocated so far; never more than `maxQueued + 2`. */
  get allocatedBuffers(): number {
    return this.#pool.allocated;
  }

  /** Complete frames waiting for the consumer. */
  get queued(): number {
    return this.#queue.length;
  }

  /** Bytes of the partial frame being filled. */
  get pendingBytes(): number {
    return this.#filled;
  }

  /** Feeds bytes; completed frames are queued (dropping the oldest beyond `maxQueued`). */
  push(chunk: Uint8Array): void {
    let offset = 0;
    while (offset < chunk.length) {
      if (this.#filling === undefined) this.#filling = this.#acquire();
      const n = Math.min(this.#frameSize - this.#filled, chunk.length - offset);
      this.#filling?.set(chunk.subarray(offset, offset + n), this.#filled);
      this.#filled += n;
      offset += n;
      if (this.#filled === this.#frameSize) {
        if (this.#filling) {
          this.#queue.push(this.#filling);
          this.stats.framesRead++;
          if (this.#queue.length > this.#maxQueued) this.#dropOldest();
        } else {
          this.stats.framesRead++;
          this.stats.framesDropped++;
        }
        this.#filling = undefined;
        this.#filled = 0;
      }
    }
  }

  /** The oldest queued frame, or undefined. Give it back with {@link release} when done. */
  take(): Uint8ClampedArray | undefined {
    return this.#queue.shift();
  }

  /** Returns a frame from {@link take} to the pool. */
  release(frame: Uint8ClampedArray): void {
    this.#pool.give(frame);
  }

  #dropOldest(): void {
    const old = this.#queue.shift();
    if (old) {
      this.stats.framesDropped++;
      this.#pool.give(old);
    }
  }

  #acquire(): Uint8ClampedArray | null {
    const buf = this.#pool.take();
    if (buf) return buf;
    // The consumer holds more frames than planned: recycle the oldest queued one, or skip this frame.
    if (this.#queue.length > 0) {
      this.#dropOldest();
      return this.#pool.take() ?? null;
    }
    return null;
  }
}
