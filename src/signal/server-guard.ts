/**
 * The signaling server's guard: who may open a connection (per address and in total, wrong-token back-off,
 * a bounded time to finish the handshake), how fast a connection may send (a token bucket, then a cut), and
 * how many rooms and held bytes the clients of one address may make the server keep. The rules are the pure
 * pieces of limits.ts; this file wires them to Socket.IO and counts and logs every refusal.
 */
import type { IncomingMessage } from 'node:http';
import type { Server, Socket } from 'socket.io';
import { logger } from '../util/log.js';
import type { AuthResult } from './auth.js';
import { AuthBackoff, Counter, over, RateLimitedLog, TokenBucket, type SignalLimits } from './limits.js';
import type { RoomRegistry } from './room-registry.js';
import {
  SIGNAL_EVENT,
  utf8Length,
  type ClientMessage,
  type ServerMessage,
  type SignalAck,
  type SignalErrorBody,
} from './types.js';

const log = logger('signal:guard');

/** Refusals by kind since the server started, as `/healthz` reports them. */
export interface RefusalCounts {
  /** Messages over a connection's rate. */
  rate: number;
  /** Connections cut for sustained flooding. */
  cut: number;
  /** Connections over the per-address or total limit. */
  connections: number;
  /** Joins that would create a room over the per-address or total limit. */
  rooms: number;
  /** Offers or candidates that would be held over the held-bytes budget. */
  heldBytes: number;
  /** Handshakes with a missing or wrong token, or during an address's back-off. */
  auth: number;
  /** Connections that did not finish their handshake in time. */
  authTimeout: number;
  /** Browser handshakes from an origin that is not allowed. */
  origin: number;
}

/** What the guard needs from its server. */
export interface ServerGuardOptions {
  limits: SignalLimits;
  registry: RoomRegistry;
  /** Checks a handshake's `auth`; undefined: an open server. */
  credentials?: (auth: unknown) => AuthResult;
  /** Checks a browser's `Origin` (origin.ts); returns the refusal's message, or undefined when allowed. */
  origin?: (req: IncomingMessage) => string | undefined;
  /** Where refusals are reported, one line each, rate-limited (the CLI writes them to stderr). */
  securityLog?: (line: string) => void;
}

/** A connection's address as the guard counts it (IPv4-mapped IPv6 as plain IPv4). */
export function addressOf(req: IncomingMessage): string {
  const a = req.socket.remoteAddress ?? 'unknown';
  return a.startsWith('::ffff:') ? a.slice(7) : a;
}

interface RoomEntry {
  members: Set<string>;
  /** The address that created the room (its first member): the room counts against it. */
  creator: string;
  /** Bytes the room holds (offer and candidates), charged to `heldBy`. */
  held: number;
  heldBy: string;
}

interface Conn {
  address: string;
  bucket: TokenBucket;
  refusedInRow: number;
  room?: string;
}

/** One server's guard; {@link ServerGuard.install} puts it in front of the server's connections. */
export class ServerGuard {
  readonly refused: RefusalCounts = {
    rate: 0,
    cut: 0,
    connections: 0,
    rooms: 0,
    heldBytes: 0,
    auth: 0,
    authTimeout: 0,
    origin: 0,
  };
  readonly #limits: SignalLimits;
  readonly #registry: RoomRegistry;
  readonly #o: ServerGuardOptions;
  readonly #backoff: AuthBackoff;
  /** Addresses cut for flooding wait before they may connect again: 1 s, doubling at each further cut. */
  readonly #cutBackoff = new AuthBackoff({ authFailures: 0, authBackoffMs: 1000, authBackoffMaxMs: 60_000 });
  readonly #report: RateLimitedLog;
  /** Engine (transport) connections per address, admitted or not. */
  readonly #transports = new Counter();
  /** Admitted Socket.IO connections per address. */
  readonly #admitted = new Counter();
  readonly #conns = new Map<string, Conn>();
  readonly #rooms = new Map<string, RoomEntry>();
  readonly #roomsBy = new Counter();
  readonly #heldBy = new Counter();

