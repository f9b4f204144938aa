/**
 * Which received audio chunk is the first sound. From the moment a remote audio track exists, libwebrtc's
 * NetEq hands the audio sink a 10 ms chunk every 10 ms: muted silence at its start-up rate (16 kHz) until the
 * first packet is decoded, then the decoder's output (48 kHz for Opus, whatever was sent). The first chunk
 * that is not that start-up silence, one at another rate or with a sample other than 0, is the first sound,
 * and its rate is the rate actually received.
 *
 * A chunk with sound at the start-up rate is taken as the first sound only once the rate holds for a few
 * chunks more ({@link FirstSound}): once in 40 calls (2026-12-04) a chunk at 16 kHz with a non-zero sample
 * came just before the decoded 48 kHz Opus, and the call said it received 16 kHz. A codec decoding at the
 * start-up rate that sends exact digital silence counts as sound only from its first non-zero sample: the
 * sink cannot tell the two silences apart.
 */

/** One chunk as `RTCAudioSink` delivers it. */
export interface AudioChunk {
  samples: Int16Array;
  sampleRate: number;
  channelCount?: number;
}

/** The first sound: its rate and channels, and when its first chunk came. */
export interface HeardSound {
  sampleRate: number;
  channels: number;
  atMs: number;
}

/** Chunks at the start-up rate after one with sound before that rate counts as the sound's (50 ms). */
export const CONFIRM_CHUNKS = 5;

/**
 * True when `chunk` is the sink's start-up silence: at `startupRate` (the rate of the very first chunk) and
 * all zero.
 */
export function isStartupSilence(chunk: AudioChunk, startupRate: number): boolean {
  if (chunk.sampleRate !== startupRate) return false;
  for (const sample of chunk.samples) if (sample !== 0) return false;
  return true;
}

/**
 * Finds the first sound in a sink's chunks, in order.
 *
 * @example
 * const first = new FirstSound();
 * sink.ondata = (chunk) => {
 *   const heard = first.push(chunk, performance.now());
 *   if (heard) emit('first-audio', heard.sampleRate, heard.channels, heard.atMs); // once
 * };
 */
export class FirstSound {
  #startupRate: number | undefined;
  /** Sound at the start-up rate, waiting for the rate to hold. */
  #candidate: { sound: HeardSound; chunks: number } | undefined;
  #done = false;

  /** The first sound, the one time it becomes known; undefined otherwise. */
  push(chunk: AudioChunk, nowMs: number): HeardSound | undefined {
    if (this.#done) return undefined;
    this.#startupRate ??= chunk.sampleRate;
    const sound = { sampleRate: chunk.sampleRate, channels: chunk.channelCount ?? 1, atMs: nowMs };
    // Another rate than the start-up one: the decoder is running.
    if (chunk.sampleRate !== this.#startupRate) return this.#heard(sound);
    if (this.#candidate !== undefined) {
      this.#candidate.chunks++;
      return this.#candidate.chunks >= CONFIRM_CHUNKS ? this.#heard(this.#candidate.sound) : undefined;
    }
    if (!isStartupSilence(chunk, this.#startupRate)) this.#candidate = { sound, chunks: 0 };
    return undefined;
  }

  #heard(sound: HeardSound): HeardSound {
    this.#done = true;
    this.#candidate = undefined;
    return sound;
  }
}
