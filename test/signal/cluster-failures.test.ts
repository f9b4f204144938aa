/**
 * When a server of several on one Redis dies or is stopped, and when Redis itself goes away: what the
 * clients on the other servers hear and how soon, what Redis is left holding (read with a raw client), and
 * each server's own /readyz, /metrics and terminal lines. Real redis-server and `rtc-peer signal --redis`
 * processes. In the `realtime` project (vitest.config.ts): these assert how soon things happen.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { killAll } from '../helpers/cli.js';
import { stopRedisServers } from '../helpers/redis-server.js';
import {
  metrics,
  readyz,
  startSignalCluster,
  storedRoom,
  waitReady,
  type SignalCluster,
  type StoredMembers,
} from '../helpers/signal-cluster.js';
import { SignalTestKit, emitWithAck, fakeSdp, waitEvent, waitFor } from '../helpers/signal-server.js';

const kit = new SignalTestKit();
afterEach(async () => {
  await kit.closeAll();
  await killAll();
  await stopRedisServers();
});

/** A raw socket on `url`, joined as `role` (protocol 1 unless `extra` says 2). */
const member = (
  url: string,
  room: string,
  role: 'caller' | 'answerer',
  extra: Record<string, unknown> = {},
) => kit.join(url, room, role, extra);

const v2 = (session: string): Record<string, unknown> => ({
  protocol: 2,
  session: `${session}-session-00000000`,
});

