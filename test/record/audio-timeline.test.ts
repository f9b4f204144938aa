/**
 * The recording's audio timeline without ffmpeg: 10 ms chunks of mono 48 kHz, each filled with its id, placed
 * by arrival; what is written is read back as runs of sound (by id) and silence.
 */
import { describe, expect, test } from 'vitest';
import { AUDIO_AHEAD_MS, AudioTimeline } from '../../src/record/audio-timeline.js';

const CHUNK = 480; // 10 ms at 48 kHz

/** A timeline on a fake output that records runs: `s<frames>` for silence, the id for a chunk of sound. */
function timeline(accept: () => boolean = () => true) {
  const written: (number | string)[] = [];
  const t = new AudioTimeline({
    channels: 1,
    output: {
      write: (samples) => {
        if (!accept()) return false;
        written.push(samples[0] ?? -1);
        return true;
      },
      silence: (frames) => written.push(`s${frames}`),
    },
  });
  const chunk = (id: number): Int16Array => new Int16Array(CHUNK).fill(id);
  return { t, written, place: (id: number, ms: number) => t.place(chunk(id), ms) };
}

describe('AudioTimeline', () => {
  test('the first sound is placed by its arrival: silence before it', () => {
    const { t, written, place } = timeline();
    place(1, 50);
    t.flush();
    expect(written).toEqual(['s2400', 1]);
    expect(t.silenceFrames).toBe(2400);
  });

  test('steady chunks: no silence between them, written once they have waited 100 ms', () => {
    const { t, written, place } = timeline();
    for (let id = 0; id < 20; id++) place(id, id * 10);
    // chunk 10 arrived 100 ms after chunk 0: chunks 0.. are written as the window passes, the rest wait
    expect(written).toEqual([...Array(10).keys()]);
    t.flush();
    expect(written).toEqual([...Array(20).keys()]);
    expect(t.framesWritten).toBe(20 * CHUNK);
    expect(t.silenceFrames).toBe(0);
  });

  test('a burst after an event-loop stall catches up by itself: no silence', () => {
    const { t, written, place } = timeline();
    for (let id = 0; id < 10; id++) place(id, id * 10);
    // chunks 10..17 were due at 100..170 ms and all arrive at 180 ms; then on time again
    for (let id = 10; id < 18; id++) place(id, 180);
    for (let id = 18; id < 40; id++) place(id, id * 10);
    t.flush();
    expect(written).toEqual([...Array(40).keys()]);
  });

  test('sound that stopped for 300 ms: that much silence before what comes after', () => {
    const { t, written, place } = timeline();
    for (let id = 0; id < 10; id++) place(id, id * 10);
    for (let id = 10; id < 30; id++) place(id, 300 + id * 10);
    t.flush();
    expect(written).toEqual([
      ...Array(10).keys(),
      `s${300 * 48}`,
      ...Array.from({ length: 20 }, (_, i) => 10 + i),
    ]);
  });

  test(`sound more than ${AUDIO_AHEAD_MS} ms ahead of the clock is dropped, counted`, () => {
    const { t, written, place } = timeline();
    // 60 chunks (600 ms of sound) arrive within 100 ms
    for (let id = 0; id < 60; id++) place(id, id * 1.6);
    t.flush();
    expect(t.droppedChunks).toBeGreaterThan(0);
    expect(written.length + t.droppedChunks).toBe(60);
    // what was kept is at most the time passed plus the allowance ahead
    expect(t.framesWritten).toBeLessThanOrEqual((100 + AUDIO_AHEAD_MS + 10) * 48);
  });

  test('an output that refuses (ffmpeg not reading): chunks dropped, counted; silence takes their place', () => {
    let open = true;
    const { t, written, place } = timeline(() => open);
    // chunk 10 comes 100 ms after chunk 0: chunk 0 is written; the others wait, and find the output full
    for (let id = 0; id <= 10; id++) place(id, id * 10);
    expect(written).toEqual([0]);
    open = false;
    t.flush();
    // The position did not move for the refused chunks; once they lag by more than a gap (40 ms), silence
    // fills it (written as silence, which ffmpeg buffers: it is small).
    expect(written).toEqual([0, 's2400']);
    expect(t.droppedChunks).toBe(10);
    expect(t.framesWritten).toBe(CHUNK + 2400);
  });

  test('padTo fills the end with silence; sound before the start is ignored', () => {
    const { t, written, place } = timeline();
    place(9, -5);
    place(1, 0);
    t.flush();
    t.padTo(100);
    expect(written).toEqual([1, `s${90 * 48}`]);
    expect(t.framesWritten).toBe(100 * 48);
    t.padTo(50);
    expect(t.framesWritten).toBe(100 * 48);
  });
});
