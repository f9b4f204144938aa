/**
 * The WHIP and WHEP endpoints of `rtc-peer signal` (docs/protocol.md, "WHIP and WHEP"), an HTTP module
 * plugged into the signaling server's routes:
 *
 *     POST   /whip/ROOM        application/sdp offer -> 201, the answer, Location /whip/ROOM/ID (publisher = caller)
 *     POST   /whep/ROOM        application/sdp receive-only offer -> 201, the answer (one more viewer)
 *     PATCH  /whip/ROOM/ID     application/trickle-ice-sdpfrag: candidates (204) or an ICE restart (200)
 *     DELETE /whip/ROOM/ID     ends the session (200; 404 once it is gone)
 *     OPTIONS                  CORS preflight (allowed origins only), Accept-Post / Accept-Patch
 *
 * Each session is bridged into its room by bridge.ts. Same auth as the Socket.IO side (`Authorization:
 * Bearer` = the server's token), bounded bodies, clear status codes and texts; nothing a client sends takes the
 * server down.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { logger } from '../../util/log.js';
import { checkToken } from '../auth.js';
import { looksLikeJwt } from '../room-token.js';
import type { HttpHandler } from '../http-routes.js';
import { roomNameSchema } from '../types.js';
import { BridgeError, SessionBridge } from './bridge.js';
import { checkAllowedOrigins, corsHeaders, type AllowedOrigins } from './cors.js';
import { formatIceServerLinks, type IceServer } from './link-header.js';
import { parseSdpFragment, SDP_FRAGMENT_TYPE, type SdpFragment } from './sdp-fragment.js';
import { describeSdpProblem } from './session-description.js';

const log = logger('whip:endpoint');

/** Options of the {@link WhipEndpoints}. Defaults live in {@link WHIP_ENDPOINT_DEFAULTS}. */
export interface WhipEndpointOptions {
  /** The server's token: requests must carry `Authorization: Bearer TOKEN`. Default: none (open). */
  token?: string;
  /**
   * ICE servers the answers name in `Link` headers (for the clients), or a function giving them per answer
   * (fresh TURN credentials each time). Default: none.
   */
  iceServers?: readonly IceServer[] | (() => readonly IceServer[]);
  /** Origins whose pages may use the endpoints (CORS), or `'*'`. Default: none. */
  allowOrigin?: AllowedOrigins;
  /** Largest offer accepted, bytes; larger is 413. Default 65536 (the server's maxSdpBytes). */
  maxSdpBytes?: number;
  /** Bound on finding the room peer and getting its answer, ms; then 503 with Retry-After. Default 15000. */
  answerTimeoutMs?: number;
  /** After the room peer's answer, how long its candidates are waited for, ms. Default 1500. */
  candidateWaitMs?: number;
  /**
   * The server's checks of a request before it is served (signal/server.ts: the origin rule, the
   * wrong-token back-off, the shared token or a room token for the request's room and role): a refusal, or
   * undefined to serve it. Default: the token alone.
   */
  admit?: (
    req: IncomingMessage,
    target: HttpTarget,
  ) => HttpRefusal | undefined | Promise<HttpRefusal | undefined>;
  /**
   * Headers the session's room connection presents for the request's client, so that the server's limits
   * charge the client's address rather than the loopback the bridge connects from (server-guard.ts).
   * Default: none.
   */
  bridgeHeaders?: (req: IncomingMessage) => Record<string, string>;
  /**
   * The server serves TLS: the bridges connect to it over wss without checking its certificate (it is
   * their own process's listening socket; the certificate names the public host). Default false.
   */
  tlsSelf?: boolean;
}

/**
 * What a request is for, as its checks need it: a WHIP publisher is the room's caller, a WHEP player one of
 * its answerers; `session` for a PATCH or DELETE of a session already admitted.
 */
export interface HttpTarget {
  kind: 'whip' | 'whep';
  room: string;
  session: boolean;
}

/** A request refused before it is served: its status, text and extra headers. */
export interface HttpRefusal {
  status: number;
  message: string;
  headers?: Record<string, string>;
}

/** Defaults of {@link WhipEndpointOptions}. */
export const WHIP_ENDPOINT_DEFAULTS = {
  maxSdpBytes: 64 * 1024,
  answerTimeoutMs: 15_000,
  candidateWaitMs: 1500,
  /** Largest PATCH body, bytes. */
  maxFragmentBytes: 64 * 1024,
} as const;

