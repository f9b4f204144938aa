/**
 * The picture we send, at the capture's size and at smaller ones: one `RTCVideoSource` (and its track) per
 * size, the smaller ones fed only while a call sends them. A call on a thin link switches its video sender to
 * a smaller size's track (`RTCRtpSender.replaceTrack`, see `send-resolution.ts` for when); the other calls,
 * each with its own link, keep theirs. This is what simulcast layers do for an SFU, done at the source for
 * each viewer of a peer-to-peer camera.
 */
import wrtc from '@roamhq/wrtc';
import type { VideoFrame } from '../capture/index.js';
import { halvedSize, halveI420 } from '../record/scale-i420.js';
import { SEND_DIVISORS, type SendDivisor } from './send-resolution.js';

interface Rung {
  source: InstanceType<typeof wrtc.nonstandard.RTCVideoSource>;
  track: MediaStreamTrack;
  /** Calls sending this size. */
  users: number;
  /** This size's frame, reused (wrtc's `onFrame` copies). */
  frame?: VideoFrame;
}

/**
 * Video sources for the capture's size and its halves and quarters.
 *
 * @example
 * const ladder = new SendLadder();
 * capture.on('frame', (frame) => ladder.push(frame));
 * pc.addTrack(ladder.track, stream);
 * await sender.replaceTrack(ladder.acquire(2)); // half size; ladder.release(1) for the one left
 */
export class SendLadder {
  readonly #rungs = new Map<SendDivisor, Rung>();
  #stopped = false;

  constructor() {
    this.#rungs.set(1, SendLadder.#rung());
  }

  static #rung(): Rung {
    const source = new wrtc.nonstandard.RTCVideoSource();
    return { source, track: source.createTrack(), users: 0 };
  }

  /** The capture's size: the track every call starts with. */
  get track(): MediaStreamTrack {
    return (this.#rungs.get(1) as Rung).track;
  }

  /** How many calls send each smaller size (for stats and tests). */
  get users(): Record<string, number> {
    const users: Record<string, number> = {};
    for (const [divisor, rung] of this.#rungs) if (divisor > 1) users[`1/${divisor}`] = rung.users;
    return users;
  }

  /** The track of the size `1/divisor` of the capture's, fed from now on until every call released it. */
  acquire(divisor: SendDivisor): MediaStreamTrack {
    // The sizes between too: the quarter is made from the half.
    for (const d of SEND_DIVISORS)
      if (d <= divisor && !this.#rungs.has(d)) this.#rungs.set(d, SendLadder.#rung());
    const rung = this.#rungs.get(divisor) as Rung;
    rung.users++;
    return rung.track;
  }

  /** A call no longer sends size `1/divisor` (releasing the capture's size does nothing: it is always fed). */
  release(divisor: SendDivisor): void {
    const rung = this.#rungs.get(divisor);
    if (rung && divisor > 1 && rung.users > 0) rung.users--;
  }

  /** A captured frame: to the capture's size, and halved (and halved again) for the sizes in use. */
  push(frame: VideoFrame): void {
    if (this.#stopped) return;
    const full = this.#rungs.get(1) as Rung;
    // wrtc's typings say Uint8Array; its native onFrame takes a Uint8ClampedArray too, and copies it, so the
    // capture may reuse the buffer as soon as this returns.
    full.source.onFrame(frame as unknown as Parameters<typeof full.source.onFrame>[0]);
    let needed = 0;
    for (const [divisor, rung] of this.#rungs) if (rung.users > 0) needed = Math.max(needed, divisor);
    let from = frame;
    for (const divisor of SEND_DIVISORS) {
      if (divisor === 1) continue;
      const rung = this.#rungs.get(divisor);
      if (divisor > needed || !rung) break;
      const size = halvedSize(from.width, from.height);
      if (size.width < 2 || size.height < 2) break;
      let out = rung.frame;
      if (!out || out.width !== size.width || out.height !== size.height) {
        out = { ...size, data: new Uint8ClampedArray((size.width * size.height * 3) / 2) };
        rung.frame = out;
      }
      halveI420(from.data, from.width, from.height, out.data);
      if (rung.users > 0) rung.source.onFrame(out as unknown as Parameters<typeof full.source.onFrame>[0]);
      from = out;
    }
  }

  /** Stops every size's track. Idempotent. */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    for (const rung of this.#rungs.values()) rung.track.stop();
  }
}

/** The size of a `width`x`height` picture divided by `divisor` (halved, rounded down to even, each time). */
export function sizeAt(
  width: number,
  height: number,
  divisor: SendDivisor,
): { width: number; height: number } {
  let size = { width, height };
  for (let d: number = divisor; d > 1; d /= 2) size = halvedSize(size.width, size.height);
  return size;
}
