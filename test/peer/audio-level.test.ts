import { describe, expect, test } from 'vitest';
import { PeakMeter, toDbfs } from '../../src/peer/audio-level.js';

describe('PeakMeter', () => {
  test('the peak since the last reading, then a fresh interval', () => {
    const meter = new PeakMeter();
    expect(meter.take()).toBeUndefined();
    meter.add(Int16Array.from([0, 1000, -16384, 200]));
    meter.add(Int16Array.from([300, -5]));
    expect(meter.take()).toBeCloseTo(0.5);
    meter.add(new Int16Array(480));
    expect(meter.take()).toBe(0);
    expect(meter.take()).toBeUndefined();
  });

  test('a short beep between two readings is not missed', () => {
    const meter = new PeakMeter();
    for (let chunk = 0; chunk < 100; chunk++) {
      const samples = new Int16Array(480);
      if (chunk === 37) samples[100] = -32768;
      meter.add(samples);
    }
    expect(meter.take()).toBe(1);
  });

  test('dBFS for display', () => {
    expect(toDbfs(1)).toBe('0 dBFS');
    expect(toDbfs(0.5)).toBe('-6 dBFS');
    expect(toDbfs(0)).toBe('-inf dBFS');
  });
});
