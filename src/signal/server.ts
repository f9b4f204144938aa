/**
 * The Socket.IO signaling server, put together: the HTTP routes (http-routes.ts), the token check at
 * connection (auth.ts), one handler per connection that validates and dispatches to the rooms
 * (connection.ts, room-registry.ts, room.ts), and listening and closing (lifecycle.ts). With `redis`, the
 * rooms are shared with the other servers of that Redis (cluster.ts, redis-registry.ts).
 */
import { createServer, type IncomingMessage } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { Server } from 'socket.io';
import { logger } from '../util/log.js';
import { TypedEmitter } from '../util/typed-emitter.js';
import { checkToken, type AuthResult } from './auth.js';
import { INVALID_ROOM_TOKEN, looksLikeJwt, roomTokenSigned, verifyRoomToken } from './room-token.js';
import { checkRedisUrl, joinCluster, type Cluster } from './cluster.js';
import { serveConnection } from './connection.js';
import { httpRoutes, type HttpHandler, type Readiness } from './http-routes.js';
import { closer, listen } from './lifecycle.js';
import { resolveLimits, SIGNAL_LIMITS_DEFAULTS, type SignalLimits } from './limits.js';
import { isLoopback } from './listen-urls.js';
import { SignalMetrics } from './metrics.js';
import type { Delivery } from './room.js';
import { CONNECTING } from './redis-registry.js';
import { RoomRegistry, type Registry } from './room-registry.js';
import type { SerialQueue } from './serial-queue.js';
import { checkOrigin } from './origin.js';
import { ServerGuard, plainAddress, type RefusalCounts } from './server-guard.js';
import { loadTls, type LoadedTls, type TlsFiles } from './tls.js';
import { checkTurnOptions, turnIceServer, type TurnOptions } from './turn-credentials.js';
import type { AllowedOrigins } from './whip/cors.js';
import {
  bearerOf,
  WhipEndpoints,
  type HttpRefusal,
  type HttpTarget,
  type WhipEndpointOptions,
} from './whip/endpoint.js';
import type { IceServer } from './whip/link-header.js';
import {
  DEFAULT_MAX_VIEWERS,
  LIMITS,
  SIGNAL_EVENT,
  makeClientMessageSchema,
  type ClientToServerEvents,
  type ServerToClientEvents,
} from './types.js';

const log = logger('signal');

/** How long one HTTP request may take to arrive, body included, and its headers, ms. */
const HTTP_REQUEST_TIMEOUT_MS = 30_000;
const HTTP_HEADERS_TIMEOUT_MS = 10_000;

