/**
 * Which received audio chunk is the first sound. From the moment a remote audio track exists, libwebrtc's
 * NetEq hands the audio sink a 10 ms chunk every 10 ms: muted silence at its start-up rate (16 kHz) until the
 * first packet is decoded, then the decoder's output (48 kHz for Opus, whatever was sent). The first chunk
 * that is not that start-up silence, one at another rate or with a sample other than 0, is the first sound,
 * and its rate is the rate actually received.
 *
 * A codec decoding at the start-up rate that sends exact digital silence counts as sound only from its first
 * non-zero sample: the sink cannot tell the two silences apart.
 */

/** One chunk as `RTCAudioSink` delivers it. */
export interface AudioChunk {
  samples: Int16Array;
  sampleRate: number;
}

/**
 * True when `chunk` is the sink's start-up silence: at `startupRate` (the rate of the very first chunk) and
 * all zero.
 *
 * @example
 * startupRate ??= chunk.sampleRate;
 * if (!heard && !isStartupSilence(chunk, startupRate)) heard = true; // the first sound
 */
export function isStartupSilence(chunk: AudioChunk, startupRate: number): boolean {
  if (chunk.sampleRate !== startupRate) return false;
  for (const sample of chunk.samples) if (sample !== 0) return false;
  return true;
}
