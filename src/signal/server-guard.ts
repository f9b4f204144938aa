/**
 * The signaling server's guard: who may open a connection (per address and in total, wrong-token back-off,
 * a bounded time to finish the handshake), how fast a connection may send (a token bucket, then a cut), and
 * how many rooms and held bytes the clients of one address may make the server keep. The rules are the pure
 * pieces of limits.ts; this file wires them to Socket.IO and counts and logs every refusal.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Server, Socket } from 'socket.io';
import { logger } from '../util/log.js';
import type { AuthResult } from './auth.js';
import { AuthBackoff, Counter, over, RateLimitedLog, TokenBucket, type SignalLimits } from './limits.js';
import type { DispatchLimits, DispatchResult } from './room-registry.js';
import {
  SIGNAL_EVENT,
  utf8Length,
  type ClientMessage,
  type Role,
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
  /** Checks a handshake's `auth`; undefined: an open server. */
  credentials?: (auth: unknown) => AuthResult;
  /** Checks a browser's `Origin` (origin.ts); returns the refusal's message, or undefined when allowed. */
  origin?: (req: IncomingMessage) => string | undefined;
  /** Where refusals are reported, one line each, rate-limited (the CLI writes them to stderr). */
  securityLog?: (line: string) => void;
}

/** A peer's address as the guard counts it (IPv4-mapped IPv6 as plain IPv4). */
export function plainAddress(req: IncomingMessage): string {
  const a = req.socket.remoteAddress ?? 'unknown';
  return a.startsWith('::ffff:') ? a.slice(7) : a;
}

/**
 * The header with which a WHIP/WHEP session's room connection (whip/bridge.ts, a loopback connection of the
 * server to itself) names the HTTP client it serves: `SECRET ADDRESS`, the secret known to this process
 * only. The guard then charges that client's address, not 127.0.0.1.
 */
export const BRIDGE_HEADER = 'x-rtc-peer-bridge';

interface RoomEntry {
  members: Set<string>;
  /** The address that created the room (its first member), if a client of this server: it counts there. */
  creator: string | undefined;
  /** Bytes the room holds (offer and candidates), charged to `heldBy`. */
  held: number;
  /** The address of the room's caller, when it is a client of this server. */
  heldBy: string | undefined;
}

interface Conn {
  address: string;
  bucket: TokenBucket;
  refusedInRow: number;
  /** Its room and role, as the registry last reported them. */
  room: string | undefined;
  role: Role | undefined;
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
  /** What the WHIP/WHEP bridges present in {@link BRIDGE_HEADER}: 144 random bits, this process only. */
  readonly #bridgeSecret = Buffer.from(randomBytes(18).toString('base64url'));

