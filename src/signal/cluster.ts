/**
 * Several signaling servers sharing one Redis: the rooms in Redis (redis-registry.ts), and deliveries to
 * clients of other servers through the Socket.IO Redis Streams adapter.
 *
 * Why the streams adapter (`@socket.io/redis-streams-adapter`) and not the pub/sub one
 * (`@socket.io/redis-adapter`): a message published with pub/sub while a server's subscriber connection is
 * down is lost for that server, and a lost offer, answer or candidate is a call that does not start. A
 * stream is read from the last entry seen, so a server whose connection to Redis blips reads on where it
 * stopped and its clients miss nothing. Its cost, one XREAD loop per server and a stream trimmed to the last
 * entries, is small next to the room writes (see docs/deploy.md and `npm run bench`).
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { createAdapter } from '@socket.io/redis-streams-adapter';
import { Redis, type RedisOptions } from 'ioredis';
import type { Server } from 'socket.io';
import { logger } from '../util/log.js';
import type { Delivery } from './room.js';
import { RedisRoomRegistry } from './redis-registry.js';
import { RedisStore, STREAM_KEY, STREAM_MAX_LEN, type StreamEntry } from './redis-store.js';
import type { RoomOptions } from './room.js';
import { SIGNAL_EVENT } from './types.js';

const log = logger('signal:redis');

/** Options of {@link joinCluster}. */
export interface ClusterOptions extends RoomOptions {
  /** `redis://[user:password@]host:port[/db]` or `rediss://...` (TLS). */
  url: string;
  /** This server's id. Default: hostname, pid and random characters (new on each start). */
  nodeId?: string;
  /** See {@link RedisRoomRegistry.nodeTtlMs}. Default 4000 ms. */
  nodeTtlMs?: number;
  /** Sends deliveries to this server's own clients (those of other servers went out with the room change). */
  deliver: (deliveries: Delivery[]) => void;
  /** True while connection `conn` is connected to this server. */
  isConnected: (conn: string) => boolean;
  /** Ends connection `conn` of this server, so that its client joins again. */
  dropConnection: (conn: string) => void;
}

/** A server's part of the cluster. */
export interface Cluster {
  registry: RedisRoomRegistry;
  /** The Redis URL without its password, for messages. */
  where: string;
  /** Stops heartbeating, retires this server and closes the Redis connections. Idempotent. */
  close(): Promise<void>;
}

/**
 * A delivery to a client of another server as an entry of the adapter's stream: what the adapter itself
 * writes for `io.to(conn).emit('signal', message)` (a BROADCAST of an EVENT packet to the room that is the
 * connection's id, in its raw format of @socket.io/redis-streams-adapter 0.3: JSON data). Written by the
 * room's commit script, so that a room's change and its deliveries are one atomic step. `uid` is this
 * server's adapter: the others deliver it, this one ignores it (it sends to its own clients directly).
 */
export function streamEntry(uid: string, delivery: Delivery): StreamEntry {
  const data = {
    packet: { type: EVENT_PACKET, data: [SIGNAL_EVENT, delivery.message], nsp: '/' },
    opts: { rooms: [delivery.to], except: [], flags: {} },
  };
  return ['uid', uid, 'nsp', '/', 'type', BROADCAST_MESSAGE, 'data', JSON.stringify(data)];
}

/** socket.io-adapter's `MessageType.BROADCAST`. */
const BROADCAST_MESSAGE = '3';
/** socket.io-parser's `PacketType.EVENT`. */
const EVENT_PACKET = 2;

/** Checks a Redis URL; a TypeError says what is wrong with it. Returns it without its password. */
export function checkRedisUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TypeError(`--redis ${JSON.stringify(url)} is not a URL; use redis://HOST:PORT`);
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new TypeError(
      `--redis ${JSON.stringify(url)}: the URL must start with redis:// or rediss:// (TLS), e.g. redis://127.0.0.1:6379`,
    );
  }
  if (parsed.password !== '') parsed.password = '***';
  return parsed.href;
}

/**
 * Connects a Socket.IO server to the cluster: sets its adapter and returns the registry to dispatch to.
 * It does not wait for Redis: a server started while Redis is down is not ready (`registry.ready`) until
 * it is reachable, and says so through the registry's `readiness` event.
 */
export function joinCluster(io: Server, options: ClusterOptions): Cluster {
  const where = checkRedisUrl(options.url);
  const nodeId = options.nodeId ?? `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const retryStrategy = (times: number): number => Math.min(100 * times, 1000);
  // The rooms' connection: a command fails at once while Redis is away (the message is refused with
  // UNAVAILABLE) instead of waiting in a queue, and is never sent twice (a commit is not idempotent).
  const stateOptions: RedisOptions = {
    connectionName: `rtc-peer:${nodeId}:state`,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    commandTimeout: 2000,
    retryStrategy,
  };
  // The adapter's connections: its publishes wait for Redis rather than fail (a delivery of a room change
  // already written), and its stream reads block.
  const adapterOptions: RedisOptions = {
    connectionName: `rtc-peer:${nodeId}:adapter`,
    maxRetriesPerRequest: null,
    retryStrategy,
  };
  const state = new Redis(options.url, stateOptions);
  const pub = new Redis(options.url, adapterOptions);
  // The adapter reads its stream on connections it duplicates from `pub` and closes only once a blocked
  // read returns, which never happens while Redis is away: they are kept here to be closed with the rest.
  const duplicates: Redis[] = [];
  const duplicate = pub.duplicate.bind(pub);
  pub.duplicate = (override?: Partial<RedisOptions>): Redis => {
    const copy = duplicate(override);
    duplicates.push(copy);
    return copy;
  };
  const registry = new RedisRoomRegistry({
    store: new RedisStore(state),
    nodeId,
    nodeTtlMs: options.nodeTtlMs,
    maxHeldCandidates: options.maxHeldCandidates,
    maxViewers: options.maxViewers,
    newId: options.newId,
    deliver: options.deliver,
    isConnected: options.isConnected,
    dropConnection: options.dropConnection,
    encodeRemote: (delivery) => streamEntry((io.of('/').adapter as unknown as { uid: string }).uid, delivery),
  });
  let lastError = '';
  let wasReady = false;
  state.on('error', (error: Error) => {
    lastError = error.message;
    log('%s: Redis %s: %s', nodeId, where, error.message);
  });
  state.on('close', () => {
    const what = wasReady ? `lost the connection to ${where}` : `cannot connect to ${where}`;
    registry.redisDown(`${what}${lastError === '' ? '' : ` (${lastError})`}; retrying every second`);
  });
  state.on('ready', () => {
    lastError = '';
    wasReady = true;
    registry.redisUp();
  });
  pub.on('error', (error: Error) => log('%s: Redis (adapter) %s: %s', nodeId, where, error.message));
  io.adapter(createAdapter(pub, { streamName: STREAM_KEY, maxLen: STREAM_MAX_LEN }));
  registry.start();
  let closing: Promise<void> | undefined;
  return {
    registry,
    where,
    close() {
      closing ??= (async () => {
        await registry.close();
        // quit() waits for the replies of the commands sent; disconnect() when Redis is away.
        await Promise.all(
          [state, pub].map((c) =>
            c.status === 'ready' ? c.quit().catch(() => c.disconnect()) : c.disconnect(),
          ),
        );
        for (const copy of duplicates) copy.disconnect();
      })();
      return closing;
    },
  };
}
