/**
 * How large a picture we send, from what the link carries: the part of `degradationPreference` that
 * libwebrtc would do itself (its quality scaler and bitrate limits ask the source for fewer pixels) but that
 * wrtc's `RTCVideoSource` never hears, since it passes frames on without adapting them. Pure: give it one
 * stats sample at a time, get back the divisor of the capture's size to send (1, 2 or 4).
 *
 * The sizes per bitrate are libwebrtc's own (`MaximumFrameSizeForBitrate` in video_stream_encoder.cc: QVGA
 * below 300 kbit/s, VGA below 500), with one more step below {@link QUARTER_BELOW_KBPS}. The bitrate is the
 * congestion controller's estimate (`availableOutgoingBitrate` of the selected candidate pair) minus what
 * our sound takes of it. The first estimate decides at once (libwebrtc too scales down on its start bitrate,
 * before the first frame, rather than spend the call's first seconds on a picture the link cannot carry);
 * after it, down after {@link SendResolutionOptions.downAfterMs} below, and up one step at a time after
 * {@link SendResolutionOptions.upAfterMs} above the next size's limit with a 25 % margin, so that an
 * estimate near a limit does not switch sizes back and forth.
 */

/** Video bitrate (kbit/s) below which a quarter-size picture (160x120 of 640x480) is sent. */
export const QUARTER_BELOW_KBPS = 60;
/** The margin above a size's limit the estimate must keep before going up to it. */
const UP_MARGIN = 1.25;
/** Divisors of the capture's size, largest picture first. */
export const SEND_DIVISORS = [1, 2, 4] as const;
export type SendDivisor = (typeof SEND_DIVISORS)[number];

/** Options of a {@link SendResolution}. */
export interface SendResolutionOptions {
  /** The capture's size. */
  width: number;
  height: number;
  /** How long the estimate must stay below the current size's limit before going down, ms. Default 2000. */
  downAfterMs?: number;
  /** How long it must stay above the next size's (with the margin) before going up, ms. Default 10000. */
  upAfterMs?: number;
}

/** One stats sample, as {@link SendResolution.update} reads it. */
export interface SendSample {
  /** `performance.now()`-style time of the sample, ms. */
  atMs: number;
  /** The congestion controller's estimate of what we may send, kbit/s (undefined: none yet). */
  availableKbps?: number;
  /** What our sound takes of it, kbit/s. */
  audioKbps?: number;
}

/** The largest picture (in pixels) worth sending at `kbps` of video, libwebrtc's rule with one more step. */
export function maxPixelsFor(kbps: number): number {
  if (kbps < QUARTER_BELOW_KBPS) return 160 * 120;
  if (kbps < 300) return 320 * 240;
  if (kbps < 500) return 640 * 480;
  return Number.POSITIVE_INFINITY;
}

/**
 * Picks the size to send, sample by sample.
 *
 * @example
 * const resolution = new SendResolution({ width: 640, height: 480 });
 * // each stats tick:
 * const divisor = resolution.update({ atMs, availableKbps: 210, audioKbps: 40 }); // 2 once it held 2 s
 */
export class SendResolution {
  readonly #pixels: number;
  readonly #downAfterMs: number;
  readonly #upAfterMs: number;
  #divisor: SendDivisor = 1;
  /** Since when the estimate asks for a smaller picture, or a larger one (undefined: it does not). */
  #downSince?: number;
  #upSince?: number;
  /** Whether an estimate came yet (the first one decides without waiting). */
  #estimated = false;

  constructor(options: SendResolutionOptions) {
    const { width, height } = options;
    if (!(width > 0 && height > 0)) throw new TypeError(`send resolution: bad size ${width}x${height}`);
    this.#pixels = width * height;
    this.#downAfterMs = options.downAfterMs ?? 2000;
    this.#upAfterMs = options.upAfterMs ?? 10_000;
  }

  /** The divisor in force. */
  get divisor(): SendDivisor {
    return this.#divisor;
  }

  /** Sets the divisor in force (a switch that failed goes back), and forgets what was building up. */
  force(divisor: SendDivisor): void {
    this.#divisor = divisor;
    this.#downSince = this.#upSince = undefined;
  }

  /** Takes a sample; returns the divisor to send from now on (the same one until a change is due). */
  update(sample: SendSample): SendDivisor {
    const { atMs, availableKbps } = sample;
    if (availableKbps === undefined || !Number.isFinite(availableKbps)) return this.#divisor;
    const videoKbps = Math.max(0, availableKbps - (sample.audioKbps ?? 0));
    const wanted = this.#fitting(videoKbps);
    if (!this.#estimated) {
      this.#estimated = true;
      if (wanted > this.#divisor) this.force(wanted);
      return this.#divisor;
    }
    if (wanted > this.#divisor) {
      this.#upSince = undefined;
      this.#downSince ??= atMs;
      if (atMs - this.#downSince >= this.#downAfterMs) this.force(wanted);
      return this.#divisor;
    }
    this.#downSince = undefined;
    // Up one step, if the estimate carries that size with the margin.
    const up = this.#divisor === 1 ? undefined : ((this.#divisor / 2) as SendDivisor);
    if (up === undefined || this.#fitting(videoKbps / UP_MARGIN) > up) {
      this.#upSince = undefined;
      return this.#divisor;
    }
    this.#upSince ??= atMs;
    if (atMs - this.#upSince >= this.#upAfterMs) this.force(up);
    return this.#divisor;
  }

  /** The smallest divisor whose picture fits `kbps` (the largest one if none does). */
  #fitting(kbps: number): SendDivisor {
    const max = maxPixelsFor(kbps);
    for (const divisor of SEND_DIVISORS) if (this.#pixels / (divisor * divisor) <= max) return divisor;
    return SEND_DIVISORS[SEND_DIVISORS.length - 1] as SendDivisor;
  }
}
