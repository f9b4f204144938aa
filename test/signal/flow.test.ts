/**
 * The walk-through through a real server, as a protocol-1 client written from docs/protocol.md sees it: raw
 * sockets speaking the protocol by hand (what a client in another language does), so that every message and
 * acknowledgement asserted is the wire's own. RoomSignaling (protocol 2) is tested in room-signaling.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { SignalTestKit, fakeCandidate, fakeSdp, waitFor } from '../helpers/signal-server.js';

const kit = new SignalTestKit();
afterEach(() => kit.closeAll());

const offer = (sdp: string) => ({ type: 'offer', sdp });
const answer = (sdp: string) => ({ type: 'answer', sdp });
const candidate = (c: unknown) => ({ type: 'candidate', candidate: c });

// "Nothing else arrived" is never a wait: the server delivers to one connection in the order it produced the
// messages, so a message that must arrive, caused after the action (a sentinel), comes after anything the
// action wrongly caused. A sentinel is either the ack of a later message of the client's own, or a message
// another client sends after the action and the server relays to it.

describe('signaling through a real server (protocol 1)', { timeout: 15_000 }, () => {
  it('caller first: the held offer and candidates reach a later answerer, offer first, in order', async () => {
    const server = await kit.server();
    const caller = await kit.join(server.url, 'default', 'caller');
    expect(caller.ack).toEqual({ ok: true, room: 'default', role: 'caller', peerPresent: false });
    expect(await caller.send(offer(fakeSdp('first')))).toEqual({ ok: true, delivered: false });
    for (let i = 1; i <= 5; i++) await caller.send(candidate(fakeCandidate(i)));

    const answerer = await kit.join(server.url, 'default', 'answerer');
    expect(answerer.ack).toEqual({ ok: true, room: 'default', role: 'answerer', peerPresent: true });
    expect(await answerer.rec.wait(6)).toEqual([
      offer(fakeSdp('first')),
      ...[1, 2, 3, 4, 5].map((i) => candidate(fakeCandidate(i))),
    ]);
    expect(await caller.rec.wait(1)).toEqual([{ type: 'peer-joined', role: 'answerer' }]);

    // The answer and the answerer's candidates reach the caller.
    expect(await answerer.send(answer(fakeSdp('answer')))).toEqual({ ok: true, delivered: true });
    await answerer.send(candidate(fakeCandidate(100)));
    expect((await caller.rec.wait(3)).slice(1)).toEqual([
      answer(fakeSdp('answer')),
      candidate(fakeCandidate(100)),
    ]);
    // A caller candidate after the answer goes straight through.
    await caller.send(candidate(fakeCandidate(6)));
    expect((await answerer.rec.wait(7))[6]).toEqual(candidate(fakeCandidate(6)));
  });

  it('answerer first: the offer is delivered the moment it arrives', async () => {
    const server = await kit.server();
    const answerer = await kit.join(server.url, 'default', 'answerer');
    expect(answerer.ack).toMatchObject({ ok: true, peerPresent: false });
    const caller = await kit.join(server.url, 'default', 'caller');
    expect(caller.ack).toMatchObject({ ok: true, peerPresent: true });
    expect(await answerer.rec.wait(1)).toEqual([{ type: 'peer-joined', role: 'caller' }]);
    // Sentinel: the ack of a candidate of the answerer's own (it goes to the caller).
    await answerer.send(candidate(fakeCandidate(50)));
    expect(answerer.rec.of('offer')).toEqual([]);

    expect(await caller.send(offer(fakeSdp('live')))).toEqual({ ok: true, delivered: true });
    await caller.send(candidate(fakeCandidate(1)));
    await answerer.rec.wait(1, 'candidate');
    expect(answerer.rec.types()).toEqual(['peer-joined', 'offer', 'candidate']);
    await answerer.send(answer(fakeSdp('ans')));
    expect(await caller.rec.wait(1, 'answer')).toEqual([answer(fakeSdp('ans'))]);
  });

  it('candidates sent before the offer follow the offer', async () => {
    const server = await kit.server();
    const answerer = await kit.join(server.url, 'default', 'answerer');
    const caller = await kit.join(server.url, 'default', 'caller');
    await caller.send(candidate(fakeCandidate(1)));
    // Sentinel: the ack of a later message of the answerer's own.
    await answerer.send(candidate(fakeCandidate(50)));
    expect(answerer.rec.of('candidate')).toEqual([]);
    await caller.send(offer(fakeSdp('late')));
    await answerer.rec.wait(1, 'candidate');
    // The offer is the sentinel for the held candidate too: delivered early, it would come before it.
    expect(answerer.rec.types()).toEqual(['peer-joined', 'offer', 'candidate']);
  });

  it('a third client asking for a taken role is refused and nothing else changes', async () => {
    const server = await kit.server();
    const caller = await kit.join(server.url, 'default', 'caller');
    const answerer = await kit.join(server.url, 'default', 'answerer');
    await caller.rec.wait(1, 'peer-joined');

    const intruder = await kit.join(server.url, 'default', 'caller');
    expect(intruder.ack).toMatchObject({ ok: false, error: { code: 'ROLE_TAKEN' } });
    expect(!intruder.ack.ok && intruder.ack.error.message).toMatch(/room "default" already has a caller/);
    // The refused client goes, and the server has handled that (its disconnect too could wrongly announce
    // a departure).
    intruder.socket.disconnect();
    await waitFor('the intruder gone', () => (server.stats().clients === 2 ? true : undefined));
    // The room still works between the two, and nobody saw the intruder: the offer and the answer, sent
    // after it, are the sentinels.
    await caller.send(offer(fakeSdp('still')));
    expect(await answerer.rec.wait(1, 'offer')).toEqual([offer(fakeSdp('still'))]);
    await answerer.send(answer(fakeSdp('still-answer')));
    await caller.rec.wait(1, 'answer');
    expect(caller.rec.types()).toEqual(['peer-joined', 'answer']);
    expect(answerer.rec.types()).toEqual(['offer']);
    expect(server.stats()).toMatchObject({ rooms: 1 });
  });

  it('leave and rejoin: peer-left, the held state is forgotten, the role is free again', async () => {
    const server = await kit.server();
    const answerer = await kit.join(server.url, 'default', 'answerer');
    const caller = await kit.join(server.url, 'default', 'caller');
    await caller.send(offer(fakeSdp('one')));
    await answerer.rec.wait(1, 'offer');

    // bye: the other side is told; the connection stays and may join again.
    expect(await caller.send({ type: 'bye' })).toMatchObject({ ok: true });
    expect(await answerer.rec.wait(1, 'peer-left')).toEqual([
      { type: 'peer-left', role: 'caller', reason: 'bye' },
    ]);
    expect(await caller.send({ type: 'join', room: 'default', role: 'caller' })).toMatchObject({
      ok: true,
      peerPresent: true,
    });
    expect(await answerer.rec.wait(2, 'peer-joined')).toEqual([
      { type: 'peer-joined', role: 'caller' },
      { type: 'peer-joined', role: 'caller' },
    ]);

    // The answerer leaves: the role is free for a new client, which does not get the old offer.
    await answerer.send({ type: 'bye' });
    answerer.socket.disconnect();
    expect(await caller.rec.wait(1, 'peer-left')).toEqual([
      { type: 'peer-left', role: 'answerer', reason: 'bye' },
    ]);
    const other = await kit.join(server.url, 'default', 'answerer');
    expect(other.ack).toMatchObject({ ok: true });

    // The rejoined caller is a full member again: its new offer reaches the new answerer. It is also the
    // sentinel: the old offer, held and wrongly given to the newcomer, would have come before it.
    await caller.send(offer(fakeSdp('two')));
    expect(await other.rec.wait(1, 'offer')).toEqual([offer(fakeSdp('two'))]);
    expect(other.rec.types()).toEqual(['offer']);
  });

  it('a connection that drops without bye is reported as disconnected and frees the role', async () => {
    const server = await kit.server();
    const gone = await kit.join(server.url, 'default', 'caller');
    await gone.send(offer(fakeSdp('gone')));
    const answerer = await kit.join(server.url, 'default', 'answerer');
    await answerer.rec.wait(1, 'offer');
    gone.socket.disconnect();
    expect(await answerer.rec.wait(1, 'peer-left')).toEqual([
      { type: 'peer-left', role: 'caller', reason: 'disconnected' },
    ]);
    const caller = await kit.join(server.url, 'default', 'caller');
    expect(caller.ack).toMatchObject({ ok: true, peerPresent: true });
  });

  it('a new offer replaces the held one and its candidates', async () => {
    const server = await kit.server();
    const caller = await kit.join(server.url, 'default', 'caller');
    await caller.send(offer(fakeSdp('old')));
    await caller.send(candidate(fakeCandidate(1)));
    await caller.send(candidate(fakeCandidate(2)));
    await caller.send(offer(fakeSdp('new')));
    await caller.send(candidate(fakeCandidate(3)));

    const answerer = await kit.join(server.url, 'default', 'answerer');
    await answerer.rec.wait(1, 'candidate');

    // With the answerer present, a new offer (a fresh call) is delivered at once. It is the sentinel for
    // what the join delivered: the old offer or its candidates, given late, would come before it.
    await answerer.send(answer(fakeSdp('a1')));
    await caller.rec.wait(1, 'answer');
    await caller.send(offer(fakeSdp('newer')));
    expect(await answerer.rec.wait(3)).toEqual([
      offer(fakeSdp('new')),
      candidate(fakeCandidate(3)),
      offer(fakeSdp('newer')),
    ]);
  });

  it('two rooms in parallel never cross-talk', async () => {
    const server = await kit.server();
    const pairs = await Promise.all(
      ['red', 'blue'].map(async (room) => {
        const caller = await kit.join(server.url, room, 'caller');
        const answerer = await kit.join(server.url, room, 'answerer');
        return { room, caller, answerer };
      }),
    );
    expect(server.stats()).toMatchObject({ rooms: 2, clients: 4 });
    const first = (room: string) => ({ candidate: `candidate:1 1 udp 1 10.0.0.1 9 typ host ${room}` });
    for (const { room, caller } of pairs) {
      await caller.send(offer(fakeSdp(room)));
      await caller.send(candidate(first(room)));
    }
    for (const { room, caller, answerer } of pairs) {
      await answerer.rec.wait(1, 'candidate');
      await answerer.send(answer(fakeSdp(`${room}-answer`)));
      expect(await caller.rec.wait(1, 'answer')).toEqual([answer(fakeSdp(`${room}-answer`))]);
    }
    // Sentinels, after everything both rooms sent: a last candidate each way in each room.
    const last = (room: string, who: string) => ({
      candidate: `candidate:9 1 udp 1 10.0.0.9 9 typ host ${room}-${who}`,
    });
    for (const { room, caller, answerer } of pairs) {
      await caller.send(candidate(last(room, 'caller')));
      await answerer.send(candidate(last(room, 'answerer')));
    }
    for (const { room, caller, answerer } of pairs) {
      await answerer.rec.wait(2, 'candidate');
      await caller.rec.wait(1, 'candidate');
      expect(answerer.rec.messages).toEqual([
        offer(fakeSdp(room)),
        candidate(first(room)),
        candidate(last(room, 'caller')),
      ]);
      expect(caller.rec.messages).toEqual([
        { type: 'peer-joined', role: 'answerer' },
        answer(fakeSdp(`${room}-answer`)),
        candidate(last(room, 'answerer')),
      ]);
    }
    // Leaving one room is not seen in the other. Once the server has handled the leaver's disconnect, a
    // candidate in the other room is the sentinel.
    pairs[0]!.caller.socket.disconnect();
    await pairs[0]!.answerer.rec.wait(1, 'peer-left');
    await waitFor('the leaver gone', () => (server.stats().clients === 3 ? true : undefined));
    await pairs[1]!.caller.send(candidate(last('blue', 'again')));
    await pairs[1]!.answerer.rec.wait(3, 'candidate');
    expect(pairs[1]!.answerer.rec.of('peer-left')).toEqual([]);
    pairs[0]!.answerer.socket.disconnect();
    await waitFor('room count 1', () => (server.stats().rooms === 1 ? true : undefined));
  });
});
