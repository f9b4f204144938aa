import { readBarcode } from '../capture/barcode.js';

/** Latency percentiles in milliseconds over the most recent samples. */
export interface LatencyPercentiles {
  p50: number;
  p95: number;
  p99: number;
  /** Samples the percentiles are computed over (at most the meter's capacity). */
  count: number;
}

/**
 * Frame-in to frame-out latency from the barcode the test pattern draws into each frame: the sender's
 * wall-clock time (ms mod 2^32) read back from the decoded frame and compared with this machine's clock.
 * Meaningful only when sender and receiver share a clock (the same machine).
 *
 * Keeps the last `capacity` samples in a ring (older ones are overwritten and counted in `overwritten`),
 * so memory does not grow with the call.
 */
export class LatencyMeter {
  readonly #samples: Float64Array;
  #next = 0;
  #count = 0;
  /** The samples since the last {@link interval} (at most `capacity`; beyond, the newest are not kept). */
  readonly #interval: Float64Array;
  #intervalCount = 0;
  /** Frames without a readable barcode (not the test pattern, or damaged). */
  unreadable = 0;
  /** Samples pushed out of the ring by newer ones. */
  overwritten = 0;

  constructor(capacity = 4096) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new TypeError(`capacity must be a positive integer, not ${capacity}`);
    this.#samples = new Float64Array(capacity);
    this.#interval = new Float64Array(capacity);
  }

  /** Reads the barcode of a decoded I420 frame (its Y plane comes first) and records the latency. */
  addFrame(
    frame: { width: number; height: number; data: Uint8Array | Uint8ClampedArray },
    nowMs = Date.now(),
  ): void {
    const payload = readBarcode(frame.data, frame.width, frame.height);
    if (!payload) {
      this.unreadable++;
      return;
    }
    // Both clocks are mod 2^32 ms; the difference is taken mod 2^32 too, so the wrap-around (every ~50 days)
    // does not matter.
    const latency = (nowMs - payload.timestampMs) >>> 0;
    if (latency > 60_000) {
      this.unreadable++; // not from this clock: another machine, or a damaged code that passed the checksum
      return;
    }
    this.add(latency);
  }

  /** Records one latency sample in ms. */
  add(ms: number): void {
    if (this.#count === this.#samples.length) this.overwritten++;
    else this.#count++;
    this.#samples[this.#next] = ms;
    this.#next = (this.#next + 1) % this.#samples.length;
    if (this.#intervalCount < this.#interval.length) this.#interval[this.#intervalCount++] = ms;
  }

  /** Percentiles over the samples in the ring (nearest-rank), or undefined before the first sample. */
  percentiles(): LatencyPercentiles | undefined {
    return nearestRank(this.#samples.slice(0, this.#count));
  }

  /**
   * Percentiles over the samples since the previous call (the last stats interval), then starts a new
   * interval; undefined when none came. Unlike the rolling window of {@link percentiles}, a drift shows in
   * it at once.
   */
  interval(): LatencyPercentiles | undefined {
    const samples = this.#interval.slice(0, this.#intervalCount);
    this.#intervalCount = 0;
    return nearestRank(samples);
  }
}

/** Nearest-rank percentiles of `samples` (sorted in place), or undefined when empty. */
function nearestRank(samples: Float64Array): LatencyPercentiles | undefined {
  if (samples.length === 0) return undefined;
  const sorted = samples.sort();
  const at = (p: number): number =>
    sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] ?? 0;
  return { p50: at(0.5), p95: at(0.95), p99: at(0.99), count: sorted.length };
}
