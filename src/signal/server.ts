/**
 * The Socket.IO signaling server: an HTTP server with `/healthz`, optional extra routes, token checking at
 * connection, and the `signal` event validated with zod and dispatched to the pure {@link RoomRegistry}.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { Server } from 'socket.io';
import type { ZodError } from 'zod';
import { ListenError } from '../errors.js';
import { logger } from '../util/log.js';
import { isLoopback } from './listen-urls.js';
import type { Delivery } from './room.js';
import { RoomRegistry } from './room-registry.js';
import {
  LIMITS,
  SIGNAL_EVENT,
  makeClientMessageSchema,
  type ClientToServerEvents,
  type ServerMessage,
  type ServerToClientEvents,
  type SignalAck,
  type SignalErrorBody,
} from './types.js';

const log = logger('signal');

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
  /** Largest SDP accepted, in UTF-8 bytes; larger ones are refused with TOO_LARGE. Default 65536 (64 KiB). */
  maxSdpBytes?: number;
  /** Caller candidates held per unanswered offer; more are dropped (counted). Default 200. */
  maxHeldCandidates?: number;
  /**
   * Extra HTTP routes (the web page plugs in here), tried after `/healthz` and before the 404. Return true
   * if the request was handled. Default: none.
   *
   * @example
   * httpHandler: (req, res) => req.url === '/' ? (res.end('<html>…'), true) : false
   */
  httpHandler?: (req: IncomingMessage, res: ServerResponse) => boolean;
}

/** What `GET /healthz` returns and {@link SignalServer.stats} computes. */
export interface SignalServerStats {
  /** Rooms with at least one member. */
  rooms: number;
  /** Connected Socket.IO clients (joined or not). */
  clients: number;
  /** Seconds since the server started listening. */
  uptimeSec: number;
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
  /** Current counts, as served on `/healthz`. */
  stats(): SignalServerStats;
}

const DEFAULTS = { host: '0.0.0.0', port: 8080, maxSdpBytes: LIMITS.maxSdpBytes } as const;

