/**
 * One Call per side over a real signaling server and real wrtc peer connections.
 */
import wrtc from '@roamhq/wrtc';
import { afterEach, describe, expect, test } from 'vitest';
import { Call } from '../../src/peer/call.js';
import type { IceCandidateMessage } from '../../src/signal/index.js';
import { SignalTestKit, sleep, waitFor } from '../helpers/signal-server.js';

const kit = new SignalTestKit();
const open: Array<{ close(): unknown }> = [];
afterEach(async () => {
  for (const o of open.splice(0)) await o.close();
  await kit.closeAll();
});

const NO_ICE: RTCConfiguration = { iceServers: [] };

describe('Call', () => {
  test('remote candidates that arrive before the remote description are kept and applied after it', async () => {
    const server = await kit.server();
    const caller = kit.client(server.url, 'caller', { room: 'early' }).client;
    const answerer = kit.client(server.url, 'answerer', { room: 'early' }).client;
    await answerer.connect();
    await caller.connect();

    const source = new wrtc.nonstandard.RTCVideoSource();
    const track = source.createTrack();
    const frame = { width: 320, height: 240, data: new Uint8Array(320 * 240 * 1.5).fill(90) };
    const pump = setInterval(() => source.onFrame(frame), 33);
    open.push({ close: () => (clearInterval(pump), track.stop()) });

    const callerCall = new Call({
      role: 'caller',
      signal: caller,
      rtcConfiguration: NO_ICE,
      videoTrack: track,
      index: 1,
    });
    const answererCall = new Call({ role: 'answerer', signal: answerer, rtcConfiguration: NO_ICE, index: 1 });
    open.push({ close: () => callerCall.close('hangup') }, { close: () => answererCall.close('hangup') });

    // Caller -> answerer candidates are applied as they come, before the answerer has the offer applied.
    // Answerer -> caller candidates are dropped on purpose: the call can then only connect if the early
    // candidates were kept (the caller learns the answerer's address from its connectivity checks).
    const early: IceCandidateMessage[] = [];
    answerer.on('candidate', (c) => {
      early.push(c);
      void answererCall.addRemoteCandidate(c);
    });
    let offer: string | undefined;
    answerer.on('offer', (sdp) => (offer = sdp));
    caller.on('answer', (sdp) => void callerCall.acceptAnswer(sdp));

    await callerCall.offer();
    const sdp = await waitFor('the offer', () => offer);
    await waitFor('a caller candidate', () => (early.length > 0 ? true : undefined));
    await sleep(200);
    expect(answererCall.pc.remoteDescription).toBeNull();
    await answererCall.answer(sdp);

    await waitFor('a received frame', () => (answererCall.framesReceived > 5 ? true : undefined), 10_000);
    // The answerer knows the caller's host candidates from signaling, not only as peer-reflexive addresses.
    const report = (await answererCall.pc.getStats()) as unknown as Map<
      string,
      { type: string; candidateType?: string }
    >;
    const remote = [...report.values()].filter((s) => s.type === 'remote-candidate');
    expect(remote.some((s) => s.candidateType === 'host')).toBe(true);

    const summary = await answererCall.close('hangup');
    expect(summary.framesReceived).toBeGreaterThan(5);
    expect(summary.droppedCandidates).toBe(0);
    // close() is idempotent: the same summary again.
    expect(await answererCall.close('error')).toBe(summary);
  }, 20_000);

  test('a second offer/answer on the same peer connection: media goes on, no second sink or track', async () => {
    const server = await kit.server();
    const caller = kit.client(server.url, 'caller', { room: 'again' }).client;
    const answerer = kit.client(server.url, 'answerer', { room: 'again' }).client;
    await answerer.connect();
    await caller.connect();

    const source = new wrtc.nonstandard.RTCVideoSource();
    const track = source.createTrack();
    const frame = { width: 320, height: 240, data: new Uint8Array(320 * 240 * 1.5).fill(90) };
    let sent = 0;
    const pump = setInterval(() => (source.onFrame(frame), sent++), 33);
    open.push({ close: () => (clearInterval(pump), track.stop()) });

    const callerCall = new Call({
      role: 'caller',
      signal: caller,
      rtcConfiguration: NO_ICE,
      videoTrack: track,
      index: 1,
    });
    const answererCall = new Call({ role: 'answerer', signal: answerer, rtcConfiguration: NO_ICE, index: 1 });
    open.push({ close: () => callerCall.close('hangup') }, { close: () => answererCall.close('hangup') });
    const tracks: string[] = [];
    answererCall.on('track', (t) => tracks.push(t.kind));
    const offers: string[] = [];
    answerer.on('offer', (sdp) => offers.push(sdp));
    answerer.on('candidate', (c) => void answererCall.addRemoteCandidate(c));
    caller.on('candidate', (c) => void callerCall.addRemoteCandidate(c));
    const answers: string[] = [];
    caller.on('answer', (sdp) => {
      answers.push(sdp);
      void callerCall.acceptAnswer(sdp);
    });

    await callerCall.offer();
    await answererCall.answer(await waitFor('the offer', () => offers[0]));
    await waitFor('frames', () => (answererCall.framesReceived > 10 ? true : undefined), 10_000);
    // The exchange again, in place (as an ICE restart does it).
    await callerCall.offer({ iceRestart: true });
    await answererCall.answer(await waitFor('the second offer', () => offers[1]));
    await waitFor('the second answer applied', () =>
      answers.length === 2 && callerCall.pc.signalingState === 'stable' ? true : undefined,
    );
    const [before, sentBefore] = [answererCall.framesReceived, sent];
    await sleep(1000);
    const received = answererCall.framesReceived - before;
    // Frames keep coming, each counted once (a second sink would count them twice).
    expect(received).toBeGreaterThan(5);
    expect(received).toBeLessThanOrEqual(sent - sentBefore + 2);
    expect(tracks).toEqual(['video']);
  }, 30_000);
});
