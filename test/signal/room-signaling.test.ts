/**
 * RoomSignaling (the protocol-2 room client) against a real server on a free port: events in order, the held
 * offer for the next viewer, ids that survive a server restart, what is re-sent after a rejoin, fail-over to a
 * second server, and a protocol-1 caller's re-sent offer answered again instead of starting a new call.
 */
import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { SignalError } from '../../src/errors.js';
import { RoomSignaling, type RoomSignalingOptions } from '../../src/signal/room-signaling.js';
import {
  emitWithAck,
  fakeCandidate,
  fakeSdp,
  SignalTestKit,
  SocketRecorder,
  waitEvent,
  waitFor,
} from '../helpers/signal-server.js';

const kit = new SignalTestKit();
afterEach(() => kit.closeAll());

/** A RoomSignaling with its events recorded from before connect (closed by the kit). */
const member = (options: RoomSignalingOptions) => kit.signaling(options);

/** A port that was free a moment ago and has nothing listening now. */
async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

describe('RoomSignaling (protocol 2 client)', { timeout: 15_000 }, () => {
  it('the held offer and its candidates reach the viewer that joins, after its joined, from the caller', async () => {
    const server = await kit.server();
    const caller = member({ url: server.url, role: 'caller', room: 'r' });
    const { self: callerId } = await caller.s.connect();
    expect(await caller.s.send({ type: 'offer', sdp: fakeSdp('spare') })).toBe(false); // held
    await caller.s.send({ type: 'candidate', candidate: fakeCandidate(1) });
    const viewer = member({ url: server.url, role: 'answerer', room: 'r' });
    const joined = await viewer.s.connect();
    expect(joined.peers).toEqual([{ id: callerId, role: 'caller', protocol: 2, inCall: false }]);
    await waitEvent(viewer.events, 'candidate');
    expect(viewer.events.map((e) => e.type)).toEqual(['joined', 'offer', 'candidate']);
    expect(viewer.events[1]).toEqual({
      type: 'offer',
      from: callerId,
      sdp: fakeSdp('spare'),
      renegotiate: false,
    });
    const [took] = await waitEvent(caller.events, 'peer-joined');
    expect(took).toEqual({
      type: 'peer-joined',
      peer: { id: joined.self, role: 'answerer', protocol: 2, inCall: false },
      tookOffer: true,
    });
    // Addressed answer back to the caller.
    expect(await viewer.s.send({ type: 'answer', sdp: fakeSdp('ans'), to: callerId })).toBe(true);
    const [answer] = await waitEvent(caller.events, 'answer');
    expect(answer).toEqual({ type: 'answer', from: joined.self, sdp: fakeSdp('ans') });
  });

  it('after a server restart: same ids, the untaken held offer re-sent, inCall said on rejoin', async () => {
    const server = await kit.server();
    const port = server.port;
    const caller = member({ url: server.url, role: 'caller', room: 'r' });
    const first = await caller.s.connect();
    const viewer = member({ url: server.url, role: 'answerer', room: 'r' });
    const v = await viewer.s.connect();
    viewer.s.setInCall(true);
    // The caller's next held offer, not taken yet (the viewer joined before it).
    await caller.s.send({ type: 'offer', sdp: fakeSdp('spare-2') });
    await caller.s.send({ type: 'candidate', candidate: fakeCandidate(2) });
    await server.close();
    await waitEvent(caller.events, 'lost');
    await waitEvent(viewer.events, 'lost');
    const again = await kit.server({ port });
    await waitEvent(caller.events, 'joined', 2);
    await waitEvent(viewer.events, 'joined', 2);
    const callerRejoin = caller.events.filter((e) => e.type === 'joined')[1];
    expect(callerRejoin).toMatchObject({ self: first.self, rejoined: true });
    expect(viewer.events.filter((e) => e.type === 'joined')[1]).toMatchObject({
      self: v.self,
      rejoined: true,
    });
    // The held offer is on the restarted server again: a new viewer takes it, with its candidate.
    const late = member({ url: again.url, role: 'answerer', room: 'r' });
    await late.s.connect();
    await waitEvent(late.events, 'candidate');
    expect(late.events.map((e) => e.type)).toEqual(['joined', 'offer', 'candidate']);
    expect(late.events[1]).toMatchObject({ sdp: fakeSdp('spare-2') });
    // The rejoined viewer said it is in a call: it did not take the offer, and the caller heard so, in its
    // own rejoin's peers (the viewer was back first) or in a peer-joined (the viewer came back after it).
    const backInCall = caller.events.some(
      (e) =>
        (e.type === 'peer-joined' && e.peer.id === v.self && e.peer.inCall && !e.tookOffer) ||
        (e.type === 'joined' && e.rejoined && e.peers.some((p) => p.id === v.self && p.inCall)),
    );
    expect(backInCall).toBe(true);
  });

  it('fails over to the next server URL when its server dies', async () => {
    const a = await kit.server();
    const b = await kit.server();
    const viewer = member({ url: [a.url, b.url], role: 'answerer', room: 'f' });
    await viewer.s.connect();
    expect(viewer.s.url).toBe(a.url);
    await a.close();
    await waitEvent(viewer.events, 'joined', 2, 10_000);
    expect(viewer.s.url).toBe(b.url);
    expect(b.stats()).toMatchObject({ rooms: 1, clients: 1 });
  });

  it("a protocol-1 caller's offer re-sent with the same SDP is answered again, not a new call", async () => {
    const server = await kit.server();
    const raw = await kit.socket(server.url);
    const rec = new SocketRecorder(raw);
    await emitWithAck(raw, { type: 'join', room: 'old', role: 'caller' });
    const viewer = member({ url: server.url, role: 'answerer', room: 'old' });
    await viewer.s.connect();
    await emitWithAck(raw, { type: 'offer', sdp: fakeSdp('v1') });
    const [offer] = await waitEvent(viewer.events, 'offer');
    await viewer.s.send({ type: 'answer', sdp: fakeSdp('ans'), to: offer?.from });
    await viewer.s.send({ type: 'candidate', candidate: fakeCandidate(5), to: offer?.from });
    await rec.wait(3);
    // The same offer again (a protocol-1 re-send): our answer and candidate come again; no second offer event.
    await emitWithAck(raw, { type: 'offer', sdp: fakeSdp('v1') });
    await rec.wait(5);
    expect(rec.messages.map((m) => m.type)).toEqual([
      'peer-joined',
      'answer',
      'candidate',
      'answer',
      'candidate',
    ]);
    // Sentinel: a later candidate from the caller is reported, the duplicate offer before it was not.
    await emitWithAck(raw, { type: 'candidate', candidate: fakeCandidate(9) });
    await waitEvent(viewer.events, 'candidate');
    expect(viewer.events.filter((e) => e.type === 'offer')).toHaveLength(1);
  });

  it('refusals are SignalErrors with the server code; an unreachable server is UNREACHABLE, bounded', async () => {
    const server = await kit.server({ maxViewers: 1 });
    await member({ url: server.url, role: 'answerer', room: 'x' }).s.connect();
    const caller = member({ url: server.url, role: 'caller', room: 'x' });
    await caller.s.connect();
    const extra = member({ url: server.url, role: 'answerer', room: 'x' });
    await expect(extra.s.connect()).rejects.toMatchObject({ code: 'ROOM_FULL' });
    const started = performance.now();
    const nowhere = member({ url: 'http://127.0.0.1:9', role: 'caller', connectTimeoutMs: 1200 });
    const error = await nowhere.s.connect().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SignalError);
    expect(error).toMatchObject({ code: 'UNREACHABLE' });
    expect((error as Error).message).toContain('rtc-peer signal');
    expect(performance.now() - started).toBeLessThan(3000);
  });
});

