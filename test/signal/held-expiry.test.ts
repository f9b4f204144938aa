/**
 * The lease on a held offer (limits.ts `heldOfferTtlMs`), against the real server: a protocol-2 caller's
 * held offer and candidates are dropped when the lease ends and the caller is told (`held-expired`); its
 * held bytes are freed; a protocol-1 caller's offer is kept (it has no way to renew). Then with real
 * @roamhq/wrtc peers: rtc-peer's caller holds a fresh offer at each expiry, and a viewer that comes after
 * several still takes a held offer and gets frames. And with the rooms in Redis (two servers on a real
 * redis-server): the lease ends on the caller's server, and a viewer on the other server finds nothing held.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { RoomSignaling } from '../../src/signal/room-signaling.js';
import { camera, flowing, side } from '../helpers/negotiated-call.js';
import { startRedisServer, stopRedisServers } from '../helpers/redis-server.js';
import {
  emitWithAck,
  fakeCandidate,
  fakeSdp,
  SignalTestKit,
  SocketRecorder,
  waitFor,
} from '../helpers/signal-server.js';

const kit = new SignalTestKit();
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  await kit.closeAll();
  await stopRedisServers();
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('held offers expire', { timeout: 30_000 }, () => {
  it("drops a protocol-2 caller's held offer when its lease ends, tells it, frees the bytes; keeps protocol 1's", async () => {
    const server = await kit.server({ limits: { heldOfferTtlMs: 300 } });
    const caller = await kit.socket(server.url);
    const seen = new SocketRecorder(caller);
    await emitWithAck(caller, {
      type: 'join',
      room: 'lease',
      role: 'caller',
      protocol: 2,
      session: 'caller-session-000001',
    });
    expect(await emitWithAck(caller, { type: 'offer', sdp: fakeSdp('first') })).toMatchObject({
      delivered: false,
    });
    await emitWithAck(caller, { type: 'candidate', candidate: fakeCandidate(1) });
    expect(server.stats().heldBytes).toBeGreaterThan(0);
    // A newer offer starts the lease again: at 200 + 200 ms the first lease would have ended.
    await sleep(200);
    await emitWithAck(caller, { type: 'offer', sdp: fakeSdp('second') });
    await sleep(200);
    expect(seen.of('held-expired')).toHaveLength(0);
    await seen.wait(1, 'held-expired', 2000);
    expect(server.stats().heldBytes).toBe(0);
    // A viewer now finds nothing held: the caller hears of it without tookOffer (it offers to it, addressed).
    const viewer = await kit.socket(server.url);
    const viewerSaw = new SocketRecorder(viewer);
    await emitWithAck(viewer, { type: 'join', room: 'lease', role: 'answerer', protocol: 2 });
    const [joined] = (await seen.wait(1, 'peer-joined')) as Array<{ tookOffer?: boolean }>;
    expect(joined!.tookOffer).toBeUndefined();
    await sleep(100);
    expect(viewerSaw.of('offer')).toHaveLength(0);

    // Protocol 1: no lease (it could not renew); the answerer that comes later still gets the offer.
    const v1 = await kit.socket(server.url);
    const v1Saw = new SocketRecorder(v1);
    await emitWithAck(v1, { type: 'join', room: 'old', role: 'caller' });
    await emitWithAck(v1, { type: 'offer', sdp: fakeSdp('v1') });
    await sleep(700);
    expect(v1Saw.types()).not.toContain('held-expired');
    const answerer = await kit.socket(server.url);
    const answererSaw = new SocketRecorder(answerer);
    await emitWithAck(answerer, { type: 'join', room: 'old', role: 'answerer' });
    const [offer] = (await answererSaw.wait(1, 'offer')) as Array<{ sdp: string }>;
    expect(offer!.sdp).toContain('v1');
  });

  it('with the rooms in Redis: the lease ends the held offer for every server; a viewer on the other finds none, then the renewed one', async () => {
    const redis = await startRedisServer();
    const a = await kit.server({ redis: redis.url, limits: { heldOfferTtlMs: 300 } });
    const b = await kit.server({ redis: redis.url, limits: { heldOfferTtlMs: 300 } });
    for (const s of [a, b]) await waitFor('ready', () => (s.readiness().ready ? true : undefined), 10_000);
    const caller = await kit.socket(a.url);
    const seen = new SocketRecorder(caller);
    await emitWithAck(caller, {
      type: 'join',
      room: 'lease-redis',
      role: 'caller',
      protocol: 2,
      session: 'caller-session-redis1',
    });
    await emitWithAck(caller, { type: 'offer', sdp: fakeSdp('first') });
    await emitWithAck(caller, { type: 'candidate', candidate: fakeCandidate(1) });
    expect(a.stats().heldBytes).toBeGreaterThan(0);
    await seen.wait(1, 'held-expired', 3000);
    expect(a.stats().heldBytes).toBe(0);
    // The room in Redis no longer holds it: a viewer on server b gets no offer, and the caller hears of it
    // without tookOffer.
    const viewer = await kit.socket(b.url);
    const viewerSaw = new SocketRecorder(viewer);
    await emitWithAck(viewer, { type: 'join', room: 'lease-redis', role: 'answerer', protocol: 2 });
    const [joined] = (await seen.wait(1, 'peer-joined')) as Array<{ tookOffer?: boolean; id: string }>;
    expect(joined!.tookOffer).toBeUndefined();
    await sleep(200);
    expect(viewerSaw.of('offer')).toHaveLength(0);
    // The renewal a caller makes on held-expired is held again, and the next viewer (on b) takes it.
    await emitWithAck(caller, { type: 'offer', sdp: fakeSdp('renewed') });
    const next = await kit.socket(b.url);
    const nextSaw = new SocketRecorder(next);
    await emitWithAck(next, { type: 'join', room: 'lease-redis', role: 'answerer', protocol: 2 });
    const [offer] = (await nextSaw.wait(1, 'offer', 3000)) as Array<{ sdp: string }>;
    expect(offer!.sdp).toContain('renewed');
  });

  it('rtc-peer holds a fresh offer at each expiry: a viewer that comes later takes one and gets frames', async () => {
    const server = await kit.server({ limits: { heldOfferTtlMs: 600 } });
    const cam = side(
      new RoomSignaling({ url: server.url, role: 'caller', room: 'shelf' }),
      cleanups,
      camera(cleanups),
    );
    const expiries: number[] = [];
    cam.signaling.on('signal', (e) => {
      if (e.type === 'held-expired') expiries.push(performance.now());
    });
    await cam.negotiator.start();
    await waitFor('three expiries', () => (expiries.length >= 3 ? true : undefined), 10_000);
    // Each expiry was followed by a fresh held offer (whose own lease then ran out): never without one for long.
    await waitFor('a fresh offer held', () => (server.stats().heldBytes > 0 ? true : undefined));
    const viewer = side(new RoomSignaling({ url: server.url, role: 'answerer', room: 'shelf' }), cleanups);
    await viewer.negotiator.start();
    await flowing(viewer.calls, 30);
    // It took the held offer: the camera's call with it is the spare it had prepared.
    expect(cam.owned).toHaveLength(1);
    expect(viewer.calls).toHaveLength(1);
    // Only the spares were replaced, one per expiry (at most one more by now), no call with a viewer.
    const replaced = cam.ended.filter(([, r]) => r === 'replaced').length;
    expect(replaced).toBeGreaterThanOrEqual(3);
    expect(replaced).toBeLessThanOrEqual(expiries.length);
  });
});
