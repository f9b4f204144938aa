import { afterEach, describe, expect, it } from 'vitest';
import { SignalError } from '../../src/errors.js';
import { SignalTestKit, fakeCandidate, fakeSdp, waitFor } from '../helpers/signal-server.js';

const kit = new SignalTestKit();
afterEach(() => kit.closeAll());

// "Nothing else arrived" is never a wait: the server delivers to one connection in the order it produced the
// messages, so a message that must arrive, caused after the action (a sentinel), comes after anything the
// action wrongly caused. A sentinel is either the ack of a later message of the client's own, or a message
// another client sends after the action and the server relays to it.

describe('signaling through a real server', { timeout: 15_000 }, () => {
  it('caller first: the held offer and candidates reach a later answerer, offer first, in order', async () => {
    const server = await kit.server();
    const caller = kit.client(server.url, 'caller');
    expect(await caller.client.connect()).toEqual({ peerPresent: false });
    const offer = fakeSdp('first');
    await caller.client.sendOffer(offer);
    for (let i = 1; i <= 5; i++) await caller.client.sendCandidate(fakeCandidate(i));

    const answerer = kit.client(server.url, 'answerer');
    expect(await answerer.client.connect()).toEqual({ peerPresent: true });
    await answerer.rec.wait('candidate', 5);
    expect(answerer.rec.names().slice(0, 6)).toEqual(['offer', ...Array(5).fill('candidate')]);
    expect(answerer.rec.of('offer')).toEqual([[offer]]);
    expect(answerer.rec.of('candidate').map(([c]) => c)).toEqual([1, 2, 3, 4, 5].map(fakeCandidate));
    expect(await caller.rec.wait('peer-joined')).toEqual([['answerer']]);

    // The answer and the answerer's candidates reach the caller.
    await answerer.client.sendAnswer(fakeSdp('answer'));
    await answerer.client.sendCandidate(fakeCandidate(100));
    expect(await caller.rec.wait('answer')).toEqual([[fakeSdp('answer')]]);
    expect(await caller.rec.wait('candidate')).toEqual([[fakeCandidate(100)]]);
    // A caller candidate after the answer goes straight through.
    await caller.client.sendCandidate(fakeCandidate(6));
    await answerer.rec.wait('candidate', 6);
    expect(answerer.rec.of('candidate').at(-1)).toEqual([fakeCandidate(6)]);
  });

  it('answerer first: the offer is delivered the moment it arrives', async () => {
    const server = await kit.server();
    const answerer = kit.client(server.url, 'answerer');
    expect(await answerer.client.connect()).toEqual({ peerPresent: false });
    const caller = kit.client(server.url, 'caller');
    expect(await caller.client.connect()).toEqual({ peerPresent: true });
    expect(await answerer.rec.wait('peer-joined')).toEqual([['caller']]);
    // Sentinel: the ack of a candidate of the answerer's own (it goes to the caller).
    await answerer.client.sendCandidate(fakeCandidate(50));
    expect(answerer.rec.of('offer')).toEqual([]);

    await caller.client.sendOffer(fakeSdp('live'));
    await caller.client.sendCandidate(fakeCandidate(1));
    await answerer.rec.wait('candidate');
    expect(answerer.rec.names()).toEqual(['peer-joined', 'offer', 'candidate']);
    await answerer.client.sendAnswer(fakeSdp('ans'));
    expect(await caller.rec.wait('answer')).toEqual([[fakeSdp('ans')]]);
  });

  it('candidates sent before the offer follow the offer', async () => {
    const server = await kit.server();
    const answerer = kit.client(server.url, 'answerer');
    await answerer.client.connect();
    const caller = kit.client(server.url, 'caller');
    await caller.client.connect();
    await caller.client.sendCandidate(fakeCandidate(1));
    // Sentinel: the ack of a later message of the answerer's own.
    await answerer.client.sendCandidate(fakeCandidate(50));
    expect(answerer.rec.of('candidate')).toEqual([]);
    await caller.client.sendOffer(fakeSdp('late'));
    await answerer.rec.wait('candidate');
    // The offer is the sentinel for the held candidate too: delivered early, it would come before it.
    expect(answerer.rec.names()).toEqual(['peer-joined', 'offer', 'candidate']);
  });

  it('a third client asking for a taken role is refused and nothing else changes', async () => {
    const server = await kit.server();
    const caller = kit.client(server.url, 'caller');
    const answerer = kit.client(server.url, 'answerer');
    await caller.client.connect();
    await answerer.client.connect();
    await caller.rec.wait('peer-joined');

    const intruder = kit.client(server.url, 'caller');
    const error = await intruder.client.connect().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SignalError);
    expect(error).toMatchObject({ code: 'ROLE_TAKEN' });
    expect((error as Error).message).toMatch(/room "default" already has a caller/);

    // The refused client's connection is closed, and the server has handled that (its disconnect too could
    // wrongly announce a departure).
    await waitFor('the intruder gone', () => (server.stats().clients === 2 ? true : undefined));
    // The room still works between the two, and nobody saw the intruder: the offer and the answer, sent
    // after it, are the sentinels.
    await caller.client.sendOffer(fakeSdp('still'));
    expect(await answerer.rec.wait('offer')).toEqual([[fakeSdp('still')]]);
    await answerer.client.sendAnswer(fakeSdp('still-answer'));
    await caller.rec.wait('answer');
    expect(caller.rec.names()).toEqual(['peer-joined', 'answer']);
    expect(answerer.rec.names()).toEqual(['offer']);
    expect(server.stats()).toMatchObject({ rooms: 1 });
  });

  it('leave and rejoin: peer-left, the held state is forgotten, the role is free again', async () => {
    const server = await kit.server();
    const caller = kit.client(server.url, 'caller');
    const answerer = kit.client(server.url, 'answerer');
    await answerer.client.connect();
    await caller.client.connect();
    await caller.client.sendOffer(fakeSdp('one'));
    await answerer.rec.wait('offer');

    // bye: the other side is told; the client stays connected and may join again.
    await caller.client.bye();
    expect(await answerer.rec.wait('peer-left')).toEqual([['caller', 'bye']]);
    const again = await caller.client.connect();
    expect(again).toEqual({ peerPresent: true });
    expect(await answerer.rec.wait('peer-joined', 2)).toEqual([['caller'], ['caller']]);

    // A dropped connection: the role is free for a new client, which does not get the old offer.
    await answerer.client.close();
    expect(await caller.rec.wait('peer-left')).toEqual([['answerer', 'bye']]);
    const other = kit.client(server.url, 'answerer');
    await other.client.connect();

    // The rejoined caller is a full member again: its new offer reaches the new answerer. It is also the
    // sentinel: the old offer, held and wrongly given to the newcomer, would have come before it.
    await caller.client.sendOffer(fakeSdp('two'));
    expect(await other.rec.wait('offer')).toEqual([[fakeSdp('two')]]);
    expect(other.rec.names()).toEqual(['offer']);
  });

  it('a connection that drops without bye is reported as disconnected and frees the role', async () => {
    const server = await kit.server();
    const raw = await kit.socket(server.url);
    await raw.timeout(3000).emitWithAck('signal', { type: 'join', room: 'default', role: 'caller' });
    await raw.timeout(3000).emitWithAck('signal', { type: 'offer', sdp: fakeSdp('gone') });
    const answerer = kit.client(server.url, 'answerer');
    await answerer.client.connect();
    await answerer.rec.wait('offer');
    raw.disconnect();
    expect(await answerer.rec.wait('peer-left')).toEqual([['caller', 'disconnected']]);
    const caller = kit.client(server.url, 'caller');
    expect(await caller.client.connect()).toEqual({ peerPresent: true });
  });

  it('a new offer replaces the held one and its candidates', async () => {
    const server = await kit.server();
    const caller = kit.client(server.url, 'caller');
    await caller.client.connect();
    await caller.client.sendOffer(fakeSdp('old'));
    await caller.client.sendCandidate(fakeCandidate(1));
    await caller.client.sendCandidate(fakeCandidate(2));
    await caller.client.sendOffer(fakeSdp('new'));
    await caller.client.sendCandidate(fakeCandidate(3));

    const answerer = kit.client(server.url, 'answerer');
    await answerer.client.connect();
    await answerer.rec.wait('candidate');
    expect(answerer.rec.of('offer')).toEqual([[fakeSdp('new')]]);

    // With the answerer present, a new offer (a fresh call) is delivered at once. It is the sentinel for
    // what the join delivered: the old offer or its candidates, given late, would come before it.
    await answerer.client.sendAnswer(fakeSdp('a1'));
    await caller.rec.wait('answer');
    await caller.client.sendOffer(fakeSdp('newer'));
    expect(await answerer.rec.wait('offer', 2)).toEqual([[fakeSdp('new')], [fakeSdp('newer')]]);
    expect(answerer.rec.names()).toEqual(['offer', 'candidate', 'offer']);
    expect(answerer.rec.of('candidate')).toEqual([[fakeCandidate(3)]]);
  });

  it('two rooms in parallel never cross-talk', async () => {
    const server = await kit.server();
    const pairs = await Promise.all(
      ['red', 'blue'].map(async (room) => {
        const caller = kit.client(server.url, 'caller', { room });
        const answerer = kit.client(server.url, 'answerer', { room });
        await caller.client.connect();
        await answerer.client.connect();
        return { room, caller, answerer };
      }),
    );
    expect(server.stats()).toMatchObject({ rooms: 2, clients: 4 });
    for (const { room, caller } of pairs) {
      await caller.client.sendOffer(fakeSdp(room));
      await caller.client.sendCandidate({ candidate: `candidate:1 1 udp 1 10.0.0.1 9 typ host ${room}` });
    }
    for (const { room, caller, answerer } of pairs) {
      await answerer.rec.wait('candidate');
      await answerer.client.sendAnswer(fakeSdp(`${room}-answer`));
      expect(await caller.rec.wait('answer')).toEqual([[fakeSdp(`${room}-answer`)]]);
    }
    // Sentinels, after everything both rooms sent: a last candidate each way in each room.
    const last = (room: string, who: string) => ({
      candidate: `candidate:9 1 udp 1 10.0.0.9 9 typ host ${room}-${who}`,
    });
    for (const { room, caller, answerer } of pairs) {
      await caller.client.sendCandidate(last(room, 'caller'));
      await answerer.client.sendCandidate(last(room, 'answerer'));
    }
    for (const { room, caller, answerer } of pairs) {
      await answerer.rec.wait('candidate', 2);
      await caller.rec.wait('candidate', 1);
      expect(answerer.rec.of('offer')).toEqual([[fakeSdp(room)]]);
      expect(answerer.rec.of('candidate')).toEqual([
        [{ candidate: `candidate:1 1 udp 1 10.0.0.1 9 typ host ${room}` }],
        [last(room, 'caller')],
      ]);
      expect(caller.rec.of('answer')).toEqual([[fakeSdp(`${room}-answer`)]]);
      expect(caller.rec.names()).toEqual(['peer-joined', 'answer', 'candidate']);
      expect(caller.rec.of('candidate')).toEqual([[last(room, 'answerer')]]);
    }
    // Leaving one room is not seen in the other. Once the server has handled the leaver's disconnect, a
    // candidate in the other room is the sentinel.
    await pairs[0]!.caller.client.close();
    await pairs[0]!.answerer.rec.wait('peer-left');
    await waitFor('the leaver gone', () => (server.stats().clients === 3 ? true : undefined));
    await pairs[1]!.caller.client.sendCandidate(last('blue', 'again'));
    await pairs[1]!.answerer.rec.wait('candidate', 3);
    expect(pairs[1]!.answerer.rec.of('peer-left')).toEqual([]);
    await pairs[0]!.answerer.client.close();
    await waitFor('room count 1', () => (server.stats().rooms === 1 ? true : undefined));
  });

  it('events that arrive before a listener is attached are kept for it', async () => {
    const server = await kit.server();
    const caller = kit.client(server.url, 'caller');
    await caller.client.connect();
    await caller.client.sendOffer(fakeSdp('early'));
    await caller.client.sendCandidate(fakeCandidate(1));
    const { SignalClient } = await import('../../src/signal/index.js');
    const late = new SignalClient({ url: server.url, role: 'answerer', connectTimeoutMs: 3000 });
    try {
      await late.connect();
      // The held offer and candidate follow the join ack. The ack of a later message of its own comes after
      // them: then they have arrived, with no listener attached (a sleep could end before they did, and the
      // test would pass without testing the buffering).
      await late.sendCandidate(fakeCandidate(50));
      const got: string[] = [];
      late.on('offer', () => got.push('offer'));
      late.on('candidate', () => got.push('candidate'));
      await waitFor('buffered events', () => (got.length === 2 ? got : undefined), 2000);
      expect(got).toEqual(['offer', 'candidate']);
    } finally {
      await late.close();
    }
  });
});
