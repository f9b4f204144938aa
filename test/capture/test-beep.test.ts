import { describe, expect, it } from 'vitest';
import {
  applyBeep,
  beepGain,
  flashAt,
  readFlash,
  TEST_BEEP,
  writeFlash,
} from '../../src/capture/test-beep.js';

describe('test beep and flash', () => {
  it('a 100 ms beep on every whole second of the clock, with short ramps', () => {
    expect(TEST_BEEP.periodMs).toBe(1000);
    expect(beepGain(5000)).toBe(0);
    expect(beepGain(5001)).toBe(0.5);
    expect(beepGain(5050)).toBe(1);
    expect(beepGain(5099)).toBe(0.5);
    expect(beepGain(5100)).toBe(0);
    expect(beepGain(5500)).toBe(0);
    expect(flashAt(7030)).toBe(true);
    expect(flashAt(7130)).toBe(false);
  });

  it('applyBeep gates a tone by the time of each sample', () => {
    const samples = new Int16Array(480 * 2).fill(1000); // 20 ms stereo
    applyBeep(samples, 2, 48_000, 1095); // from 5 ms before the end of a beep
    expect(samples[0]).toBe(1000); // 1095 ms: inside
    expect(samples[2 * 48 * 4]).toBe(500); // 1099 ms: on the ramp
    expect(samples[2 * 48 * 6]).toBe(0); // 1101 ms: outside
    expect(samples[samples.length - 1]).toBe(0);
  });

  it('the flash block reads back as drawn, on and off', () => {
    const y = new Uint8Array(320 * 240).fill(128);
    writeFlash(y, 320, 240, true);
    expect(readFlash(y, 320, 240)).toBe(true);
    writeFlash(y, 320, 240, false);
    expect(readFlash(y, 320, 240)).toBe(false);
  });
});
