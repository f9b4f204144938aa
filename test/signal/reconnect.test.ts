import { afterEach, describe, expect, it } from 'vitest';
import {
  SignalTestKit,
  SocketRecorder,
  emitWithAck,
  fakeCandidate,
  fakeSdp,
} from '../helpers/signal-server.js';

const kit = new SignalTestKit();
afterEach(() => kit.closeAll());

describe('server restarted under connected clients', { timeout: 20_000 }, () => {
  it('both clients rejoin by themselves; the unanswered call goes on without duplicate events', async () => {
    const first = await kit.server();
    const caller = kit.client(first.url, 'caller', { room: 'lab' });
    const answerer = kit.client(first.url, 'answerer', { room: 'lab' });
    await caller.client.connect();
    await answerer.client.connect();
    await caller.client.sendOffer(fakeSdp('call'));
    await caller.client.sendCandidate(fakeCandidate(1));
    await answerer.rec.wait('candidate');

    await first.close();
    await caller.rec.wait('disconnected');
    await answerer.rec.wait('disconnected');
    const second = await kit.server({ port: first.port });
    await caller.rec.wait('rejoined', 1, 8000);
    await answerer.rec.wait('rejoined', 1, 8000);
    expect(second.stats()).toMatchObject({ rooms: 1, clients: 2 });
    expect(caller.client.joined && answerer.client.joined).toBe(true);

    // The answerer already had this offer: the re-sent copy is not repeated to it. Sentinels, not a wait:
    // a new candidate the caller sends after its re-sends (the server relays one connection's messages in
    // order) and, the other way, the answer.
    await caller.client.sendCandidate(fakeCandidate(2));
    await answerer.rec.wait('candidate', 2);
    expect(answerer.rec.of('offer')).toEqual([[fakeSdp('call')]]);
    expect(answerer.rec.of('candidate')).toEqual([[fakeCandidate(1)], [fakeCandidate(2)]]);
    // The call goes on through the new server.
    await answerer.client.sendAnswer(fakeSdp('answer'));
    expect(await caller.rec.wait('answer')).toEqual([[fakeSdp('answer')]]);
    // Regression: a shutting-down server told each client that the other had left, which made the
    // answerer forget its offer and take the re-sent copy as a new call.
    expect(answerer.rec.of('peer-left')).toEqual([]);
    expect(caller.rec.of('peer-left')).toEqual([]);
  });

  it('a caller re-sends its unanswered offer and candidates, in order, to the restarted server', async () => {
    const first = await kit.server();
    const caller = kit.client(first.url, 'caller');
    await caller.client.connect();
    await caller.client.sendOffer(fakeSdp('held'));
    await caller.client.sendCandidate(fakeCandidate(1));
    await caller.client.sendCandidate(fakeCandidate(2));

    await first.close();
    await caller.rec.wait('disconnected');
    // Sent while the server is down: kept and re-sent after the rejoin.
    await caller.client.sendCandidate(fakeCandidate(3));
    const second = await kit.server({ port: first.port });
    await caller.rec.wait('rejoined', 1, 8000);
    // Its ack says the server has handled the re-sends before it (one connection, in order): they are held
    // now, and the answerer below gets them from the hold.
    await caller.client.sendCandidate(fakeCandidate(4));

    const raw = await kit.socket(second.url);
    const inbox = new SocketRecorder(raw);
    expect(await emitWithAck(raw, { type: 'join', room: 'default', role: 'answerer' })).toEqual({
      ok: true,
      room: 'default',
      role: 'answerer',
      peerPresent: true,
    });
    expect(await inbox.wait(5)).toEqual([
      { type: 'offer', sdp: fakeSdp('held') },
      { type: 'candidate', candidate: fakeCandidate(1) },
      { type: 'candidate', candidate: fakeCandidate(2) },
      { type: 'candidate', candidate: fakeCandidate(3) },
      { type: 'candidate', candidate: fakeCandidate(4) },
    ]);
  });

  it('a caller whose offer was answered does not re-send it after a restart', async () => {
    const first = await kit.server();
    const caller = kit.client(first.url, 'caller');
    const answerer = kit.client(first.url, 'answerer');
    await caller.client.connect();
    await answerer.client.connect();
    await caller.client.sendOffer(fakeSdp('done'));
    await answerer.rec.wait('offer');
    await answerer.client.sendAnswer(fakeSdp('answer'));
    await caller.rec.wait('answer');
    await answerer.client.close();

    await first.close();
    const second = await kit.server({ port: first.port });
    await caller.rec.wait('rejoined', 1, 8000);
    const raw = await kit.socket(second.url);
    const inbox = new SocketRecorder(raw);
    await emitWithAck(raw, { type: 'join', room: 'default', role: 'answerer' });
    expect(await caller.rec.wait('peer-joined', 2)).toEqual([['answerer'], ['answerer']]);
    // The caller, told a new answerer is here, starts a new call (what the CLI does). Its offer is the
    // sentinel: the answered one, re-sent after the rejoin (before the 'rejoined' event), would be held by the
    // new server and come first.
    await caller.client.sendOffer(fakeSdp('next'));
    expect(await inbox.wait(1)).toEqual([{ type: 'offer', sdp: fakeSdp('next') }]);
  });

  it('an answerer re-sends its answer when the caller re-sends the same offer', async () => {
    const server = await kit.server();
    const answerer = kit.client(server.url, 'answerer');
    await answerer.client.connect();
    // A hand-driven caller whose answer got lost: it offers, and offers the same SDP again.
    const raw = await kit.socket(server.url);
    const inbox = new SocketRecorder(raw);
    await emitWithAck(raw, { type: 'join', room: 'default', role: 'caller' });
    await emitWithAck(raw, { type: 'offer', sdp: fakeSdp('same') });
    await answerer.rec.wait('offer');
    await answerer.client.sendAnswer(fakeSdp('ans'));
    await answerer.client.sendCandidate(fakeCandidate(7));
    await inbox.wait(2);
    await emitWithAck(raw, { type: 'offer', sdp: fakeSdp('same') });
    const got = await inbox.wait(4);
    expect(got).toEqual([
      { type: 'answer', sdp: fakeSdp('ans') },
      { type: 'candidate', candidate: fakeCandidate(7) },
      { type: 'answer', sdp: fakeSdp('ans') },
      { type: 'candidate', candidate: fakeCandidate(7) },
    ]);
    expect(answerer.rec.of('offer')).toHaveLength(1);
  });
});