  constructor(options: ServerGuardOptions) {
    this.#o = options;
    this.#limits = options.limits;
    this.#registry = options.registry;
    this.#backoff = new AuthBackoff(options.limits);
    this.#report = new RateLimitedLog((line) => {
      log('%s', line);
      options.securityLog?.(line);
    });
  }

  /** Bytes held in all, as accounted. */
  get heldBytes(): number {
    return this.#heldBy.total;
  }

  /** Transport connections that have not (yet) been admitted: handshakes under way, or refused. */
  get pending(): number {
    return Math.max(0, this.#transports.total - this.#admitted.total);
  }

  /**
   * The engine's `allowRequest`: a hard cap on transport connections per address and in total (twice the
   * Socket.IO limits, so that the clear refusal of the namespace check is what a client normally meets,
   * and refused connections waiting for their handshake timeout stay bounded).
   */
  allowRequest = (req: IncomingMessage, callback: (err: string | null, ok: boolean) => void): void => {
    const address = addressOf(req);
    const perAddress = this.#limits.connectionsPerAddress * 2;
    const total = this.#limits.connections * 2;
    if (over(perAddress, this.#transports.of(address)) || over(total, this.#transports.total)) {
      this.refused.connections++;
      this.#line('connection', `refused a connection from ${address}: too many connections (transport cap)`);
      callback('TOO_MANY_CONNECTIONS', false);
      return;
    }
    const cutWait = this.#cutBackoff.waitMs(address, performance.now());
    if (cutWait > 0) {
      this.refused.connections++;
      this.#line('connection', `refused a connection from ${address}: cut for flooding, waits ${cutWait} ms`);
      callback(`RATE_LIMITED: cut for flooding; try again in ${Math.ceil(cutWait / 1000)} s`, false);
      return;
    }
    callback(null, true);
  };

  /** Installs the handshake checks and the per-connection budget on `io`. */
  install(io: Server): void {
    const admittedConns = new WeakSet<object>();
    io.engine.on(
      'connection',
      (conn: { request: IncomingMessage; once(e: 'close', f: () => void): void }) => {
        const address = addressOf(conn.request);
        const openedAt = performance.now();
        this.#transports.add(address, 1);
        conn.once('close', () => {
          this.#transports.add(address, -1);
          const lived = performance.now() - openedAt;
          if (!admittedConns.has(conn) && lived >= this.#limits.authTimeoutMs - 50) {
            this.refused.authTimeout++;
            this.#line(
              'auth-timeout',
              `cut a connection from ${address}: no handshake within ${this.#limits.authTimeoutMs} ms`,
            );
          }
        });
      },
    );

    io.use((socket, next) => {
      const address = addressOf(socket.request);
      const refuse = (kind: keyof RefusalCounts, message: string): void => {
        this.refused[kind]++;
        this.#line(kind, `refused ${address}: ${message}`);
        next(new Error(message));
      };
      // A browser page from another site (cross-site websocket hijacking): refused before anything else.
      const originRefusal = this.#o.origin?.(socket.request);
      if (originRefusal !== undefined) {
        refuse('origin', originRefusal);
        return;
      }
      const wait = this.#backoff.waitMs(address, performance.now());
      if (wait > 0) {
        refuse(
          'auth',
          `UNAUTHORIZED: too many wrong tokens from ${address}; try again in ${Math.ceil(wait / 1000)} s`,
        );
        return;
      }
      if (over(this.#limits.connectionsPerAddress, this.#admitted.of(address))) {
        refuse(
          'connections',
          `TOO_MANY_CONNECTIONS: ${this.#admitted.of(address)} connections from ${address} already ` +
            `(limit ${this.#limits.connectionsPerAddress}); close some, or raise --limit connectionsPerAddress`,
        );
        return;
      }
      if (over(this.#limits.connections, this.#admitted.total)) {
        refuse(
          'connections',
          `TOO_MANY_CONNECTIONS: the server has ${this.#admitted.total} connections (limit ` +
            `${this.#limits.connections}); try again later`,
        );
        return;
      }
      if (this.#o.credentials !== undefined) {
        const result = this.#o.credentials(socket.handshake.auth);
        if (!result.ok) {
          const waitNow = this.#backoff.failed(address, performance.now());
          refuse(
            'auth',
            waitNow > 0
              ? `${result.message} (next try from this address in ${Math.ceil(waitNow / 1000)} s)`
              : result.message,
          );
          return;
        }
        this.#backoff.succeeded(address);
      }
      admittedConns.add(socket.conn);
      this.#admitted.add(address, 1);
      socket.conn.once('close', () => this.#admitted.add(address, -1));
      next();
    });
  }

  /** Starts the budget of an admitted connection (call on `connection`, before its handlers). */
  attach(socket: Socket): void {
    const address = addressOf(socket.request);
    const conn: Conn = {
      address,
      bucket: new TokenBucket(this.#limits.messagesPerSecond, this.#limits.messageBurst, performance.now()),
      refusedInRow: 0,
    };
    this.#conns.set(socket.id, conn);
    socket.use((packet, next) => {
      // Packets that arrived in the same read as the one that got the connection cut: dropped, not counted.
      if (!socket.connected) return;
      if (conn.bucket.take(performance.now())) {
        conn.refusedInRow = 0;
        next();
        return;
      }
      this.refused.rate++;
      conn.refusedInRow++;
      const error: SignalErrorBody = {
        code: 'RATE_LIMITED',
        message:
          `over ${this.#limits.messagesPerSecond} messages/s (burst ${this.#limits.messageBurst}); this ` +
          'message was dropped, wait for your acks before sending more',
      };
      const ack = packet.at(-1);
      if (typeof ack === 'function') (ack as (r: SignalAck) => void)({ ok: false, error });
      else if (conn.refusedInRow === 1)
        socket.emit(SIGNAL_EVENT, { type: 'error', ...error } as ServerMessage);
      if (conn.refusedInRow === 1) this.#line('rate', `${address} (${socket.id}) is over its message rate`);
      if (conn.refusedInRow >= this.#limits.maxRefusedMessages) {
        this.refused.cut++;
        this.#line(
          'cut',
          `cut ${address} (${socket.id}): ${conn.refusedInRow} messages in a row over its rate`,
        );
        const bye: ServerMessage = {
          type: 'error',
          code: 'RATE_LIMITED',
          message: `disconnected: ${conn.refusedInRow} messages in a row over the rate limit`,
        };
        socket.emit(SIGNAL_EVENT, bye);
        socket.disconnect(true);
        // Reconnecting at once would start the flood again: the address waits first.
        this.#cutBackoff.failed(address, performance.now());
      }
    });
    // After the rooms' own disconnect handling (connection.ts), so that what is left in the room is known.
    socket.on('disconnect', () => {
      // A client can emit an event named "disconnect" itself; only the real one counts.
      if (!socket.connected) queueMicrotask(() => this.#gone(socket.id));
    });
  }

  /**
   * Checks a valid message against the room and held-bytes budgets before the rooms apply it; the refusal,
   * or undefined to go on.
   */
  check(connId: string, message: ClientMessage): SignalErrorBody | undefined {
    const conn = this.#conns.get(connId);
    if (conn === undefined) return undefined;
    if (message.type === 'join' && !this.#rooms.has(message.room)) {
      const mine = this.#roomsBy.of(conn.address);
      if (over(this.#limits.roomsPerAddress, mine) || over(this.#limits.rooms, this.#rooms.size)) {
        this.refused.rooms++;
        this.#line('rooms', `refused a new room from ${conn.address}: room limit`);
        return {
          code: 'TOO_MANY_ROOMS',
          message: over(this.#limits.roomsPerAddress, mine)
            ? `${conn.address} has created ${mine} rooms that are still open (limit ` +
              `${this.#limits.roomsPerAddress}); join an existing room or close one`
            : `the server has ${this.#rooms.size} rooms (limit ${this.#limits.rooms}); try again later`,
        };
      }
      return undefined;
    }
    const holds =
      (message.type === 'offer' && message.to === undefined) ||
      (message.type === 'candidate' && message.to === undefined);
    if (!holds || conn.room === undefined) return undefined;
    const room = this.#registry.roomOf(connId);
    if (room?.roleOf(connId) !== 'caller') return undefined;
    const bytes = message.type === 'offer' ? utf8Length(message.sdp) : candidateBytes(message.candidate);
    const mine = this.#heldBy.of(conn.address);
    if (
      over(this.#limits.heldBytesPerAddress, mine, bytes) ||
      over(this.#limits.heldBytes, this.#heldBy.total, bytes)
    ) {
      this.refused.heldBytes++;
      this.#line('held-bytes', `refused a held ${message.type} from ${conn.address}: held-bytes budget`);
      return {
        code: 'OVER_BUDGET',
        message: over(this.#limits.heldBytesPerAddress, mine, bytes)
          ? `the server already holds ${mine} bytes of offers and candidates for ${conn.address} (limit ` +
            `${this.#limits.heldBytesPerAddress}); this ${message.type} was dropped`
          : `the server holds ${this.#heldBy.total} bytes of offers and candidates (limit ` +
            `${this.#limits.heldBytes}); this ${message.type} was dropped, try again later`,
      };
    }
    return undefined;
  }

  /** After the rooms applied a message of `connId`: its room's membership and held bytes, accounted again. */
  settled(connId: string): void {
    const conn = this.#conns.get(connId);
    if (conn === undefined) return;
    const room = this.#registry.roomOf(connId);
    if (room?.name !== conn.room) {
      if (conn.room !== undefined) this.#leaveRoom(connId, conn.room);
      if (room !== undefined) {
        let entry = this.#rooms.get(room.name);
        if (entry === undefined) {
          entry = { members: new Set(), creator: conn.address, held: 0, heldBy: conn.address };
          this.#rooms.set(room.name, entry);
          this.#roomsBy.add(conn.address, 1);
        }
        entry.members.add(connId);
      }
      conn.room = room?.name;
    }
    if (room === undefined) return;
    const entry = this.#rooms.get(room.name);
    if (entry === undefined) return;
    const state = room.heldState();
    let held = state.sdp === null ? 0 : utf8Length(state.sdp);
    for (const c of state.candidates) held += candidateBytes(c);
    this.#heldBy.add(entry.heldBy, -entry.held);
    if (room.roleOf(connId) === 'caller') entry.heldBy = conn.address;
    entry.held = held;
    this.#heldBy.add(entry.heldBy, held);
  }

  #gone(connId: string): void {
    const conn = this.#conns.get(connId);
    if (conn === undefined) return;
    this.#conns.delete(connId);
    if (conn.room !== undefined) this.#leaveRoom(connId, conn.room);
  }

  #leaveRoom(connId: string, name: string): void {
    const entry = this.#rooms.get(name);
    if (entry === undefined) return;
    entry.members.delete(connId);
    // The registry forgets an empty room; so does the guard (the last member's leaving frees its bytes).
    if (entry.members.size === 0) {
      this.#rooms.delete(name);
      this.#roomsBy.add(entry.creator, -1);
      this.#heldBy.add(entry.heldBy, -entry.held);
      return;
    }
    // A caller leaving takes its held offer with it (room.ts): account the room again from what is left.
    const other = entry.members.values().next().value;
    if (other !== undefined) this.settled(other);
  }

  #line(kind: string, line: string): void {
    this.#report.line(kind, line, performance.now());
  }
}

function candidateBytes(c: {
  candidate: string;
  sdpMid?: string | null;
  usernameFragment?: string | null;
}): number {
  return utf8Length(c.candidate) + (c.sdpMid?.length ?? 0) + (c.usernameFragment?.length ?? 0);
}
