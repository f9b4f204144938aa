/**
 * The server's limits against a real server and real clients (server-guard.ts): connections per address,
 * rooms and held bytes per address, wrong-token back-off, the handshake timeout, acks exactly once whatever
 * the argument shape, truncated errors, and rate-limited security log lines. A second address is 127.0.0.2
 * (the whole 127/8 is loopback on Linux): the legitimate client beside the abusive one.
 */
import { Manager } from 'socket.io-client';
import { afterEach, describe, expect, it } from 'vitest';
import {
  emitWithAck,
  fakeCandidate,
  fakeSdp,
  SignalTestKit,
  SocketRecorder,
  waitFor,
  type RawSocket,
} from '../helpers/signal-server.js';
import { SIGNAL_EVENT, type SignalAck } from '../../src/signal/index.js';
import { signRoomToken } from '../../src/signal/room-token.js';

const kit = new SignalTestKit();
afterEach(() => kit.closeAll());

function connectError(socket: RawSocket): Promise<Error> {
  return new Promise<Error>((resolve, reject) => {
    socket.once('connect', () => reject(new Error('connected, expected a refusal')));
    socket.once('connect_error', resolve);
    socket.connect();
  });
}

describe('signal server limits', { timeout: 30_000 }, () => {
  it('acks exactly once whatever the argument shape, and applies nothing it refuses', async () => {
    const server = await kit.server();
    const caller = await kit.socket(server.url);
    const answerer = await kit.socket(server.url);
    const seen = new SocketRecorder(answerer);
    await emitWithAck(caller, { type: 'join', room: 'r', role: 'caller' });
    await emitWithAck(answerer, { type: 'join', room: 'r', role: 'answerer' });

    const acks: unknown[][] = [];
    const record = (...args: unknown[]): void => void acks.push(args);
    caller.emit(SIGNAL_EVENT, { type: 'offer', sdp: fakeSdp('extra') }, 'extra', record);
    caller.emit(SIGNAL_EVENT, record);
    caller.emit(SIGNAL_EVENT, record, record); // a function as the message, and the ack
    // Sentinel: acked after the three above, on the same connection.
    const sentinel = await emitWithAck(caller, { type: 'offer', sdp: fakeSdp('sentinel') });
    expect(sentinel).toMatchObject({ ok: true, delivered: true });
    expect(acks).toHaveLength(3);
    for (const [ack, ...rest] of acks) {
      expect(rest).toEqual([]);
      expect(ack).toMatchObject({ ok: false, error: { code: 'BAD_MESSAGE' } });
    }
    expect((acks[0]![0] as { error: { message: string } }).error.message).toMatch(/takes one message/);
    // The answerer got the sentinel's offer only: the offer sent with an extra argument was not applied.
    const offers = await seen.wait(1, 'offer');
    expect(offers.map((m) => (m as { sdp: string }).sdp.includes('sentinel'))).toEqual([true]);
  });

  it('quotes hostile input truncated: 20,000 unknown keys get a short error', async () => {
    const server = await kit.server();
    const socket = await kit.socket(server.url);
    await emitWithAck(socket, { type: 'join', room: 'r', role: 'caller' });
    const keys: Record<string, unknown> = {};
    for (let i = 0; i < 20_000; i++) keys[`k${i}`] = 1;
    for (const junk of [
      { type: 'join', room: 'r', role: 'caller', ...keys },
      { type: 'bye', ...keys },
      { type: 'candidate', candidate: { candidate: 'candidate:1', ...keys } },
    ]) {
      const ack = await emitWithAck(socket, junk);
      expect(ack).toMatchObject({ ok: false, error: { code: 'BAD_MESSAGE' } });
      expect((ack as { error: { message: string } }).error.message.length).toBeLessThan(400);
    }
  });

  it('refuses connections over the per-address limit with a clear code; another address still connects', async () => {
    const lines: string[] = [];
    const server = await kit.server({
      host: '0.0.0.0',
      limits: { connectionsPerAddress: 3 },
      securityLog: (l) => lines.push(l),
    });
    for (let i = 0; i < 3; i++) await kit.socket(server.url);
    const error = await connectError(kit.rawSocket(server.url));
    expect(error.message).toMatch(
      /^TOO_MANY_CONNECTIONS: 3 connections from 127\.0\.0\.1 already \(limit 3\)/,
    );
    const other = await kit.socket(server.url, {}, { localAddress: '127.0.0.2' } as object);
    expect(other.connected).toBe(true);
    expect(server.stats()).toMatchObject({ clients: 4, refused: { connections: 1 } });
    expect(lines.some((l) => /refused 127\.0\.0\.1: TOO_MANY_CONNECTIONS/.test(l))).toBe(true);
  });

  it('refuses connections over the total limit', async () => {
    const server = await kit.server({ host: '0.0.0.0', limits: { connections: 2 } });
    await kit.socket(server.url);
    await kit.socket(server.url, {}, { localAddress: '127.0.0.2' } as object);
    const error = await connectError(kit.rawSocket(server.url, {}, { localAddress: '127.0.0.3' } as object));
    expect(error.message).toMatch(/^TOO_MANY_CONNECTIONS: the server has 2 connections \(limit 2\)/);
  });

  it('refuses new rooms over the per-address limit; existing rooms stay open to join; a closed room frees its place', async () => {
    const server = await kit.server({ host: '0.0.0.0', limits: { roomsPerAddress: 2 } });
    const a = await kit.socket(server.url);
    const b = await kit.socket(server.url);
    const c = await kit.socket(server.url);
    expect(await emitWithAck(a, { type: 'join', room: 'one', role: 'caller' })).toMatchObject({ ok: true });
    expect(await emitWithAck(b, { type: 'join', room: 'two', role: 'caller' })).toMatchObject({ ok: true });
    const third = await emitWithAck(c, { type: 'join', room: 'three', role: 'caller' });
    expect(third).toMatchObject({ ok: false, error: { code: 'TOO_MANY_ROOMS' } });
    expect((third as { error: { message: string } }).error.message).toMatch(
      /127\.0\.0\.1 has created 2 rooms/,
    );
    expect(await emitWithAck(c, { type: 'join', room: 'one', role: 'answerer' })).toMatchObject({ ok: true });
    // Another address has its own allowance.
    const d = await kit.socket(server.url, {}, { localAddress: '127.0.0.2' } as object);
    expect(await emitWithAck(d, { type: 'join', room: 'four', role: 'caller' })).toMatchObject({ ok: true });
    // Room "two" closes (its only member leaves): a.k.a. a place for a new one.
    expect(await emitWithAck(b, { type: 'bye' })).toMatchObject({ ok: true });
    expect(await emitWithAck(b, { type: 'join', room: 'five', role: 'caller' })).toMatchObject({ ok: true });
    expect(server.stats().refused.rooms).toBe(1);
  });

  it('holds at most the held-bytes budget per address under a memory fill; others keep working; all freed after', async () => {
    const budget = 1024 * 1024;
    const server = await kit.server({
      host: '0.0.0.0',
      limits: { heldBytesPerAddress: budget, connectionsPerAddress: 12, roomsPerAddress: 12 },
    });
    // The fill of the issue: each socket its own room as caller, a 64 KiB offer and 200 candidates.
    const codes = new Map<string, number>();
    const count = (ack: SignalAck): void => {
      const code = ack.ok ? 'ok' : ack.error.code;
      codes.set(code, (codes.get(code) ?? 0) + 1);
    };
    const fillers: RawSocket[] = [];
    for (let i = 0; i < 12; i++) {
      const s = await kit.socket(server.url);
      fillers.push(s);
      count(await emitWithAck(s, { type: 'join', room: `fill${i}`, role: 'caller' }));
      count(await emitWithAck(s, { type: 'offer', sdp: fakeSdp(`fill${i}`, 64_000) }));
      const acks = await Promise.all(
        Array.from({ length: 150 }, (_, n) =>
          emitWithAck(s, { type: 'candidate', candidate: bigCandidate(n) }),
        ),
      );
      acks.forEach(count);
      expect(server.stats().heldBytes).toBeLessThanOrEqual(budget);
    }
    expect(codes.get('OVER_BUDGET')).toBeGreaterThan(100);
    expect(server.stats().refused.heldBytes).toBe(codes.get('OVER_BUDGET'));
    expect(server.stats().heldBytes).toBeGreaterThan(budget * 0.8);

    // A legitimate pair from another address: its offer is held and relayed as ever.
    const cam = await kit.socket(server.url, {}, { localAddress: '127.0.0.2' } as object);
    const viewer = await kit.socket(server.url, {}, { localAddress: '127.0.0.2' } as object);
    const seen = new SocketRecorder(viewer);
    await emitWithAck(cam, { type: 'join', room: 'legit', role: 'caller' });
    expect(await emitWithAck(cam, { type: 'offer', sdp: fakeSdp('legit', 30_000) })).toMatchObject({
      ok: true,
      delivered: false,
    });
    expect(await emitWithAck(cam, { type: 'candidate', candidate: fakeCandidate(1) })).toMatchObject({
      ok: true,
    });
    await emitWithAck(viewer, { type: 'join', room: 'legit', role: 'answerer' });
    await seen.wait(1, 'candidate');

    for (const s of fillers) s.disconnect();
    await waitFor('held bytes of the fill freed', () =>
      server.stats().heldBytes < 40_000 && server.stats().rooms === 1 ? true : undefined,
    );
  });

  it('makes an address that keeps presenting wrong tokens wait, doubling; the right token then gets in', async () => {
    const lines: string[] = [];
    const server = await kit.server({
      token: 's3cret',
      limits: { authFailures: 3, authBackoffMs: 400 },
      securityLog: (l) => lines.push(l),
    });
    for (let i = 0; i < 3; i++) {
      expect((await connectError(kit.rawSocket(server.url, { token: `guess${i}` }))).message).toMatch(
        /^UNAUTHORIZED: wrong token/,
      );
    }
    const fourth = await connectError(kit.rawSocket(server.url, { token: 'guess3' }));
    expect(fourth.message).toMatch(/^UNAUTHORIZED: wrong token.*next try from this address in 1 s/);
    // During the wait even the right token is refused: guessing cannot go on at full speed.
    const waiting = await connectError(kit.rawSocket(server.url, { token: 's3cret' }));
    expect(waiting.message).toMatch(
      /^UNAUTHORIZED: too many wrong tokens from 127\.0\.0\.1; try again in 1 s/,
    );
    await new Promise((r) => setTimeout(r, 500));
    const admitted = await kit.socket(server.url, { token: 's3cret' });
    expect(admitted.connected).toBe(true);
    expect(server.stats().refused.auth).toBe(5);
    expect(lines.filter((l) => l.includes('UNAUTHORIZED')).length).toBe(5);
  });

  it('refuses a forged room token at the handshake and backs off; join refusals are counted too', async () => {
    const lines: string[] = [];
    const secret = 'k'.repeat(40);
    const server = await kit.server({
      tokenSecret: secret,
      limits: { authFailures: 2, authBackoffMs: 400 },
      securityLog: (l) => lines.push(l),
    });
    const good = await signRoomToken(secret, { room: 'lab', role: 'caller', ttlSeconds: 60 });
    // A valid token for room lab: admitted, and a join of another room is refused in its ack, counted.
    const valid = await kit.socket(server.url, { token: good });
    const wrongRoom = await emitWithAck(valid, { type: 'join', room: 'other', role: 'caller' });
    expect(wrongRoom).toMatchObject({ ok: false, error: { code: 'TOKEN_WRONG_ROOM' } });
    expect(server.stats().refused.auth).toBe(1);
    expect(lines.some((l) => /refused 127\.0\.0\.1: TOKEN_WRONG_ROOM at join/.test(l))).toBe(true);
    // Signed with another secret, or with its signature changed: refused before any socket exists.
    const foreign = await signRoomToken('f'.repeat(40), { room: 'lab', role: 'caller', ttlSeconds: 60 });
    const refused = await connectError(kit.rawSocket(server.url, { token: foreign }));
    expect(refused.message).toMatch(/^TOKEN_INVALID: the room token is not valid for this server/);
    // The third wrong token (authFailures 2) starts the wait.
    const tampered = `${good.slice(0, -2)}${good.endsWith('AA') ? 'BB' : 'AA'}`;
    expect((await connectError(kit.rawSocket(server.url, { token: tampered }))).message).toMatch(
      /^TOKEN_INVALID: .*next try from this address in 1 s/,
    );
    // During the wait the valid token is refused too; after it, admitted and joined.
    expect((await connectError(kit.rawSocket(server.url, { token: good }))).message).toMatch(
      /^UNAUTHORIZED: too many wrong tokens from 127\.0\.0\.1/,
    );
    await new Promise((r) => setTimeout(r, 500));
    const later = await kit.socket(server.url, { token: good });
    expect(await emitWithAck(later, { type: 'join', room: 'lab', role: 'caller' })).toMatchObject({
      ok: true,
    });
    expect(server.stats().refused.auth).toBe(4);
  });

  it('closes a connection that does not finish its handshake in time, and counts it', async () => {
    const server = await kit.server({ limits: { authTimeoutMs: 300 } });
    // A transport connection that never connects to the namespace (no handshake packet at all).
    const manager = new Manager(server.url, {
      reconnection: false,
      transports: ['websocket'],
      autoConnect: false,
    });
    const closed = new Promise<string>((resolve) =>
      manager.once('close', (reason) => resolve(String(reason))),
    );
    manager.open();
    await waitFor('a pending connection', () => (server.stats().pending === 1 ? true : undefined));
    expect(await closed).toMatch(/close/);
    await waitFor('the timeout counted', () => (server.stats().refused.authTimeout === 1 ? true : undefined));
    expect(server.stats().pending).toBe(0);
  });

  it('reports refusals one line each, at most 5 per kind per 10 s, then how many were held back', async () => {
    const lines: string[] = [];
    const server = await kit.server({
      limits: { roomsPerAddress: 1 },
      securityLog: (l) => lines.push(l),
    });
    const s = await kit.socket(server.url);
    const t = await kit.socket(server.url);
    await emitWithAck(s, { type: 'join', room: 'mine', role: 'caller' });
    for (let i = 0; i < 30; i++) {
      expect(await emitWithAck(t, { type: 'join', room: `r${i}`, role: 'caller' })).toMatchObject({
        ok: false,
        error: { code: 'TOO_MANY_ROOMS' },
      });
    }
    expect(lines).toHaveLength(5);
    expect(server.stats().refused.rooms).toBe(30);
  });
});

/** A candidate near the 1 KiB limit. */
function bigCandidate(n: number): { candidate: string; sdpMid: string; sdpMLineIndex: number } {
  const c = fakeCandidate(n);
  return { ...c, candidate: `${c.candidate} x-pad ${'p'.repeat(1000 - c.candidate.length - 7)}` };
}
