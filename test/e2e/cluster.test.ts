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

/**
 * The largest jump between consecutive frame ids of a recording (a gap in the media), and the sender's
 * stamp (`Date.now()` modulo 2^32) of the frame before it, to tell whether it came with what the test did.
 */
async function worstGap(file: string): Promise<{ worst: number; at: number }> {
  const rec = await inspectRecording(file);
  const codes = rec.barcodes.filter((b) => b !== null);
  let worst = 0;
  let at = 0;
  for (let i = 1; i < codes.length; i++) {
    const gap = (codes[i]?.frameId ?? 0) - (codes[i - 1]?.frameId ?? 0);
    if (gap > worst) {
      worst = gap;
      at = codes[i - 1]?.timestampMs ?? 0;
    }
  }
  return { worst, at };
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

  test('a server SIGKILLed mid-call behind haproxy: media goes on, its clients fail over and rejoin, no ghosts, a held offer is re-sent and reaches a new answerer', async () => {
    const cluster = await startSignalCluster(2);
    const lb = await startHaproxy(cluster.nodes.map((n) => n.url));
    const file = path.join(dir, 'failover.webm');
    // Round robin: the answerer on one server, the caller on the other.
    const answerer = answer(lb.url, 'f', file);
    await answerer.waitFor('joined');
    const from = Date.now();
    // Ended by the test (SIGINT) once everything below is checked: how long the set-up takes on a busy
    // machine must not decide whether the kill falls within the call.
    const caller = call(lb.url, 'f', ['--once']);
    const connected = await caller.waitFor('connected', 10_000);
    await answerer.waitFor('first-frame', 10_000);
    const doomed = await nodeOfRole(cluster, 'f', 'caller');
    const survivor = cluster.nodes.find((n) => n !== doomed)!;
    expect(await nodeOfRole(cluster, 'f', 'answerer')).toBe(survivor);
    // A second caller whose offer waits for an answerer, on the server that will die: round robin puts the
    // next connection on either; a caller that lands on the other one is stopped and started again.
    let waiting: CliProcess | undefined;
    for (let attempt = 0; attempt < 4 && waiting === undefined; attempt++) {
      const candidate = call(lb.url, 'h', ['--once']);
      await candidate.waitFor('offer-sent');
      if ((await nodeOfRole(cluster, 'h', 'caller')) === doomed) waiting = candidate;
      else {
        candidate.child.kill('SIGINT');
        expect((await candidate.exited).code).toBe(0);
      }
    }
    if (waiting === undefined) throw new Error('haproxy never put the second caller on the first server');
    await sleep(1000);
    const killedAt = Date.now() % 2 ** 32;
    await doomed.proc.kill('SIGKILL');
    await caller.waitFor('signal-lost', 5000);
    // Through haproxy to the other server; their old memberships are swept, and their rejoins get in.
    await caller.waitFor('signal-rejoined', 15_000);
    await waiting.waitFor('signal-rejoined', 15_000);
    // No ghost: each member once, all on the surviving server, and the dead server forgotten.
    const stored = await storedRoom(cluster.redis, 'f');
    expect(stored?.members.map((m) => m.role).sort()).toEqual(['answerer', 'caller']);
    expect(await nodeOfRole(cluster, 'f', 'caller')).toBe(survivor);
    expect(await nodeOfRole(cluster, 'h', 'caller')).toBe(survivor);
    // The dead server is forgotten when its heartbeat expires (nodeTtlMs, 4 s), which may come after the
    // rejoins: the clients fail over faster than that.
    const deadline = Date.now() + 10_000;
    while ((await cluster.redis.client().smembers('rtc-peer:nodes')).length > 1 && Date.now() < deadline)
      await sleep(250);
    expect(await cluster.redis.client().smembers('rtc-peer:nodes')).toHaveLength(1);
    // The call went on: a little more of it through the surviving server, then the caller's bye (on
    // SIGINT) reaches the answerer.
    await sleep(2000);
    caller.child.kill('SIGINT');
    const callerEnd = await caller.waitFor('call-ended', 10_000);
    const answererEnd = await answerer.waitFor('call-ended', 20_000);
    expect(answererEnd.reason).toBe('peer-hangup');
    expect((await caller.exited).code).toBe(0);
    expect((await answerer.exited).code).toBe(0);
    await expectPatternRecording(file, {
      // As --duration counts: from connecting to the end.
      durationSec: (callerEnd.durationSec as number) - (connected.ms as number) / 1000,
      sentBetween: { from, to: Date.now() },
      receiver: answererEnd,
    });
    // No gap while the caller's server died and it moved: consecutive recorded frames a few ids apart.
    const gap = await worstGap(file);
    expect(gap.worst, `gap after the frame stamped ${gap.at - killedAt} ms from the kill`).toBeLessThan(10);
    // The waiting caller re-sent its unanswered offer on rejoining: held again, it reaches a new answerer.
    expect((await storedRoom(cluster.redis, 'h'))?.held).toMatchObject({ answered: false });
    const late = answer(lb.url, 'h', path.join(dir, 'late.webm'));
    expect((await late.waitFor('joined')).peerPresent).toBe(true);
    expect((await late.waitFor('offer-received')).call).toBe(1);
    await late.waitFor('first-frame', 10_000);
    late.child.kill('SIGINT');
    expect((await late.exited).code).toBe(0);
    expect((await waiting.waitFor('call-ended', 10_000)).reason).toBe('peer-hangup');
    expect((await waiting.exited).code).toBe(0);
  }, 90_000);

  test('Redis stopped and restarted (empty) under a running call: the call goes on, the servers recover, the clients rejoin', async () => {
    const cluster = await startSignalCluster(2);
    const [a, b] = cluster.nodes as [ClusterNode, ClusterNode];
    const file = path.join(dir, 'redis-restart.webm');
    const answerer = answer(a.url, 'r', file);
    await answerer.waitFor('joined');
    const from = Date.now();
    // Ended by the test (SIGINT) once the cluster has recovered, whatever that took.
    const caller = call(b.url, 'r', ['--once']);
    const connected = await caller.waitFor('connected', 10_000);
    await answerer.waitFor('first-frame', 10_000);
    await sleep(1000);
    const stoppedAt = Date.now() % 2 ** 32;
    await cluster.redis.stop('SIGKILL');
    await Promise.all([waitReady(a.url, 503), waitReady(b.url, 503)]);
    // A client joining now is refused, clearly; the servers stay up.
    const late = await kit.socket(a.url);
    expect(await emitWithAck(late, { type: 'join', room: 'other', role: 'caller' })).toMatchObject({
      ok: false,
      error: { code: 'UNAVAILABLE' },
    });
    await sleep(500);
    expect([a.proc.child.exitCode, b.proc.child.exitCode]).toEqual([null, null]);
    expect(a.proc.stderr()).toMatch(/NOT READY: lost the connection to redis:\/\/127\.0\.0\.1/);
    await cluster.redis.start();
    await Promise.all([waitReady(a.url), waitReady(b.url)]);
    // Redis lost the room: the servers dropped both members, who rejoined by themselves.
    await answerer.waitFor('signal-rejoined', 10_000);
    await caller.waitFor('signal-rejoined', 10_000);
    const stored = await storedRoom(cluster.redis, 'r');
    expect(stored?.members.map((m) => m.role).sort()).toEqual(['answerer', 'caller']);
    // A little more of the call, then the caller's bye (on SIGINT) goes through the recovered cluster.
    await sleep(2000);
    caller.child.kill('SIGINT');
    const callerEnd = await caller.waitFor('call-ended', 10_000);
    const answererEnd = await answerer.waitFor('call-ended', 20_000);
    expect(answererEnd.reason).toBe('peer-hangup');
    expect((await caller.exited).code).toBe(0);
    expect((await answerer.exited).code).toBe(0);
    await expectPatternRecording(file, {
      // As --duration counts: from connecting to the end.
      durationSec: (callerEnd.durationSec as number) - (connected.ms as number) / 1000,
      sentBetween: { from, to: Date.now() },
      receiver: answererEnd,
    });
    const gap = await worstGap(file);
    expect(
      gap.worst,
      `gap after the frame stamped ${gap.at - stoppedAt} ms from the stop; answerer's events: ${JSON.stringify(answerer.events.filter((e) => e.event !== 'stats'))}`,
    ).toBeLessThan(10);
    expect(await emitWithAck(late, { type: 'join', room: 'other', role: 'caller' })).toMatchObject({
      ok: true,
    });
  }, 90_000);
});
