/**
 * The receive bridge on tracks of this process's own wrtc sources (a sink works on a local track as on a
 * remote one), with the peer connection reduced to its `ontrack` slot: each kind gets one sink, however often
 * `ontrack` fires.
 */
import wrtc from '@roamhq/wrtc';
import { afterEach, describe, expect, test } from 'vitest';
import { CONFIRM_CHUNKS } from '../../src/peer/first-sound.js';
import { ReceiveBridge } from '../../src/peer/receive-bridge.js';
import type { AudioData, I420Frame, ReceivedTrack } from '../../src/record/index.js';
import { sleep, waitFor } from '../helpers/signal-server.js';

const open: Array<() => void> = [];
afterEach(() => {
  for (const close of open.splice(0).reverse()) close();
});

/** A peer connection as the bridge sees it: the slot it sets, and a way to fire it. */
function fakePc(): { pc: RTCPeerConnection; fire: (track: MediaStreamTrack) => void } {
  const pc = { ontrack: null } as unknown as RTCPeerConnection;
  return { pc, fire: (track) => pc.ontrack?.({ track } as RTCTrackEvent) };
}

function videoSource(): { track: MediaStreamTrack; send: () => void } {
  const source = new wrtc.nonstandard.RTCVideoSource();
  const track = source.createTrack();
  open.push(() => track.stop());
  const frame = { width: 160, height: 120, data: new Uint8Array(160 * 120 * 1.5).fill(60) };
  return { track, send: () => source.onFrame(frame) };
}

describe('ReceiveBridge', () => {
  test('ontrack fired again for the same track, or for a second one of its kind: one sink, one track', async () => {
    const { pc, fire } = fakePc();
    const bridge = new ReceiveBridge(pc);
    open.push(() => bridge.stop());
    const tracks: ReceivedTrack[] = [];
    bridge.on('track', (t) => tracks.push(t));
    const first = videoSource();
    const second = videoSource();
    fire(first.track);
    fire(first.track); // a renegotiation that fired it again
    fire(second.track); // another video track: the call records one
    expect(tracks.map((t) => t.kind)).toEqual(['video']);
    const delivered: I420Frame[] = [];
    tracks[0]!.on('frame', (frame) => delivered.push(frame));
    const firstFrames: Array<[number, number]> = [];
    bridge.on('first-frame', (w, h) => firstFrames.push([w, h]));
    for (let i = 0; i < 10; i++) {
      first.send();
      second.send();
      await sleep(20);
    }
    await waitFor('frames through the sink', () => (delivered.length >= 5 ? true : undefined), 5_000);
    // One sink: every frame counted once, and only the first track's.
    expect(bridge.framesReceived).toBe(delivered.length);
    expect(bridge.framesReceived).toBeLessThanOrEqual(10);
    expect(firstFrames).toEqual([[160, 120]]);
    expect(bridge.lastFrameAt).toBeGreaterThanOrEqual(bridge.firstFrameAt ?? Infinity);
  });

  test('sound: the start-up silence is not the first sound; stop() ends the sinks and the slot', async () => {
    const { pc, fire } = fakePc();
    const bridge = new ReceiveBridge(pc);
    open.push(() => bridge.stop());
    const tracks: ReceivedTrack[] = [];
    bridge.on('track', (t) => tracks.push(t));
    const source = new wrtc.nonstandard.RTCAudioSource();
    const track = source.createTrack();
    open.push(() => track.stop());
    fire(track);
    expect(tracks.map((t) => t.kind)).toEqual(['audio']);
    const chunks: AudioData[] = [];
    tracks[0]!.on('data', (data) => chunks.push(data));
    const heard: number[] = [];
    bridge.on('first-audio', (rate) => heard.push(rate));
    const send = (value: number): void =>
      source.onData({
        samples: new Int16Array(480).fill(value),
        sampleRate: 48_000,
        bitsPerSample: 16,
        channelCount: 1,
        numberOfFrames: 480,
      });
    for (let i = 0; i < 5; i++) {
      send(0);
      await sleep(10);
    }
    // Sound at the first chunk's rate counts once it holds (src/peer/first-sound.ts).
    for (let i = 0; i < CONFIRM_CHUNKS + 3; i++) {
      send(1000);
      await sleep(10);
    }
    await waitFor('sound through the sink', () => (heard.length > 0 ? true : undefined), 5_000);
    expect(heard).toEqual([48_000]);
    expect(bridge.audioChunksReceived).toBe(chunks.length);
    expect(bridge.takeLevel()).toBeGreaterThan(0);
    bridge.stop();
    expect(pc.ontrack).toBeNull();
    const before = bridge.audioChunksReceived;
    for (let i = 0; i < 5; i++) {
      send(1000);
      await sleep(10);
    }
    expect(bridge.audioChunksReceived).toBe(before);
  });
});
