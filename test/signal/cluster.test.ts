/**
 * Several `rtc-peer signal --redis` servers (separate processes) sharing rooms on a real redis-server,
 * spoken to with raw Socket.IO clients and SignalClients. What the clients receive is checked against the
 * rooms as Redis holds them (read with a raw Redis client), and against the servers' own /readyz.
 */
import { spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import type { ServerMessage, SignalAck } from '../../src/signal/index.js';
import { killAll, startCli } from '../helpers/cli.js';
import { compileForChild } from '../helpers/media.js';
import { freePort } from '../helpers/ports.js';
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
import {
  SignalTestKit,
  SocketRecorder,
  emitWithAck,
  fakeCandidate,
  fakeSdp,
  waitFor,
  type RawSocket,
} from '../helpers/signal-server.js';

const kit = new SignalTestKit();
afterEach(async () => {
  await kit.closeAll();
  await killAll();
  await stopRedisServers();
});

/** A raw socket on `url` with its recorder, joined as `role` (protocol 1 unless `extra` says 2). */
async function member(
  url: string,
  room: string,
  role: 'caller' | 'answerer',
  extra: Record<string, unknown> = {},
): Promise<{ socket: RawSocket; rec: SocketRecorder; ack: SignalAck }> {
  const socket = await kit.socket(url);
  const rec = new SocketRecorder(socket);
  const ack = await emitWithAck(socket, { type: 'join', room, role, ...extra });
  return { socket, rec, ack };
}

const v2 = (session: string): Record<string, unknown> => ({
  protocol: 2,
  session: `${session}-session-00000000`,
});

describe('several signaling servers on one Redis', { timeout: 40_000 }, () => {
  it('RTC_PEER_REDIS does what --redis does; a URL that is not redis:// is a usage error (exit 2)', async () => {
    const cluster = await startSignalCluster(1);
    const other = startCli(['signal', '--host', '127.0.0.1', '--port', '0'], {
      env: { RTC_PEER_REDIS: cluster.redis.url },
    });
    const url = (await other.waitForLine(/listening on (http:\/\/\S+)/))[1] ?? '';
    await waitReady(url);
    const caller = await member(cluster.nodes[0]!.url, 'env', 'caller');
    expect(caller.ack.ok).toBe(true);
    expect((await member(url, 'env', 'answerer')).ack).toMatchObject({ ok: true, peerPresent: true });
    const bad = startCli(['signal', '--port', '0', '--redis', 'http://127.0.0.1:6379']);
    expect((await bad.exited).code).toBe(2);
    expect(bad.stderr()).toMatch(/--redis "http:\/\/127\.0\.0\.1:6379": the URL must start with redis:\/\//);
  });

  it('a server closed while Redis is away leaves nothing retrying: its process ends by itself', async () => {
    // Regression: the adapter's stream readers, blocked on a Redis that is not there, kept the process up.
    const script = await compileForChild('test/signal/fixtures/close-without-redis.ts');
    const port = await freePort();
    const child = spawn(process.execPath, [script, `redis://127.0.0.1:${port}`], {
      stdio: ['ignore', 'pipe', 'pipe'], // stdout: the fixture's JSON line; stderr: for the failure message
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    const code = await exited;
    clearTimeout(timer);
    expect({ code, out: out.trim() }, err).toEqual({
      code: 0,
      out: JSON.stringify({ closed: true, readiness: { ready: false, reason: 'shutting down' } }),
    });
  });

  it('caller first on one server, answerer on another: the held offer and candidates at once, in order', async () => {
    const cluster = await startSignalCluster(2);
    const [a, b] = cluster.nodes.map((n) => n.url) as [string, string];
    const caller = await member(a, 'lab', 'caller');
    expect(caller.ack).toEqual({ ok: true, room: 'lab', role: 'caller', peerPresent: false });
    expect(await emitWithAck(caller.socket, { type: 'offer', sdp: fakeSdp('held') })).toEqual({
      ok: true,
      delivered: false,
    });
    // Sent all at once, not each after the other's ack: the server applies them one after the other, in
    // order (each waits for Redis), and holds them in that order.
    const acks = await Promise.all(
      [...Array(20).keys()].map((i) =>
        emitWithAck(caller.socket, { type: 'candidate', candidate: fakeCandidate(i + 1) }),
      ),
    );
    expect(acks).toEqual(Array(20).fill({ ok: true, delivered: false }));

    // The answerer's join ack comes before the held messages it triggers.
    const socket = await kit.socket(b);
    const got: (ServerMessage | 'ack')[] = [];
    socket.on('signal', (m: ServerMessage) => got.push(m));
    // The ack is recorded by its callback, as it is read (after an await, a message read in the same chunk
    // would already be recorded before it).
    const ack = await new Promise<SignalAck>((resolve) =>
      socket.emit('signal', { type: 'join', room: 'lab', role: 'answerer' }, (a: SignalAck) => {
        got.push('ack');
        resolve(a);
      }),
    );
    expect(ack).toEqual({ ok: true, room: 'lab', role: 'answerer', peerPresent: true });
    await waitFor('21 held messages', () => (got.length >= 22 ? true : undefined));
    expect(got[0]).toBe('ack');
    expect(got[1]).toEqual({ type: 'offer', sdp: fakeSdp('held') });
    expect(got.slice(2)).toEqual(
      [...Array(20).keys()].map((i) => ({ type: 'candidate', candidate: fakeCandidate(i + 1) })),
    );
    expect(await caller.rec.wait(1, 'peer-joined')).toEqual([{ type: 'peer-joined', role: 'answerer' }]);

    // Back across: the answer and the answerer's candidate; then the offer is answered, held no more.
    expect(await emitWithAck(socket, { type: 'answer', sdp: fakeSdp('answer') })).toEqual({
      ok: true,
      delivered: true,
    });
    await emitWithAck(socket, { type: 'candidate', candidate: fakeCandidate(100) });
    await caller.rec.wait(3);
    expect(caller.rec.messages.slice(1)).toEqual([
      { type: 'answer', sdp: fakeSdp('answer') },
      { type: 'candidate', candidate: fakeCandidate(100) },
    ]);
    // Redis, read directly: the answered offer is held no more.
    const stored = await storedRoom(cluster.redis, 'lab');
    expect(stored?.held).toMatchObject({ answered: true, candidates: [] });
  });

  it('answerer first on one server, caller on another: the offer is delivered the moment it arrives', async () => {
    const cluster = await startSignalCluster(2);
    const [a, b] = cluster.nodes.map((n) => n.url) as [string, string];
    const answerer = await member(a, 'lab', 'answerer');
    expect(answerer.ack).toMatchObject({ ok: true, peerPresent: false });
    const caller = await member(b, 'lab', 'caller');
    expect(caller.ack).toMatchObject({ ok: true, peerPresent: true });
    expect(await answerer.rec.wait(1, 'peer-joined')).toEqual([{ type: 'peer-joined', role: 'caller' }]);
    expect(await emitWithAck(caller.socket, { type: 'offer', sdp: fakeSdp('live') })).toEqual({
      ok: true,
      delivered: true,
    });
    await emitWithAck(caller.socket, { type: 'candidate', candidate: fakeCandidate(1) });
    await answerer.rec.wait(3);
    expect(answerer.rec.messages).toEqual([
      { type: 'peer-joined', role: 'caller' },
      { type: 'offer', sdp: fakeSdp('live') },
      { type: 'candidate', candidate: fakeCandidate(1) },
    ]);
    // Redis, read directly: one room, its two members, each on the server it joined through.
    const stored = await storedRoom(cluster.redis, 'lab');
    expect(stored?.members.map((m) => m.role)).toEqual(['answerer', 'caller']);
    const nodeOf = Object.values(stored?.nodeOf ?? {});
    expect(new Set(nodeOf).size).toBe(2);
  });

  it('messages never cross rooms, whichever servers the members are on', async () => {
    const { nodes } = await startSignalCluster(2);
    const [a, b] = [nodes[0]!.url, nodes[1]!.url];
    const one = { caller: await member(a, 'one', 'caller'), answerer: await member(b, 'one', 'answerer') };
    const two = { caller: await member(b, 'two', 'caller'), answerer: await member(a, 'two', 'answerer') };
    await emitWithAck(one.caller.socket, { type: 'offer', sdp: fakeSdp('one') });
    await emitWithAck(one.caller.socket, { type: 'candidate', candidate: fakeCandidate(1) });
    // Sentinel: room two's own offer, sent after room one's messages, through the other server.
    await emitWithAck(two.caller.socket, { type: 'offer', sdp: fakeSdp('two') });
    await two.answerer.rec.wait(1, 'offer');
    await one.answerer.rec.wait(1, 'candidate');
    expect(two.answerer.rec.messages).toEqual([{ type: 'offer', sdp: fakeSdp('two') }]);
    expect(one.answerer.rec.messages).toEqual([
      { type: 'offer', sdp: fakeSdp('one') },
      { type: 'candidate', candidate: fakeCandidate(1) },
    ]);
  });

  it('of two answerers racing for the last viewer place on two servers, exactly one is admitted', async () => {
    const cluster = await startSignalCluster(3);
    const [a, b, c] = cluster.nodes.map((n) => n.url) as [string, string, string];
    // The servers' default maxViewers is 4: three viewers take their places, two race for the fourth.
    for (let round = 0; round < 8; round++) {
      const room = `race${round}`;
      expect((await member(a, room, 'caller', v2(`c${round}`))).ack).toMatchObject({
        ok: true,
        maxViewers: 4,
      });
      for (let i = 0; i < 3; i++)
        expect((await member([a, b, c][i]!, room, 'answerer', v2(`v${round}x${i}`))).ack.ok).toBe(true);
      const [x, y] = await Promise.all([kit.socket(b), kit.socket(c)]);
      const acks = await Promise.all([
        emitWithAck(x!, { type: 'join', room, role: 'answerer', ...v2(`x${round}`) }),
        emitWithAck(y!, { type: 'join', room, role: 'answerer', ...v2(`y${round}`) }),
      ]);
      const ok = acks.filter((k) => k.ok);
      const refused = acks.filter((k) => !k.ok);
      expect(ok, JSON.stringify(acks)).toHaveLength(1);
      expect(refused.map((k) => !k.ok && k.error.code)).toEqual(['ROOM_FULL']);
      // Redis agrees: one caller and exactly four viewers.
      const stored = await storedRoom(cluster.redis, room);
      expect(stored?.members.filter((m) => m.role === 'answerer')).toHaveLength(4);
    }
  });

  it('protocol 1: of two callers (and two answerers) racing on two servers, one takes the role', async () => {
    const cluster = await startSignalCluster(2);
    const [a, b] = cluster.nodes.map((n) => n.url) as [string, string];
    for (let round = 0; round < 8; round++) {
      for (const role of ['caller', 'answerer'] as const) {
        const room = `p1-${round}`;
        const [x, y] = await Promise.all([kit.socket(a), kit.socket(b)]);
        const acks = await Promise.all([
          emitWithAck(x!, { type: 'join', room, role }),
          emitWithAck(y!, { type: 'join', room, role }),
        ]);
        expect(
          acks.filter((k) => k.ok),
          JSON.stringify(acks),
        ).toHaveLength(1);
        expect(acks.filter((k) => !k.ok).map((k) => !k.ok && k.error.code)).toEqual(['ROLE_TAKEN']);
      }
      const stored = await storedRoom(cluster.redis, `p1-${round}`);
      expect(stored?.members.map((m) => m.role).sort()).toEqual(['answerer', 'caller']);
    }
  });

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
    const caller = kit.client(a.url, 'caller', { room: 'blip' });
    await caller.client.connect();
    await caller.client.sendOffer(fakeSdp('before'));
    const answerer = kit.client(b.url, 'answerer', { room: 'blip' });
    await answerer.client.connect();
    expect(await answerer.rec.wait('offer')).toEqual([[fakeSdp('before')]]);

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
    // Redis came back without the rooms: the servers dropped the members it lost, whose clients rejoined;
    // the caller's unanswered offer is held again and reaches the answerer again.
    await caller.rec.wait('rejoined', 1, 10_000);
    await answerer.rec.wait('rejoined', 1, 10_000);
    // (The caller re-sends its unanswered offer right after its rejoin: wait for both.)
    const stored = await waitForStored(cluster, 'blip', (r) => r.members.length === 2 && r.held.sdp !== null);
    expect(stored.members.map((m) => m.role).sort()).toEqual(['answerer', 'caller']);
    expect(stored.held.sdp).toBe(fakeSdp('before'));
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
