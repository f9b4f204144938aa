/**
 * The rooms of several signaling servers, shared in Redis. A message is applied as on one server: the room
 * is loaded, the pure transition of room.ts is applied to it, and the result is written back with a
 * compare-and-set on the room's version (redis-store.ts), retried when another server wrote first. So a
 * room's rules have one implementation, and admission is atomic across servers: of two answerers racing
 * for the last place on two servers, exactly one is admitted.
 *
 * Each server heartbeats (an alive key with a TTL) and sweeps: the members of a server whose key expired
 * (killed, cut off) are removed from their rooms, and their peers get `peer-left`. A server that cannot
 * reach Redis refuses messages with UNAVAILABLE, and when Redis is back it checks its members against the
 * rooms (a restarted Redis may have lost them: those connections are dropped, and their clients rejoin)
 * and applies the departures Redis missed.
 */
import { Room, type Delivery, type RoomOptions } from './room.js';
import {
  alreadyJoined,
  holdsOffer,
  notJoined,
  refuse,
  usageOf,
  type DispatchLimits,
  type DispatchResult,
  type RoomUsage,
  type Registry,
  type RegistryCounts,
} from './room-registry.js';
import type { IndexChange, RedisStore, StoredRoom, StreamEntry } from './redis-store.js';
import type { ClientMessage, SignalErrorBody } from './types.js';
import { logger } from '../util/log.js';
import { TypedEmitter } from '../util/typed-emitter.js';

const log = logger('signal:redis');

/** Why a registry is not ready before its first connection to Redis (a moment, not a failure). */
export const CONNECTING = 'connecting to Redis';

/** Compare-and-set attempts on one room before a message is refused as UNAVAILABLE. */
const MAX_ATTEMPTS = 32;

/** Options of a {@link RedisRoomRegistry}. */
export interface RedisRegistryOptions extends RoomOptions {
  /** The shared state. */
  store: RedisStore;
  /** This server's id: unique among the servers sharing the Redis, and new on each start. */
  nodeId: string;
  /** A server whose heartbeat is this old is dead: its members are removed. Default 4000 ms. */
  nodeTtlMs?: number;
  /**
   * Sends deliveries that answer no message of this server's clients (a dead server's members leaving) to
   * the clients of this server; those of other servers went out with the room's change.
   */
  deliver: (deliveries: Delivery[]) => void;
  /** True while connection `conn` is connected to this server. */
  isConnected: (conn: string) => boolean;
  /** A delivery to a client of another server, as an entry of the Socket.IO adapter's stream. */
  encodeRemote: (delivery: Delivery) => StreamEntry;
  /** Ends connection `conn` of this server: Redis lost its membership, and its client must join again. */
  dropConnection: (conn: string) => void;
}

/** Events of a {@link RedisRoomRegistry}. */
export type RedisRegistryEvents = {
  /** It can serve (Redis reachable, heartbeat written) or not, and why. Emitted on each change. */
  readiness: [ready: boolean, reason: string];
  /** This server removed the members of dead server `node` from their rooms. */
  swept: [node: string, members: number];
  /** A compare-and-set lost against another writer and was retried. */
  conflict: [];
};

/** The deliveries of a transition's value, for {@link RedisRoomRegistry}'s transact. */
const same = (deliveries: Delivery[] | undefined): Delivery[] | undefined => deliveries;
const none = (): undefined => undefined;
const ofResult = (result: { ok: boolean; deliveries?: Delivery[] }): Delivery[] | undefined =>
  result.ok ? result.deliveries : undefined;

/** Thrown inside the registry when a Redis command fails: the message is refused with UNAVAILABLE. */
class StoreUnavailable extends Error {}

