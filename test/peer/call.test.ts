/**
 * The CLI's Call (peer connection, receive bridge, stats) on both sides of a real negotiation: a real
 * signaling server, the negotiator over RoomSignaling, real wrtc peer connections.
 */
import wrtc from '@roamhq/wrtc';
import { afterEach, describe, expect, test } from 'vitest';
import { callPair } from '../helpers/call-pair.js';
import { SignalTestKit, sleep, waitFor } from '../helpers/signal-server.js';
import { SessionDescriptions } from '../../src/peer/descriptions.js';

const kit = new SignalTestKit();
const open: Array<{ close(): unknown }> = [];
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
  await kit.closeAll();
});

/** A video track fed 320x240 grey frames at 30 fps; `sent()` counts them. */
function camera(): { track: MediaStreamTrack; sent: () => number } {
  const source = new wrtc.nonstandard.RTCVideoSource();
  const track = source.createTrack();
  const frame = { width: 320, height: 240, data: new Uint8Array(320 * 240 * 1.5).fill(90) };
  let sent = 0;
  const pump = setInterval(() => (source.onFrame(frame), sent++), 33);
  open.push({ close: () => (clearInterval(pump), track.stop()) });
  return { track, sent: () => sent };
}

describe('Call', () => {
  test('frames reach the answer side; close() is idempotent and reports what was received', async () => {
    const server = await kit.server();
    const { track } = camera();
    const pair = await callPair(server.url, 'frames', { caller: { videoTrack: track } });
    open.push(pair);
    await waitFor('received frames', () => (pair.answererCall.framesReceived > 5 ? true : undefined), 10_000);
    // The answerer knows the caller's host candidates from signaling, not only as peer-reflexive addresses.
    const report = (await pair.answererCall.pc.getStats()) as unknown as Map<
      string,
      { type: string; candidateType?: string }
    >;
    const remote = [...report.values()].filter((s) => s.type === 'remote-candidate');
    expect(remote.some((s) => s.candidateType === 'host')).toBe(true);
    const summary = await pair.answererCall.close('hangup');
    expect(summary.framesReceived).toBeGreaterThan(5);
    expect(summary.droppedCandidates).toBe(0);
    expect(await pair.answererCall.close('error')).toBe(summary);
  }, 20_000);

  test('an ICE restart on the same peer connection: media goes on, no second sink or track', async () => {
    const server = await kit.server();
    const { track, sent } = camera();
    const pair = await callPair(server.url, 'again', { caller: { videoTrack: track } });
    open.push(pair);
    const { callerCall, answererCall } = pair;
    const tracks: string[] = answererCall.tracks.map((t) => t.kind);
    answererCall.on('track', (t) => tracks.push(t.kind));
    await waitFor('frames', () => (answererCall.framesReceived > 10 ? true : undefined), 10_000);
    const ufrag = (): string | undefined =>
      /a=ice-ufrag:(\S+)/.exec(SessionDescriptions.of(answererCall.pc).remote ?? '')?.[1];
    const before = ufrag();
    pair.caller.negotiator.restartAll('a test');
    await waitFor('the restart applied', () =>
      ufrag() !== before && callerCall.pc.signalingState === 'stable' ? true : undefined,
    );
    const [framesBefore, sentBefore] = [answererCall.framesReceived, sent()];
    await sleep(1000);
    const received = answererCall.framesReceived - framesBefore;
    // Frames keep coming, each counted once (a second sink would count them twice).
    expect(received).toBeGreaterThan(5);
    expect(received).toBeLessThanOrEqual(sent() - sentBefore + 2);
    expect(tracks).toEqual(['video']);
    expect(pair.answerer.calls).toHaveLength(1);
  }, 30_000);
});