/** Options of {@link startSignalServer}. */
export interface SignalServerOptions {
  /**
   * Address to listen on. Default `'0.0.0.0'` (every IPv4 interface, as `rtc-peer signal`); pass
   * `'127.0.0.1'` to stay local. A non-loopback address without `token` adds an entry to `warnings`.
   */
  host?: string;
  /** TCP port. Default `8080`; `0` takes a free port (read it back from `port`/`url`). */
  port?: number;
  /** Shared secret clients must present as `auth: { token }` in the handshake. Default: none (open). */
  token?: string;
  /**
   * Secret (at least 32 bytes) of the room-scoped tokens `rtc-peer token` signs: a handshake token shaped as a
   * JWT is admitted, and checked at join (signature, expiry, exact room and role). Default: none.
   */
  tokenSecret?: string;
  /** Largest SDP accepted, in UTF-8 bytes; larger ones are refused with TOO_LARGE. Default 65536 (64 KiB). */
  maxSdpBytes?: number;
  /** Caller candidates held per unanswered offer; more are dropped (counted). Default 200. */
  maxHeldCandidates?: number;
  /**
   * Answerers (viewers) a protocol-2 caller serves at once in a room; one more is refused with ROOM_FULL.
   * Each viewer costs the camera one encoder, so this is the camera's CPU speaking. Default 4.
   */
  maxViewers?: number;
  /**
   * Extra HTTP routes (the web page plugs in here), tried after `/healthz` and before the 404. Return true
   * if the request was handled. Default: none.
   *
   * @example
   * httpHandler: (req, res) => req.url === '/' ? (res.end('<html>…'), true) : false
   */
  httpHandler?: HttpHandler;
  /**
   * Share the rooms with the other servers of this Redis (`redis://HOST:PORT`, `rediss://` for TLS): a
   * caller on one server and an answerer on another meet as on one server. Default: none, the rooms live
   * in this process. See docs/deploy.md.
   */
  redis?: string;
  /** With `redis`: a server whose heartbeat is this old is dead and its members are removed. Default 4000 ms. */
  nodeTtlMs?: number;
  /** ICE servers named in the WHIP/WHEP answers' `Link` headers (docs/protocol.md). Default: none. */
  iceServers?: IceServer[];
  /**
   * A TURN server (coturn with `use-auth-secret` and this `static-auth-secret`) to hand out: every successful
   * join's ack carries it with fresh credentials that expire after `ttlSeconds` (default a day), and so does
   * every WHIP/WHEP answer's `Link` header (turn-credentials.ts). Each server of a `redis` cluster computes
   * them from the secret alone. Default: none.
   *
   * @example
   * turn: { urls: ['turn:turn.example.org:3478?transport=udp'], secret: readFileSync('turn-secret', 'utf8').trim() }
   */
  turn?: TurnOptions;
  /**
   * Origins (`https://example.org`) whose pages may open the websocket and use the WHIP/WHEP endpoints
   * (CORS), besides the server's own page, or `'*'` for any. Default: none (own page only; clients that send
   * no `Origin`, such as the CLI, are not concerned). See origin.ts.
   */
  allowOrigin?: AllowedOrigins;
  /** WHIP/WHEP timings (whip/endpoint.ts): how long a session waits for its room peer. Default: theirs. */
  whip?: Pick<WhipEndpointOptions, 'answerTimeoutMs' | 'candidateWaitMs'>;
  /**
   * What one connection and one address may cost the server (limits.ts): message rate, connections, rooms,
   * held bytes, handshake time, wrong-token back-off. Each field defaults to {@link SIGNAL_LIMITS_DEFAULTS}.
   * With `redis`, the room and held-bytes limits count this server's clients.
   *
   * @example
   * limits: { connectionsPerAddress: 64, heldBytes: 256 * 1024 * 1024 }
   */
  limits?: Partial<SignalLimits>;
  /**
   * Where refused connections and messages are reported, one line each, rate-limited (`rtc-peer signal`
   * writes them to stderr). Default: the `rtc-peer:signal:guard` debug log only.
   */
  securityLog?: (line: string) => void;
  /**
   * Serve https and wss with this certificate and key (PEM files; tls.ts): the page, `/healthz`,
   * `/metrics`, WHIP/WHEP and the websocket. Read again by {@link SignalServer.reloadTls} (SIGHUP in the
   * CLI). Default: none (plain http and ws).
   *
   * @example
   * tls: { certFile: '/etc/rtc-peer/cert.pem', keyFile: '/etc/rtc-peer/key.pem' }
   */
  tls?: TlsFiles;
}

/** Events of a {@link SignalServer}. */
export type SignalServerEvents = {
  /** It became ready to serve, or stopped being (with `redis`: Redis unreachable), and why. */
  readiness: [ready: boolean, reason: string];
};

/** What `GET /healthz` returns and {@link SignalServer.stats} computes. */
export interface SignalServerStats {
  /** Rooms with at least one member. */
  rooms: number;
  /** Connected Socket.IO clients (joined or not). */
  clients: number;
  /** Seconds since the server started listening. */
  uptimeSec: number;
  /** Transport connections that have not finished their handshake (or were refused and wait to close). */
  pending: number;
  /** Bytes of held offers and candidates, as the held-bytes budget counts them. */
  heldBytes: number;
  /** Refusals by the limits since start (server-guard.ts). */
  refused: RefusalCounts;
}