  constructor(options: ServerGuardOptions) {
    this.#o = options;
    this.#limits = options.limits;
    this.#backoff = new AuthBackoff(options.limits);
    this.#report = new RateLimitedLog((line) => {
      log('%s', line);
      options.securityLog?.(line);
    });
  }

  /**
   * The address a request counts against: its peer's, or for a WHIP/WHEP bridge's connection (a valid
   * {@link BRIDGE_HEADER}), the HTTP client's it serves.
   */
  addressOf(req: IncomingMessage): string {
    const header = req.headers[BRIDGE_HEADER];
    if (typeof header === 'string') {
      const [secret = '', address] = header.split(' ');
      const given = Buffer.from(secret);
      if (
        address !== undefined &&
        given.length === this.#bridgeSecret.length &&
        timingSafeEqual(given, this.#bridgeSecret)
      ) {
        return address;
      }
    }
    return plainAddress(req);
  }

  /** The headers a WHIP/WHEP bridge's connection presents to be charged to `clientAddress`. */
  bridgeHeaders(clientAddress: string): Record<string, string> {
    return { [BRIDGE_HEADER]: `${this.#bridgeSecret.toString()} ${clientAddress}` };
  }

  /**
   * The wrong-token back-off for other doors than the websocket (the WHIP/WHEP endpoints): the wait of
   * `address` now, in ms (0: it may try).
   */
  authWaitMs(address: string): number {
    return this.#backoff.waitMs(address, performance.now());
  }

  /** A wrong or a right token from `address` at another door; a wrong one is counted and reported. */
  authResult(address: string, ok: boolean, what: string): void {
    if (ok) {
      this.#backoff.succeeded(address);
      return;
    }
    this.#backoff.failed(address, performance.now());
    this.refused.auth++;
    this.#line('auth', `refused ${address}: ${what}`);
  }

  /** A browser request from a forbidden origin at another door, counted and reported. */
  originRefused(address: string, message: string): void {
    this.refused.origin++;
    this.#line('origin', `refused ${address}: ${message}`);
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
    const address = this.addressOf(req);
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
        const address = this.addressOf(conn.request);
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
      const address = this.addressOf(socket.request);
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
    const address = this.addressOf(socket.request);
    const conn: Conn = {
      address,
      bucket: new TokenBucket(this.#limits.messagesPerSecond, this.#limits.messageBurst, performance.now()),
      refusedInRow: 0,
      room: undefined,
      role: undefined,
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
  }

  /**
   * Checks a valid message of an admitted connection (connection.ts calls it from the connection's queue):
   * a held offer or candidate over the held-bytes budget is refused here; a join that would create a room
   * over the room limits is refused by the registry, which alone knows whether the room exists (with
   * Redis, it may have members on other servers only).
   */
  check(connId: string, message: ClientMessage): { refusal: SignalErrorBody } | { limits: DispatchLimits } {
    const conn = this.#conns.get(connId);
    if (conn === undefined) return { limits: {} };
    if (message.type === 'join') {
      const mine = this.#roomsBy.of(conn.address);
      if (over(this.#limits.roomsPerAddress, mine)) {
        return {
          limits: {
            newRoom: {
              code: 'TOO_MANY_ROOMS',
              message:
                `${conn.address} has created ${mine} rooms that are still open (limit ` +
                `${this.#limits.roomsPerAddress}); join an existing room or close one`,
            },
          },
        };
      }
      if (over(this.#limits.rooms, this.#rooms.size)) {
        return {
          limits: {
            newRoom: {
              code: 'TOO_MANY_ROOMS',
              message: `the server has ${this.#rooms.size} rooms (limit ${this.#limits.rooms}); try again later`,
            },
          },
        };
      }
      return { limits: {} };
    }
    // What the room keeps for its next answerer: the caller's offer and candidates sent without `to`.
    const holds = (message.type === 'offer' || message.type === 'candidate') && message.to === undefined;
    if (!holds || conn.room === undefined || conn.role !== 'caller') return { limits: {} };
    const bytes = message.type === 'offer' ? utf8Length(message.sdp) : candidateBytes(message.candidate);
    const mine = this.#heldBy.of(conn.address);
    if (
      !over(this.#limits.heldBytesPerAddress, mine, bytes) &&
      !over(this.#limits.heldBytes, this.#heldBy.total, bytes)
    ) {
      return { limits: {} };
    }
    this.refused.heldBytes++;
    this.#line('held-bytes', `refused a held ${message.type} from ${conn.address}: held-bytes budget`);
    return {
      refusal: {
        code: 'OVER_BUDGET',
        message: over(this.#limits.heldBytesPerAddress, mine, bytes)
          ? `the server already holds ${mine} bytes of offers and candidates for ${conn.address} (limit ` +
            `${this.#limits.heldBytesPerAddress}); this ${message.type} was dropped`
          : `the server holds ${this.#heldBy.total} bytes of offers and candidates (limit ` +
            `${this.#limits.heldBytes}); this ${message.type} was dropped, try again later`,
      },
    };
  }

  /**
   * After the registry applied a message of `connId`: the room it concerned, accounted again from the
   * registry's {@link RoomUsage} (its members here, who created it, the bytes it holds). A room counts
   * against the address that created it; its held bytes against the address of its caller, when the caller
   * is a client of this server (with Redis, a caller elsewhere is charged by its own server).
   */
  tokenRefused(connId: string, refusal: SignalErrorBody): void {
    const address = this.#conns.get(connId)?.address;
    if (address !== undefined) this.authResult(address, false, `${refusal.code} at join: ${refusal.message}`);
  }

  settled(connId: string, _message: ClientMessage, result: DispatchResult): void {
    if (!result.ack.ok && result.ack.error.code === 'TOO_MANY_ROOMS') {
      this.refused.rooms++;
      const address = this.#conns.get(connId)?.address ?? '?';
      this.#line('rooms', `refused a new room from ${address}: ${result.ack.error.message}`);
    }
    const conn = this.#conns.get(connId);
    const usage = result.usage;
    if (conn === undefined || usage === undefined) return;
    if (usage.replaced !== undefined) this.#leaveRoom(usage.replaced, usage.room, false);
    if (!usage.member) {
      // A bye: out of its room; what the room still holds is in the usage.
      this.#leaveRoom(connId, usage.room, false);
      this.#account(usage.room, usage.heldBytes);
      conn.room = undefined;
      conn.role = undefined;
      return;
    }
    let entry = this.#rooms.get(usage.room);
    if (entry === undefined) {
      // A room this message did not create (with Redis: made by a client of another server) counts
      // against nobody here.
      const creator = usage.created ? conn.address : undefined;
      entry = { members: new Set(), creator, held: 0, heldBy: undefined };
      this.#rooms.set(usage.room, entry);
      if (creator !== undefined) this.#roomsBy.add(creator, 1);
    }
    entry.members.add(connId);
    conn.room = usage.room;
    conn.role = usage.role;
    if (usage.role === 'caller') {
      // Charged to this caller's address from now on.
      if (entry.heldBy !== undefined) this.#heldBy.add(entry.heldBy, -entry.held);
      entry.heldBy = conn.address;
      entry.held = 0;
    }
    this.#account(usage.room, usage.heldBytes);
  }

  /** A connection left its room by disconnecting (connection.ts, after the registry applied it). */
  left(connId: string): void {
    const conn = this.#conns.get(connId);
    if (conn === undefined) return;
    this.#conns.delete(connId);
    // A leaving caller takes its held offer and candidates with it (room.ts).
    if (conn.room !== undefined) this.#leaveRoom(connId, conn.room, conn.role === 'caller');
  }

  /** The held bytes of room `name` are now `held` (charged to its caller's address, if it is ours). */
  #account(name: string, held: number): void {
    const entry = this.#rooms.get(name);
    if (entry === undefined || entry.heldBy === undefined) return;
    this.#heldBy.add(entry.heldBy, held - entry.held);
    entry.held = held;
  }

  #leaveRoom(connId: string, name: string, wasCaller: boolean): void {
    const entry = this.#rooms.get(name);
    if (entry === undefined || !entry.members.delete(connId)) return;
    if (wasCaller) this.#account(name, 0);
    // The registry forgets an empty room; so does the guard, for its own members (their bytes are freed).
    if (entry.members.size === 0) {
      this.#rooms.delete(name);
      if (entry.creator !== undefined) this.#roomsBy.add(entry.creator, -1);
      if (entry.heldBy !== undefined) this.#heldBy.add(entry.heldBy, -entry.held);
    }
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
