/**
 * Several real `rtc-peer signal --redis` servers (separate processes, the built CLI) on one real
 * redis-server, and what the tests read from outside them: each server's `/readyz` and `/metrics`, and the
 * rooms as Redis holds them (the keys of src/signal/redis-store.ts, read with a raw client).
 */
import { startSignalCli, type CliProcess } from './cli.js';
import { startRedisServer, type RedisServer } from './redis-server.js';

/** One signaling server of a cluster. */
export interface ClusterNode {
  proc: CliProcess;
  url: string;
}

/** A redis-server and the signaling servers that share it. */
export interface SignalCluster {
  redis: RedisServer;
  nodes: ClusterNode[];
  /** Starts one more server on the same Redis (or a given port, to restart one in place). */
  addNode(port?: number): Promise<ClusterNode>;
}

/** Starts redis-server and `count` signaling servers on it; stopped by killAll() and stopRedisServers(). */
export async function startSignalCluster(count: number): Promise<SignalCluster> {
  const redis = await startRedisServer();
  const cluster: SignalCluster = {
    redis,
    nodes: [],
    async addNode(port) {
      const node = await startNode(redis, port);
      cluster.nodes.push(node);
      return node;
    },
  };
  // Started side by side (each is a node process loading the CLI: a second or more on a busy machine); in
  // the order they were asked for.
  const nodes = await Promise.all(Array.from({ length: count }, () => startNode(redis)));
  cluster.nodes.push(...nodes);
  return cluster;
}

/** One `rtc-peer signal --redis` on `redis`, once ready. */
async function startNode(redis: RedisServer, port?: number): Promise<ClusterNode> {
  const extra = ['--redis', redis.url];
  const { proc, url } = await startSignalCli(port === undefined ? extra : [...extra, '--port', String(port)]);
  await waitReady(url);
  return { proc, url };
}

/** `GET /readyz`: the status code and body. */
export async function readyz(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${url}/readyz`);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** Polls `/readyz` until it answers `status` (200 by default); fails after `ms`. */
export async function waitReady(url: string, status = 200, ms = 10_000): Promise<void> {
  const deadline = performance.now() + ms;
  for (;;) {
    let last: string;
    try {
      const r = await readyz(url);
      if (r.status === status) return;
      last = JSON.stringify(r);
    } catch (error) {
      last = String(error);
    }
    if (performance.now() > deadline) throw new Error(`${url}/readyz not ${status} after ${ms} ms: ${last}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** `GET /metrics`, parsed: `name{labels}` -> value (labels as printed, without `node`). */
export async function metrics(url: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue;
    const at = line.lastIndexOf(' ');
    // The `node` label goes: the tests ask for `name{labels}` of the server they read.
    const name = line
      .slice(0, at)
      .replace(/node="[^"]*",?/, '')
      .replace(',}', '}')
      .replace('{}', '');
    out.set(name, Number(line.slice(at + 1)));
  }
  return out;
}

/** A room as Redis holds it: its members' roles and connections, and which server each is on. */
export interface StoredMembers {
  members: { conn: string; role: string; id: string }[];
  nodeOf: Record<string, string>;
  held: { sdp: string | null; answered: boolean; candidates: unknown[] };
}

/** Reads room `name` from Redis directly (null when it does not exist). */
export async function storedRoom(redis: RedisServer, name: string): Promise<StoredMembers | null> {
  const s = await redis.client().hget(`rtc-peer:room:${name}`, 's');
  if (s === null) return null;
  const parsed = JSON.parse(s) as {
    room: { members: StoredMembers['members']; held: StoredMembers['held'] };
    nodeOf: Record<string, string>;
  };
  return { members: parsed.room.members, nodeOf: parsed.nodeOf, held: parsed.room.held };
}
