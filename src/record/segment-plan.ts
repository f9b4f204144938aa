/**
 * Where a segmented recording is cut: segment boundaries as slots of the video timeline (and the audio
 * sample each one falls on), derived from the segment's index and never accumulated, so that segment 10,000
 * starts exactly where 10,000 segment lengths say. Pure: unit-tested over simulated days.
 */
import { RECORDER_SAMPLE_RATE } from './types.js';

/**
 * The cut points of a recording on its constant-rate timeline (see `VideoTimeline`): every segment is a whole
 * number of frame slots, `round(segmentSec * fps)`, and begins at `k` times that slot count after the
 * recording's start. Audio is cut on the sample where the slot begins, `round(slot * 48000 / fps)`, so the
 * two tracks of a file end together and the sound is continuous across files. Without `segmentSec`, one
 * segment that never ends.
 *
 * @example
 * const plan = new SegmentPlan({ fps: 30, segmentSec: 600 });
 * plan.slotsPerSegment; // 18000
 * plan.nextBoundary(18000 * 3 + 5); // 72000: the start of segment 4
 * plan.audioFrameOfSlot(18000); // 28_800_000 (600 s at 48 kHz)
 */
export class SegmentPlan {
  readonly #fps: number;
  /** Slots per segment; Infinity when not segmenting. */
  readonly slotsPerSegment: number;

  /** @throws TypeError on invalid options. */
  constructor(options: { fps: number; segmentSec?: number | undefined }) {
    const { fps, segmentSec } = options;
    if (!(fps > 0)) throw new TypeError(`segment plan: fps must be > 0, got ${fps}`);
    if (segmentSec !== undefined && !(segmentSec * fps >= 1))
      throw new TypeError(`segment plan: a segment must hold at least one frame, got ${segmentSec} s`);
    this.#fps = fps;
    this.slotsPerSegment = segmentSec === undefined ? Infinity : Math.round(segmentSec * fps);
  }

  /** Whether the recording is cut at all. */
  get segmented(): boolean {
    return Number.isFinite(this.slotsPerSegment);
  }

  /** The index of the segment that slot `slot` belongs to (0 without segmenting). */
  segmentOf(slot: number): number {
    return this.segmented ? Math.floor(slot / this.slotsPerSegment) : 0;
  }

  /** The first slot after `slot` where a segment begins (Infinity without segmenting). */
  nextBoundary(slot: number): number {
    return this.segmented ? (this.segmentOf(slot) + 1) * this.slotsPerSegment : Infinity;
  }

  /** The audio frame (sample per channel, at `RECORDER_SAMPLE_RATE`) where slot `slot` begins. */
  audioFrameOfSlot(slot: number): number {
    return Number.isFinite(slot) ? Math.round((slot * RECORDER_SAMPLE_RATE) / this.#fps) : Infinity;
  }

  /** The slot that audio frame `frame` falls in (audio-only recordings are cut on the same slots). */
  slotOfAudioFrame(frame: number): number {
    return Math.floor((frame * this.#fps) / RECORDER_SAMPLE_RATE);
  }

  /** Milliseconds from the recording's start to where slot `slot` begins. */
  msOfSlot(slot: number): number {
    return (slot * 1000) / this.#fps;
  }
}
