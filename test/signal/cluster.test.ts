/**
 * Several `rtc-peer signal --redis` servers (separate processes) sharing rooms on a real redis-server,
 * spoken to with raw Socket.IO clients. What the clients receive is checked against the rooms as Redis
 * holds them (read with a raw Redis client). A server or Redis going away: cluster-failures.test.ts.
 */
import { spawn } from 'node:child_process';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { ServerMessage, SignalAck } from '../../src/signal/index.js';
import { killAll, startCli } from '../helpers/cli.js';
import { compileForChild } from '../helpers/media.js';
import { freePort } from '../helpers/ports.js';
import { stopRedisServers } from '../helpers/redis-server.js';
import { startSignalCluster, storedRoom, waitReady, type SignalCluster } from '../helpers/signal-cluster.js';
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
afterEach(() => kit.closeAll());
afterAll(async () => {
  await killAll();
  await stopRedisServers();
});

/**
 * One Redis and three servers for the whole file (each test in rooms of its own): starting them is most of
 * a test's time. Nothing here stops a server or Redis; that is cluster-failures.test.ts.
 */
let shared: Promise<SignalCluster> | undefined;
const sharedCluster = (): Promise<SignalCluster> => (shared ??= startSignalCluster(3));

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
    const cluster = await sharedCluster();
    const other = startCli(['signal', '--host', '127.0.0.1', '--port', '0'], {
      env: { RTC_PEER_REDIS: cluster.redis.url },
    });
    const url = (await other.waitForLine(/listening on (http:\/\/\S+)/))[1] ?? '';
    await waitReady(url);
    const caller = await member(cluster.nodes[0]!.url, 'env', 'caller');
    expect(caller.ack.ok).toBe(true);
    expect((await member(url, 'env', 'answerer')).ack).toMatchObject({ ok: true, peerPresent: true });
    other.child.kill('SIGTERM');
    expect((await other.exited).code).toBe(0);
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
    const cluster = await sharedCluster();
    const [a, b] = cluster.nodes.map((n) => n.url) as [string, string];
    const caller = await member(a, 'held', 'caller');
    expect(caller.ack).toEqual({ ok: true, room: 'held', role: 'caller', peerPresent: false });
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
      socket.emit('signal', { type: 'join', room: 'held', role: 'answerer' }, (a: SignalAck) => {
        got.push('ack');
        resolve(a);
      }),
    );
    expect(ack).toEqual({ ok: true, room: 'held', role: 'answerer', peerPresent: true });
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
    const stored = await storedRoom(cluster.redis, 'held');
    expect(stored?.held).toMatchObject({ answered: true, candidates: [] });
  });

  it('answerer first on one server, caller on another: the offer is delivered the moment it arrives', async () => {
    const cluster = await sharedCluster();
    const [a, b] = cluster.nodes.map((n) => n.url) as [string, string];
    const answerer = await member(a, 'live', 'answerer');
    expect(answerer.ack).toMatchObject({ ok: true, peerPresent: false });
    const caller = await member(b, 'live', 'caller');
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
    const stored = await storedRoom(cluster.redis, 'live');
    expect(stored?.members.map((m) => m.role)).toEqual(['answerer', 'caller']);
    const nodeOf = Object.values(stored?.nodeOf ?? {});
    expect(new Set(nodeOf).size).toBe(2);
  });

  it('messages never cross rooms, whichever servers the members are on', async () => {
    const { nodes } = await sharedCluster();
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
    const cluster = await sharedCluster();
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
    const cluster = await sharedCluster();
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
});
