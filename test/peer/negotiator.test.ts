/**
 * The negotiator with real @roamhq/wrtc peer connections over a real server and RoomSignaling: one camera,
 * several viewers in both join orders, frames reaching every viewer, an ICE restart on the same connection,
 * and a viewer leaving without disturbing the others.
 */
import wrtc from '@roamhq/wrtc';
import { afterEach, describe, expect, it } from 'vitest';
import { Negotiator, type NegotiatedCall } from '../../src/peer/negotiator.js';
import { RoomSignaling } from '../../src/signal/room-signaling.js';
import type { RemotePeer } from '../../src/signal/signaling.js';
import { SignalTestKit, waitFor } from '../helpers/signal-server.js';

const kit = new SignalTestKit();
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  await kit.closeAll();
});

/** A test call: a wrtc peer connection, the frames its remote video delivered. */
class TestCall implements NegotiatedCall {
  readonly pc: RTCPeerConnection;
  frames = 0;
  readonly #sinks: { stop(): void }[] = [];
  constructor(track?: MediaStreamTrack) {
    this.pc = new wrtc.RTCPeerConnection({ iceServers: [] }) as unknown as RTCPeerConnection;
    if (track) this.pc.addTrack(track, new wrtc.MediaStream([track]));
    else this.pc.addTransceiver('video', { direction: 'recvonly' });
    this.pc.ontrack = (e) => {
      const sink = new wrtc.nonstandard.RTCVideoSink(e.track);
      sink.onframe = () => this.frames++;
      this.#sinks.push(sink);
    };
  }
  close(): void {
    for (const s of this.#sinks.splice(0)) s.stop();
    this.pc.close();
  }
}

function camera(): MediaStreamTrack {
  const source = new wrtc.nonstandard.RTCVideoSource();
  const track = source.createTrack();
  const frame = { width: 320, height: 240, data: new Uint8Array(320 * 240 * 1.5).fill(120) };
  const pump = setInterval(() => source.onFrame(frame), 33);
  cleanups.push(() => (clearInterval(pump), track.stop()));
  return track;
}

/** A negotiating side with its calls and events. */
function side(url: string, role: 'caller' | 'answerer', room: string, track?: MediaStreamTrack) {
  const signaling = new RoomSignaling({ url, role, room, connectTimeoutMs: 3000 });
  const calls: TestCall[] = [];
  const negotiator = new Negotiator<TestCall>({
    signaling,
    createCall: () => {
      const call = new TestCall(track);
      calls.push(call);
      return call;
    },
  });
  const owned: Array<[TestCall, RemotePeer]> = [];
  const ended: Array<[TestCall, string]> = [];
  const restarts: string[] = [];
  negotiator.on('call', (call, peer) => owned.push([call, peer]));
  negotiator.on('ended', (call, reason) => {
    ended.push([call, reason]);
    call.close();
  });
  negotiator.on('restart', (_c, why) => restarts.push(why));
  cleanups.push(async () => {
    negotiator.close();
    for (const c of calls) c.close();
    await signaling.close();
  });
  return { signaling, negotiator, calls, owned, ended, restarts };
}

/** Waits for `min` frames on the first call of a side (which may not exist yet). */
const flowing = (calls: TestCall[], min = 10): Promise<number> =>
  waitFor(`${min} frames`, () => ((calls[0]?.frames ?? 0) >= min ? calls[0]?.frames : undefined), 10_000);

describe('Negotiator', { timeout: 40_000 }, () => {
  it('one camera, three viewers joining one after another: each takes the held offer and gets frames', async () => {
    const server = await kit.server();
    const cam = side(server.url, 'caller', 'cam', camera());
    await cam.negotiator.start();
    // The spare: one call, its offer held, nobody's yet.
    await waitFor('a spare call', () => (cam.calls.length === 1 ? true : undefined));
    expect(cam.negotiator.calls).toEqual([]);
    const viewers = [];
    for (let i = 0; i < 3; i++) {
      const v = side(server.url, 'answerer', 'cam');
      await v.negotiator.start();
      await flowing(v.calls);
      viewers.push(v);
    }
    expect(cam.negotiator.calls).toHaveLength(3);
    // Each viewer's call is with the camera, and the camera has one call per viewer id (plus a new spare).
    expect(new Set(cam.owned.map(([, p]) => p.id))).toEqual(new Set(viewers.map((v) => v.signaling.id)));
    expect(cam.calls).toHaveLength(4);
    for (const v of viewers) expect(v.owned.map(([, p]) => p.id)).toEqual([cam.signaling.id]);
    // Negotiated without RTX, both ways (NACK only: see src/peer/sdp.ts); each side's video starts at 1 Mbit/s,
    // set in the remote descriptions it applies, never in what it sends.
    const cam0 = cam.negotiator.calls[0]?.pc;
    expect(cam0?.remoteDescription?.sdp).toMatch(/x-google-start-bitrate=1000/);
    expect(cam0?.localDescription?.sdp).not.toMatch(/x-google-start-bitrate/);
    for (const v of viewers) {
      expect(v.calls[0]?.pc.remoteDescription?.sdp).toMatch(/x-google-start-bitrate=1000/);
      expect(v.calls[0]?.pc.localDescription?.sdp).not.toMatch(/x-google-start-bitrate/);
      expect(v.calls[0]?.pc.remoteDescription?.sdp).not.toMatch(/rtx\//);
      expect(v.calls[0]?.pc.localDescription?.sdp).not.toMatch(/rtx\//);
      expect(v.calls[0]?.pc.localDescription?.sdp).toMatch(/a=rtcp-fb:\d+ nack\r\n/);
    }
  });

  it('viewers that waited for the camera get offers addressed to them', async () => {
    const server = await kit.server();
    const viewers = [side(server.url, 'answerer', 'wait'), side(server.url, 'answerer', 'wait')];
    for (const v of viewers) await v.negotiator.start();
    const cam = side(server.url, 'caller', 'wait', camera());
    await cam.negotiator.start();
    for (const v of viewers) await flowing(v.calls);
    expect(cam.negotiator.calls).toHaveLength(2);
  });

  it('an ICE restart renegotiates the same connection: new credentials, the frames go on', async () => {
    const server = await kit.server();
    const cam = side(server.url, 'caller', 'r', camera());
    await cam.negotiator.start();
    const v = side(server.url, 'answerer', 'r');
    await v.negotiator.start();
    // The call after its frames, not after start(): when the viewer joins before the camera's spare offer is
    // held, its call comes with an addressed offer after start() resolved (seen under load: `call` was
    // undefined, and no credentials could ever be new).
    await flowing(v.calls);
    const call = v.calls[0];
    expect(call).toBeDefined();
    const ufrag = (sdp?: string): string | undefined => /a=ice-ufrag:(\S+)/.exec(sdp ?? '')?.[1];
    const before = ufrag(call?.pc.remoteDescription?.sdp);
    const framesBefore = call?.frames ?? 0;
    cam.negotiator.restartAll('test');
    await waitFor('new remote credentials', () => {
      const now = ufrag(call?.pc.remoteDescription?.sdp);
      return now !== undefined && now !== before ? now : undefined;
    });
    await flowing(v.calls, framesBefore + 30);
    expect(cam.restarts).toEqual(['test']);
    // Same calls on both sides: nothing ended, no new call.
    expect(v.calls).toHaveLength(1);
    expect(v.ended).toEqual([]);
    expect(cam.ended.map(([, r]) => r)).toEqual(['replaced']); // only the spare, renewed for new addresses
  });

  it("restarts asked for again and again while one is on its way make one exchange, and the call goes on (regression: a second offer got the first one's answer; the media never came back)", async () => {
    const server = await kit.server();
    const cam = side(server.url, 'caller', 'again', camera());
    await cam.negotiator.start();
    const v = side(server.url, 'answerer', 'again');
    await v.negotiator.start();
    await flowing(v.calls);
    const call = v.calls[0];
    const offers: string[] = [];
    v.signaling.on('signal', (e) => {
      if (e.type !== 'offer') return;
      offers.push(e.sdp);
      // The retry while the offer is on its way: the viewer has it, the camera waits for its answer. (A
      // timer here raced the exchange: on an idle machine it was over within 50 ms.)
      if (offers.length === 1) cam.negotiator.restartAll('once more');
    });
    // As after a server restart: our own rejoin, then the viewer's, then the retry.
    cam.negotiator.restartAll('our rejoin');
    cam.negotiator.restartAll('the viewer rejoined');
    await waitFor('the restart answered', () =>
      offers.length > 0 && cam.negotiator.calls.every((c) => c.pc.signalingState === 'stable')
        ? true
        : undefined,
    );
    const framesBefore = call?.frames ?? 0;
    await flowing(v.calls, framesBefore + 30);
    expect(offers).toHaveLength(1);
    expect(cam.restarts).toEqual(['our rejoin']);
    expect(v.calls).toHaveLength(1);
  });

  it('a viewer that leaves ends its own call only; the others keep their frames', async () => {
    const server = await kit.server();
    const cam = side(server.url, 'caller', 'l', camera());
    await cam.negotiator.start();
    const a = side(server.url, 'answerer', 'l');
    const b = side(server.url, 'answerer', 'l');
    await a.negotiator.start();
    await flowing(a.calls);
    await b.negotiator.start();
    await flowing(b.calls);
    a.negotiator.close();
    await a.signaling.close();
    await waitFor('the camera ends a call', () => (cam.ended.length > 0 ? true : undefined));
    expect(cam.ended.map(([, r]) => r)).toEqual(['peer-hangup']);
    expect(cam.negotiator.peerOf(cam.ended[0]![0])).toBeUndefined();
    const bFrames = b.calls[0]?.frames ?? 0;
    await flowing(b.calls, bFrames + 30);
    expect(cam.negotiator.calls.map((c) => cam.negotiator.peerOf(c)?.id)).toEqual([b.signaling.id]);
  });
});
