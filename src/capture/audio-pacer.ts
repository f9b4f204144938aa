/**
 * When the captured sound's 10 ms chunks go out: on a schedule derived from one monotonic anchor (chunk `n`
 * is due at `anchor + n * 10 ms`, never by adding up intervals), with the buffer in front of it held near
 * its target level, so that the sound sent never falls further and further behind the clock. Pure: the
 * capture asks it at each tick what to send and what to drop; unit-tested over simulated hours.
 *
 * Why: a pacer that slides its schedule after a stall of node (sending at most the last 100 ms of what was
 * due, then going on from there) keeps the skipped sound in its buffer; each long stall leaves the buffer,
 * and the latency of every later chunk, that much higher, for good (up to the buffer's bound). The
 * receiver's lip sync then holds the video back to match the late sound. A microphone whose clock runs a
 * little fast fills the buffer the same way, slowly.
 */

/** Options of an {@link AudioPacer}. */
export interface AudioPacerOptions {
  /** Length of a chunk, ms. Default: 10. */
  chunkMs?: number;
  /** Chunks buffered before sending starts (and again after the buffer ran dry): the target level. */
  prebufferChunks: number;
  /** After a stall, at most this much of what was due is sent at once, ms; the rest is dropped. Default: 100. */
  maxCatchUpMs?: number;
  /** Chunks above the target the buffer may keep for a whole window before the excess is dropped. Default: 2. */
  slackChunks?: number;
  /** The window over which the buffer's lowest level is watched, ms. Default: 2000. */
  windowMs?: number;
}

/** What to do at a tick. */
export interface PacerStep {
  /** Chunks to drop from the front of the buffer first (stale: their time passed during a stall, or excess). */
  drop: number;
  /** Then chunks to send, the oldest first; `dueAtMs[i]` is when the i-th was due (for the beep's clock). */
  send: number;
  dueAtMs: number[];
  /** The buffer ran dry: sending pauses until it holds `prebufferChunks` again. */
  underrun: boolean;
}

/**
 * The real-time schedule of a chunked audio stream.
 *
 * @example
 * const pacer = new AudioPacer({ prebufferChunks: 3 });
 * setInterval(() => {
 *   const step = pacer.tick(performance.now(), chunker.queued);
 *   for (let i = 0; i < step.drop; i++) chunker.take();
 *   for (let i = 0; i < step.send; i++) emit(chunker.take());
 * }, 5);
 */
export class AudioPacer {
  readonly #chunkMs: number;
  readonly #prebuffer: number;
  readonly #maxCatchUp: number;
  readonly #slack: number;
  readonly #windowMs: number;
  /** `now` of chunk 0 of the current run; undefined while (pre)buffering. */
  #anchor: number | undefined;
  /** Chunks of the current run whose slot has passed (sent or dropped). */
  #slots = 0;
  #windowStart = 0;
  #windowMin = Infinity;

  /** @throws TypeError on invalid options. */
  constructor(options: AudioPacerOptions) {
    const { chunkMs = 10, prebufferChunks, maxCatchUpMs = 100, slackChunks = 2, windowMs = 2000 } = options;
    if (!(chunkMs > 0)) throw new TypeError(`audio pacer: chunkMs must be > 0, got ${chunkMs}`);
    if (!Number.isInteger(prebufferChunks) || prebufferChunks < 1)
      throw new TypeError(`audio pacer: prebufferChunks must be an integer >= 1, got ${prebufferChunks}`);
    if (!(maxCatchUpMs >= chunkMs))
      throw new TypeError(`audio pacer: maxCatchUpMs must be >= chunkMs, got ${maxCatchUpMs}`);
    this.#chunkMs = chunkMs;
    this.#prebuffer = prebufferChunks;
    this.#maxCatchUp = Math.floor(maxCatchUpMs / chunkMs);
    this.#slack = slackChunks;
    this.#windowMs = windowMs;
  }

  /** Whether a run is going (false while (pre)buffering). */
  get running(): boolean {
    return this.#anchor !== undefined;
  }

  /**
   * What to do at `now` (a monotonic ms clock) with `queued` chunks in the buffer; `ended`: the source has
   * ended, so what is left goes out without waiting for a full prebuffer.
   */
  tick(now: number, queued: number, ended = false): PacerStep {
    const none: PacerStep = { drop: 0, send: 0, dueAtMs: [], underrun: false };
    if (this.#anchor === undefined) {
      if (queued < this.#prebuffer && !(ended && queued > 0)) return none;
      this.#anchor = now;
      this.#slots = 0;
      this.#windowStart = now;
      this.#windowMin = Infinity;
    }
    const anchor = this.#anchor;
    // slots due by now, from the anchor: floor((now - anchor) / chunk) + 1 of them in all
    let due = Math.floor((now - anchor) / this.#chunkMs) + 1 - this.#slots;
    let drop = 0;
    if (due > this.#maxCatchUp) {
      // a stall: the oldest slots' time is gone; their chunks are dropped, not kept to lag behind
      const skipped = due - this.#maxCatchUp;
      drop = Math.min(skipped, queued);
      this.#slots += skipped;
      due = this.#maxCatchUp;
    }
    let left = queued - drop;
    // the buffer's lowest level over a window: what stays above the target for that long is excess
    this.#windowMin = Math.min(this.#windowMin, left);
    if (now - this.#windowStart >= this.#windowMs) {
      const excess = this.#windowMin - this.#prebuffer;
      if (excess > this.#slack && left >= excess) {
        drop += excess;
        left -= excess;
      }
      this.#windowStart = now;
      this.#windowMin = Infinity;
    }
    const send = Math.max(0, Math.min(due, left));
    const dueAtMs: number[] = [];
    for (let i = 0; i < send; i++) dueAtMs.push(anchor + (this.#slots + i) * this.#chunkMs);
    this.#slots += send;
    const underrun = send < due && !ended;
    // ran dry (or the source ended and all went out): buffer again before the next run
    if (send < due) this.#anchor = undefined;
    return { drop, send, dueAtMs, underrun };
  }
}
