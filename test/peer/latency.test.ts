import { describe, expect, test } from 'vitest';
import { writeBarcode } from '../../src/capture/barcode.js';
import { LatencyMeter } from '../../src/peer/latency.js';

function stampedFrame(width: number, height: number, timestampMs: number) {
  const data = new Uint8ClampedArray((width * height * 3) / 2).fill(128);
  writeBarcode(data, width, height, { frameId: 1, timestampMs: timestampMs >>> 0 });
  return { width, height, data };
}

describe('LatencyMeter', () => {
  test('reads the sender clock from the barcode and reports nearest-rank percentiles', () => {
    const meter = new LatencyMeter();
    const now = 1_700_000_000_000;
    for (let i = 1; i <= 100; i++) meter.addFrame(stampedFrame(640, 480, now - i), now);
    expect(meter.percentiles()).toEqual({ p50: 50, p95: 95, p99: 99, count: 100 });
    expect(meter.unreadable).toBe(0);
  });

  test('survives the 2^32 ms wrap of the clock', () => {
    const meter = new LatencyMeter();
    const sentAt = 2 ** 32 - 10; // just before the wrap
    meter.addFrame(stampedFrame(320, 240, sentAt), 2 ** 32 + 25);
    expect(meter.percentiles()?.p50).toBe(35);
  });

  test('frames without a barcode, or from another clock, are counted, not measured', () => {
    const meter = new LatencyMeter();
    meter.addFrame({ width: 640, height: 480, data: new Uint8ClampedArray(640 * 480 * 1.5) });
    meter.addFrame(stampedFrame(640, 480, Date.now() + 120_000));
    expect(meter.unreadable).toBe(2);
    expect(meter.percentiles()).toBeUndefined();
  });

  test('interval(): the samples since the last call only, so a drift shows at once', () => {
    const meter = new LatencyMeter(4096);
    for (let i = 0; i < 3000; i++) meter.add(40);
    expect(meter.interval()).toMatchObject({ p50: 40, count: 3000 });
    // latency creeps up by 8 ms: the next interval says so, the rolling window hardly moves
    for (let i = 0; i < 30; i++) meter.add(48);
    expect(meter.interval()).toMatchObject({ p50: 48, p99: 48, count: 30 });
    expect(meter.percentiles()?.p50).toBe(40);
    expect(meter.interval()).toBeUndefined();
  });

  test('memory is bounded: old samples are overwritten and counted', () => {
    const meter = new LatencyMeter(10);
    for (let i = 0; i < 25; i++) meter.add(i);
    expect(meter.overwritten).toBe(15);
    expect(meter.percentiles()).toMatchObject({ count: 10, p50: 19, p99: 24 });
  });
});
