/**
 * `/readyz` and `/metrics` of a real server: what a load balancer and Prometheus read. The figures are the
 * server's own counters, checked against what the test's clients did (a counter reporting right), not as
 * the evidence of the behaviour itself.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { killAll } from '../helpers/cli.js';
import { stopRedisServers } from '../helpers/redis-server.js';
import { metrics, startSignalCluster } from '../helpers/signal-cluster.js';
import {
  SignalTestKit,
  emitWithAck,
  fakeCandidate,
  fakeSdp,
  SocketRecorder,
} from '../helpers/signal-server.js';

const kit = new SignalTestKit();
afterEach(async () => {
  await kit.closeAll();
  await killAll();
  await stopRedisServers();
});

/** Joins a caller and an answerer, one handshake (offer held, join, answer, a candidate), one refusal. */
async function handshake(callerUrl: string, answererUrl: string): Promise<void> {
  const caller = await kit.socket(callerUrl);
  const callerRec = new SocketRecorder(caller);
  await emitWithAck(caller, { type: 'join', room: 'm', role: 'caller' });
  await emitWithAck(caller, { type: 'offer', sdp: fakeSdp('o') });
  const answerer = await kit.socket(answererUrl);
  const rec = new SocketRecorder(answerer);
  await emitWithAck(answerer, { type: 'join', room: 'm', role: 'answerer' });
  await rec.wait(1, 'offer');
  await emitWithAck(answerer, { type: 'answer', sdp: fakeSdp('a') });
  await emitWithAck(answerer, { type: 'candidate', candidate: fakeCandidate(1) });
  await callerRec.wait(3);
  expect(await emitWithAck(answerer, { type: 'offer', sdp: fakeSdp('x') })).toMatchObject({
    ok: false,
    error: { code: 'WRONG_ROLE' },
  });
}

describe('/readyz and /metrics', { timeout: 30_000 }, () => {
  it('one server: ready once listening, /healthz as documented, Prometheus text with the counts', async () => {
    const server = await kit.server();
    const ready = await fetch(`${server.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready' });
    await handshake(server.url, server.url);
    const health = (await (await fetch(`${server.url}/healthz`)).json()) as Record<string, unknown>;
    expect(Object.keys(health).sort()).toEqual([
      'clients',
      'heldBytes',
      'pending',
      'refused',
      'rooms',
      'status',
      'uptimeSec',
    ]);
    expect(health).toMatchObject({ status: 'ok', rooms: 1, clients: 2 });
    const res = await fetch(`${server.url}/metrics`);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const m = await metrics(server.url);
    expect(m.get('rtc_peer_clients')).toBe(2);
    expect(m.get('rtc_peer_members')).toBe(2);
    expect(m.get('rtc_peer_rooms')).toBe(1);
    expect(m.get('rtc_peer_held_offers')).toBe(0); // answered
    expect(m.get('rtc_peer_ready')).toBe(1);
    expect(m.get('rtc_peer_messages_total{type="join"}')).toBe(2);
    expect(m.get('rtc_peer_messages_total{type="offer"}')).toBe(2);
    expect(m.get('rtc_peer_refusals_total{code="WRONG_ROLE"}')).toBe(1);
    // peer-joined, the held offer, the answer, the candidate.
    expect(m.get('rtc_peer_deliveries_total{type="offer"}')).toBe(1);
    expect(m.get('rtc_peer_deliveries_total{type="peer-joined"}')).toBe(1);
    expect(m.get('rtc_peer_relay_seconds_count{type="answer"}')).toBe(1);
    expect(m.get('rtc_peer_relay_seconds_count{type="join"}')).toBe(1);
    expect(m.get('rtc_peer_process_resident_memory_bytes')).toBeGreaterThan(10e6);
    expect(m.get('rtc_peer_limit_refusals_total{kind="origin"}')).toBe(0);
    expect(m.get('rtc_peer_pending_connections')).toBe(0);
    // The held offer stays (answered) until its caller leaves: its bytes are counted.
    expect(m.get('rtc_peer_held_bytes')).toBe(health['heldBytes']);
    // A page of another site refused at the handshake: counted by the limits, not as a message refusal.
    const evil = kit.rawSocket(server.url, {}, { extraHeaders: { origin: 'https://evil.example' } });
    const refused = new Promise<Error>((resolve) => evil.once('connect_error', resolve));
    evil.connect();
    expect((await refused).message).toMatch(/^FORBIDDEN_ORIGIN/);
    expect((await metrics(server.url)).get('rtc_peer_limit_refusals_total{kind="origin"}')).toBe(1);
  });

  it('two servers on Redis: each counts its own clients and messages; rooms and held offers are shared', async () => {
    const { nodes } = await startSignalCluster(2);
    const [a, b] = nodes.map((n) => n.url) as [string, string];
    await handshake(a, b);
    const held = await kit.socket(b);
    await emitWithAck(held, { type: 'join', room: 'held', role: 'caller' });
    await emitWithAck(held, { type: 'offer', sdp: fakeSdp('h') });
    const [ma, mb] = await Promise.all([metrics(a), metrics(b)]);
    expect([ma.get('rtc_peer_clients'), mb.get('rtc_peer_clients')]).toEqual([1, 2]);
    expect([ma.get('rtc_peer_rooms'), mb.get('rtc_peer_rooms')]).toEqual([2, 2]);
    expect([ma.get('rtc_peer_held_offers'), mb.get('rtc_peer_held_offers')]).toEqual([1, 1]);
    expect(ma.get('rtc_peer_messages_total{type="offer"}')).toBe(1);
    expect(mb.get('rtc_peer_messages_total{type="offer"}')).toBe(2);
    expect(mb.get('rtc_peer_refusals_total{code="WRONG_ROLE"}')).toBe(1);
    // The answer went from b to the caller on a, through Redis.
    expect(mb.get('rtc_peer_deliveries_total{type="answer"}')).toBe(1);
    const text = await (await fetch(`${a}/metrics`)).text();
    expect(text).toMatch(/^rtc_peer_clients\{node="[^"]+-\d+-[0-9a-f]{6}"\} 1$/m);
  });
});
