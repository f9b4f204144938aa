/**
 * The recording's video timeline: frames placed on constant-rate slots by their arrival time, the bounded
 * queue of frames waiting for ffmpeg, and the pool of frame buffers they live in. Pure (no I/O): the
 * recorder copies frames in and writes what {@link VideoTimeline.next} gives out; unit-tested.
 */

import { BufferPool } from '../util/buffer-pool.js';

/** Options of a {@link VideoTimeline}. */
export interface VideoTimelineOptions {
  /** Slots per second. */
  fps: number;
  /** Bytes of one frame (I420: `width * height * 3 / 2`). */
  frameSize: number;
  /** Frames queued for the writer before the oldest is dropped (counted). */
  maxQueued: number;
  /**
   * How long the frames that come after a stall are held before they are placed, ms (0: placed as they
   * come). See {@link VideoTimeline}. Default 0.
   */
  burstHoldMs?: number;
}

/**
 * How many slots a frame may be placed after its arrival slot when earlier slots are taken (4 at 30 fps:
 * 133 ms). Bounds the timing error of a spread burst; a steady rate above fps still drops.
 */
export const MAX_LEAD_SLOTS = 4;

/**
 * Frames on a constant-rate timeline.
 *
 * - A frame goes to the slot of its arrival, `round(offset * fps)`, or just after the previous frame when
 *   that slot is taken: a burst (a busy CPU) is spread over the next slots instead of lost, up to
 *   {@link MAX_LEAD_SLOTS} ahead of the wall clock. Further ahead, frames come faster than fps: dropped.
 * - After a stall (no frame for two slots or more), with `burstHoldMs`, the frames that come are held that
 *   long before they are placed: a packet repaired late (a NACK's retransmission) releases the frames that
 *   waited for it all at once, and they belong to the stall's slots, not after it. The newest goes to its
 *   arrival slot, the earlier ones to the slots before it, back to the first slot of the stall (not yet
 *   written: the writer waits for the next frame); frames beyond the stall's slots and the lead are
 *   dropped, the oldest first. Frames that come spread out stay at their arrival slots.
 * - Slots without a new frame repeat the previous one (before the first, the first), and {@link endAt} holds
 *   the last frame up to the end, so the file's duration is the wall clock's.
 * - At most `maxQueued` frames wait for the writer (beyond, the oldest is dropped), in at most
 *   `maxQueued + 3` buffers (the queue, the one being written, the previous one kept for repeats).
 *
 * @example
 * const timeline = new VideoTimeline({ fps: 30, frameSize, maxQueued: 8 });
 * timeline.add(arrivalMs - startMs, (buf) => buf.set(frame.data));
 * for (let buf = timeline.next(); buf; buf = timeline.next()) { write(buf); timeline.wrote(buf); }
 */
export class VideoTimeline {
  readonly #fps: number;
  readonly #maxQueued: number;
  /** Slot of the last accepted frame. */
  #lastSlot = -1;
  /** Slots written so far (the next slot to write is `#written`). */
  #written = 0;
  /** The slot the timeline ends at, once {@link endAt} was called. */
  #endSlot: number | undefined;
  readonly #queue: { buf: Uint8Array; slot: number; due: number }[] = [];
  readonly #holdMs: number;
  /** While frames after a stall are held: the stall's first slot, and the offset at which they are placed. */
  #hold: { from: number; untilMs: number } | undefined;
  /** The queue, the frame being written, the previous frame kept for repeats. */
  readonly #pool: BufferPool<Uint8Array>;
  /** The last frame written, kept to repeat it over gaps. */
  #previous: Uint8Array | undefined;
  #framesWritten = 0;
  #framesDropped = 0;

  /** @throws TypeError on invalid options. */
  constructor(options: VideoTimelineOptions) {
    const { fps, frameSize, maxQueued, burstHoldMs = 0 } = options;
    if (!(fps > 0)) throw new TypeError(`video timeline: fps must be > 0, got ${fps}`);
    if (!Number.isInteger(frameSize) || frameSize < 1)
      throw new TypeError(`video timeline: frameSize must be a positive integer, got ${frameSize}`);
    if (!Number.isInteger(maxQueued) || maxQueued < 1)
      throw new TypeError(`video timeline: maxQueued must be an integer >= 1, got ${maxQueued}`);
    if (!(burstHoldMs >= 0))
      throw new TypeError(`video timeline: burstHoldMs must be >= 0, got ${burstHoldMs}`);
    this.#holdMs = burstHoldMs;
    this.#fps = fps;
    this.#maxQueued = maxQueued;
    this.#pool = new BufferPool(Uint8Array, frameSize, maxQueued + 3);
  }