describe('RoomSignaling: errors and lifecycle', { timeout: 15_000 }, () => {
  it('rejects UNREACHABLE after its bounded retries, naming the URL and what to do', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const client = new RoomSignaling({ url, role: 'caller', connectTimeoutMs: 1200 });
    const started = performance.now();
    try {
      const error = await client.connect().catch((e: unknown) => e);
      const elapsed = performance.now() - started;
      expect(error).toBeInstanceOf(SignalError);
      expect(error).toMatchObject({ code: 'UNREACHABLE', url });
      expect((error as Error).message).toMatch(
        new RegExp(`signaling server ${url} is unreachable \\(\\d+ attempts`),
      );
      expect((error as Error).message).toMatch(/start it with `rtc-peer signal` or check --signal/);
      expect(elapsed).toBeGreaterThan(1100);
      expect(elapsed).toBeLessThan(3000);
    } finally {
      await client.close();
    }
  });

  it('throws TypeError on invalid options', () => {
    const url = 'http://127.0.0.1:1';
    expect(() => new RoomSignaling({ url: 'not a url', role: 'caller' })).toThrow(TypeError);
    expect(() => new RoomSignaling({ url: 'ftp://x', role: 'caller' })).toThrow(TypeError);
    expect(() => new RoomSignaling({ url, role: 'boss' as 'caller' })).toThrow(/role must be/);
    expect(() => new RoomSignaling({ url, role: 'caller', room: 'no spaces' })).toThrow(
      /room "no spaces" is invalid/,
    );
    expect(() => new RoomSignaling({ url, role: 'caller', room: '' })).toThrow(TypeError);
    expect(() => new RoomSignaling({ url, role: 'caller', connectTimeoutMs: 0 })).toThrow(TypeError);
    expect(() => new RoomSignaling({ url, role: 'caller', token: '' })).toThrow(TypeError);
    expect(() => new RoomSignaling({ url: [], role: 'caller' })).toThrow(/at least one server URL/);
    expect(() => new RoomSignaling({ url, role: 'caller', session: 'short' })).toThrow(/session must be/);
    expect(new RoomSignaling({ url, role: 'answerer' })).toMatchObject({
      room: 'default',
      role: 'answerer',
      urls: [url],
    });
  });

  it('refuses sends before connect, in the wrong role, and after close', async () => {
    const server = await kit.server();
    // A protocol-1 caller makes the offers: the viewer's own offer is refused by the server.
    await kit.join(server.url, 'default', 'caller');
    const { s: client } = kit.signaling({ url: server.url, role: 'answerer' });
    await expect(client.send({ type: 'answer', sdp: 'x' })).rejects.toMatchObject({ code: 'NOT_JOINED' });
    await client.connect();
    const refused = await client.send({ type: 'offer', sdp: fakeSdp('x') }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(SignalError);
    expect(refused).toMatchObject({ code: 'WRONG_ROLE', url: server.url });
    expect((refused as Error).message).toMatch(/refused offer \(WRONG_ROLE\): .*speaks protocol 1/);
    await Promise.all([client.close(), client.close()]);
    await expect(client.send({ type: 'answer', sdp: 'x' })).rejects.toMatchObject({ code: 'CLOSED' });
    await expect(client.connect()).rejects.toMatchObject({ code: 'CLOSED' });
    await waitFor('the viewer gone', () => (server.stats().clients === 1 ? true : undefined));
  });

  it('close() during a pending connect rejects it with CLOSED', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const client = new RoomSignaling({ url, role: 'caller', connectTimeoutMs: 5000 });
    const pending = client.connect();
    await client.close();
    await expect(pending).rejects.toMatchObject({ code: 'CLOSED' });
  });
});
