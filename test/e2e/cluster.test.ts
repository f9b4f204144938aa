/**
 * Calls through several `rtc-peer signal --redis` servers, as users run them: a real redis-server, the
 * servers, haproxy in front where the clients fail over, and the CLI peers, each a separate process. The
 * recordings are decoded and checked against what was sent; the rooms are read from Redis directly.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { killAll, startCli, type CliProcess } from '../helpers/cli.js';
import { startHaproxy, stopHaproxies } from '../helpers/haproxy.js';
import { inspectRecording } from '../helpers/media.js';
import { expectPatternRecording } from '../helpers/pattern-recording.js';
import { stopRedisServers } from '../helpers/redis-server.js';
import { emitWithAck, SignalTestKit } from '../helpers/signal-server.js';
import {
  startSignalCluster,
  storedRoom,
  waitReady,
  type ClusterNode,
  type SignalCluster,
} from '../helpers/signal-cluster.js';

const NO_STUN = ['--stun', 'none'];
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

let dir: string;
const kit = new SignalTestKit();
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'rtc-peer-cluster-'));
});
afterEach(async () => {
  await kit.closeAll();
  await killAll();
  await stopHaproxies();
  await stopRedisServers();
  rmSync(dir, { recursive: true, force: true });
});

const answer = (url: string, room: string, file: string, extra: string[] = []): CliProcess =>
  startCli(['answer', '--signal', url, '--room', room, '--record', file, '--once', ...extra, ...NO_STUN]);
const call = (url: string, room: string, extra: string[] = []): CliProcess =>
  startCli(['call', '--signal', url, '--room', room, ...extra, ...NO_STUN]);

/** The server (of `cluster`) a member of `room` in `role` is connected to, as Redis says. */
async function nodeOfRole(cluster: SignalCluster, room: string, role: string): Promise<ClusterNode> {
  const stored = await storedRoom(cluster.redis, room);
  const conn = stored?.members.find((m) => m.role === role)?.conn;
  const nodeId = conn === undefined ? undefined : stored?.nodeOf[conn];
  // A server's id is HOST-PID-RANDOM: its pid is the CLI process's.
  const pid = Number(/-(\d+)-[0-9a-f]+$/.exec(nodeId ?? '')?.[1]);
  const node = cluster.nodes.find((n) => n.proc.child.pid === pid);
  if (node === undefined) throw new Error(`no server for the ${role} of ${room}: ${JSON.stringify(stored)}`);
  return node;
}

/** The largest jump between consecutive frame ids of a recording: a gap in the media. */
async function worstGap(file: string): Promise<number> {
  const rec = await inspectRecording(file);
  const ids = rec.barcodes.filter((b) => b !== null).map((b) => b.frameId);
  let worst = 0;
  for (let i = 1; i < ids.length; i++) worst = Math.max(worst, (ids[i] ?? 0) - (ids[i - 1] ?? 0));
  return worst;
}

