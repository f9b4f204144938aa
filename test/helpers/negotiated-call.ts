/**
 * Test helpers for negotiations over any Signaling: a call made of a real @roamhq/wrtc peer connection that
 * counts the frames its remote video delivers (and reads their barcodes), a synthetic camera track stamped
 * with the test pattern's barcode, and a side (signaling + negotiator + its calls and events) that closes
 * itself after the test.
 */
import wrtc from '@roamhq/wrtc';
import { readBarcode } from '../../src/capture/barcode.js';
import { Negotiator, type NegotiatedCall } from '../../src/peer/negotiator.js';
import type { RemotePeer, Signaling } from '../../src/signal/signaling.js';
import { syntheticFrame } from './media.js';
import { waitFor } from './signal-server.js';

/** A test call: a wrtc peer connection, the frames its remote video delivered, their barcode ids. */
export class TestCall implements NegotiatedCall {
  readonly pc: RTCPeerConnection;
  frames = 0;
  /** Frame ids read from the barcodes of the frames received, in order. */
  readonly ids: number[] = [];
  readonly #sinks: { stop(): void }[] = [];
  constructor(track?: MediaStreamTrack, iceServers: RTCIceServer[] = []) {
    this.pc = new wrtc.RTCPeerConnection({
      iceServers,
      bundlePolicy: 'max-bundle',
    }) as unknown as RTCPeerConnection;
    if (track) this.pc.addTrack(track, new wrtc.MediaStream([track]));
    else this.pc.addTransceiver('video', { direction: 'recvonly' });
    this.pc.ontrack = (e) => {
      const sink = new wrtc.nonstandard.RTCVideoSink(e.track);
      sink.onframe = ({ frame }: { frame: { width: number; height: number; data: Uint8Array } }) => {
        this.frames++;
        const id = readBarcode(frame.data, frame.width, frame.height)?.frameId;
        if (id !== undefined) this.ids.push(id);
      };
      this.#sinks.push(sink);
    };
  }
  close(): void {
    for (const s of this.#sinks.splice(0)) s.stop();
    this.pc.close();
  }
}

/** A camera: a wrtc video track fed at 30 fps with synthetic frames whose barcodes count up from 0. */
export function camera(cleanups: Array<() => unknown>, width = 320, height = 240): MediaStreamTrack {
  const source = new wrtc.nonstandard.RTCVideoSource();
  const track = source.createTrack();
  let id = 0;
  const pump = setInterval(() => source.onFrame(syntheticFrame(width, height, id++)), 33);
  cleanups.push(() => (clearInterval(pump), track.stop()));
  return track;
}

/** One side of a negotiation over `signaling`, with its calls and what its negotiator said. */
export interface Side<S extends Signaling> {
  signaling: S;
  negotiator: Negotiator<TestCall>;
  calls: TestCall[];
  owned: Array<[TestCall, RemotePeer]>;
  ended: Array<[TestCall, string]>;
  restarts: string[];
  warnings: string[];
}

/** A side that sends `track` (or receives only), closed (negotiator, calls, signaling) by `cleanups`. */
export function side<S extends Signaling>(
  signaling: S,
  cleanups: Array<() => unknown>,
  track?: MediaStreamTrack,
  options: { iceServers?: RTCIceServer[] } = {},
): Side<S> {
  const calls: TestCall[] = [];
  const negotiator = new Negotiator<TestCall>({
    signaling,
    createCall: () => {
      const call = new TestCall(track, options.iceServers);
      calls.push(call);
      return call;
    },
  });
  const s: Side<S> = { signaling, negotiator, calls, owned: [], ended: [], restarts: [], warnings: [] };
  negotiator.on('call', (call, peer) => s.owned.push([call, peer]));
  negotiator.on('ended', (call, reason) => {
    s.ended.push([call, reason]);
    call.close();
  });
  negotiator.on('restart', (_c, why) => s.restarts.push(why));
  negotiator.on('warning', (w) => s.warnings.push(w));
  cleanups.push(async () => {
    negotiator.close();
    for (const c of calls) c.close();
    await signaling.close();
  });
  return s;
}

/** Waits for at least `min` frames on the last call of a side (which may not exist yet). */
export function flowing(calls: TestCall[], min = 10, ms = 10_000): Promise<number> {
  return waitFor(
    `${min} frames`,
    () => {
      const n = calls.at(-1)?.frames ?? 0;
      return n >= min ? n : undefined;
    },
    ms,
  );
}

/** The ICE ufrag a description states. */
export const ufragOf = (sdp?: string): string | undefined => /a=ice-ufrag:(\S+)/.exec(sdp ?? '')?.[1];