/** A running signaling server. */
export interface SignalServer {
  /** URL for clients and for display, e.g. `http://127.0.0.1:8080` (127.0.0.1 when bound to 0.0.0.0). */
  url: string;
  /** The address listened on, as given (default `0.0.0.0`). */
  host: string;
  /** The real port (the free one chosen when `port` was 0). */
  port: number;
  /**
   * Things the operator should know, to print once (the CLI does). Today: listening on a non-loopback
   * address without a token.
   */
  warnings: readonly string[];
  /** Disconnects every client and stops listening. Idempotent; concurrent calls share one promise. */
  close(): Promise<void>;
  /**
   * With `tls`: reads the certificate and key again and serves them to new connections; connections (and
   * calls) in progress go on. Throws {@link TlsError} (and keeps serving the previous ones) when the new
   * files cannot serve. Without `tls`: a TypeError.
   */
  reloadTls(): LoadedTls;
  /** With `tls`: the certificate served now. */
  readonly certificate: LoadedTls | undefined;
  /** Current counts, as served on `/healthz`. */
  stats(): SignalServerStats;
  /** Whether it can serve now, as served on `/readyz`. */
  readiness(): Readiness;
  /** This server's id: the `node` label of `/metrics`, and its name among the servers of a Redis. */
  nodeId: string;
  /**
   * `readiness` changes (with `redis`, when Redis goes away or comes back; not the moment of connecting
   * at the start: then `readiness()` says `starting` until the first answer or failure).
   */
  events: TypedEmitter<SignalServerEvents>;
}

/** Defaults of {@link SignalServerOptions}, in one place. */
export const SIGNAL_SERVER_DEFAULTS = {
  host: '0.0.0.0',
  port: 8080,
  maxSdpBytes: LIMITS.maxSdpBytes,
  maxHeldCandidates: LIMITS.maxHeldCandidates,
  maxViewers: DEFAULT_MAX_VIEWERS,
  limits: SIGNAL_LIMITS_DEFAULTS,
} as const;

/**
 * Starts a signaling server and resolves once it listens. Rejects with {@link ListenError}
 * (`PORT_IN_USE`, `LISTEN_FAILED`) when it cannot listen, and `TypeError` on invalid options.
 *
 * @example
 * const server = await startSignalServer({ host: '127.0.0.1', port: 0 });
 * console.log(`signaling server listening on ${server.url}`);
 * // ...
 * await server.close();
 */