const ROUTE = /^\/(whip|whep)\/([^/]+)(?:\/([A-Za-z0-9_-]{1,64}))?\/?$/;

/** The WHIP/WHEP endpoints of one signaling server. */
export class WhipEndpoints {
  readonly #token: string | undefined;
  readonly #links: () => string[];
  readonly #allow: AllowedOrigins;
  readonly #o: typeof WHIP_ENDPOINT_DEFAULTS;
  readonly #admit: WhipEndpointOptions['admit'];
  readonly #bridgeHeaders: ((req: IncomingMessage) => Record<string, string>) | undefined;
  readonly #tlsSelf: boolean;
  readonly #sessions = new Map<string, SessionBridge>();
  /** Setups in progress: given up when the endpoints close. */
  readonly #setups = new Set<AbortController>();
  #signalUrl: string | undefined;
  #closing: Promise<void> | undefined;

  /** @throws TypeError on invalid options. */
  constructor(options: WhipEndpointOptions = {}) {
    this.#token = options.token;
    const servers = options.iceServers ?? [];
    if (typeof servers === 'function') this.#links = () => formatIceServerLinks(servers());
    else {
      const fixed = formatIceServerLinks(servers);
      this.#links = () => fixed;
    }
    this.#allow = checkAllowedOrigins(options.allowOrigin ?? []);
    this.#admit = options.admit;
    this.#bridgeHeaders = options.bridgeHeaders;
    this.#tlsSelf = options.tlsSelf === true;
    const defined = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
    this.#o = { ...WHIP_ENDPOINT_DEFAULTS, ...defined } as typeof WHIP_ENDPOINT_DEFAULTS;
  }

  /** Live sessions. */
  get sessions(): number {
    return this.#sessions.size;
  }

  /** The server is listening at `url`: the bridges connect there. */
  attach(url: string): void {
    this.#signalUrl = url;
  }

