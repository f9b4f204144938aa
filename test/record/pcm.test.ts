import { describe, expect, it } from 'vitest';
import { convertPcm } from '../../src/record/pcm.js';

describe('convertPcm', () => {
  it('mixes stereo to mono, duplicates mono to stereo, resamples 16 kHz to 48 kHz', () => {
    expect([...convertPcm(Int16Array.from([100, 300, -100, -300]), 48_000, 2, 1)]).toEqual([200, -200]);
    expect([...convertPcm(Int16Array.from([5, 7]), 48_000, 1, 2)]).toEqual([5, 5, 7, 7]);
    const up = convertPcm(Int16Array.from([0, 300, 600]), 16_000, 1, 1);
    expect([...up]).toEqual([0, 100, 200, 300, 400, 500, 600, 600, 600]);
  });
});
