import { afterEach, describe, expect, it } from 'vitest';
import { SignalError } from '../../src/errors.js';
import { SignalTestKit, fakeCandidate, fakeSdp, sleep, waitFor } from '../helpers/signal-server.js';

const kit = new SignalTestKit();
afterEach(() => kit.closeAll());

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
    await sleep(100);
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
    await sleep(100);
    expect(answerer.rec.of('candidate')).toEqual([]);
    await caller.client.sendOffer(fakeSdp('late'));
    await answerer.rec.wait('candidate');
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

    // The room still works between the two, and nobody saw the intruder.
    await caller.client.sendOffer(fakeSdp('still'));
    expect(await answerer.rec.wait('offer')).toEqual([[fakeSdp('still')]]);
    await sleep(100);
    expect(caller.rec.names()).toEqual(['peer-joined']);
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
    await sleep(100);
    expect(other.rec.of('offer')).toEqual([]);

    // The rejoined caller is a full member again: its new offer reaches the new answerer.
    await caller.client.sendOffer(fakeSdp('two'));
    expect(await other.rec.wait('offer')).toEqual([[fakeSdp('two')]]);
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
    await sleep(100);
    expect(answerer.rec.of('offer')).toEqual([[fakeSdp('new')]]);
    expect(answerer.rec.of('candidate')).toEqual([[fakeCandidate(3)]]);

    // With the answerer present, a new offer (a fresh call) is delivered at once.
    await answerer.client.sendAnswer(fakeSdp('a1'));
    await caller.rec.wait('answer');
    await caller.client.sendOffer(fakeSdp('newer'));
    expect(await answerer.rec.wait('offer', 2)).toEqual([[fakeSdp('new')], [fakeSdp('newer')]]);
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
    await sleep(100);
    for (const { room, caller, answerer } of pairs) {
      expect(answerer.rec.of('offer')).toEqual([[fakeSdp(room)]]);
      expect(answerer.rec.of('candidate')).toEqual([
        [{ candidate: `candidate:1 1 udp 1 10.0.0.1 9 typ host ${room}` }],
      ]);
      expect(caller.rec.of('answer')).toEqual([[fakeSdp(`${room}-answer`)]]);
    }
    // Leaving one room is not seen in the other.
    await pairs[0]!.caller.client.close();
    await pairs[0]!.answerer.rec.wait('peer-left');
    await sleep(100);
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
      await sleep(200); // the offer and candidate arrive with no listener attached
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
