/**
 * The shared state of several signaling servers in Redis: its keys, and the few atomic scripts that change
 * them. Only storage lives here; the rules of a room stay in room.ts (the registry loads a room, applies the
 * pure transition, and writes the result back with {@link RedisStore.commit}, a compare-and-set on the
 * room's version).
 *
 * Keys (PREFIX is `rtc-peer:`):
 *
 * | key                       | type   | holds                                                             |
 * | ------------------------- | ------ | ----------------------------------------------------------------- |
 * | `PREFIX room:NAME`        | hash   | `v`: version (1, 2, ...), `s`: the {@link StoredRoom} as JSON      |
 * | `PREFIX rooms`            | set    | names of the rooms that exist (have a member)                     |
 * | `PREFIX held`             | set    | names of the rooms that hold an unanswered offer                  |
 * | `PREFIX nodes`            | set    | ids of the servers that have registered                           |
 * | `PREFIX node:ID:alive`    | string | present while server ID heartbeats (expires after the node TTL)   |
 * | `PREFIX node:ID:members`  | hash   | connection id -> room name, for each member connected to ID       |
 *
 * | `PREFIX socket.io`        | stream | the Socket.IO Redis Streams adapter's messages between servers    |
 *
 * A room's change is written with the messages it causes for clients of other servers, by one script: the
 * change and its deliveries are atomic (a server dying between them cannot lose a delivery) and the
 * deliveries enter the stream in the order of the room's changes. The indexes are updated by the same
 * script, so they need one Redis (or Sentinel), not Redis Cluster.
 */
import type { Redis } from 'ioredis';
import type { RoomState } from './room.js';

/** Prefix of every key rtc-peer writes. */
export const KEY_PREFIX = 'rtc-peer:';

/** What a room's key holds: the pure room's state, and which server each member's connection is on. */
export interface StoredRoom {
  room: RoomState;
  /** Connection id -> id of the server it is connected to. */
  nodeOf: Record<string, string>;
}

/** A room as loaded: `version` 0 and `state` null when it does not exist. */
export interface LoadedRoom {
  version: number;
  state: StoredRoom | null;
  /** `state` as Redis holds it (its JSON), to tell an unchanged room without serializing it again. */
  json: string | null;
}

/** A change to a server's member index, made by the same script as the room's write. */
export interface IndexChange {
  op: 'add' | 'remove';
  node: string;
  conn: string;
}

/** One entry for the Socket.IO adapter's stream, as its field/value list. */
export type StreamEntry = string[];

/**
 * What a commit needs: the version it read, what to write (a {@link StoredRoom} as JSON; null: the room is
 * gone; `'unchanged'`: nothing, only check the version), the index changes, the stream entries to publish
 * with it.
 */
export interface Commit {
  room: string;
  version: number;
  state: { json: string } | null | 'unchanged';
  /** The room holds an unanswered offer after this change. */
  held: boolean;
  index: IndexChange[];
  /** Refuse the write (`'guard'`) unless server GUARD is dead: its alive key is absent (the sweeper's). */
  unlessAlive?: string;
  /** Messages for clients of other servers, added to the adapter's stream with the change. */
  publish: StreamEntry[];
}

/** The outcome of a commit: written, someone else wrote first (reload and retry), or the guard refused. */
export type CommitOutcome = 'ok' | 'conflict' | 'guard';

/**
 * Compare-and-set of one room: writes only if the room's version is still the one read (and, for a sweep,
 * only if the swept server is still dead), keeps the indexes in step, and adds the change's deliveries to
 * the adapter's stream. An unchanged room (a message only relayed) is not written, its version only checked.
 * KEYS: room, rooms set, held set, guard alive key, stream, then the member-index hashes.
 * ARGV: expected version, new state JSON ('' = delete, '=' = unchanged), room name, held '1'/'0', guard
 * '1'/'0', stream max length, number of index changes, then (op, key number, conn) per index change, then
 * per stream entry its field count and its fields and values.
 */
