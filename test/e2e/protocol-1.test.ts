/**
 * Clients written against the original protocol (docs/protocol.md, protocol 1: one caller, one answerer, no
 * ids, no restart) keep working against today's `rtc-peer answer` and `rtc-peer call`, which speak protocol
 * 2. The client here is raw: socket.io-client emitting the protocol-1 messages by hand, its media a real wrtc
 * peer connection with a camera whose frames carry the test pattern's barcode.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { SIGNAL_EVENT } from '../../src/signal/types.js';
import { killAll, startCli, startSignalCli } from '../helpers/cli.js';
import { inspectRecording } from '../helpers/media.js';
import { camera, TestCall } from '../helpers/negotiated-call.js';
import { emitWithAck, SignalTestKit, waitFor, type RawSocket } from '../helpers/signal-server.js';

const NO_STUN = ['--stun', 'none'];
const kit = new SignalTestKit();
const cleanups: Array<() => unknown> = [];
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'rtc-peer-v1-'));
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  await killAll();
  await kit.closeAll();
  rmSync(dir, { recursive: true, force: true });
});

/** Every `signal` message a raw socket receives, in order. */
function inbox(socket: RawSocket): Array<Record<string, unknown>> {
  const messages: Array<Record<string, unknown>> = [];
  socket.on(SIGNAL_EVENT, (m: Record<string, unknown>) => messages.push(m));
  return messages;
}

/** A protocol-1 client's trickle: each local candidate emitted as `{type:'candidate', candidate}`. */
function trickle(socket: RawSocket, call: TestCall): void {
  call.pc.onicecandidate = (e) => {
    if (!e.candidate?.candidate) return;
    const c = e.candidate;
    void emitWithAck(socket, {
      type: 'candidate',
      candidate: {
        candidate: c.candidate,
        sdpMid: c.sdpMid,
        sdpMLineIndex: c.sdpMLineIndex,
        usernameFragment: c.usernameFragment,
      },
    });
  };
}

/** Applies the other side's messages from `messages[from..]` as they come: answers/offers, candidates. */
function follow(
  messages: Array<Record<string, unknown>>,
  call: TestCall,
  onOffer?: (sdp: string) => void,
): () => void {
  let next = 0;
  const timer = setInterval(() => {
    while (next < messages.length) {
      const m = messages[next++]!;
      // Protocol 1: no ids on what reaches us.
      expect(m.from).toBeUndefined();
      if (m.type === 'answer') void call.pc.setRemoteDescription({ type: 'answer', sdp: String(m.sdp) });
      if (m.type === 'offer') onOffer?.(String(m.sdp));
      if (m.type === 'candidate')
        void call.pc.addIceCandidate(m.candidate as RTCIceCandidateInit).catch(() => undefined);
    }
  }, 20);
  return () => clearInterval(timer);
}

describe('a protocol-1 client against rtc-peer (protocol 2)', () => {
  test('as caller: rtc-peer answer --record records its camera, and its bye ends the call', async () => {
    const { url } = await startSignalCli();
    const file = path.join(dir, 'from-v1.webm');
    const answerer = startCli([
      'answer',
      '--signal',
      url,
      '--room',
      'v1c',
      '--record',
      file,
      '--once',
      ...NO_STUN,
    ]);
    await answerer.waitFor('waiting');
    const socket = await kit.socket(url);
    const messages = inbox(socket);
    const ack = await emitWithAck(socket, { type: 'join', room: 'v1c', role: 'caller' });
    expect(ack).toMatchObject({ ok: true, role: 'caller', peerPresent: true });
    expect(ack).not.toHaveProperty('id');
    const call = new TestCall(camera(cleanups));
    cleanups.push(() => call.close());
    trickle(socket, call);
    cleanups.push(follow(messages, call));
    const offer = await call.pc.createOffer();
    await call.pc.setLocalDescription(offer);
    expect(await emitWithAck(socket, { type: 'offer', sdp: offer.sdp })).toMatchObject({
      ok: true,
      delivered: true,
    });
    await answerer.waitFor('first-frame', 10_000);
    await new Promise((r) => setTimeout(r, 3000));
    expect(await emitWithAck(socket, { type: 'bye' })).toMatchObject({ ok: true });
    const ended = await answerer.waitFor('call-ended', 10_000);
    expect(ended.reason).toBe('peer-hangup');
    expect((await answerer.exited).code).toBe(0);
    const rec = await inspectRecording(file);
    expect(rec.containerDurationSec).not.toBeNull();
    expect(rec.decodeErrors).toEqual([]);
    const ids = rec.barcodes.filter((b) => b !== null).map((b) => b.frameId);
    expect(ids.length).toBeGreaterThan(rec.frames * 0.95);
    for (let i = 1; i < ids.length; i++) expect(ids[i]).toBeGreaterThanOrEqual(ids[i - 1]!);
    expect(new Set(ids).size).toBeGreaterThan(2.5 * 30 * 0.8);
  }, 40_000);

  test('as answerer: it takes the offer rtc-peer call holds, gets the pattern, and hears the bye', async () => {
    const { url } = await startSignalCli();
    const caller = startCli([
      ...['call', '--signal', url, '--room', 'v1a', '--size', '320x240', '--no-audio'],
      ...['--duration', '3', '--once', ...NO_STUN],
    ]);
    await caller.waitFor('offer-sent', 10_000, (e) => e.held === true);
    const socket = await kit.socket(url);
    const messages = inbox(socket);
    const call = new TestCall();
    cleanups.push(() => call.close());
    trickle(socket, call);
    let offers = 0;
    cleanups.push(
      follow(messages, call, (sdp) => {
        offers++;
        void (async () => {
          await call.pc.setRemoteDescription({ type: 'offer', sdp });
          const answer = await call.pc.createAnswer();
          await call.pc.setLocalDescription(answer);
          await emitWithAck(socket, { type: 'answer', sdp: answer.sdp });
        })();
      }),
    );
    const ack = await emitWithAck(socket, { type: 'join', room: 'v1a', role: 'answerer' });
    expect(ack).toMatchObject({ ok: true, role: 'answerer', peerPresent: true });
    await waitFor('frames', () => (call.frames > 30 ? true : undefined), 10_000);
    const callerEnd = await caller.waitFor('call-ended', 15_000);
    expect(callerEnd.reason).toBe('hangup');
    expect((await caller.exited).code).toBe(0);
    await waitFor('the bye', () => messages.find((m) => m.type === 'peer-left'));
    expect(messages.find((m) => m.type === 'peer-left')).toEqual({
      type: 'peer-left',
      role: 'caller',
      reason: 'bye',
    });
    // One offer (no renegotiation is ever sent to it), the pattern's ids in order, for about the call.
    expect(offers).toBe(1);
    for (let i = 1; i < call.ids.length; i++) expect(call.ids[i]).toBeGreaterThanOrEqual(call.ids[i - 1]!);
    expect(call.ids.length).toBeGreaterThan(3 * 30 * 0.8);
  }, 40_000);
});
