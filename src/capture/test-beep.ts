/**
 * The test pattern's sync marks: a short beep each second in the sound and, at the same moments, a white
 * block in the picture (the "flash"). Both are stamped in node from one clock, `Date.now()`, at the moment
 * the audio chunk or the video frame is handed to wrtc, so they leave the sender together whatever ffmpeg's
 * start-up and pipe delays; a recording then shows how far apart audio and video arrived. Pure: no I/O.
 *
 * The flash is a block in the bottom-right corner (a sixth of the height square), white during a beep and
 * black otherwise, so a reader can tell "no flash" from "no block".
 */
import { centralMean, fillRect, LUMA_BLACK, LUMA_WHITE, type Rect } from './luma.js';

/** Beep timing and pitch. A beep starts on every whole second of `Date.now()`. */
export const TEST_BEEP = { periodMs: 1000, durationMs: 100, frequencyHz: 1000 } as const;

/** Fade in/out at the beep's edges, ms: long enough to avoid clicks, short enough to keep a sharp onset. */
const RAMP_MS = 2;

/** Gain of the beep at wall-clock time `timeMs` (0 outside a beep, 1 inside, ramps at the edges). */
export function beepGain(timeMs: number): number {
  const phase = ((timeMs % TEST_BEEP.periodMs) + TEST_BEEP.periodMs) % TEST_BEEP.periodMs;
  if (phase >= TEST_BEEP.durationMs) return 0;
  return Math.min(1, phase / RAMP_MS, (TEST_BEEP.durationMs - phase) / RAMP_MS);
}

/** Whether a frame stamped at `timeMs` shows the flash: while a beep sounds. */
export function flashAt(timeMs: number): boolean {
  return beepGain(timeMs) > 0;
}

/**
 * Gates a continuous tone into beeps, in place: sample `i` (interleaved, `channels` per frame) is scaled by
 * the gain at `startMs + frame / sampleRate`.
 */
export function applyBeep(samples: Int16Array, channels: number, sampleRate: number, startMs: number): void {
  const frames = samples.length / channels;
  for (let f = 0; f < frames; f++) {
    const gain = beepGain(startMs + (f * 1000) / sampleRate);
    if (gain === 1) continue;
    for (let c = 0; c < channels; c++) {
      const k = f * channels + c;
      samples[k] = Math.round((samples[k] ?? 0) * gain);
    }
  }
}

function block(width: number, height: number): Rect {
  const side = Math.max(8, Math.floor(height / 6) & ~1);
  return [width - side, width, height - side, height];
}

/** Draws the flash block into a luma plane (`on`: white, else black). */
export function writeFlash(
  y: Uint8Array | Uint8ClampedArray,
  width: number,
  height: number,
  on: boolean,
): void {
  fillRect(y, width, block(width, height), on ? LUMA_WHITE : LUMA_BLACK);
}

/** Reads the flash block of a luma plane of any size (the central half of the block, averaged). */
export function readFlash(y: Uint8Array | Uint8ClampedArray, width: number, height: number): boolean {
  return centralMean(y, width, block(width, height)) >= (LUMA_WHITE + LUMA_BLACK) / 2;
}
