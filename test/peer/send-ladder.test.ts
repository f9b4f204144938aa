/**
 * SendLadder with real wrtc video sources: each size's track carries frames of that size, and only while a
 * call acquired it (a size nobody sends costs no halving); stop() is idempotent. Sinks on the tracks read
 * what libwebrtc got.
 */
import wrtc from '@roamhq/wrtc';
import { afterEach, describe, expect, test } from 'vitest';
import { SendLadder } from '../../src/peer/send-ladder.js';

type Sink = InstanceType<typeof wrtc.nonstandard.RTCVideoSink>;
const sinks: Sink[] = [];
const ladders: SendLadder[] = [];
afterEach(() => {
  for (const sink of sinks.splice(0)) sink.stop();
  for (const ladder of ladders.splice(0)) ladder.stop();
});

/** Counts the frames (and their sizes) reaching a track. */
function watch(track: MediaStreamTrack): { sizes: string[] } {
  const seen = { sizes: [] as string[] };
  const sink = new wrtc.nonstandard.RTCVideoSink(track as never);
  sink.onframe = ({ frame }: { frame: { width: number; height: number } }) =>
    seen.sizes.push(`${frame.width}x${frame.height}`);
  sinks.push(sink);
  return seen;
}

/** A 640x480 I420 frame, mid grey. */
const frame = () => ({ width: 640, height: 480, data: new Uint8ClampedArray((640 * 480 * 3) / 2).fill(128) });
const settle = () => new Promise((resolve) => setTimeout(resolve, 100));

describe('SendLadder: the picture at its size and smaller', () => {
  test('the full size always; a half or a quarter only while a call sends it', async () => {
    const ladder = new SendLadder();
    ladders.push(ladder);
    const full = watch(ladder.track);
    const quarterTrack = ladder.acquire(4);
    const quarter = watch(quarterTrack);
    const half = watch(ladder.acquire(2));
    ladder.release(2); // the half is made (the quarter comes from it) but sent by nobody
    for (let i = 0; i < 3; i++) ladder.push(frame());
    await settle();
    expect(full.sizes).toEqual(['640x480', '640x480', '640x480']);
    expect(quarter.sizes).toEqual(['160x120', '160x120', '160x120']);
    expect(half.sizes).toEqual([]);
    expect(ladder.users).toEqual({ '1/2': 0, '1/4': 1 });

    ladder.release(4);
    ladder.release(4); // more releases than acquires: still 0
    ladder.push(frame());
    await settle();
    expect(quarter.sizes).toHaveLength(3);
    expect(full.sizes).toHaveLength(4);
    expect(ladder.users).toEqual({ '1/2': 0, '1/4': 0 });
    // A call acquiring the same size again gets the same track.
    expect(ladder.acquire(4)).toBe(quarterTrack);
  });

  test('stop() ends every track, twice is fine, and frames after it go nowhere', async () => {
    const ladder = new SendLadder();
    const full = watch(ladder.track);
    const half = ladder.acquire(2);
    ladder.stop();
    ladder.stop();
    ladder.push(frame());
    await settle();
    expect(full.sizes).toEqual([]);
    expect(ladder.track.readyState).toBe('ended');
    expect(half.readyState).toBe('ended');
  });
});
