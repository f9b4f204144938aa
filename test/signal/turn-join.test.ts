/**
 * A signaling server given a TURN server (`turn`) hands each successful join fresh, expiring credentials in
 * its ack (protocol 1 and 2), and every WHIP/WHEP answer in its Link header; a refused join and the other
 * acks carry none. The credentials are checked against openssl's HMAC-SHA1, not against the code that made
 * them. The client (RoomSignaling) exposes them, renewed at a rejoin.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { startSignalServer } from '../../src/signal/index.js';
import type { SignalAck } from '../../src/signal/types.js';
import { SignalTestKit, fakeSdp, waitEvent } from '../helpers/signal-server.js';
import { startRedisServer, stopRedisServers } from '../helpers/redis-server.js';
import { waitReady } from '../helpers/signal-cluster.js';
import { opensslTurnCredential } from '../helpers/turn-server.js';

const SECRET = 'turn-join-test-secret-0123456789';
const URLS = ['turn:127.0.0.1:3478?transport=udp', 'turn:127.0.0.1:3478?transport=tcp'];
const kit = new SignalTestKit();
afterEach(() => kit.closeAll());
afterAll(() => stopRedisServers());

/** The ICE servers of a join ack (none for a refusal). */
const serversOf = (ack: SignalAck): readonly RTCIceServer[] | undefined => (ack.ok ? ack.iceServers : []);

/** The one TURN server given, checked: its URLs, `<expiry>:<label>`, and openssl's credential for it. */
function turnOf(
  servers: readonly RTCIceServer[] | undefined,
  ttl: number,
  label: RegExp,
  from: number,
): { username: string } {
  expect(servers).toHaveLength(1);
  const server = servers![0]!;
  expect(server.urls).toEqual(URLS);
  const [expiry, rest] = server.username!.split(':');
  expect(rest).toMatch(label);
  // Expiry: ttl after the join, by the test's clock (whole seconds).
  expect(Number(expiry)).toBeGreaterThanOrEqual(Math.floor(from / 1000) + ttl);
  expect(Number(expiry)).toBeLessThanOrEqual(Math.floor(Date.now() / 1000) + ttl);
  expect(server.credential).toBe(opensslTurnCredential(SECRET, server.username ?? ''));
  return { username: server.username! };
}

describe('TURN credentials in the join ack', { timeout: 15_000 }, () => {
  it('every successful join, protocol 1 and 2, gets fresh ones; a refused join and other acks none', async () => {
    const server = await kit.server({ turn: { urls: URLS, secret: SECRET, ttlSeconds: 600 } });
    const from = Date.now();
    // Protocol 1: no member id, a random label.
    const v1 = await kit.join(server.url, 'p1', 'caller');
    turnOf(serversOf(v1.ack), 600, /^[A-Za-z0-9_-]{16}$/, from);
    const again = await kit.join(server.url, 'p1', 'answerer');
    expect(turnOf(serversOf(again.ack), 600, /^[A-Za-z0-9_-]{16}$/, from).username).not.toBe(
      turnOf(serversOf(v1.ack), 600, /./, from).username,
    );
    const taken = await kit.join(server.url, 'p1', 'caller');
    expect(taken.ack).toMatchObject({ ok: false, error: { code: 'ROLE_TAKEN' } });
    expect(taken.ack).not.toHaveProperty('iceServers');
    const offerAck = await v1.send({ type: 'offer', sdp: fakeSdp('o') });
    expect(offerAck).toMatchObject({ ok: true });
    expect(offerAck).not.toHaveProperty('iceServers');
    // Protocol 2: labelled with the member id the ack gives.
    const v2 = await kit.join(server.url, 'p2', 'answerer', {
      protocol: 2,
      session: 'turn-join-session-0000000',
    });
    expect(v2.ack.ok && v2.ack.id).toMatch(/^[A-Za-z0-9_-]+$/);
    turnOf(serversOf(v2.ack), 600, new RegExp(`^${v2.ack.ok ? v2.ack.id : 'none'}$`), from);
  });

  it('with --redis, each server computes them alone: a caller on one and a viewer on another both get valid ones', async () => {
    const redis = await startRedisServer();
    const turn = { urls: URLS, secret: SECRET, ttlSeconds: 600 };
    const [a, b] = [
      await kit.server({ redis: redis.url, turn }),
      await kit.server({ redis: redis.url, turn }),
    ];
    // Ready once each has reached Redis.
    for (const s of [a!, b!]) await waitReady(s.url);
    const from = Date.now();
    const v2 = (s: string) => ({ protocol: 2, session: `turn-redis-${s}-session-0000` });
    const caller = await kit.join(a!.url, 'shared', 'caller', v2('c'));
    const viewer = await kit.join(b!.url, 'shared', 'answerer', v2('v'));
    // One room across the two servers: the viewer on b sees the caller of a.
    const callerId = caller.ack.ok ? caller.ack.id : undefined;
    expect(viewer.ack.ok && viewer.ack.peers?.map((p) => p.id)).toEqual([callerId]);
    turnOf(serversOf(caller.ack), 600, new RegExp(`^${callerId}$`), from);
    turnOf(serversOf(viewer.ack), 600, new RegExp(`^${viewer.ack.ok ? viewer.ack.id : 'none'}$`), from);
  });

  it('a server without turn gives none', async () => {
    const server = await kit.server();
    const member = await kit.join(server.url, 'none', 'caller');
    expect(member.ack).toMatchObject({ ok: true });
    expect(member.ack).not.toHaveProperty('iceServers');
  });

  it('RoomSignaling exposes them before `joined`, and a rejoin renews them', async () => {
    const server = await kit.server({ turn: { urls: URLS, secret: SECRET, ttlSeconds: 60 } });
    const member = kit.signaling({ url: server.url, role: 'caller', room: 'client' });
    expect(member.s.iceServers).toEqual([]);
    const seen: (readonly RTCIceServer[])[] = [];
    member.s.on('signal', (e) => {
      if (e.type === 'joined') seen.push(member.s.iceServers);
    });
    const from = Date.now();
    await member.s.connect();
    const first = turnOf(seen[0], 60, /^[A-Za-z0-9_-]+$/, from);
    expect(first.username.split(':')[1]).toBe(member.s.id);
    // The expiry is in whole seconds: a rejoin a second later gets a later one.
    await new Promise((r) => setTimeout(r, 1100));
    member.s.reconnect('test');
    await waitEvent(member.events, 'joined', 2);
    const second = turnOf(seen[1], 60, /^[A-Za-z0-9_-]+$/, from);
    expect(Number(second.username.split(':')[0])).toBeGreaterThan(Number(first.username.split(':')[0]));
    expect(member.s.iceServers).toBe(seen[1]);
  });

  it.each([
    [{ urls: [], secret: SECRET }, /turn.urls is empty/],
    [{ urls: ['stun:127.0.0.1:3478'], secret: SECRET }, /"stun:127.0.0.1:3478" is not a TURN URL/],
    [{ urls: URLS, secret: 'short' }, /TURN secret has 5 bytes, fewer than 16/],
    [{ urls: URLS, secret: SECRET, ttlSeconds: 0 }, /ttlSeconds must be a whole number/],
  ])('refuses turn %j with a TypeError, before listening', async (turn, message) => {
    await expect(startSignalServer({ host: '127.0.0.1', port: 0, turn })).rejects.toThrow(TypeError);
    await expect(startSignalServer({ host: '127.0.0.1', port: 0, turn })).rejects.toThrow(message);
  });
});
