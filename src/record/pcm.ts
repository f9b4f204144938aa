/**
 * PCM conversion for the recording's audio: what `RTCAudioSink` delivers (NetEq starts at 16 kHz, a peer may
 * send stereo) into the file's one format. Pure: unit-tested.
 */
import { RECORDER_SAMPLE_RATE } from './types.js';

/**
 * Converts interleaved PCM to `RECORDER_SAMPLE_RATE` with `toChannels` channels: channels averaged or
 * duplicated, the rate changed by linear interpolation (enough for NetEq's first 16 kHz chunks of silence).
 * Always a new array: the caller may reuse `samples`.
 *
 * @example
 * convertPcm(Int16Array.from([100, 300, -100, -300]), 48_000, 2, 1); // Int16Array [200, -200]
 */
export function convertPcm(
  samples: Int16Array,
  sampleRate: number,
  channels: number,
  toChannels: number,
): Int16Array {
  const frames = samples.length / channels;
  let mixed: Int16Array;
  if (channels === toChannels) mixed = samples;
  else {
    mixed = new Int16Array(frames * toChannels);
    for (let f = 0; f < frames; f++) {
      let sum = 0;
      for (let c = 0; c < channels; c++) sum += samples[f * channels + c] ?? 0;
      const avg = Math.round(sum / channels);
      for (let c = 0; c < toChannels; c++)
        mixed[f * toChannels + c] = toChannels === channels ? (samples[f * channels + c] ?? 0) : avg;
    }
  }
  if (sampleRate === RECORDER_SAMPLE_RATE) return mixed === samples ? new Int16Array(samples) : mixed;
  const outFrames = Math.round((frames * RECORDER_SAMPLE_RATE) / sampleRate);
  const out = new Int16Array(outFrames * toChannels);
  for (let f = 0; f < outFrames; f++) {
    const pos = (f * sampleRate) / RECORDER_SAMPLE_RATE;
    const i = Math.floor(pos);
    const frac = pos - i;
    const j = Math.min(frames - 1, i + 1);
    for (let c = 0; c < toChannels; c++) {
      const a = mixed[i * toChannels + c] ?? 0;
      const b = mixed[j * toChannels + c] ?? 0;
      out[f * toChannels + c] = Math.round(a + (b - a) * frac);
    }
  }
  return out;
}