  /** The HTTP routes; `next` (the embedding application's) is tried for other paths. */
  handler(next?: HttpHandler): HttpHandler {
    return (req, res) => {
      const path = (req.url ?? '/').split('?')[0] ?? '/';
      const route = ROUTE.exec(path);
      if (route === null) return next?.(req, res) ?? false;
      const [, kind, room, id] = route as unknown as [string, 'whip' | 'whep', string, string | undefined];
      this.#serve(req, res, kind, decodeURIComponent(room), id).catch((error: unknown) => {
        log('%s %s failed: %O', req.method, path, error);
        if (!res.headersSent) reply(res, 500, {}, 'internal error: the server failed on this request');
        else res.destroy();
      });
      return true;
    };
  }

  /** Ends every session and gives up setups in progress (their POSTs get 503). Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      for (const setup of this.#setups) setup.abort();
      const sessions = [...this.#sessions.values()];
      this.#sessions.clear();
      await Promise.all(sessions.map((s) => s.close('the server is shutting down')));
    })();
    return this.#closing;
  }

  async #serve(
    req: IncomingMessage,
    res: ServerResponse,
    kind: 'whip' | 'whep',
    room: string,
    id: string | undefined,
  ): Promise<void> {
    const origin = typeof req.headers.origin === 'string' ? req.headers.origin : undefined;
    const cors = corsHeaders(origin, this.#allow, req.method === 'OPTIONS') ?? {};
    const allow = id === undefined ? 'OPTIONS, POST' : 'OPTIONS, PATCH, DELETE';
    const what = kind.toUpperCase();
    if (req.method === 'OPTIONS') {
      if (origin !== undefined && Object.keys(cors).length === 0) {
        return reply(
          res,
          403,
          {},
          `origin ${origin} may not use this ${what} endpoint (server option --allow-origin)`,
        );
      }
      const accepts: Record<string, string> =
        id === undefined ? { 'accept-post': 'application/sdp' } : { 'accept-patch': SDP_FRAGMENT_TYPE };
      return reply(res, 204, { ...cors, allow, ...accepts });
    }
    const roomCheck = roomNameSchema.safeParse(room);
    if (!roomCheck.success)
      return reply(
        res,
        400,
        cors,
        `room ${JSON.stringify(room)} is invalid: ${roomCheck.error.issues[0]?.message ?? ''}`,
      );
    if (id === undefined ? req.method !== 'POST' : req.method !== 'PATCH' && req.method !== 'DELETE')
      return reply(
        res,
        405,
        { ...cors, allow },
        `${req.method ?? '?'} is not allowed here; allowed: ${allow}`,
      );
    const refused =
      this.#admit !== undefined
        ? await this.#admit(req, { kind, room, session: id !== undefined })
        : this.#authorize(req);
    if (refused !== undefined)
      return reply(res, refused.status, { ...cors, ...refused.headers }, refused.message);
    if (id === undefined) return this.#post(req, res, kind, room, cors);
    const session = this.#sessions.get(id);
    if (session === undefined || session.kind !== kind || session.room !== room)
      return reply(res, 404, cors, `no ${what} session ${kind}/${room}/${id}: it ended, or never existed`);
    if (req.method === 'DELETE') {
      this.#sessions.delete(id);
      await session.close('DELETE');
      return reply(res, 200, cors, 'session ended');
    }
    return this.#patch(req, res, session, cors);
  }

  /** `Authorization: Bearer` against the server's token; the refusal, or undefined when admitted. */
  #authorize(req: IncomingMessage): HttpRefusal | undefined {
    if (this.#token === undefined) return undefined;
    const bearer = bearerOf(req);
    const result = checkToken(this.#token, bearer === undefined ? {} : { token: bearer });
    if (result.ok) return undefined;
    return {
      status: 401,
      message: `${result.message} (Authorization: Bearer TOKEN)`,
      headers: { 'www-authenticate': 'Bearer' },
    };
  }

  async #post(
    req: IncomingMessage,
    res: ServerResponse,
    kind: 'whip' | 'whep',
    room: string,
    cors: Record<string, string>,
  ): Promise<void> {
    if (this.#closing || this.#signalUrl === undefined)
      return reply(
        res,
        503,
        { ...cors, 'retry-after': '2' },
        'the server is not serving sessions (shutting down?)',
      );
    if (mediaType(req) !== 'application/sdp')
      return reply(
        res,
        415,
        { ...cors, 'accept-post': 'application/sdp' },
        `the offer must be sent as Content-Type: application/sdp, not ${mediaType(req) || 'untyped'}`,
      );
    const body = await readBody(req, this.#o.maxSdpBytes);
    if (body === undefined)
      return tooLarge(
        res,
        cors,
        `the offer is over the limit of ${this.#o.maxSdpBytes} bytes (server option maxSdpBytes)`,
      );
    const problem = describeSdpProblem(body);
    if (problem !== undefined) return reply(res, 400, cors, `malformed SDP offer: ${problem}`);
    if (kind === 'whip') await this.#replacePublisher(room);
    // The client may give up while the room peer is awaited: then the setup stops and leaves the room.
    const setup = new AbortController();
    this.#setups.add(setup);
    const gone = (): void => {
      if (!res.writableFinished) setup.abort();
    };
    res.once('close', gone);
    // The session's room connection presents the client's room token (admitted for this room and role),
    // else the server's shared token.
    const token = bridgeToken(req, this.#token);
    let bridge: SessionBridge;
    try {
      bridge = await SessionBridge.open(
        {
          kind,
          room,
          signalUrl: this.#signalUrl,
          offer: body,
          answerTimeoutMs: this.#o.answerTimeoutMs,
          candidateWaitMs: this.#o.candidateWaitMs,
          ...(token !== undefined ? { token } : {}),
          ...(this.#bridgeHeaders !== undefined ? { headers: this.#bridgeHeaders(req) } : {}),
          ...(this.#tlsSelf ? { tls: { rejectUnauthorized: false } } : {}),
        },
        setup.signal,
      );
    } catch (error) {
      if (!(error instanceof BridgeError)) throw error;
      if (setup.signal.aborted || res.destroyed) return;
      const retry: Record<string, string> =
        error.retryAfterSec !== undefined ? { 'retry-after': String(error.retryAfterSec) } : {};
      return reply(res, error.status, { ...cors, ...retry }, error.message);
    } finally {
      this.#setups.delete(setup);
      res.off('close', gone);
    }
    if (res.destroyed || this.#closing) {
      await bridge.close('the client went away before the answer');
      return;
    }
    this.#sessions.set(bridge.id, bridge);
    bridge.on('ended', (why) => {
      log('%s %s/%s ended: %s', kind, room, bridge.id, why);
      if (this.#sessions.get(bridge.id) === bridge) this.#sessions.delete(bridge.id);
      void bridge.close(why);
    });
    reply(
      res,
      201,
      {
        ...cors,
        'content-type': 'application/sdp',
        location: `/${kind}/${encodeURIComponent(room)}/${bridge.id}`,
        etag: bridge.etag,
        'accept-patch': SDP_FRAGMENT_TYPE,
        ...linkHeader(this.#links()),
      },
      bridge.answer,
    );
  }

  /** A new WHIP publisher for a room replaces the one this server bridges there (its client is gone, or moved). */
  async #replacePublisher(room: string): Promise<void> {
    for (const [id, s] of this.#sessions) {
      if (s.kind !== 'whip' || s.room !== room) continue;
      log('whip %s/%s replaced by a new publisher', room, id);
      this.#sessions.delete(id);
      await s.close('replaced by a new publisher');
    }
  }

  async #patch(
    req: IncomingMessage,
    res: ServerResponse,
    session: SessionBridge,
    cors: Record<string, string>,
  ): Promise<void> {
    if (mediaType(req) !== SDP_FRAGMENT_TYPE)
      return reply(
        res,
        415,
        { ...cors, 'accept-patch': SDP_FRAGMENT_TYPE },
        `a PATCH carries Content-Type: ${SDP_FRAGMENT_TYPE}, not ${mediaType(req) || 'untyped'}`,
      );
    const body = await readBody(req, this.#o.maxFragmentBytes);
    if (body === undefined)
      return tooLarge(res, cors, `the fragment is over the limit of ${this.#o.maxFragmentBytes} bytes`);
    let fragment: SdpFragment;
    try {
      fragment = parseSdpFragment(body);
    } catch (error) {
      return reply(res, 400, cors, `malformed SDP fragment: ${(error as Error).message}`);
    }
    const ifMatch = req.headers['if-match'];
    const wildcard = ifMatch === '*' || ifMatch === '"*"';
    if (typeof ifMatch === 'string' && !wildcard && ifMatch !== session.etag)
      return reply(
        res,
        412,
        { ...cors, etag: session.etag },
        `If-Match ${ifMatch} is not the session's ETag ${session.etag}`,
      );
    const abort = new AbortController();
    const gone = (): void => {
      if (!res.writableFinished) abort.abort();
    };
    res.once('close', gone);
    try {
      const restarted = await session.patch(fragment, abort.signal);
      if (restarted === undefined) return reply(res, 204, { ...cors, etag: session.etag });
      return reply(res, 200, { ...cors, 'content-type': SDP_FRAGMENT_TYPE, etag: session.etag }, restarted);
    } catch (error) {
      if (!(error instanceof BridgeError)) throw error;
      const retry: Record<string, string> =
        error.retryAfterSec !== undefined ? { 'retry-after': String(error.retryAfterSec) } : {};
      return reply(res, error.status === 499 ? 400 : error.status, { ...cors, ...retry }, error.message);
    } finally {
      res.off('close', gone);
    }
  }
}

/** The media type of a request, lower-cased, without parameters. */
function mediaType(req: IncomingMessage): string {
  return (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

/** The body as text, or undefined when it is over `max` bytes (then nothing more of it is read). */
function readBody(req: IncomingMessage, max: number): Promise<string | undefined> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (declared > max) return Promise.resolve(undefined);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > max) {
        req.off('data', onData);
        req.pause();
        resolve(undefined);
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.once('error', reject);
  });
}

/** 413, and the connection closed after it: the rest of the body is not read. */
function tooLarge(res: ServerResponse, cors: Record<string, string>, text: string): void {
  reply(res, 413, { ...cors, connection: 'close' }, text);
  res.once('finish', () => res.socket?.destroy());
}

function reply(
  res: ServerResponse,
  status: number,
  headers: Record<string, string | string[]>,
  body = '',
): void {
  if (res.headersSent) return;
  const text = body === '' || body.endsWith('\n') ? body : `${body}\n`;
  const typed =
    body !== '' && headers['content-type'] === undefined
      ? { 'content-type': 'text/plain; charset=utf-8' }
      : {};
  res.writeHead(status, { 'cache-control': 'no-store', ...typed, ...headers });
  res.end(text);
}

/** The `Authorization: Bearer` token of a request, if it has one. */
export function bearerOf(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  return typeof header === 'string' ? /^Bearer\s+(.+)$/i.exec(header.trim())?.[1] : undefined;
}

/** The token a session's room connection presents: the client's room token, else the shared one. */
function bridgeToken(req: IncomingMessage, shared: string | undefined): string | undefined {
  const bearer = bearerOf(req);
  return bearer !== undefined && looksLikeJwt(bearer) ? bearer : shared;
}

/** The `Link` header field for these links, if any. */
function linkHeader(links: string[]): { link?: string[] } {
  return links.length > 0 ? { link: links } : {};
}
