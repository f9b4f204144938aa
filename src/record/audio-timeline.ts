/**
 * The recording's audio timeline: sound placed on the video's clock by its arrival, silence where none came,
 * sound far ahead of the clock dropped. Its position is the sample count written. Pure (no I/O): it writes
 * through a {@link PcmOutput}; unit-tested.
 */
import { RECORDER_SAMPLE_RATE } from './types.js';

/** Audio that arrives this much later than the samples written so far, persistently, is a gap: silence fills it. */
export const AUDIO_GAP_MS = 40;
/** Audio this much ahead of the wall clock (more sound than time passed) is dropped. */
export const AUDIO_AHEAD_MS = 200;
/** Arrival time over which a lag must persist to count as a gap (a burst after an event-loop stall is not one). */
export const AUDIO_GAP_WINDOW_MS = 100;

/** Where an {@link AudioTimeline} writes. */
export interface PcmOutput {
  /** Writes interleaved samples; returns false when the output is full and they were dropped. */
  write(samples: Int16Array): boolean;
  /** Writes `frames` frames (samples per channel) of silence. */
  silence(frames: number): void;
}

/** Options of an {@link AudioTimeline}. */
export interface AudioTimelineOptions {
  /** Channels of the samples placed (interleaved). */
  channels: number;
  /** Where the timeline writes. */
  output: PcmOutput;
}

/**
 * Sound on the recording's clock, at `RECORDER_SAMPLE_RATE`.
 *
 * The first chunk is placed by its arrival (silence before it, from the start). Later chunks wait
 * {@link AUDIO_GAP_WINDOW_MS} (by arrival) before they are written, so that a lag is judged over the chunks
 * that came after it too: a burst after an event-loop stall catches up by itself (its last chunks are on
 * time), while sound that really stopped for a while leaves every later chunk late by the same amount, and
 * that much silence goes in before them. {@link padTo} ends it with silence up to the end.
 *
 * @example
 * const timeline = new AudioTimeline({ channels: 1, output: { write, silence } });
 * timeline.place(samples, arrivalMs - startMs);
 * // at the end:
 * timeline.flush();
 * timeline.padTo(endMs - startMs);
 */
export class AudioTimeline {
  readonly #channels: number;
  readonly #output: PcmOutput;
  /** Frames (samples per channel) written, silence included. */
  #written = 0;
  /** Whether a chunk of real sound has been placed yet. */
  #placed = false;
  /** Chunks waiting {@link AUDIO_GAP_WINDOW_MS} before they are written, with their due position. */
  readonly #pending: { samples: Int16Array; due: number }[] = [];
  #silenceFrames = 0;
  #droppedChunks = 0;

  /** @throws TypeError on invalid options. */
  constructor(options: AudioTimelineOptions) {
    if (!Number.isInteger(options.channels) || options.channels < 1)
      throw new TypeError(`audio timeline: channels must be a positive integer, got ${options.channels}`);
    this.#channels = options.channels;
    this.#output = options.output;
  }

  /** Places a chunk that arrived `offsetMs` after the recording's start (ignored before the start). */
  place(samples: Int16Array, offsetMs: number): void {
    if (offsetMs < 0) return;
    const due = frames(offsetMs);
    if (!this.#placed) {
      // the first sound: silence before it, from the start (or from the silence written at the start)
      this.#placed = true;
      this.silence(due - this.#written);
    }
    const pendingFrames = this.#pending.reduce((n, p) => n + p.samples.length, 0) / this.#channels;
    if (due - (this.#written + pendingFrames) < -frames(AUDIO_AHEAD_MS)) {
      this.#droppedChunks++;
      return;
    }
    this.#pending.push({ samples, due });
    const oldest = this.#pending[0];
    if (oldest && due - oldest.due >= frames(AUDIO_GAP_WINDOW_MS)) this.#writePending(false);
  }

  /** Writes every chunk still waiting (at the end). */
  flush(): void {
    this.#writePending(true);
  }

  /** Silence up to `offsetMs` after the start, the end of the recording (nothing if the sound reaches it). */
  padTo(offsetMs: number): void {
    this.silence(frames(offsetMs) - this.#written);
  }

  /** Writes `count` frames of silence now (nothing for `count <= 0`). */
  silence(count: number): void {
    if (count <= 0) return;
    this.#output.silence(count);
    this.#written += count;
    this.#silenceFrames += count;
  }

  /** Frames written, silence included: the length of the sound so far. */
  get framesWritten(): number {
    return this.#written;
  }

  /** Frames of silence written (at the start, in gaps, up to the end). */
  get silenceFrames(): number {
    return this.#silenceFrames;
  }

  /** Chunks dropped: ahead of the clock, or refused by a full output. */
  get droppedChunks(): number {
    return this.#droppedChunks;
  }

  /** Writes the pending chunks that have waited long enough (all of them with `all`), filling gaps first. */
  #writePending(all: boolean): void {
    const window = frames(AUDIO_GAP_WINDOW_MS);
    for (;;) {
      const newest = this.#pending.at(-1);
      const oldest = this.#pending[0];
      if (!oldest || !newest || (!all && newest.due - oldest.due < window)) return;
      let pos = this.#written;
      let minLag = Infinity;
      for (const p of this.#pending) {
        minLag = Math.min(minLag, p.due - pos);
        pos += p.samples.length / this.#channels;
      }
      if (minLag > frames(AUDIO_GAP_MS)) this.silence(minLag);
      this.#pending.shift();
      if (this.#output.write(oldest.samples)) this.#written += oldest.samples.length / this.#channels;
      // a full output: dropped (the next chunks' lag then brings silence in its place)
      else this.#droppedChunks++;
    }
  }
}

/** Frames of `ms` milliseconds at the recording's rate (exact for the constants above; rounded for offsets). */
function frames(ms: number): number {
  return Math.round((ms * RECORDER_SAMPLE_RATE) / 1000);
}