export async function startSignalServer(options: SignalServerOptions = {}): Promise<SignalServer> {
  const o = resolveOptions(options);
  const limits = resolveLimits(options.limits);
  // The certificate is checked before anything listens: a wrong file is a clear error, not a dead port.
  let certificate = o.tls === undefined ? undefined : loadTls(o.tls);
  const scheme = certificate === undefined ? 'http' : 'https';
  let startedAt = performance.now();
  let closing: Promise<void> | undefined;
  let shuttingDown = false;
  let listening = false;
  const events = new TypedEmitter<SignalServerEvents>();

  // The limits (server-guard.ts): connections, handshake time, wrong-token back-off, message rate, rooms
  // and held bytes, each refusal counted in stats() and reported through securityLog.
  const token = o.token;
  const tokenSecret = o.tokenSecret;
  // A room token (JWT-shaped) must carry this server's signature here; its room, role and expiry are
  // checked at join, where the room is known (connection.ts). Any other token is the shared one. Both
  // kinds of wrong token count for the address's back-off (server-guard.ts).
  function handshakeCredentials(auth: unknown): AuthResult {
    const given = typeof auth === 'object' && auth !== null ? (auth as { token?: unknown }).token : undefined;
    if (tokenSecret !== undefined && typeof given === 'string' && looksLikeJwt(given)) {
      if (roomTokenSigned(tokenSecret, given)) return { ok: true };
      return { ok: false, message: `TOKEN_INVALID: ${INVALID_ROOM_TOKEN}` };
    }
    if (token !== undefined) return checkToken(token, auth);
    return {
      ok: false,
      message:
        given === undefined
          ? 'UNAUTHORIZED: this signaling server requires a room token; pass --token TOKEN from rtc-peer token'
          : 'UNAUTHORIZED: not a room token; pass --token TOKEN from rtc-peer token',
    };
  }
  const originOf = (req: IncomingMessage): string | undefined =>
    checkOrigin(
      { headers: req.headers, secure: 'encrypted' in req.socket && req.socket.encrypted === true },
      o.allowOrigin ?? [],
      isLoopback(o.host),
    );
  const guard = new ServerGuard({
    limits,
    ...(token !== undefined || o.tokenSecret !== undefined ? { credentials: handshakeCredentials } : {}),
    ...(o.securityLog !== undefined ? { securityLog: o.securityLog } : {}),
    origin: originOf,
  });
  // The WHIP/WHEP endpoints (whip/endpoint.ts): each session joins a room through this very server, its
  // connection charged to the HTTP client's address; the same origin rule, token and back-off apply.
  const turn = o.turn;
  const whip = new WhipEndpoints({
    ...o,
    ...o.whip,
    // With a TURN server: fresh credentials in every answer's Link header, after the fixed ICE servers.
    ...(turn !== undefined ? { iceServers: () => [...(o.iceServers ?? []), turnIceServer(turn)] } : {}),
    admit: (req, target) => admitHttp(req, target),
    bridgeHeaders: (req) => guard.bridgeHeaders(plainAddress(req)),
    // The bridges connect to this very listening socket: over TLS they need not check its certificate
    // (which names the server's public host, not the loopback address they dial).
    ...(certificate !== undefined ? { tlsSelf: true } : {}),
  });
  const routes = httpRoutes(
    { health: () => stats(), readiness, metrics: () => metricsText() },
    whip.handler(o.httpHandler),
  );
  const http =
    certificate === undefined
      ? createServer(routes)
      : createHttpsServer({ cert: certificate.cert, key: certificate.key }, routes);
  // A request (body included) has 30 s, its headers 10 s: a slow body is not held for Node's 300 s.
  http.requestTimeout = HTTP_REQUEST_TIMEOUT_MS;
  http.headersTimeout = HTTP_HEADERS_TIMEOUT_MS;
  const io = new Server<ClientToServerEvents, ServerToClientEvents>(http, {
    maxHttpBufferSize: LIMITS.maxMessageBytes,
    serveClient: false,
    // A connection that has not finished its handshake (token included) by then is closed.
    connectTimeout: limits.authTimeoutMs,
    allowRequest: guard.allowRequest,
  });
  const sockets = io.of('/').sockets;
  // A client of this server gets its message directly. One of another server got it through the Redis
  // adapter's stream, written with the room's change (redis-registry.ts); alone, there is no other server.
  const deliver = (deliveries: Delivery[]): void => {
    for (const { to, message } of deliveries) {
      const local = sockets.get(to);
      if (local !== undefined) local.emit(SIGNAL_EVENT, message);
      else if (cluster === undefined) continue;
      metrics.delivery(message.type);
    }
  };
  const rooms = { maxHeldCandidates: o.maxHeldCandidates, maxViewers: o.maxViewers };
  const cluster: Cluster | undefined =
    o.redis === undefined
      ? undefined
      : joinCluster(io, {
          ...rooms,
          url: o.redis,
          nodeTtlMs: o.nodeTtlMs,
          deliver: (deliveries) => deliver(deliveries),
          isConnected: (conn) => sockets.has(conn),
          dropConnection: (conn) => sockets.get(conn)?.disconnect(true),
        });
  const registry: Registry = cluster?.registry ?? new RoomRegistry(rooms);
  const nodeId = cluster?.registry.nodeId ?? `${hostname()}-${process.pid}`;
  const metrics = new SignalMetrics({
    node: nodeId,
    clients: () => sockets.size,
    counts: () => registry.counts(),
    ready: () => readiness().ready,
    guard: () => ({ refused: { ...guard.refused }, heldBytes: guard.heldBytes, pending: guard.pending }),
  });
  cluster?.registry.on('conflict', () => metrics.conflict());
  cluster?.registry.on('swept', (_node, n) => metrics.swept(n));
  cluster?.registry.on('readiness', (ready, reason) => {
    if (listening && !shuttingDown) events.emit('readiness', ready, reason);
  });
  const queues = new Set<SerialQueue>();
  const close = closer(http, io);
  guard.install(io);
  const ctx = {
    registry,
    schema: makeClientMessageSchema(o.maxSdpBytes),
    deliver,
    // Alone, a server shutting down has nobody left to tell; the rooms of a cluster outlive it.
    announceDepartures: () => cluster !== undefined || !shuttingDown,
    metrics,
    ...(tokenSecret !== undefined ? { tokenSecret } : {}),
    heldOfferTtlMs: limits.heldOfferTtlMs,
    ...(turn !== undefined ? { turn } : {}),
    queues,
    guard,
  };
  io.on('connection', (socket) => {
    guard.attach(socket);
    serveConnection(ctx, socket);
  });

  /**
   * A WHIP/WHEP request's checks, as the websocket's: a browser page from another origin (403), an address
   * in its wrong-token back-off (429), a missing or wrong `Authorization: Bearer` token (401): the shared
   * token, or a room token for the request's room and role (a WHIP publisher is the caller, a WHEP player
   * an answerer; 401 when bad or expired, 403 for another room or role). A PATCH or DELETE of a session
   * takes the room token even past its expiry: the session was admitted while it was valid, as a websocket
   * stays connected past its token's expiry.
   */
  async function admitHttp(req: IncomingMessage, target: HttpTarget): Promise<HttpRefusal | undefined> {
    const address = plainAddress(req);
    const forbidden = originOf(req);
    if (forbidden !== undefined) {
      guard.originRefused(address, forbidden);
      return { status: 403, message: forbidden };
    }
    if (token === undefined && tokenSecret === undefined) return undefined;
    const wait = guard.authWaitMs(address);
    if (wait > 0) {
      const sec = Math.ceil(wait / 1000);
      return {
        status: 429,
        message: `UNAUTHORIZED: too many wrong tokens from ${address}; try again in ${sec} s`,
        headers: { 'retry-after': String(sec) },
      };
    }
    const bearer = bearerOf(req);
    if (tokenSecret !== undefined && bearer !== undefined && looksLikeJwt(bearer)) {
      const role = target.kind === 'whip' ? 'caller' : 'answerer';
      const verdict = await verifyRoomToken(tokenSecret, bearer, {
        room: target.room,
        role,
        anyExpiry: target.session,
      });
      if (verdict.ok) {
        guard.authResult(address, true, '');
        return undefined;
      }
      const { code, message } = verdict.refusal;
      guard.authResult(address, false, `${code} at ${target.kind.toUpperCase()}: ${message}`);
      const forbiddenHere = code === 'TOKEN_WRONG_ROOM' || code === 'TOKEN_WRONG_ROLE';
      return {
        status: forbiddenHere ? 403 : 401,
        message: `${code}: ${message}`,
        headers: forbiddenHere ? {} : { 'www-authenticate': 'Bearer error="invalid_token"' },
      };
    }
    const result: AuthResult =
      token !== undefined
        ? checkToken(token, bearer === undefined ? {} : { token: bearer })
        : {
            ok: false,
            message:
              bearer === undefined
                ? 'UNAUTHORIZED: this server requires a room token; make one with rtc-peer token'
                : 'UNAUTHORIZED: not a room token; make one with rtc-peer token',
          };
    guard.authResult(address, result.ok, result.ok ? '' : result.message);
    if (result.ok) return undefined;
    return {
      status: 401,
      message: `${result.message} (Authorization: Bearer TOKEN)`,
      headers: { 'www-authenticate': 'Bearer' },
    };
  }

  try {
    await listen(http, o.host, o.port);
  } catch (error) {
    void io.close();
    await cluster?.close();
    throw error;
  }
  startedAt = performance.now();
  listening = true;
  http.on('error', (error) => log('http server error: %O', error));

  const realPort = (http.address() as AddressInfo).port;
  whip.attach(`${scheme}://${displayHost(o.host)}:${realPort}`);
  const warnings: string[] = [...(certificate?.warnings ?? [])];
  if (o.token === undefined && o.tokenSecret === undefined && !isLoopback(o.host)) {
    warnings.push(
      `listening on ${o.host} without a token: anyone who can reach this port can join a room and watch the ` +
        'video; pass --token SECRET (or set RTC_PEER_TOKEN) and give it to the peers',
    );
  }
  log('listening on %s:%d', o.host, realPort);

  function stats(): SignalServerStats {
    return {
      rooms: registry.roomCount,
      clients: sockets.size,
      uptimeSec: Math.round((performance.now() - startedAt) / 100) / 10,
      pending: guard.pending,
      heldBytes: guard.heldBytes,
      refused: { ...guard.refused },
    };
  }

  function readiness(): Readiness {
    if (shuttingDown) return { ready: false, reason: 'shutting down' };
    if (!listening) return { ready: false, reason: 'starting' };
    if (cluster !== undefined && !cluster.registry.ready) {
      const { reason } = cluster.registry;
      return { ready: false, reason: reason === CONNECTING ? 'starting: connecting to Redis' : reason };
    }
    return { ready: true, reason: '' };
  }

  async function metricsText(): Promise<{ contentType: string; text: string }> {
    return { contentType: metrics.contentType, text: await metrics.scrape() };
  }

  return {
    url: `${scheme}://${displayHost(o.host)}:${realPort}`,
    host: o.host,
    port: realPort,
    warnings,
    stats,
    readiness,
    nodeId,
    events,
    get certificate() {
      return certificate;
    },
    reloadTls() {
      if (o.tls === undefined) throw new TypeError('reloadTls(): this server was started without tls');
      const next = loadTls(o.tls);
      // New connections get the new certificate; established ones (calls in progress) are not touched.
      (http as HttpsServer).setSecureContext({ cert: next.cert, key: next.key });
      certificate = next;
      log('certificate reloaded: %s, valid to %s', next.names, next.validTo.toISOString());
      return next;
    },
    close() {
      closing ??= (async () => {
        shuttingDown = true;
        await whip.close();
        await close();
        // With Redis, the departures of this server's clients are written before its connections close
        // (bounded: a Redis that does not answer leaves them to the other servers' sweep).
        await Promise.race([
          Promise.all([...queues].map((q) => q.idle())),
          new Promise((r) => setTimeout(r, CLOSE_DRAIN_MS).unref()),
        ]);
        await cluster?.close();
      })();
      return closing;
    },
  };
}

