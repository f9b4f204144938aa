/**
 * The recording's video timeline without ffmpeg: frames are tagged with an id in their first byte, and what
 * the writer would write is read back slot by slot.
 */
import { describe, expect, test } from 'vitest';
import { MAX_LEAD_SLOTS, VideoTimeline } from '../../src/record/video-timeline.js';

const FPS = 30;
const SLOT_MS = 1000 / FPS;

function timeline(maxQueued = 8, burstHoldMs = 0): VideoTimeline {
  return new VideoTimeline({ fps: FPS, frameSize: 16, maxQueued, burstHoldMs });
}

/** Adds frame `id` arriving at `ms`; returns whether it was kept. */
const add = (t: VideoTimeline, id: number, ms: number): boolean => t.add(ms, (buf) => buf.fill(id));

/** Writes whatever is ready, as the recorder's pump does; returns the id in each slot written. */
function drain(t: VideoTimeline): number[] {
  const ids: number[] = [];
  for (let buf = t.next(); buf; buf = t.next()) {
    ids.push(buf[0] ?? -1);
    t.wrote(buf);
  }
  return ids;
}

describe('VideoTimeline', () => {
  test('a steady 30 fps stream: one frame per slot, in order', () => {
    const t = timeline();
    const written: number[] = [];
    for (let id = 0; id < 30; id++) {
      expect(add(t, id, id * SLOT_MS + (id % 3))).toBe(true);
      written.push(...drain(t));
    }
    expect(written).toEqual([...Array(30).keys()]);
    expect([t.slotsWritten, t.framesWritten, t.framesDropped]).toEqual([30, 30, 0]);
  });

  test('a gap repeats the previous frame until the next one is due', () => {
    const t = timeline();
    add(t, 1, 0);
    add(t, 2, 10 * SLOT_MS);
    expect(drain(t)).toEqual([1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2]);
    expect(t.framesWritten).toBe(2);
  });

  test('a frame that is not in slot 0 is shown from the start', () => {
    const t = timeline();
    add(t, 7, 3 * SLOT_MS);
    expect(drain(t)).toEqual([7, 7, 7, 7]);
  });

  test(`a burst after a stall is spread over the next slots, up to ${MAX_LEAD_SLOTS} ahead; beyond, dropped`, () => {
    const t = timeline();
    add(t, 0, 0);
    drain(t);
    // 8 frames arrive at once at slot 10 (they were held up for ~270 ms): slots 10..14 take the first five.
    for (let id = 1; id <= 8; id++) add(t, id, 10 * SLOT_MS);
    expect(t.framesDropped).toBe(8 - (MAX_LEAD_SLOTS + 1));
    t.endAt(15 * SLOT_MS);
    expect(drain(t)).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5]);
  });

  describe('with burstHoldMs: the frames after a stall', () => {
    const HOLD = 150;

    test('a burst a late packet released goes back into the stall: none dropped, the newest at its arrival', () => {
      const t = timeline(16, HOLD);
      for (let id = 0; id < 10; id++) add(t, id, id * SLOT_MS);
      expect(drain(t)).toEqual([...Array(10).keys()]);
      // Frames 10..17 were held up by a lost packet: nothing from slot 10 to 17, then all eight at slot 17.
      for (let id = 10; id <= 17; id++) expect(add(t, id, 17 * SLOT_MS + (id - 10) * 2)).toBe(true);
      expect(t.holding).toBe(17 * SLOT_MS + HOLD);
      // Held: the stall's slots are not written with repeats meanwhile; frames 18..21 come on time.
      for (let id = 18; id <= 21; id++) add(t, id, id * SLOT_MS);
      expect(drain(t)).toEqual([]);
      expect(t.settle(17 * SLOT_MS + HOLD - 1)).toBe(false);
      expect(t.settle(17 * SLOT_MS + HOLD)).toBe(true);
      expect(t.holding).toBeUndefined();
      expect(drain(t)).toEqual([10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21]);
      expect([t.slotsWritten, t.framesWritten, t.framesDropped]).toEqual([22, 22, 0]);
    });

    test('frames that come spread out after a stall keep their arrival slots (the stall repeats the last)', () => {
      const t = timeline(16, HOLD);
      add(t, 0, 0);
      drain(t);
      // The sender paused: nothing for 10 slots, then frames at their rate again.
      for (let id = 1; id <= 6; id++) add(t, id, (9 + id) * SLOT_MS);
      t.settle(10 * SLOT_MS + HOLD);
      expect(drain(t)).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6]);
    });

    test('a burst larger than the stall: the slots from the stall to the lead limit, the oldest dropped', () => {
      const t = timeline(32, HOLD);
      add(t, 0, 0);
      drain(t);
      // A stall of slots 1 and 2, then 12 frames at slot 3: slots 1..3 + the lead (4) = 7 frames kept.
      for (let id = 1; id <= 12; id++) add(t, id, 3 * SLOT_MS);
      t.endAt(3 * SLOT_MS);
      expect(drain(t)).toEqual([6, 7, 8, 9, 10, 11, 12]);
      expect(t.framesDropped).toBe(5);
    });

    test('a burst of frames, some due later than others: order kept, none before the stall', () => {
      const t = timeline(16, HOLD);
      add(t, 0, 0);
      drain(t);
      // After a stall from slot 1: four frames at slot 4, one at slot 7 (while they are held).
      for (let id = 1; id <= 4; id++) add(t, id, 4 * SLOT_MS);
      add(t, 5, 7 * SLOT_MS);
      t.settle(4 * SLOT_MS + HOLD);
      expect(drain(t)).toEqual([1, 2, 3, 4, 4, 4, 5]);
    });

    test('endAt places what is held', () => {
      const t = timeline(16, HOLD);
      add(t, 0, 0);
      drain(t);
      for (let id = 1; id <= 3; id++) add(t, id, 5 * SLOT_MS);
      expect(drain(t)).toEqual([]);
      t.endAt(6 * SLOT_MS);
      expect(drain(t)).toEqual([0, 0, 1, 2, 3]);
      expect(t.holding).toBeUndefined();
    });

    test('the queue stays bounded while frames are held, the oldest dropped and counted', () => {
      const t = timeline(4, HOLD);
      add(t, 0, 0);
      drain(t);
      for (let id = 1; id <= 10; id++) add(t, id, 20 * SLOT_MS);
      expect(t.buffersAllocated).toBeLessThanOrEqual(4 + 3);
      t.settle(20 * SLOT_MS + HOLD);
      const ids = drain(t);
      expect(ids.slice(-4)).toEqual([7, 8, 9, 10]);
      expect(t.framesWritten + t.framesDropped).toBe(11);
    });
  });

  test('endAt holds the last frame to the end, and ends at least one slot after it', () => {
    const t = timeline();
    add(t, 1, 0);
    add(t, 2, SLOT_MS);
    t.endAt(5 * SLOT_MS);
    expect(drain(t)).toEqual([1, 2, 2, 2, 2]);
    const early = timeline();
    add(early, 1, 0);
    add(early, 2, 3 * SLOT_MS);
    early.endAt(SLOT_MS);
    expect(drain(early)).toEqual([1, 1, 1, 2]);
  });

  test('a stalled writer: the queue and the buffers stay bounded, the oldest frames go, counted', () => {
    const t = timeline(4);
    add(t, 0, 0);
    const first = t.next()!;
    // The writer takes frame 0 and stalls on it; 100 frames come meanwhile.
    for (let id = 1; id <= 100; id++) add(t, id, id * SLOT_MS);
    expect(t.buffersAllocated).toBeLessThanOrEqual(4 + 3);
    expect(first[0]).toBe(0);
    t.wrote(first);
    // What is left is the newest frames, in order, each once; frame 0 repeats over the slots of the lost ones.
    const ids = drain(t);
    expect(ids).toHaveLength(100);
    expect([...new Set(ids)]).toEqual([0, 97, 98, 99, 100]);
    expect(t.framesWritten + t.framesDropped).toBe(101);
  });

  test('the frame being repeated is never overwritten by a new one', () => {
    const t = timeline(1);
    add(t, 1, 0);
    const buf = t.next()!;
    t.wrote(buf);
    // The queue (1) and the spare buffers fill up; then a new frame must not take frame 1's buffer.
    for (let id = 2; id <= 10; id++) add(t, id, id * SLOT_MS);
    expect(buf[0]).toBe(1);
    expect(t.buffersAllocated).toBeLessThanOrEqual(1 + 3);
  });

  test('clear() drops what is queued', () => {
    const t = timeline();
    add(t, 1, 0);
    add(t, 2, SLOT_MS);
    t.clear();
    expect(t.next()).toBeUndefined();
  });

  test('invalid options are a TypeError', () => {
    expect(() => new VideoTimeline({ fps: 0, frameSize: 16, maxQueued: 1 })).toThrow(TypeError);
    expect(() => new VideoTimeline({ fps: 30, frameSize: 0, maxQueued: 1 })).toThrow(TypeError);
    expect(() => new VideoTimeline({ fps: 30, frameSize: 16, maxQueued: 0 })).toThrow(TypeError);
    expect(() => new VideoTimeline({ fps: 30, frameSize: 16, maxQueued: 1, burstHoldMs: -1 })).toThrow(
      TypeError,
    );
  });
});
