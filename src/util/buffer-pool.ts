/**
 * A bounded pool of reusable byte buffers of one size: the fixed memory of a frame queue (the capture's
 * frame reader, the recording's video timeline). Pure.
 */

/**
 * At most `max` buffers of `size` bytes, made on demand and given back for reuse.
 *
 * @example
 * const pool = new BufferPool(Uint8Array, frameSize, 10);
 * const buf = pool.take() ?? recycleTheOldest(); // undefined: all of them are out
 * // ...
 * pool.give(buf);
 */
export class BufferPool<T extends Uint8Array | Uint8ClampedArray> {
  readonly #make: new (size: number) => T;
  readonly #size: number;
  readonly #max: number;
  readonly #free: T[] = [];
  #allocated = 0;

  /** @throws TypeError on a size or bound that is not a positive integer. */
  constructor(make: new (size: number) => T, size: number, max: number) {
    if (!Number.isInteger(size) || size < 1)
      throw new TypeError(`buffer pool: size must be a positive integer, got ${size}`);
    if (!Number.isInteger(max) || max < 1)
      throw new TypeError(`buffer pool: max must be a positive integer, got ${max}`);
    this.#make = make;
    this.#size = size;
    this.#max = max;
  }

  /** Buffers made so far (never more than `max`). */
  get allocated(): number {
    return this.#allocated;
  }

  /** A free buffer, or a new one while fewer than `max` exist; undefined when every one is out. */
  take(): T | undefined {
    const free = this.#free.pop();
    if (free) return free;
    if (this.#allocated >= this.#max) return undefined;
    this.#allocated++;
    return new this.#make(this.#size);
  }

  /** Gives a buffer back; one that is already back, or of another size, is ignored. */
  give(buf: T): void {
    if (buf.length === this.#size && !this.#free.includes(buf)) this.#free.push(buf);
  }
}