  /**
   * Places a frame that arrived `offsetMs` after the timeline's start; `fill` copies it into the buffer it
   * is given (`frameSize` bytes). Returns false when the frame is dropped (counted). While frames after a
   * stall are held ({@link holding}), call {@link settle} once their time is up.
   */
  add(offsetMs: number, fill: (buf: Uint8Array) => void): boolean {
    this.settle(offsetMs);
    const due = Math.round((offsetMs * this.#fps) / 1000);
    if (this.#hold === undefined && this.#holdMs > 0 && this.#lastSlot >= 0 && due >= this.#lastSlot + 3)
      this.#hold = { from: this.#lastSlot + 1, untilMs: offsetMs + this.#holdMs };
    // Held frames are placed by settle(); until then they wait in the queue, past the lead limit.
    if (this.#hold === undefined && this.#lastSlot + 1 - due > MAX_LEAD_SLOTS) {
      this.#framesDropped++;
      return false;
    }
    const slot = Math.max(due, this.#lastSlot + 1);
    const buf = this.#acquire();
    if (!buf) {
      this.#framesDropped++;
      return false;
    }
    fill(buf);
    this.#lastSlot = slot;
    this.#queue.push({ buf, slot, due });
    if (this.#queue.length > this.#maxQueued) {
      const old = this.#queue.shift();
      if (old) this.#release(old.buf);
      this.#framesDropped++;
    }
    return true;
  }

  /** The offset (ms from the start) at which held frames are to be placed, while some are. */
  get holding(): number | undefined {
    return this.#hold?.untilMs;
  }

  /**
   * Places the frames held after a stall once `offsetMs` reaches their time (see {@link VideoTimeline}):
   * the newest at its arrival slot, the others in the slots before it, back to the stall's first slot.
   * Returns whether it placed them (the writer then has slots to write).
   */
  settle(offsetMs: number): boolean {
    const hold = this.#hold;
    if (hold === undefined || offsetMs < hold.untilMs) return false;
    this.#hold = undefined;
    const start = this.#queue.findIndex((q) => q.slot >= hold.from);
    if (start < 0) return true;
    const held = this.#queue.splice(start);
    const newest = held.at(-1)!.due;
    // The slots they may take: the stall's first up to the lead limit past the newest's arrival.
    const room = newest + MAX_LEAD_SLOTS - hold.from + 1;
    for (const old of held.splice(0, Math.max(0, held.length - room))) {
      this.#release(old.buf);
      this.#framesDropped++;
    }
    // From the newest back: each at its arrival slot, or just before the next one when that is taken (a
    // burst); then forward, none before the stall's first slot and each after the one before.
    let next = newest + 1;
    for (let i = held.length - 1; i >= 0; i--) next = held[i]!.slot = Math.min(held[i]!.due, next - 1);
    let previous = hold.from - 1;
    for (const q of held) previous = q.slot = Math.max(q.slot, previous + 1);
    this.#queue.push(...held);
    this.#lastSlot = held.at(-1)!.slot;
    return true;
  }

  /**
   * The buffer to write into the next slot: the previous frame again over a gap, the next queued frame in
   * its slot, or the last frame held up to the end; undefined when there is nothing to write (yet). Pass it
   * to {@link wrote} once it is written, before asking for the next one. With `firstOfFile`, the next frame
   * is taken before its slot rather than the previous one repeated.
   */
  next(firstOfFile = false): Uint8Array | undefined {
    const next = this.#queue[0];
    // Frames held after a stall are not placed yet: the stall's slots wait for them.
    if (this.#hold !== undefined && (next === undefined || next.slot >= this.#hold.from)) return undefined;
    // A gap: repeat the previous frame until the next one's slot (before the first, show the first). The
    // first slot of a file (a segment) takes the next frame early instead: the previous one is the last of
    // the file before, and showing it again would put one frame in two files (after a stall the picture
    // then freezes on the next frame rather than on the previous one, for as long).
    const pull = firstOfFile && next !== undefined;
    if (next && this.#written < next.slot && !pull) return this.#previous ?? next.buf;
    if (next) {
      this.#queue.shift();
      this.#framesWritten++;
      return next.buf;
    }
    if (this.#endSlot !== undefined && this.#previous && this.#written < this.#endSlot) return this.#previous;
    return undefined;
  }

  /** `buf`, from {@link next}, is written: one more slot in the file. */
  wrote(buf: Uint8Array): void {
    this.#written++;
    if (buf !== this.#previous) {
      const old = this.#previous;
      this.#previous = buf;
      if (old) this.#release(old);
    }
  }

  /**
   * Ends the timeline `offsetMs` after its start, and at least one slot after the last frame. Returns the
   * slot it ends at (the slot count of the finished timeline).
   */
  endAt(offsetMs: number): number {
    if (this.#hold !== undefined) this.settle(this.#hold.untilMs);
    this.#endSlot = Math.max(this.#lastSlot + 1, Math.round((offsetMs * this.#fps) / 1000));
    return this.#endSlot;
  }

  /** Drops the queued frames (the writer failed). */
  clear(): void {
    this.#hold = undefined;
    for (const q of this.#queue.splice(0)) this.#release(q.buf);
  }

  /** Slots written: the frames in the file so far, repeats included. */
  get slotsWritten(): number {
    return this.#written;
  }

  /** Distinct frames handed to the writer. */
  get framesWritten(): number {
    return this.#framesWritten;
  }

  /** Frames dropped: too far ahead of the clock, or pushed out of the queue. */
  get framesDropped(): number {
    return this.#framesDropped;
  }

  /** Frame buffers allocated so far (at most `maxQueued + 3`). */
  get buffersAllocated(): number {
    return this.#pool.allocated;
  }

  #acquire(): Uint8Array | undefined {
    const buf = this.#pool.take();
    if (buf) return buf;
    // Every buffer is out: take the oldest queued frame's.
    const old = this.#queue.shift();
    if (old) this.#framesDropped++;
    // the oldest queued frame may be the one being repeated: then drop the new frame instead
    return old?.buf === this.#previous ? undefined : old?.buf;
  }

  #release(buf: Uint8Array): void {
    if (buf !== this.#previous) this.#pool.give(buf);
  }
}