/** A {@link Registry} whose rooms live in Redis, shared with the other servers of the same Redis. */
export class RedisRoomRegistry extends TypedEmitter<RedisRegistryEvents> implements Registry {
  /** This server's id. */
  readonly nodeId: string;
  /** How long a heartbeat lives, ms. */
  readonly nodeTtlMs: number;
  readonly #o: RedisRegistryOptions;
  readonly #store: RedisStore;
  readonly #roomOptions: RoomOptions;
  /** The room of each member connected to this server (the rooms themselves are in Redis only). */
  readonly #roomOf = new Map<string, string>();
  #available = false;
  #reason = CONNECTING;
  #registered = false;
  #beating: Promise<void> | undefined;
  #sweeping = false;
  #closed = false;
  /** The Redis client has no connection (until its next `ready`). */
  #linkDown = true;
  /** The readiness last announced. */
  #announced: boolean | undefined;
  readonly #timers: NodeJS.Timeout[] = [];

  constructor(options: RedisRegistryOptions) {
    super();
    this.#o = options;
    this.nodeId = options.nodeId;
    this.nodeTtlMs = options.nodeTtlMs ?? 4000;
    if (!Number.isInteger(this.nodeTtlMs) || this.nodeTtlMs < 400) {
      throw new TypeError(`nodeTtlMs must be an integer >= 400, got ${String(options.nodeTtlMs)}`);
    }
    this.#store = options.store;
    this.#roomOptions = {
      maxHeldCandidates: options.maxHeldCandidates,
      maxViewers: options.maxViewers,
      newId: options.newId,
    };
  }

  /** Starts heartbeating and sweeping, every quarter TTL (the first beat when Redis is connected). */
  start(): void {
    const period = Math.round(this.nodeTtlMs / 4);
    this.#timers.push(setInterval(() => void this.beat(), period));
    // Sweeps are spread so that several servers do not all sweep at the same moment.
    this.#timers.push(setInterval(() => void this.#sweep(), period + Math.floor(Math.random() * 50)));
    this.#timers.push(setInterval(() => void this.#reconcile(false), this.nodeTtlMs * 2));
  }

  /** True while it can serve: Redis answers and this server's heartbeat is written. */
  get ready(): boolean {
    return this.#available;
  }

  /** Why it cannot serve, when it cannot. */
  get reason(): string {
    return this.#reason;
  }

  get roomCount(): number {
    return new Set(this.#roomOf.values()).size;
  }

  async counts(): Promise<RegistryCounts> {
    const { rooms, heldOffers } = await this.#io(this.#store.counts());
    return { rooms, heldOffers, members: this.#roomOf.size };
  }

  /** The connection to Redis is lost (the Redis client said so): refuse messages until it is back. */
  redisDown(reason: string): void {
    this.#linkDown = true;
    this.#setUnavailable(reason);
  }

  /** The connection to Redis is (back) up: heartbeat, check the members, then serve again. */
  redisUp(): void {
    this.#linkDown = false;
    void this.beat();
  }

  async dispatch(
    clientId: string,
    message: ClientMessage,
    limits: DispatchLimits = {},
  ): Promise<DispatchResult> {
    if (!this.#available) return refuse(this.#unavailable());
    try {
      return await this.#dispatch(clientId, message, limits);
    } catch (error) {
      if (!(error instanceof StoreUnavailable)) throw error;
      log('%s: %s refused, Redis failed: %s', clientId, message.type, error.message);
      return refuse(this.#unavailable(error.message));
    }
  }

  async expireHeld(clientId: string, sdp: string): Promise<DispatchResult> {
    const current = this.#roomOf.get(clientId);
    if (current === undefined || !this.#available) return { ack: { ok: true }, deliveries: [] };
    let usage: RoomUsage | undefined;
    try {
      const { value: result } = await this.#transact(
        current,
        (room) => {
          const expired = room.expireHeld(clientId, sdp);
          usage = usageOf(room, clientId, { created: false });
          return expired;
        },
        ofResult,
      );
      return {
        ack: { ok: true },
        deliveries: result.ok ? result.deliveries : [],
        ...(usage ? { usage } : {}),
      };
    } catch (error) {
      if (!(error instanceof StoreUnavailable)) throw error;
      // Redis is gone: the offer stays held (over-counted, never under); the next expiry tries again.
      log('%s: held offer not expired, Redis failed: %s', clientId, error.message);
      return { ack: { ok: true }, deliveries: [] };
    }
  }

  async disconnect(clientId: string): Promise<Delivery[]> {
    const room = this.#roomOf.get(clientId);
    if (room === undefined) return [];
    this.#roomOf.delete(clientId);
    // Without Redis the departure waits: the member index still lists it, and the check after Redis comes
    // back removes it (its peers then get peer-left).
    if (!this.#available) return [];
    try {
      return (await this.#transact(room, (r) => r.leave(clientId, 'disconnected'), same)).value;
    } catch (error) {
      if (!(error instanceof StoreUnavailable)) throw error;
      log('%s: departure from %s left for later, Redis failed: %s', clientId, room, error.message);
      return [];
    }
  }

  /**
   * Stops heartbeating. With `retire`, this server's members have left already (its connections were
   * closed first): its alive key goes and it is forgotten, so the others need not wait for its TTL.
   */
  async close(retire = true): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const timer of this.#timers) clearInterval(timer);
    await this.#beating;
    if (!retire || !this.#available) return;
    try {
      await this.#io(this.#store.retire(this.nodeId));
      await this.#io(this.#store.forget(this.nodeId));
    } catch (error) {
      log('retiring %s failed (the others will sweep it): %s', this.nodeId, (error as Error).message);
    }
  }

  async #dispatch(clientId: string, message: ClientMessage, limits: DispatchLimits): Promise<DispatchResult> {
    const current = this.#roomOf.get(clientId);
    // What the message did to its room, taken inside the transition (the attempt that was written wins).
    let usage: RoomUsage | undefined;
    if (message.type === 'join') {
      if (current !== undefined) {
        const { value: refusal } = await this.#transact(
          current,
          (room) => (room.roleOf(clientId) !== undefined ? alreadyJoined(room, clientId) : undefined),
          none,
        );
        if (refusal !== undefined) return refuse(refusal);
        // No longer a member there (its session joined on another connection, or it was swept).
        this.#roomOf.delete(clientId);
      }
      const { type: _type, room: name, ...request } = message;
      const { value: result } = await this.#transact(
        name,
        (room) => {
          // A new room in Redis is one nobody is in (on any server): the limits may refuse to create it.
          const created = room.isEmpty;
          if (created && limits.newRoom !== undefined) return { ok: false as const, error: limits.newRoom };
          const joined = room.join(clientId, request);
          if (joined.ok) usage = usageOf(room, clientId, { created, replaced: joined.replaced });
          return joined;
        },
        ofResult,
      );
      if (!result.ok) return refuse(result.error);
      this.#roomOf.set(clientId, name);
      if (result.replaced !== undefined && this.#roomOf.get(result.replaced) === name)
        this.#roomOf.delete(result.replaced);
      return { ack: result.ack, deliveries: result.deliveries, ...(usage ? { usage } : {}) };
    }
    if (current === undefined) return refuse(notJoined(message.type));
    if (message.type === 'bye') {
      const { value: deliveries } = await this.#transact(
        current,
        (room) => {
          const role = room.roleOf(clientId);
          if (role === undefined) return undefined;
          const left = room.leave(clientId, 'bye');
          usage = { ...usageOf(room, clientId, { created: false }), member: false, role };
          return left;
        },
        same,
      );
      this.#roomOf.delete(clientId);
      if (deliveries === undefined) return refuse(notJoined('bye'));
      return { ack: { ok: true }, deliveries, ...(usage ? { usage } : {}) };
    }
    const { value: result } = await this.#transact(
      current,
      (room) => {
        const relayed = room.relay(clientId, message);
        if (relayed.ok) usage = usageOf(room, clientId, { created: false });
        return relayed;
      },
      ofResult,
    );
    if (!result.ok) {
      if (result.error.code === 'NOT_JOINED') this.#roomOf.delete(clientId);
      return refuse(result.error);
    }
    return {
      ack: { ok: true, delivered: result.delivered },
      deliveries: result.deliveries,
      ...(usage ? { usage } : {}),
    };
  }

  /**
   * Loads room `name`, applies `apply` (a pure transition of room.ts) and writes the result back if it
   * changed anything, atomically with the deliveries to clients of other servers (`deliveriesOf` the
   * value): if another server wrote the room meanwhile, it all starts again on the new state. A change
   * that only relays still checks the version as it publishes. `unlessAlive`: write only while that
   * server is dead (the sweeper's guard). The value of an `'unchanged'` or `'ok'` outcome is valid, and
   * its deliveries to other servers are sent; that of `'guard'` must be dropped.
   */
  async #transact<T>(
    name: string,
    apply: (room: Room) => T,
    deliveriesOf: (value: T) => Delivery[] | undefined,
    unlessAlive?: string,
  ): Promise<{ value: T; outcome: 'ok' | 'unchanged' | 'guard' }> {
    for (let attempt = 1; ; attempt++) {
      const loaded = await this.#io(this.#store.load(name));
      const room =
        loaded.state === null
          ? new Room(name, this.#roomOptions)
          : Room.fromState(name, loaded.state.room, this.#roomOptions);
      const value = apply(room);
      const publish = (deliveriesOf(value) ?? [])
        .filter((d) => !this.#o.isConnected(d.to))
        .map((d) => this.#o.encodeRemote(d));
      // Which server each member is on, for the member indexes: a new member is on this one.
      const previous = loaded.state?.nodeOf ?? {};
      const nodeOf: Record<string, string> = {};
      const index: IndexChange[] = [];
      const conns = new Set(room.connections);
      for (const conn of conns) {
        const node = previous[conn] ?? this.nodeId;
        nodeOf[conn] = node;
        if (previous[conn] === undefined) index.push({ op: 'add', node, conn });
      }
      for (const [conn, node] of Object.entries(previous))
        if (!conns.has(conn)) index.push({ op: 'remove', node, conn });
      // Serialized once, and compared with the JSON read: an unchanged room gives the same string (its
      // members, hence nodeOf, in the same order), so nothing is parsed back or serialized twice.
      const json = room.isEmpty
        ? null
        : JSON.stringify({ room: room.toState(), nodeOf } satisfies StoredRoom);
      const unchanged = json === loaded.json;
      if (unchanged && publish.length === 0) return { value, outcome: 'unchanged' };
      const outcome = await this.#io(
        this.#store.commit({
          room: name,
          version: loaded.version,
          state: unchanged ? 'unchanged' : json === null ? null : { json },
          held: json !== null && holdsOffer(room),
          index: unchanged ? [] : index,
          unlessAlive,
          publish,
        }),
      );
      if (outcome === 'ok') return { value, outcome: unchanged ? 'unchanged' : 'ok' };
      if (outcome === 'guard') return { value, outcome };
      this.emit('conflict');
      if (attempt >= MAX_ATTEMPTS) {
        throw new StoreUnavailable(`room "${name}" changed under ${MAX_ATTEMPTS} attempts in a row`);
      }
      // Two writers that keep colliding step apart.
      if (attempt > 2) await new Promise((r) => setTimeout(r, Math.random() * attempt));
    }
  }

  /** Heartbeat; after an outage (or when the others took this server for dead), check the members first. */
  beat(): Promise<void> {
    // No connection: nothing to try until the Redis client says it is back (redisUp).
    if (this.#linkDown || this.#closed) return Promise.resolve();
    this.#beating ??= (async () => {
      try {
        const wasAlive = await this.#io(this.#store.heartbeat(this.nodeId, this.nodeTtlMs));
        if (!this.#available || (!wasAlive && this.#registered)) {
          if (!wasAlive && this.#registered) log('%s: heartbeat had expired: checking members', this.nodeId);
          await this.#reconcile(true);
        }
        this.#registered = true;
        this.#setAvailable();
      } catch (error) {
        this.#setUnavailable(`Redis failed: ${(error as Error).message}`);
      } finally {
        this.#beating = undefined;
      }
    })();
    return this.#beating;
  }

  /**
   * Makes Redis and this server agree. Departures Redis has not applied (connections gone while Redis was
   * away) are applied now. With `lost` (after an outage), members Redis no longer has (a restarted Redis
   * without its data; the others swept this server) are dropped, so that their clients join again.
   */
  async #reconcile(lost: boolean): Promise<void> {
    if (this.#closed || (!lost && !this.#available)) return;
    try {
      let dropped = 0;
      if (lost) {
        const byRoom = new Map<string, string[]>();
        for (const [conn, room] of this.#roomOf) byRoom.set(room, [...(byRoom.get(room) ?? []), conn]);
        for (const [room, conns] of byRoom) {
          const loaded = await this.#io(this.#store.load(room));
          const nodeOf = loaded.state?.nodeOf ?? {};
          for (const conn of conns) {
            if (nodeOf[conn] === this.nodeId) continue;
            this.#roomOf.delete(conn);
            this.#o.dropConnection(conn);
            dropped++;
          }
        }
      }
      let departed = 0;
      for (const [conn, room] of await this.#io(this.#store.members(this.nodeId))) {
        if (this.#o.isConnected(conn)) continue;
        const { value, outcome } = await this.#transact(room, (r) => r.leave(conn, 'disconnected'), same);
        if (outcome === 'unchanged') await this.#io(this.#store.unindex(this.nodeId, conn));
        this.#o.deliver(value);
        departed++;
      }
      if (dropped + departed > 0)
        log('%s: checked members: %d Redis had lost, %d departures applied', this.nodeId, dropped, departed);
    } catch (error) {
      if (!(error instanceof StoreUnavailable)) throw error;
      if (lost) throw error;
      log('%s: member check failed: %s', this.nodeId, error.message);
    }
  }

  /** Removes the members of every dead server from their rooms. */
  async #sweep(): Promise<void> {
    if (this.#sweeping || !this.#available || this.#closed) return;
    this.#sweeping = true;
    try {
      for (const node of await this.#io(this.#store.deadNodes())) {
        if (node === this.nodeId) continue;
        let removed = 0;
        for (const [conn, room] of await this.#io(this.#store.members(node))) {
          const { value, outcome } = await this.#transact(
            room,
            (r) => r.leave(conn, 'disconnected'),
            same,
            node,
          );
          if (outcome === 'guard') break; // it came back
          if (outcome === 'unchanged') await this.#io(this.#store.unindex(node, conn));
          else removed++;
          this.#o.deliver(value);
        }
        if (removed > 0) {
          log('%s: server %s stopped heartbeating: removed its %d members', this.nodeId, node, removed);
          this.emit('swept', node, removed);
        }
        await this.#io(this.#store.forget(node));
      }
    } catch (error) {
      log('%s: sweep failed: %s', this.nodeId, (error as Error).message);
    } finally {
      this.#sweeping = false;
    }
  }

  #unavailable(detail?: string): SignalErrorBody {
    return {
      code: 'UNAVAILABLE',
      message:
        `this signaling server cannot reach the shared state (Redis: ${detail ?? this.#reason}); ` +
        'nothing was changed: retry in a few seconds, or connect to another server',
    };
  }

  #setAvailable(): void {
    if (this.#closed) return;
    this.#available = true;
    this.#reason = '';
    this.#announce(true, 'Redis reachable');
  }

  #setUnavailable(reason: string): void {
    if (this.#closed) return;
    this.#available = false;
    this.#reason = reason;
    this.#announce(false, reason);
  }

  /** Says a change of readiness once (not on every failed retry of an outage). */
  #announce(ready: boolean, reason: string): void {
    if (this.#announced === ready) return;
    this.#announced = ready;
    log('%s: %s: %s', this.nodeId, ready ? 'serving' : 'not serving', reason);
    this.emit('readiness', ready, reason);
  }

  /** Turns a failed Redis command into a {@link StoreUnavailable}. */
  async #io<T>(promise: Promise<T>): Promise<T> {
    try {
      return await promise;
    } catch (error) {
      throw new StoreUnavailable((error as Error).message, { cause: error });
    }
  }
}