/** How long close() lets clients answer the websocket close handshake before it cuts their connection, ms. */
const CLOSE_GRACE_MS = 500;

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
  const host = options.host ?? DEFAULTS.host;
  const port = options.port ?? DEFAULTS.port;
  const maxSdpBytes = options.maxSdpBytes ?? DEFAULTS.maxSdpBytes;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new TypeError(`signal server port must be an integer in 0..65535, got ${String(port)}`);
  }
  if (!Number.isInteger(maxSdpBytes) || maxSdpBytes < 1 || maxSdpBytes > LIMITS.maxMessageBytes - 1024) {
    throw new TypeError(
      `maxSdpBytes must be an integer in 1..${LIMITS.maxMessageBytes - 1024}, got ${String(maxSdpBytes)}`,
    );
  }
  if (options.token !== undefined && (typeof options.token !== 'string' || options.token.length === 0)) {
    throw new TypeError('signal server token must be a non-empty string; omit it for an open server');
  }
  const schema = makeClientMessageSchema(maxSdpBytes);
  const registry = new RoomRegistry({ maxHeldCandidates: options.maxHeldCandidates });
  let startedAt = performance.now();
  let closing: Promise<void> | undefined;
  let shuttingDown = false;

  const http = createServer((req, res) => {
    try {
      const path = (req.url ?? '/').split('?')[0];
      if (path === '/healthz' && (req.method === 'GET' || req.method === 'HEAD')) {
        res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
        res.end(JSON.stringify({ status: 'ok', ...stats() }));
        return;
      }
      if (options.httpHandler?.(req, res) === true) return;
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found\n');
    } catch (error) {
      log('http handler failed for %s %s: %O', req.method, req.url, error);
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('internal error\n');
    }
  });

  // Every TCP connection, websockets included once upgraded, so that close() can end those whose peer no
  // longer answers (see close()).
  const connections = new Set<Socket>();
  http.on('connection', (socket: Socket) => {
    connections.add(socket);
    socket.once('close', () => connections.delete(socket));
  });

  const io = new Server<ClientToServerEvents, ServerToClientEvents>(http, {
    maxHttpBufferSize: LIMITS.maxMessageBytes,
    serveClient: false,
  });

  if (options.token !== undefined) {
    const expected = sha256(options.token);
    io.use((socket, next) => {
      const auth: unknown = socket.handshake.auth;
      const given =
        typeof auth === 'object' && auth !== null ? (auth as { token?: unknown }).token : undefined;
      // Compare fixed-length hashes in constant time: neither the token nor its length leaks through timing.
      if (typeof given === 'string' && timingSafeEqual(sha256(given), expected)) {
        next();
        return;
      }
      log('refused %s: %s token', socket.handshake.address, given === undefined ? 'no' : 'wrong');
      next(
        new Error(
          given === undefined
            ? 'UNAUTHORIZED: this signaling server requires a token; pass --token (or set RTC_PEER_TOKEN)'
            : 'UNAUTHORIZED: wrong token; pass the token the server was started with (--token / RTC_PEER_TOKEN)',
        ),
      );
    });
  }

  io.on('connection', (socket) => {
    log('%s connected from %s', socket.id, socket.handshake.address);
    const deliver = (deliveries: Delivery[]): void => {
      for (const { to, message } of deliveries) io.to(to).emit(SIGNAL_EVENT, message);
    };
    const reply = (ack: unknown, response: SignalAck): void => {
      if (typeof ack === 'function') {
        (ack as (r: SignalAck) => void)(response);
      } else if (!response.ok) {
        // No ack to answer: push the refusal as an error message instead.
        const message: ServerMessage = { type: 'error', ...response.error };
        socket.emit(SIGNAL_EVENT, message);
      }
    };

    socket.on(SIGNAL_EVENT, (raw: unknown, ack: unknown) => {
      try {
        const parsed = schema.safeParse(raw);
        if (!parsed.success) {
          const error = describeInvalid(parsed.error, raw);
          log('%s: dropped invalid message: %s', socket.id, error.message);
          reply(ack, { ok: false, error });
          return;
        }
        const { ack: response, deliveries } = registry.dispatch(socket.id, parsed.data);
        log(
          '%s: %s -> %s',
          socket.id,
          parsed.data.type,
          response.ok ? `ok, ${deliveries.length} deliveries` : response.error.code,
        );
        reply(ack, response);
        deliver(deliveries);
      } catch (error) {
        // Never let a client's message take the server down; the message is dropped.
        log('%s: internal error on a message: %O', socket.id, error);
        reply(ack, {
          ok: false,
          error: { code: 'INTERNAL', message: 'the server failed on this message; it was dropped' },
        });
      }
    });

    // Events other than `signal` are not part of the protocol.
    socket.onAny((event: unknown, ...args: unknown[]) => {
      if (event === SIGNAL_EVENT) return;
      const ack = args.at(-1);
      reply(ack, {
        ok: false,
        error: {
          code: 'UNKNOWN_EVENT',
          message: `unknown event ${JSON.stringify(String(event)).slice(0, 80)}; use "signal"`,
        },
      });
    });

    socket.on('disconnect', (reason) => {
      // A client can emit an event named "disconnect" itself; only the real one counts.
      if (socket.connected) return;
      log('%s disconnected: %s', socket.id, reason);
      try {
        const deliveries = registry.disconnect(socket.id);
        // Shutting down: nobody left, the server is going; clients see their own disconnect and rejoin.
        if (!shuttingDown) deliver(deliveries);
      } catch (error) {
        log('%s: internal error on disconnect: %O', socket.id, error);
      }
    });
  });

  await new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => {
      http.off('listening', onListening);
      void io.close();
      if (error.code === 'EADDRINUSE') {
        reject(
          new ListenError(
            'PORT_IN_USE',
            `port ${port} on ${host} is already in use; stop the other server or pass --port 0 for a free port`,
            host,
            port,
            { cause: error },
          ),
        );
      } else {
        reject(
          new ListenError(
            'LISTEN_FAILED',
            `cannot listen on ${host}:${port} (${error.code ?? error.message}); ` +
              'check --host is an address of this machine and --port is allowed (ports < 1024 need root)',
            host,
            port,
            { cause: error },
          ),
        );
      }
    };
    const onListening = (): void => {
      http.off('error', onError);
      resolve();
    };
    http.once('error', onError);
    http.once('listening', onListening);
    http.listen(port, host);
  });
  startedAt = performance.now();
  http.on('error', (error) => log('http server error: %O', error));

  const realPort = (http.address() as AddressInfo).port;
  const warnings: string[] = [];
  if (options.token === undefined && !isLoopback(host)) {
    warnings.push(
      `listening on ${host} without a token: anyone who can reach this port can join a room and watch the ` +
        'video; pass --token SECRET (or set RTC_PEER_TOKEN) and give it to the peers',
    );
  }
  log('listening on %s:%d', host, realPort);

  function stats(): SignalServerStats {
    return {
      rooms: registry.roomCount,
      clients: io.of('/').sockets.size,
      uptimeSec: Math.round((performance.now() - startedAt) / 100) / 10,
    };
  }

  return {
    url: `http://${displayHost(host)}:${realPort}`,
    host,
    port: realPort,
    warnings,
    stats,
    close() {
      closing ??= (async () => {
        shuttingDown = true;
        log('closing (%d clients)', io.of('/').sockets.size);
        // Keep-alive HTTP connections would hold http.close() open.
        const closed = io.close();
        http.closeAllConnections();
        // A websocket closes with a handshake: the server sends a close frame and waits for the client's,
        // up to 30 s (ws's close timeout) for a client that cannot answer (frozen, or behind a dead
        // network). A live client answers within milliseconds; after a short grace, cut what is left.
        const grace = setTimeout(() => {
          if (connections.size > 0)
            log('closing: %d connections did not close, destroying them', connections.size);
          for (const socket of connections) socket.destroy();
        }, CLOSE_GRACE_MS);
        await closed;
        clearTimeout(grace);
        log('closed');
      })();
      return closing;
    },
  };
}

function sha256(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

/** A zod failure as a protocol error: TOO_LARGE for size limits, BAD_MESSAGE for everything else. */
function describeInvalid(error: ZodError, raw: unknown): SignalErrorBody {
  const issues = error.issues;
  const tooLarge = issues.find((i) => i.code === 'custom' && i.params?.['code'] === 'TOO_LARGE');
  if (tooLarge !== undefined) return { code: 'TOO_LARGE', message: tooLarge.message };
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw) || ArrayBuffer.isView(raw)) {
    return {
      code: 'BAD_MESSAGE',
      message:
        'invalid message: it must be a JSON object with a "type" field (join, offer, answer, candidate, bye)',
    };
  }
  const first = issues[0];
  const where = first && first.path.length > 0 ? ` at ${first.path.map(String).join('.')}` : '';
  return {
    code: 'BAD_MESSAGE',
    message: `invalid message${where}: ${first?.message ?? 'does not match the protocol'}; see docs/protocol.md`,
  };
}

function displayHost(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}