const COMMIT_SCRIPT = `
local current = tonumber(redis.call('HGET', KEYS[1], 'v') or '0')
if current ~= tonumber(ARGV[1]) then return 0 end
if ARGV[5] == '1' and redis.call('EXISTS', KEYS[4]) == 1 then return -1 end
if ARGV[2] == '' then
  redis.call('DEL', KEYS[1])
  redis.call('SREM', KEYS[2], ARGV[3])
  redis.call('SREM', KEYS[3], ARGV[3])
elseif ARGV[2] ~= '=' then
  redis.call('HSET', KEYS[1], 'v', current + 1, 's', ARGV[2])
  redis.call('SADD', KEYS[2], ARGV[3])
  if ARGV[4] == '1' then redis.call('SADD', KEYS[3], ARGV[3]) else redis.call('SREM', KEYS[3], ARGV[3]) end
end
local i = 8
for _ = 1, tonumber(ARGV[7]) do
  local key = KEYS[tonumber(ARGV[i + 1])]
  if ARGV[i] == 'a' then redis.call('HSET', key, ARGV[i + 2], ARGV[3]) else redis.call('HDEL', key, ARGV[i + 2]) end
  i = i + 3
end
while i <= #ARGV do
  local n = tonumber(ARGV[i])
  redis.call('XADD', KEYS[5], 'MAXLEN', '~', ARGV[6], '*', unpack(ARGV, i + 1, i + n))
  i = i + n + 1
end
return 1
`;

/** Length the adapter's stream is trimmed to (about: `MAXLEN ~`), as the adapter's own default. */
export const STREAM_MAX_LEN = 10_000;

/** The adapter's stream (its `streamName` option). */
export const STREAM_KEY = `${KEY_PREFIX}socket.io`;

/**
 * A server's heartbeat: registers it and (re)sets its alive key with the TTL. Returns 1 if the key was
 * still there, 0 if it had expired or never existed (first beat, a Redis that lost its data, or the others
 * took this server for dead): the caller then checks its members against the rooms.
 * KEYS: nodes set, alive key. ARGV: node id, TTL ms.
 */
const HEARTBEAT_SCRIPT = `
redis.call('SADD', KEYS[1], ARGV[1])
local was = redis.call('EXISTS', KEYS[2])
redis.call('SET', KEYS[2], '1', 'PX', ARGV[2])
return was
`;

/**
 * Forgets a dead server once its members are all gone, unless it came back meanwhile.
 * KEYS: nodes set, alive key, members hash. ARGV: node id. Returns 1 if forgotten.
 */
const FORGET_SCRIPT = `
if redis.call('EXISTS', KEYS[2]) == 1 or redis.call('HLEN', KEYS[3]) > 0 then return 0 end
redis.call('SREM', KEYS[1], ARGV[1])
redis.call('DEL', KEYS[3])
return 1
`;

/** The Redis client with the scripts defined (ioredis `defineCommand`). */
interface ScriptedRedis extends Redis {
  rtcPeerCommit(numKeys: number, ...args: (string | number)[]): Promise<number>;
  rtcPeerHeartbeat(...args: (string | number)[]): Promise<number>;
  rtcPeerForget(...args: (string | number)[]): Promise<number>;
}

/** The keys and scripts of {@link KEY_PREFIX}, on one Redis client. */
export class RedisStore {
  readonly #redis: ScriptedRedis;

  constructor(redis: Redis) {
    this.#redis = redis as ScriptedRedis;
    // Sent with EVALSHA, and loaded again by ioredis when a restarted Redis has forgotten them.
    redis.defineCommand('rtcPeerCommit', { lua: COMMIT_SCRIPT });
    redis.defineCommand('rtcPeerHeartbeat', { lua: HEARTBEAT_SCRIPT, numberOfKeys: 2 });
    redis.defineCommand('rtcPeerForget', { lua: FORGET_SCRIPT, numberOfKeys: 3 });
  }

  static roomKey(room: string): string {
    return `${KEY_PREFIX}room:${room}`;
  }

  static aliveKey(node: string): string {
    return `${KEY_PREFIX}node:${node}:alive`;
  }

  static membersKey(node: string): string {
    return `${KEY_PREFIX}node:${node}:members`;
  }

