/**
 * A server restarted under connected RoomSignaling clients: they rejoin by themselves as the same members, a
 * call goes on, and what the rules say must survive (the held offer nobody took, its candidates, those sent
 * while the server was down) is re-sent, in order, and nothing else (see resend-ledger.ts).
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  SignalTestKit,
  fakeCandidate,
  fakeSdp,
  waitEvent,
  type SignalingMember,
} from '../helpers/signal-server.js';

const kit = new SignalTestKit();
afterEach(() => kit.closeAll());

/** The events of `m` other than the connection's own (`joined`, `lost`), in order. */
const relayed = (m: SignalingMember) => m.events.filter((e) => e.type !== 'joined' && e.type !== 'lost');

describe('server restarted under connected clients', { timeout: 20_000 }, () => {
  it('both clients rejoin by themselves as themselves; the call goes on, with no duplicate or peer-left', async () => {
    const first = await kit.server();
    const answerer = kit.signaling({ url: first.url, role: 'answerer', room: 'lab' });
    const { self: answererId } = await answerer.s.connect();
    const caller = kit.signaling({ url: first.url, role: 'caller', room: 'lab' });
    const { self: callerId, peers } = await caller.s.connect();
    expect(peers.map((p) => p.id)).toEqual([answererId]);
    await caller.s.send({ type: 'offer', sdp: fakeSdp('call'), to: answererId });
    await caller.s.send({ type: 'candidate', candidate: fakeCandidate(1), to: answererId });
    await waitEvent(answerer.events, 'candidate');

    await first.close();
    await waitEvent(caller.events, 'lost');
    await waitEvent(answerer.events, 'lost');
    const second = await kit.server({ port: first.port });
    const [, callerBack] = await waitEvent(caller.events, 'joined', 2, 8000);
    const [, answererBack] = await waitEvent(answerer.events, 'joined', 2, 8000);
    expect(callerBack).toMatchObject({ self: callerId, rejoined: true, resent: 0 });
    expect(answererBack).toMatchObject({ self: answererId, rejoined: true, resent: 0 });
    expect(second.stats()).toMatchObject({ rooms: 1, clients: 2 });
    expect(caller.s.joined && answerer.s.joined).toBe(true);

    // The call goes on through the new server, between the same ids. Sentinels, not a wait: a new candidate
    // the caller sends after its rejoin (the server relays one connection's messages in order) and, the
    // other way, the answer.
    await caller.s.send({ type: 'candidate', candidate: fakeCandidate(2), to: answererId });
    await waitEvent(answerer.events, 'candidate', 2);
    expect(await answerer.s.send({ type: 'answer', sdp: fakeSdp('answer'), to: callerId })).toBe(true);
    expect(await waitEvent(caller.events, 'answer')).toEqual([
      { type: 'answer', from: answererId, sdp: fakeSdp('answer') },
    ]);
    expect(relayed(answerer)).toEqual([
      { type: 'peer-joined', peer: expect.objectContaining({ id: callerId }), tookOffer: false },
      { type: 'offer', from: callerId, sdp: fakeSdp('call'), renegotiate: false },
      { type: 'candidate', from: callerId, candidate: fakeCandidate(1) },
      ...answerer.events.filter((e) => e.type === 'peer-joined').slice(1),
      { type: 'candidate', from: callerId, candidate: fakeCandidate(2) },
    ]);
    // Regression: a shutting-down server told each client that the other had left, which made the
    // answerer forget its offer and take a re-sent copy as a new call.
    expect(answerer.events.filter((e) => e.type === 'peer-left')).toEqual([]);
    expect(caller.events.filter((e) => e.type === 'peer-left')).toEqual([]);
  });

  it('a caller re-sends its held offer and candidates, in order, to the restarted server', async () => {
    const first = await kit.server();
    const caller = kit.signaling({ url: first.url, role: 'caller', room: 'default' });
    await caller.s.connect();
    await caller.s.send({ type: 'offer', sdp: fakeSdp('held') });
    await caller.s.send({ type: 'candidate', candidate: fakeCandidate(1) });
    await caller.s.send({ type: 'candidate', candidate: fakeCandidate(2) });

    await first.close();
    await waitEvent(caller.events, 'lost');
    // Sent while the server is down: not delivered, kept and re-sent after the rejoin.
    expect(await caller.s.send({ type: 'candidate', candidate: fakeCandidate(3) })).toBe(false);
    const second = await kit.server({ port: first.port });
    const [, back] = await waitEvent(caller.events, 'joined', 2, 8000);
    expect(back).toMatchObject({ rejoined: true, resent: 4 });
    // Its ack says the server has handled the re-sends before it (one connection, in order): they are held
    // now, and the answerer below gets them from the hold.
    await caller.s.send({ type: 'candidate', candidate: fakeCandidate(4) });

    // A protocol-1 answerer, by hand: it takes the held offer and sees protocol-1 messages only.
    const answerer = await kit.join(second.url, 'default', 'answerer');
    expect(answerer.ack).toEqual({ ok: true, room: 'default', role: 'answerer', peerPresent: true });
    expect(await answerer.rec.wait(5)).toEqual([
      { type: 'offer', sdp: fakeSdp('held') },
      { type: 'candidate', candidate: fakeCandidate(1) },
      { type: 'candidate', candidate: fakeCandidate(2) },
      { type: 'candidate', candidate: fakeCandidate(3) },
      { type: 'candidate', candidate: fakeCandidate(4) },
    ]);
  });

  it('a caller whose held offer was taken and answered does not re-send it after a restart', async () => {
    const first = await kit.server();
    const caller = kit.signaling({ url: first.url, role: 'caller', room: 'default' });
    await caller.s.connect();
    await caller.s.send({ type: 'offer', sdp: fakeSdp('done') });
    const answerer = kit.signaling({ url: first.url, role: 'answerer', room: 'default' });
    await answerer.s.connect();
    const [taken] = await waitEvent(answerer.events, 'offer');
    await answerer.s.send({ type: 'answer', sdp: fakeSdp('answer'), to: taken?.from });
    await waitEvent(caller.events, 'answer');
    await answerer.s.close();
    await waitEvent(caller.events, 'peer-left');

    await first.close();
    const second = await kit.server({ port: first.port });
    const [, back] = await waitEvent(caller.events, 'joined', 2, 8000);
    expect(back).toMatchObject({ rejoined: true, resent: 0 });
    const next = await kit.join(second.url, 'default', 'answerer');
    expect(next.ack).toMatchObject({ ok: true, peerPresent: true });
    const [, joined] = await waitEvent(caller.events, 'peer-joined', 2);
    expect(joined).toMatchObject({ peer: { role: 'answerer', protocol: 1 }, tookOffer: false });
    // The caller, told a new answerer is here, starts a new call (what the CLI does). Its offer is the
    // sentinel: the answered one, re-sent after the rejoin, would be held by the new server and come first.
    await caller.s.send({ type: 'offer', sdp: fakeSdp('next'), to: joined?.peer.id });
    expect(await next.rec.wait(1)).toEqual([{ type: 'offer', sdp: fakeSdp('next') }]);
  });
});
