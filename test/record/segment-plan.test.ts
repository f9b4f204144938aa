import { describe, expect, it } from 'vitest';
import { SegmentPlan } from '../../src/record/segment-plan.js';
import { VideoTimeline } from '../../src/record/video-timeline.js';

describe('SegmentPlan', () => {
  it('rejects a segment shorter than a frame', () => {
    expect(() => new SegmentPlan({ fps: 30, segmentSec: 0.01 })).toThrow(TypeError);
    expect(() => new SegmentPlan({ fps: 0, segmentSec: 10 })).toThrow(TypeError);
  });

  it('without segments: one segment that never ends', () => {
    const plan = new SegmentPlan({ fps: 30 });
    expect(plan.segmented).toBe(false);
    expect(plan.segmentOf(10 ** 9)).toBe(0);
    expect(plan.nextBoundary(0)).toBe(Infinity);
    expect(plan.audioFrameOfSlot(Infinity)).toBe(Infinity);
  });

  it('10 min segments at 30 fps: 18000 slots and 28.8 M samples each, boundaries from the index', () => {
    const plan = new SegmentPlan({ fps: 30, segmentSec: 600 });
    expect(plan.slotsPerSegment).toBe(18_000);
    expect(plan.nextBoundary(0)).toBe(18_000);
    expect(plan.nextBoundary(17_999)).toBe(18_000);
    expect(plan.nextBoundary(18_000)).toBe(36_000);
    expect(plan.audioFrameOfSlot(18_000)).toBe(28_800_000);
    expect(plan.msOfSlot(18_000)).toBe(600_000);
  });

  it('a week of 10 s segments at a rate with no whole samples per frame: every segment exact, no drift', () => {
    // 7 days, 24 fps is the easy case; 29.97 fps (30000/1001) gives 1601.6 samples per frame
    for (const fps of [24, 30, 30_000 / 1001]) {
      const plan = new SegmentPlan({ fps, segmentSec: 10 });
      const slots = plan.slotsPerSegment;
      expect(slots).toBe(Math.round(10 * fps));
      const segments = Math.floor((7 * 86_400) / 10);
      let audioTotal = 0;
      let worst = 0;
      let wrongLength = 0;
      let worstStartMs = 0;
      for (let k = 0; k < segments; k++) {
        const from = k * slots;
        const to = plan.nextBoundary(from);
        if (to - from !== slots) wrongLength++;
        const audio = plan.audioFrameOfSlot(to) - plan.audioFrameOfSlot(from);
        audioTotal += audio;
        // each segment's sound is its picture's length, to the sample
        worst = Math.max(worst, Math.abs(audio - (slots * 48_000) / fps));
        // and it starts where k segment lengths say, not where k additions of a rounded length would
        worstStartMs = Math.max(worstStartMs, Math.abs(plan.msOfSlot(from) - (k * slots * 1000) / fps));
      }
      expect(wrongLength).toBe(0);
      expect(worstStartMs).toBeLessThan(1e-6);
      expect(worst).toBeLessThanOrEqual(1);
      // after a week the sound is still within a sample of the picture
      expect(Math.abs(audioTotal - (segments * slots * 48_000) / fps)).toBeLessThanOrEqual(1);
    }
  });

  it('a simulated day of arrivals on the video timeline: every segment holds exactly its slots', () => {
    // Frames every 33.3 ms with +-10 ms of jitter for 24 h, 1 h segments: the timeline places them by
    // arrival, the plan cuts it; each segment gets 108000 slots, the last frame of a segment is never the
    // first of the next.
    const fps = 30;
    const plan = new SegmentPlan({ fps, segmentSec: 3600 });
    const timeline = new VideoTimeline({ fps, frameSize: 4, maxQueued: 8 });
    const perSegment = new Map<number, number>();
    const firstIdOf = new Map<number, number>();
    const lastIdOf = new Map<number, number>();
    let seed = 1;
    const jitter = (): number => ((seed = (seed * 16_807) % 2_147_483_647) / 2_147_483_647 - 0.5) * 20;
    const total = 24 * 3600 * fps;
    for (let id = 0; id < total; id++) {
      timeline.add(Math.max(0, (id * 1000) / fps + jitter()), (buf) =>
        new DataView(buf.buffer).setUint32(0, id),
      );
      for (;;) {
        const slot = timeline.slotsWritten;
        const seg = plan.segmentOf(slot);
        const buf = timeline.next(slot === seg * plan.slotsPerSegment);
        if (!buf) break;
        const shown = new DataView(buf.buffer).getUint32(0);
        perSegment.set(seg, (perSegment.get(seg) ?? 0) + 1);
        if (!firstIdOf.has(seg)) firstIdOf.set(seg, shown);
        lastIdOf.set(seg, shown);
        timeline.wrote(buf);
      }
    }
    expect(timeline.framesDropped).toBe(0);
    for (let seg = 0; seg < 23; seg++) {
      expect(perSegment.get(seg)).toBe(108_000);
      expect(firstIdOf.get(seg + 1)).toBe((lastIdOf.get(seg) ?? -2) + 1);
    }
  });
});