  /** Reads a room (one key: a consistent snapshot). */
  async load(room: string): Promise<LoadedRoom> {
    const [v, s] = await this.#redis.hmget(RedisStore.roomKey(room), 'v', 's');
    if (v == null || s == null) return { version: 0, state: null, json: null };
    return { version: Number(v), state: JSON.parse(s) as StoredRoom, json: s };
  }

  /** Writes a room if nobody else did since it was loaded; see {@link COMMIT_SCRIPT}. */
  async commit(c: Commit): Promise<CommitOutcome> {
    const indexKeys: string[] = [];
    const ops: string[] = [];
    for (const change of c.index) {
      const key = RedisStore.membersKey(change.node);
      let n = indexKeys.indexOf(key);
      if (n < 0) n = indexKeys.push(key) - 1;
      ops.push(change.op === 'add' ? 'a' : 'd', String(6 + n), change.conn);
    }
    const keys = [
      RedisStore.roomKey(c.room),
      `${KEY_PREFIX}rooms`,
      `${KEY_PREFIX}held`,
      RedisStore.aliveKey(c.unlessAlive ?? '-'),
      STREAM_KEY,
      ...indexKeys,
    ];
    const state = c.state === null ? '' : c.state === 'unchanged' ? '=' : c.state.json;
    const entries = c.publish.flatMap((fields) => [String(fields.length), ...fields]);
    const result = await this.#redis.rtcPeerCommit(
      keys.length,
      ...keys,
      String(c.version),
      state,
      c.room,
      c.held ? '1' : '0',
      c.unlessAlive === undefined ? '0' : '1',
      String(STREAM_MAX_LEN),
      String(c.index.length),
      ...ops,
      ...entries,
    );
    return result === 1 ? 'ok' : result === 0 ? 'conflict' : 'guard';
  }

  /** Heartbeat of server `node`: true if its alive key was still there (see {@link HEARTBEAT_SCRIPT}). */
  async heartbeat(node: string, ttlMs: number): Promise<boolean> {
    const was = await this.#redis.rtcPeerHeartbeat(
      `${KEY_PREFIX}nodes`,
      RedisStore.aliveKey(node),
      node,
      ttlMs,
    );
    return was === 1;
  }

  /** The registered servers whose alive key has expired. */
  async deadNodes(): Promise<string[]> {
    const nodes = await this.#redis.smembers(`${KEY_PREFIX}nodes`);
    if (nodes.length === 0) return [];
    const pipeline = this.#redis.pipeline();
    for (const node of nodes) pipeline.exists(RedisStore.aliveKey(node));
    const results = (await pipeline.exec()) ?? [];
    return nodes.filter((_, i) => results[i]?.[0] == null && results[i]?.[1] === 0);
  }

  /** The member index of a server: connection id -> room. */
  async members(node: string): Promise<Map<string, string>> {
    return new Map(Object.entries(await this.#redis.hgetall(RedisStore.membersKey(node))));
  }

  /** Adds entries to a server's member index (after Redis lost them). */
  async index(node: string, entries: Map<string, string>): Promise<void> {
    if (entries.size > 0) await this.#redis.hset(RedisStore.membersKey(node), Object.fromEntries(entries));
  }

  /** Removes an entry of a server's member index that no room has any more. */
  async unindex(node: string, conn: string): Promise<void> {
    await this.#redis.hdel(RedisStore.membersKey(node), conn);
  }

  /** Forgets dead server `node` if it has no members left and is still dead; true if it did. */
  async forget(node: string): Promise<boolean> {
    const done = await this.#redis.rtcPeerForget(
      `${KEY_PREFIX}nodes`,
      RedisStore.aliveKey(node),
      RedisStore.membersKey(node),
      node,
    );
    return done === 1;
  }

  /** A server that stops for good: its alive key goes at once (the others need not wait for the TTL). */
  async retire(node: string): Promise<void> {
    await this.#redis.del(RedisStore.aliveKey(node));
  }

  /** Rooms that exist, and rooms that hold an unanswered offer, in the whole cluster. */
  async counts(): Promise<{ rooms: number; heldOffers: number }> {
    const [rooms, held] = await Promise.all([
      this.#redis.scard(`${KEY_PREFIX}rooms`),
      this.#redis.scard(`${KEY_PREFIX}held`),
    ]);
    return { rooms, heldOffers: held };
  }
}
