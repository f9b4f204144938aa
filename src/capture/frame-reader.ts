/**
 * Cuts a byte stream (ffmpeg's raw I420 stdout) into exact frames, into a small pool of preallocated
 * buffers, with a bounded queue to the consumer: when the consumer falls behind, the oldest queued frame is
 * dropped (latest wins) and counted. Pure: no I/O, unit-tested.
 */

import { BufferPool } from '../util/buffer-pool.js';

/** The most scratch memory a skipped frame's bytes are read into at a time. */
const SCRATCH_BYTES = 64 * 1024;

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
  /** Where the bytes of a skipped frame go (allocated the first time one is skipped). */
  #scratch: Uint8Array | undefined;

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
    for (let offset = 0; offset < chunk.length;) {
      const room = this.writable();
      const n = Math.min(room.length, chunk.length - offset);
      room.set(chunk.subarray(offset, offset + n));
      this.commit(n);
      offset += n;
    }
  }

  /**
   * Where the next bytes go, for a reader that reads straight into it (a pipe read with `onread`, no copy):
   * the rest of the frame being filled, or, while a frame is being skipped for want of a buffer, scratch
   * memory no longer than what is left of that frame. Say how many bytes were written with {@link commit}.
   */
  writable(): Uint8Array {
    if (this.#filling === undefined) this.#filling = this.#acquire();
    const left = this.#frameSize - this.#filled;
    if (this.#filling === null) {
      this.#scratch ??= new Uint8Array(Math.min(this.#frameSize, SCRATCH_BYTES));
      return this.#scratch.subarray(0, Math.min(left, this.#scratch.length));
    }
    const f = this.#filling;
    return new Uint8Array(f.buffer, f.byteOffset + this.#filled, left);
  }

  /** `bytes` were written at the start of the last {@link writable}; a frame they complete is queued. */
  commit(bytes: number): void {
    if (!Number.isInteger(bytes) || bytes < 0 || this.#filled + bytes > this.#frameSize)
      throw new RangeError(`FrameReader: commit(${bytes}) with ${this.#frameSize - this.#filled} bytes left`);
    this.#filled += bytes;
    if (this.#filled < this.#frameSize) return;
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