describe('a server or Redis going away, with several servers on one Redis', { timeout: 40_000 }, () => {
  it('a killed server leaves no ghosts: its members go within seconds, peers get peer-left, the role is free', async () => {
    const cluster = await startSignalCluster(2);
    const [doomed, survivor] = cluster.nodes as [(typeof cluster.nodes)[0], (typeof cluster.nodes)[0]];
    const caller = await member(doomed.url, 'k', 'caller');
    await emitWithAck(caller.socket, { type: 'offer', sdp: fakeSdp('dies') });
    const answerer = await member(survivor.url, 'k', 'answerer');
    await answerer.rec.wait(1, 'offer');
    const viewer = await member(survivor.url, 'k2', 'answerer', v2('viewer'));
    const camera = await member(doomed.url, 'k2', 'caller', v2('camera'));
    expect(camera.ack.ok).toBe(true);
    await viewer.rec.wait(1, 'peer-joined');

    const killedAt = performance.now();
    await doomed.proc.kill('SIGKILL');
    const [left] = await answerer.rec.wait(1, 'peer-left', 10_000);
    const detectSec = (performance.now() - killedAt) / 1000;
    expect(left).toEqual({ type: 'peer-left', role: 'caller', reason: 'disconnected' });
    expect(detectSec).toBeLessThan(7);
    expect((await viewer.rec.wait(1, 'peer-left', 5000))[0]).toMatchObject({
      type: 'peer-left',
      role: 'caller',
      reason: 'disconnected',
    });
    // Redis holds no member of the dead server, and its index is gone.
    const room = await storedRoom(cluster.redis, 'k');
    expect(room?.members.map((m) => m.role)).toEqual(['answerer']);
    expect(Object.values(room?.nodeOf ?? {})).not.toContain(undefined);
    // The role is free again: a new caller joins through the surviving server and its offer goes through.
    const next = await member(survivor.url, 'k', 'caller');
    expect(next.ack).toMatchObject({ ok: true, peerPresent: true });
    await emitWithAck(next.socket, { type: 'offer', sdp: fakeSdp('again') });
    expect((await answerer.rec.wait(2, 'offer'))[1]).toEqual({ type: 'offer', sdp: fakeSdp('again') });
    const keys = await cluster.redis.client().keys('rtc-peer:node:*');
    expect(keys.filter((k) => k.includes(':members')).length).toBeLessThanOrEqual(1);
  });

  it('a server stopped with SIGTERM removes its members first: peers elsewhere hear at once, it exits 0', async () => {
    const cluster = await startSignalCluster(2);
    const [leaving, staying] = cluster.nodes as [(typeof cluster.nodes)[0], (typeof cluster.nodes)[0]];
    const caller = await member(leaving.url, 'bye', 'caller');
    expect(caller.ack.ok).toBe(true);
    const answerer = await member(staying.url, 'bye', 'answerer');
    await caller.rec.wait(1, 'peer-joined');
    const stoppedAt = performance.now();
    leaving.proc.child.kill('SIGTERM');
    expect((await leaving.proc.exited).code).toBe(0);
    const [left] = await answerer.rec.wait(1, 'peer-left', 5000);
    expect(left).toEqual({ type: 'peer-left', role: 'caller', reason: 'disconnected' });
    // Not the sweep of a dead server (its TTL is 4 s): the server said so itself.
    expect(performance.now() - stoppedAt).toBeLessThan(3000);
    const nodes = await cluster.redis.client().smembers('rtc-peer:nodes');
    expect(nodes).toHaveLength(1);
    expect((await storedRoom(cluster.redis, 'bye'))?.members.map((m) => m.role)).toEqual(['answerer']);
  });

  it('Redis away: /readyz 503, joins refused with UNAVAILABLE; back (empty): ready again, clients rejoin', async () => {
    const cluster = await startSignalCluster(2);
    const [a, b] = cluster.nodes as [(typeof cluster.nodes)[0], (typeof cluster.nodes)[0]];
    // A viewer on b, then the camera on a: its offer to that viewer, and the spare offer it holds for the
    // next viewer (nobody takes it: the only viewer was there before it).
    const answerer = kit.signaling({ url: b.url, role: 'answerer', room: 'blip' });
    const { self: viewerId } = await answerer.s.connect();
    const caller = kit.signaling({ url: a.url, role: 'caller', room: 'blip' });
    const { self: cameraId } = await caller.s.connect();
    expect(await caller.s.send({ type: 'offer', sdp: fakeSdp('call'), to: viewerId })).toBe(true);
    expect(await caller.s.send({ type: 'offer', sdp: fakeSdp('spare') })).toBe(false);
    expect(await waitEvent(answerer.events, 'offer')).toEqual([
      { type: 'offer', from: cameraId, sdp: fakeSdp('call'), renegotiate: false },
    ]);
    expect((await storedRoom(cluster.redis, 'blip'))?.held.sdp).toBe(fakeSdp('spare'));

    await cluster.redis.stop('SIGKILL');
    await Promise.all([waitReady(a.url, 503), waitReady(b.url, 503)]);
    const r = await readyz(a.url);
    expect(r.body).toMatchObject({ status: 'unavailable' });
    expect(String(r.body.reason)).toMatch(/lost the connection to redis:\/\/127\.0\.0\.1:\d+/);
    const late = await kit.socket(b.url);
    const refused = await emitWithAck(late, { type: 'join', room: 'blip2', role: 'caller' });
    expect(refused).toMatchObject({ ok: false, error: { code: 'UNAVAILABLE' } });
    expect(!refused.ok && refused.error.message).toMatch(/cannot reach the shared state .*retry/);
    // The servers say so on their terminal, once, and keep running.
    await waitFor('NOT READY line', () =>
      /NOT READY: lost the connection/.test(a.proc.stderr()) ? true : undefined,
    );
    expect(a.proc.child.exitCode).toBeNull();

    await cluster.redis.start();
    await Promise.all([waitReady(a.url), waitReady(b.url)]);
    // Redis came back without the rooms: the servers dropped the members it lost, whose clients rejoined as
    // themselves; the caller's spare offer, which nobody took, is held again.
    const [, cameraBack] = await waitEvent(caller.events, 'joined', 2, 10_000);
    const [, viewerBack] = await waitEvent(answerer.events, 'joined', 2, 10_000);
    expect(cameraBack).toMatchObject({ self: cameraId, rejoined: true, resent: 1 });
    expect(viewerBack).toMatchObject({ self: viewerId, rejoined: true });
    // (The caller re-sends its held offer right after its rejoin: wait for both.)
    const stored = await waitForStored(cluster, 'blip', (r) => r.members.length === 2 && r.held.sdp !== null);
    expect(stored.members.map((m) => m.role).sort()).toEqual(['answerer', 'caller']);
    expect(stored.held.sdp).toBe(fakeSdp('spare'));
    expect(await emitWithAck(late, { type: 'join', room: 'blip2', role: 'caller' })).toMatchObject({
      ok: true,
    });
    expect(a.proc.stderr()).toMatch(/ready: Redis reachable/);
    const m = await metrics(a.url);
    expect(m.get('rtc_peer_ready')).toBe(1);
  });
});

/** Polls Redis until room `name` exists and passes `done`. */
async function waitForStored(
  cluster: SignalCluster,
  name: string,
  done: (room: StoredMembers) => boolean,
): Promise<StoredMembers> {
  const deadline = performance.now() + 10_000;
  for (;;) {
    const stored = await storedRoom(cluster.redis, name);
    if (stored !== null && done(stored)) return stored;
    if (performance.now() > deadline) throw new Error(`room ${name}: ${JSON.stringify(stored)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