/** How long close() waits for the departures of its clients to be written to Redis, ms. */
const CLOSE_DRAIN_MS = 3000;

type OptionalOptions =
  | 'token'
  | 'tokenSecret'
  | 'httpHandler'
  | 'redis'
  | 'nodeTtlMs'
  | 'iceServers'
  | 'turn'
  | 'allowOrigin'
  | 'whip'
  | 'limits'
  | 'securityLog'
  | 'tls';
type ResolvedOptions = Required<Omit<SignalServerOptions, OptionalOptions>> &
  Pick<SignalServerOptions, OptionalOptions>;

/** The options with their defaults, checked: a TypeError says which one is wrong and how. */
function resolveOptions(options: SignalServerOptions): ResolvedOptions {
  const defined = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
  const o = { ...SIGNAL_SERVER_DEFAULTS, ...defined } as ResolvedOptions;
  if (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535) {
    throw new TypeError(`signal server port must be an integer in 0..65535, got ${String(o.port)}`);
  }
  const maxSdp = LIMITS.maxMessageBytes - 1024;
  if (!Number.isInteger(o.maxSdpBytes) || o.maxSdpBytes < 1 || o.maxSdpBytes > maxSdp) {
    throw new TypeError(`maxSdpBytes must be an integer in 1..${maxSdp}, got ${String(o.maxSdpBytes)}`);
  }
  if (!Number.isInteger(o.maxViewers) || o.maxViewers < 1 || o.maxViewers > 1000) {
    throw new TypeError(`maxViewers must be an integer in 1..1000, got ${String(o.maxViewers)}`);
  }
  if (o.redis !== undefined) checkRedisUrl(o.redis);
  if (o.turn !== undefined) o.turn = checkTurnOptions(o.turn);
  if (o.token !== undefined && (typeof o.token !== 'string' || o.token.length === 0)) {
    throw new TypeError('signal server token must be a non-empty string; omit it for an open server');
  }
  return o;
}

function displayHost(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}