describe('calls across several signaling servers on Redis', () => {
  test('caller first on one server, answerer on the other: the held offer crosses; recording checked', async () => {
    const cluster = await startSignalCluster(2);
    const [a, b] = cluster.nodes.map((n) => n.url) as [string, string];
    const file = path.join(dir, 'caller-first.webm');
    const from = Date.now();
    const caller = call(a, 'x', ['--duration', '4', '--once']);
    await caller.waitFor('offer-sent');
    // Held in Redis before the answerer exists.
    expect((await storedRoom(cluster.redis, 'x'))?.held).toMatchObject({ answered: false });
    const answerer = answer(b, 'x', file);
    expect((await answerer.waitFor('joined')).peerPresent).toBe(true);
    await answerer.waitFor('first-frame', 10_000);
    const callerEnd = await caller.waitFor('call-ended', 15_000);
    const answererEnd = await answerer.waitFor('call-ended', 15_000);
    expect(callerEnd.reason).toBe('hangup');
    expect(answererEnd.reason).toBe('peer-hangup');
    expect((await caller.exited).code).toBe(0);
    expect((await answerer.exited).code).toBe(0);
    await expectPatternRecording(file, {
      durationSec: 4,
      sentBetween: { from, to: Date.now() },
      receiver: answererEnd,
    });
    for (const node of cluster.nodes) {
      node.proc.child.kill('SIGINT');
      expect((await node.proc.exited).code).toBe(0);
    }
    // Both servers gone cleanly: nothing of them is left in Redis (no room, no server).
    expect((await cluster.redis.client().keys('rtc-peer:*')).filter((k) => !k.endsWith('socket.io'))).toEqual(
      [],
    );
  }, 60_000);

  test('answerer first on one server, caller on the other: the offer crosses at once; recording checked', async () => {
    const cluster = await startSignalCluster(2);
    const [a, b] = cluster.nodes.map((n) => n.url) as [string, string];
    const file = path.join(dir, 'answerer-first.webm');
    const answerer = answer(a, 'y', file);
    expect((await answerer.waitFor('joined')).peerPresent).toBe(false);
    await answerer.waitFor('waiting');
    const from = Date.now();
    const caller = call(b, 'y', ['--duration', '4', '--once']);
    expect((await caller.waitFor('joined')).peerPresent).toBe(true);
    await answerer.waitFor('first-frame', 10_000);
    const answererEnd = await answerer.waitFor('call-ended', 15_000);
    expect(answererEnd.reason).toBe('peer-hangup');
    expect((await caller.exited).code).toBe(0);
    expect((await answerer.exited).code).toBe(0);
    await expectPatternRecording(file, {
      durationSec: 4,
      sentBetween: { from, to: Date.now() },
      receiver: answererEnd,
    });
  }, 60_000);

  test('a server SIGKILLed mid-call behind haproxy: media goes on, its client fails over and rejoins, no ghosts, a new answerer gets the held offer', async () => {
    const cluster = await startSignalCluster(2);
    const lb = await startHaproxy(cluster.nodes.map((n) => n.url));
    const file = path.join(dir, 'failover.webm');
    const caller = call(lb.url, 'f');
    await caller.waitFor('offer-sent');
    const from = Date.now();
    const answerer = answer(lb.url, 'f', file, ['--duration', '12']);
    await answerer.waitFor('first-frame', 10_000);
    await sleep(1500);
    // Kill the server the caller is connected to.
    const doomed = await nodeOfRole(cluster, 'f', 'caller');
    const survivor = cluster.nodes.find((n) => n !== doomed)!;
    await doomed.proc.kill('SIGKILL');
    await caller.waitFor('signal-lost', 5000);
    // Through haproxy to the other server; its old membership is swept, and its rejoin gets in.
    await caller.waitFor('signal-rejoined', 15_000);
    // No ghost: the room has the caller and the answerer once each, both on the surviving server.
    const stored = await storedRoom(cluster.redis, 'f');
    expect(stored?.members.map((m) => m.role).sort()).toEqual(['answerer', 'caller']);
    expect(await nodeOfRole(cluster, 'f', 'caller')).toBe(survivor);
    expect(await nodeOfRole(cluster, 'f', 'answerer')).toBe(survivor);
    expect(await cluster.redis.client().smembers('rtc-peer:nodes')).toHaveLength(1);
    // The call went on: it ends when the answerer's --duration is up, and its bye reaches the caller.
    const answererEnd = await answerer.waitFor('call-ended', 20_000);
    expect(answererEnd.reason).toBe('hangup');
    expect((await answerer.exited).code).toBe(0);
    expect((await caller.waitFor('call-ended', 10_000)).reason).toBe('peer-hangup');
    await expectPatternRecording(file, {
      durationSec: 12,
      sentBetween: { from, to: Date.now() },
      receiver: answererEnd,
    });
    // No gap while the caller's server died and it moved: consecutive recorded frames a few ids apart.
    expect(await worstGap(file)).toBeLessThan(10);
    // The caller holds its next offer on the surviving server: a new answerer gets it and the call runs.
    await caller.waitFor('offer-sent', 10_000, (e) => e.call === 2);
    const second = answer(lb.url, 'f', path.join(dir, 'second.webm'));
    expect((await second.waitFor('joined')).peerPresent).toBe(true);
    await second.waitFor('first-frame', 10_000);
    second.child.kill('SIGINT');
    expect((await second.exited).code).toBe(0);
    caller.child.kill('SIGTERM');
    expect((await caller.exited).code).toBe(0);
  }, 90_000);

  test('Redis stopped and restarted (empty) under a running call: the call goes on, the servers recover, the clients rejoin', async () => {
    const cluster = await startSignalCluster(2);
    const [a, b] = cluster.nodes as [ClusterNode, ClusterNode];
    const file = path.join(dir, 'redis-restart.webm');
    const answerer = answer(a.url, 'r', file, ['--duration', '10']);
    await answerer.waitFor('joined');
    const from = Date.now();
    const caller = call(b.url, 'r', ['--once']);
    await answerer.waitFor('first-frame', 10_000);
    await sleep(1000);
    await cluster.redis.stop('SIGKILL');
    await Promise.all([waitReady(a.url, 503), waitReady(b.url, 503)]);
    // A client joining now is refused, clearly; the servers stay up.
    const late = await kit.socket(a.url);
    expect(await emitWithAck(late, { type: 'join', room: 'other', role: 'caller' })).toMatchObject({
      ok: false,
      error: { code: 'UNAVAILABLE' },
    });
    await sleep(1500);
    expect([a.proc.child.exitCode, b.proc.child.exitCode]).toEqual([null, null]);
    expect(a.proc.stderr()).toMatch(/NOT READY: lost the connection to redis:\/\/127\.0\.0\.1/);
    await cluster.redis.start();
    await Promise.all([waitReady(a.url), waitReady(b.url)]);
    // Redis lost the room: the servers dropped both members, who rejoined by themselves.
    await answerer.waitFor('signal-rejoined', 10_000);
    await caller.waitFor('signal-rejoined', 10_000);
    const stored = await storedRoom(cluster.redis, 'r');
    expect(stored?.members.map((m) => m.role).sort()).toEqual(['answerer', 'caller']);
    // The answerer's bye at the end of its --duration goes through the recovered cluster.
    const answererEnd = await answerer.waitFor('call-ended', 20_000);
    expect(answererEnd.reason).toBe('hangup');
    expect((await caller.waitFor('call-ended', 10_000)).reason).toBe('peer-hangup');
    expect((await answerer.exited).code).toBe(0);
    expect((await caller.exited).code).toBe(0);
    await expectPatternRecording(file, {
      durationSec: 10,
      sentBetween: { from, to: Date.now() },
      receiver: answererEnd,
    });
    expect(await worstGap(file)).toBeLessThan(10);
    expect(await emitWithAck(late, { type: 'join', room: 'other', role: 'caller' })).toMatchObject({
      ok: true,
    });
  }, 90_000);
});
