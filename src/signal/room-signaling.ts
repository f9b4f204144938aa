/**
 * The Socket.IO room client, protocol 2: the {@link Signaling} of `rtc-peer call` / `answer` and of the web
 * page. It joins a room in a role with a session of its own (so it keeps its member id across reconnections
 * and server restarts), reports the room's events in order, rejoins by itself after a lost connection (trying
 * each of several server URLs in turn: fail-over), and re-sends what the rules say must survive (see
 * resend-ledger.ts). Portable: Node and browsers.
 */
import { io, type Socket } from 'socket.io-client';
import { SignalError } from '../errors.js';
import { logger } from '../util/log.js';
import { TypedEmitter } from '../util/typed-emitter.js';
import { ResendLedger } from './resend-ledger.js';
import type {
  OutgoingSignal,
  RemotePeer,
  Signaling,
  SignalingCapabilities,
  SignalingEvent,
  SignalingEvents,
} from './signaling.js';
import {
  DEFAULT_ROOM,
  PROTOCOL_VERSION,
  SIGNAL_EVENT,
  roleSchema,
  roomNameSchema,
  serverMessageSchema,
  signalAckSchema,
  type ClientMessage,
  type ClientToServerEvents,
  type PeerInfo,
  type Role,
  type ServerToClientEvents,
  type SignalAck,
} from './types.js';

const log = logger('room-signaling');

/** Options of a {@link RoomSignaling}. Defaults live in {@link ROOM_SIGNALING_DEFAULTS}. */
export interface RoomSignalingOptions {
  /**
   * Signaling server URL, `http(s)://host:port`, or several: the first that answers is used, and after a lost
   * connection each is tried in turn (nodes of one deployment sharing rooms). Required.
   */
  url: string | readonly string[];
  /** Role to hold in the room. Required. */
  role: Role;
  /** Room to join: 1..64 characters of `[A-Za-z0-9_.-]`. Default `'default'`. */
  room?: string;
  /** Token for a server started with `--token`. Default: none. */
  token?: string;
  /** HTTP headers of the connection request (Node only; the WHIP/WHEP bridge names its client). Default: none. */
  headers?: Record<string, string>;
  /**
   * For an `https://` server: the CA certificates (PEM) to trust besides Node's (and NODE_EXTRA_CA_CERTS),
   * e.g. a self-signed server's own certificate (`--ca FILE`). Default: Node's.
   */
  tls?: SignalTlsOptions;
  /** This client's session (16..128 of `[A-Za-z0-9_-]`), kept for its life. Default: 128 random bits. */
  session?: string;
  /** Bound on the first connection, retries included, in ms. Default 10000. */
  connectTimeoutMs?: number;
  /**
   * Answerer: we make our own offers (a WHEP session bridged into the room), so the caller does not offer to
   * us, and we never take its held offer. Default false.
   */
  offers?: boolean;
}

/** Defaults of {@link RoomSignalingOptions}, and the client's timings. */
export const ROOM_SIGNALING_DEFAULTS = {
  room: DEFAULT_ROOM,
  connectTimeoutMs: 10_000,
  /** One connection attempt to one URL, ms. */
  attemptTimeoutMs: 5000,
  /** How long a sent message may wait for its acknowledgement, ms. */
  ackTimeoutMs: 10_000,
  /** How long close() waits for the bye to be acknowledged, ms. */
  byeTimeoutMs: 1000,
  /** Reconnection delay: from this, doubling up to `retryMaxMs`, ±20 %. */
  retryMinMs: 250,
  retryMaxMs: 2000,
} as const;

type ClientSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

/** TLS options of a client's connection to an `https://` signaling server. */
export interface SignalTlsOptions {
  /** PEM CA certificates to trust, besides Node's. Default: Node's (with NODE_EXTRA_CA_CERTS). */
  ca?: string;
  /** False: do not check the server's certificate (only the WHIP bridge, to its own server). Default true. */
  rejectUnauthorized?: boolean;
}

/** The `connect_error` messages of a refused handshake (docs/protocol.md), by their code. */
const HANDSHAKE_REFUSALS =
  /^(UNAUTHORIZED|TOKEN_INVALID|TOO_MANY_CONNECTIONS|FORBIDDEN_ORIGIN|RATE_LIMITED)\b/;

/** Node's codes for a server certificate it does not accept. */
const UNTRUSTED_CERT = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_GET_ISSUER_CERT',
  'CERT_UNTRUSTED',
]);

/**
 * A failed connection attempt as a {@link SignalError}: a refused handshake by its code (the token, the
 * server's limits); a certificate problem as `TLS`, saying what to do (`--ca`, renew, the URL's name), and
 * a plain client to a TLS server or the reverse, as such; anything else `UNREACHABLE` (retried).
 */
export function connectError(url: string, error: Error & { description?: unknown }): SignalError {
  const refused = HANDSHAKE_REFUSALS.exec(error.message)?.[1];
  if (refused !== undefined)
    return new SignalError(refused, `signaling server ${url} refused us: ${error.message}`, url);
  // socket.io-client's TransportError carries the websocket's own error (Node's, with its code).
  // (in Node, an ErrorEvent of `ws` whose `error` is Node's error).
  const d = error.description;
  const inner = typeof d === 'object' && d !== null && 'error' in d ? d.error : d;
  const cause = inner instanceof Error ? (inner as NodeJS.ErrnoException) : undefined;
  const code = cause?.code ?? '';
  const detail = cause?.message.split('\n')[0] ?? error.message;
  const tls = (message: string): SignalError =>
    new SignalError('TLS', `signaling server ${url}: ${message}`, url, { cause });
  if (UNTRUSTED_CERT.has(code))
    return tls(
      `its certificate is not trusted (${detail}); for a self-signed server or a private CA, pass ` +
        '--ca FILE with the CA certificate (or set NODE_EXTRA_CA_CERTS=FILE)',
    );
  if (code === 'CERT_HAS_EXPIRED')
    return tls(`its certificate has expired (${detail}); the server must renew it (then kill -HUP it)`);
  if (code === 'CERT_NOT_YET_VALID')
    return tls(`its certificate is not valid yet (${detail}); check the clocks of both machines`);
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID')
    return tls(
      `its certificate does not name this host (${detail}); use a URL with a name or address the ` +
        'certificate lists',
    );
  if (url.startsWith('https:') && code === 'EPROTO' && /wrong version number/.test(detail))
    return tls(`it does not speak TLS (${detail}); use http:// for this server`);
  if (url.startsWith('http:') && (code === 'ECONNRESET' || detail === 'socket hang up'))
    return new SignalError(
      'UNREACHABLE',
      `${detail}: the server closed the connection at once; if it serves TLS (rtc-peer signal --cert), ` +
        `use ${url.replace(/^http:/, 'https:')}`,
      url,
      { cause },
    );
  return new SignalError('UNREACHABLE', detail === 'websocket error' ? error.message : detail, url, {
    cause,
  });
}
type Joined = Extract<SignalingEvent, { type: 'joined' }>;

/** A fresh session: 128 random bits, base64url. */
export function newSession(): string {
  const bytes = new Uint8Array(16);
  globalThis.crypto.getRandomValues(bytes);
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/**
 * A member of a signaling room, protocol 2.
 *
 * @example
 * const signaling = new RoomSignaling({ url: 'http://127.0.0.1:8080', role: 'answerer', room: 'lab' });
 * signaling.on('signal', (e) => console.log(e.type));   // listeners first: a held offer comes at once
 * const { self, peers } = await signaling.connect();
 * await signaling.send({ type: 'answer', sdp, to: peers[0].id });
 * await signaling.close();
 */
export class RoomSignaling extends TypedEmitter<SignalingEvents> implements Signaling {
  readonly capabilities: SignalingCapabilities = { holdsOffers: true, endOfCandidates: true };
  readonly role: Role;
  readonly room: string;
  /** The server URLs, in the order they are tried. */
  readonly urls: readonly string[];

  readonly #token: string | undefined;
  readonly #headers: Record<string, string> | undefined;
  readonly #tls: SignalTlsOptions;
  readonly #session: string;
  readonly #connectTimeoutMs: number;
  readonly #offers: boolean;
  readonly #ledger = new ResendLedger();
  #socket: ClientSocket | undefined;
  #urlIndex = 0;
  /** connect() succeeded and we have not left: rejoin after a drop. */
  #member = false;
  /** Joined on the current connection. */
  #joined = false;
  #inCall = false;
  #self: string | undefined;
  #iceServers: RTCIceServer[] = [];
  #connecting: Promise<Joined> | undefined;
  #retry: ReturnType<typeof setTimeout> | undefined;
  /** Ends the first connection's wait or attempt under way at once (close() while connecting). */
  #wake: (() => void) | undefined;
  #retries = 0;
  #closing: Promise<void> | undefined;

  /** @throws TypeError on invalid options. */
  constructor(options: RoomSignalingOptions) {
    super();
    const urls = typeof options.url === 'string' ? [options.url] : [...options.url];
    if (urls.length === 0) throw new TypeError('RoomSignaling needs at least one server URL');
    for (const url of urls) checkUrl(url);
    if (!roleSchema.safeParse(options.role).success)
      throw new TypeError(`role must be "caller" or "answerer", got ${JSON.stringify(options.role)}`);
    const room = options.room ?? ROOM_SIGNALING_DEFAULTS.room;
    const roomCheck = roomNameSchema.safeParse(room);
    if (!roomCheck.success)
      throw new TypeError(
        `room ${JSON.stringify(room)} is invalid: ${roomCheck.error.issues[0]?.message ?? ''}`,
      );
    if (options.token !== undefined && (typeof options.token !== 'string' || options.token.length === 0))
      throw new TypeError('token must be a non-empty string; omit it for an open server');
    const session = options.session ?? newSession();
    if (!/^[A-Za-z0-9_-]{16,128}$/.test(session))
      throw new TypeError('session must be 16..128 characters of letters, digits, "_" and "-"');
    const timeout = options.connectTimeoutMs ?? ROOM_SIGNALING_DEFAULTS.connectTimeoutMs;
    if (!Number.isFinite(timeout) || timeout <= 0)
      throw new TypeError(
        `connectTimeoutMs must be a positive number of milliseconds, got ${String(timeout)}`,
      );
    this.urls = urls;
    this.role = options.role;
    this.room = room;
    this.#token = options.token;
    this.#headers = options.headers;
    this.#tls = options.tls ?? {};
    this.#session = session;
    this.#connectTimeoutMs = timeout;
    this.#offers = options.offers === true && options.role === 'answerer';
  }

  /** Our member id, once joined. */
  get id(): string | undefined {
    return this.#self;
  }

  /** The server URL in use (or tried last). */
  get url(): string {
    return this.urls[this.#urlIndex] ?? this.urls[0] ?? '';
  }

  /**
   * The ICE servers of our last join's ack (a server given a TURN server hands each join fresh, expiring
   * credentials: signal/turn-credentials.ts); empty before the first join and from a server without. Set
   * before `joined` is emitted, so the calls that join brings gather with them; replaced at each rejoin.
   */
  get iceServers(): readonly RTCIceServer[] {
    return this.#iceServers;
  }

  /** True while joined on a live connection. */
  get joined(): boolean {
    return this.#joined;
  }

  setInCall(inCall: boolean): void {
    this.#inCall = inCall;
  }

  /**
   * Connects (trying the URLs in turn, within `connectTimeoutMs`) and joins. Concurrent calls share one
   * attempt. Rejects with {@link SignalError}: `UNREACHABLE`, `UNAUTHORIZED`, `ROLE_TAKEN`, `ROOM_FULL`,
   * `CLOSED`, ...
   */
  connect(): Promise<Joined> {
    if (this.#closing) return Promise.reject(this.#closedError('connect'));
    this.#connecting ??= this.#firstJoin().finally(() => (this.#connecting = undefined));
    return this.#connecting;
  }

  async send(message: OutgoingSignal): Promise<boolean> {
    if (this.#closing) throw this.#closedError(`send ${message.type}`);
    if (!this.#member)
      throw new SignalError(
        'NOT_JOINED',
        `cannot send ${message.type}: not in a room; connect() first`,
        this.url,
      );
    this.#ledger.sent(message);
    const socket = this.#socket;
    if (!this.#joined || socket === undefined) {
      log(
        '%s: %s while disconnected: %s',
        this.room,
        message.type,
        message.to === undefined ? 'kept' : 'dropped',
      );
      return false;
    }
    try {
      const ack = await this.#emit(socket, toWire(message));
      return ack.delivered === true;
    } catch (error) {
      if (error instanceof SignalError && error.code === 'NO_SUCH_PEER') return false;
      // Lost with the connection: the rejoin re-sends what must be re-sent, and the calls restart.
      if (error instanceof SignalError && error.code === 'TIMEOUT' && !this.#joined) return false;
      throw error;
    }
  }

  /**
   * Drops the connection and joins again at once on a new one (saying `inCall`), as after a lost connection:
   * for when our network changed, since the old connection may be stuck on an address we no longer have and
   * would take a heartbeat timeout (tens of seconds) to notice. The `lost` and `joined` events follow.
   * Nothing happens while not joined (a rejoin is already under way, or we never joined).
   */
  reconnect(why: string): void {
    if (this.#closing || !this.#member || !this.#joined) return;
    log('%s: reconnecting (%s)', this.url, why);
    this.#joined = false;
    this.#dropSocket();
    this.#emitSignal({ type: 'lost', reason: why });
    this.#retries = 0;
    this.#scheduleRejoin(0);
  }

  /** Says bye (bounded), then disconnects. Idempotent; concurrent calls share one promise. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    clearTimeout(this.#retry);
    this.#wake?.();
    const socket = this.#socket;
    if (this.#joined && socket?.connected) {
      try {
        await socket.timeout(ROOM_SIGNALING_DEFAULTS.byeTimeoutMs).emitWithAck(SIGNAL_EVENT, { type: 'bye' });
      } catch (error) {
        log('%s: bye not acknowledged: %s', this.room, (error as Error).message);
      }
    }
    this.#member = false;
    this.#joined = false;
    this.#ledger.clear();
    this.#dropSocket();
    // Listeners last: nothing is emitted after this.
    this.removeAllListeners();
  }

  async #firstJoin(): Promise<Joined> {
    const deadline = performance.now() + this.#connectTimeoutMs;
    let attempts = 0;
    let lastError = '';
    for (;;) {
      if (this.#closing) throw this.#closedError('connect');
      attempts++;
      try {
        return await this.#attempt(
          Math.max(1, Math.min(ROOM_SIGNALING_DEFAULTS.attemptTimeoutMs, deadline - performance.now())),
        );
      } catch (error) {
        // A failed attempt leaves nothing behind (no socket keeping the process alive).
        this.#dropSocket();
        if (error instanceof SignalError && error.code !== 'UNREACHABLE') throw error;
        // The last attempt may be cut to a millisecond by the deadline: its timeout says less than what
        // an attempt before it met.
        const message = (error as Error).message;
        if (attempts === 1 || !/^no answer from /.test(message)) lastError = message;
        log('%s: attempt %d failed: %s', this.url, attempts, lastError);
      }
      const wait = Math.min(this.#backoff(attempts), deadline - performance.now());
      if (wait <= 0) break;
      await new Promise<void>((r) => {
        this.#retry = setTimeout(r, wait);
        this.#wake = r;
      });
      this.#wake = undefined;
      this.#urlIndex = (this.#urlIndex + 1) % this.urls.length;
    }
    const seconds = (this.#connectTimeoutMs / 1000).toFixed(1);
    throw new SignalError(
      'UNREACHABLE',
      `signaling server ${this.urls.join(' / ')} is unreachable (${attempts} attempts in ${seconds} s, last error: ` +
        `${lastError}); start it with \`rtc-peer signal\` or check --signal`,
      this.url,
    );
  }

  /** One connection to the current URL and a join; the socket stays on success. */
  async #attempt(timeoutMs: number): Promise<Joined> {
    this.#dropSocket();
    const url = this.url;
    const socket: ClientSocket = io(url, {
      autoConnect: false,
      forceNew: true,
      reconnection: false, // we reconnect ourselves, across URLs
      transports: ['websocket'],
      timeout: timeoutMs,
      auth: this.#token === undefined ? {} : { token: this.#token },
      ...(this.#headers !== undefined ? { extraHeaders: this.#headers } : {}),
      ...this.#tls,
    });
    this.#socket = socket;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => done(new SignalError('UNREACHABLE', `no answer from ${url} in ${timeoutMs} ms`, url)),
        timeoutMs,
      );
      const done = (error?: Error): void => {
        clearTimeout(timer);
        this.#wake = undefined;
        socket.off('connect', onConnect);
        socket.off('connect_error', onError);
        if (error) reject(error);
        else resolve();
      };
      const onConnect = (): void => done();
      this.#wake = () => done(this.#closedError('connect'));
      const onError = (error: Error): void => done(connectError(url, error));
      socket.on('connect', onConnect);
      socket.on('connect_error', onError);
      socket.connect();
    });
    socket.on(SIGNAL_EVENT, (raw: unknown) => this.#onServerMessage(socket, raw));
    socket.on('disconnect', (reason) => this.#onDisconnect(socket, reason));
    const join: ClientMessage = {
      type: 'join',
      room: this.room,
      role: this.role,
      protocol: PROTOCOL_VERSION,
      session: this.#session,
      ...(this.#inCall ? { inCall: true } : {}),
      ...(this.#offers ? { offers: true } : {}),
    };
    // The ack is handled in its callback, as its packet arrives: what the server sends right after it (a
    // held offer) is then reported after `joined`, in order. (An awaited ack would resolve a tick later.)
    return new Promise<Joined>((resolve, reject) => {
      socket
        .timeout(ROOM_SIGNALING_DEFAULTS.ackTimeoutMs)
        .emit(SIGNAL_EVENT, join, (err: Error | null, raw: unknown) => {
          if (err) {
            reject(new SignalError('UNREACHABLE', `${url} did not acknowledge join (${err.message})`, url));
            return;
          }
          const parsed = signalAckSchema.safeParse(raw);
          const ack = parsed.success ? (parsed.data as SignalAck) : undefined;
          if (ack === undefined || !ack.ok) {
            const code = ack?.ok === false ? ack.error.code : 'BAD_MESSAGE';
            const why =
              ack?.ok === false ? ack.error.message : 'the acknowledgement does not match the protocol';
            reject(new SignalError(code, `signaling server ${url} refused join (${code}): ${why}`, url));
            return;
          }
          if (socket !== this.#socket || this.#closing) {
            reject(this.#closedError('join'));
            return;
          }
          const rejoined = this.#member;
          this.#member = true;
          this.#joined = true;
          this.#self = ack.id;
          // A server without TURN to give says nothing: what an earlier server (of several) gave stays valid
          // until it expires, so it is kept.
          if (ack.iceServers !== undefined) this.#iceServers = ack.iceServers;
          this.#retries = 0;
          log(
            '%s: joined %s as %s (id %s, %d peers)',
            url,
            this.room,
            this.role,
            ack.id,
            ack.peers?.length ?? 0,
          );
          // After a lost connection, what must survive it: the held offer and its candidates, in order.
          const resend = rejoined ? this.#ledger.afterRejoin() : [];
          const joined: Joined = {
            type: 'joined',
            self: ack.id ?? '',
            peers: (ack.peers ?? []).map(remotePeer),
            rejoined,
            resent: resend.length,
          };
          this.#emitSignal(joined);
          for (const m of resend) this.#emitQuietly(socket, toWire(m));
          resolve(joined);
        });
    });
  }

  #onDisconnect(socket: ClientSocket, reason: string): void {
    if (socket !== this.#socket) return;
    this.#joined = false;
    if (this.#closing || !this.#member) return;
    log('%s: lost (%s)', this.url, reason);
    this.#emitSignal({ type: 'lost', reason });
    this.#scheduleRejoin();
  }

  /** Rejoins after `delay` ms (default: the backoff of the next retry). */
  #scheduleRejoin(delay?: number): void {
    if (this.#closing || !this.#member) return;
    this.#retries++;
    delay ??= this.#backoff(this.#retries);
    this.#retry = setTimeout(() => {
      // After a failure, the next server of the list (the one we had may be the one that died).
      if (this.#retries > 1) this.#urlIndex = (this.#urlIndex + 1) % this.urls.length;
      this.#attempt(ROOM_SIGNALING_DEFAULTS.attemptTimeoutMs).then(
        () => undefined,
        (error: unknown) => {
          if (this.#closing) return;
          if (error instanceof SignalError && error.code !== 'UNREACHABLE' && error.code !== 'TIMEOUT') {
            // Refused (a token changed or expired, our role taken meanwhile): nothing more this client can
            // do by itself.
            this.#emitSignal({
              type: 'error',
              code: error.code,
              message: `rejoining room ${this.room}: ${error.message}`,
            });
            if (
              error.code === 'UNAUTHORIZED' ||
              error.code === 'ROLE_TAKEN' ||
              error.code.startsWith('TOKEN_')
            )
              return;
          }
          log('%s: rejoin failed: %s', this.url, (error as Error).message);
          this.#scheduleRejoin();
        },
      );
    }, delay);
  }

  #onServerMessage(socket: ClientSocket, raw: unknown): void {
    if (socket !== this.#socket || this.#closing) return;
    const parsed = serverMessageSchema.safeParse(raw);
    if (!parsed.success) {
      log('%s: ignored an invalid server message: %s', this.url, parsed.error.message);
      this.#emitSignal({
        type: 'error',
        code: 'BAD_MESSAGE',
        message: 'the server sent a message that does not match the protocol',
      });
      return;
    }
    const m = parsed.data;
    let event: SignalingEvent;
    switch (m.type) {
      case 'offer':
        event = { type: 'offer', from: m.from ?? '', sdp: m.sdp, renegotiate: m.renegotiate === true };
        break;
      case 'answer':
        event = { type: 'answer', from: m.from ?? '', sdp: m.sdp };
        break;
      case 'candidate':
        event = { type: 'candidate', from: m.from ?? '', candidate: m.candidate };
        break;
      case 'peer-joined':
        if (m.tookOffer === true) this.#ledger.heldTaken();
        event = {
          type: 'peer-joined',
          peer: {
            id: m.id ?? '',
            role: m.role,
            protocol: m.protocol ?? 1,
            inCall: m.inCall === true,
            ...(m.offers === true ? { offers: true } : {}),
          },
          tookOffer: m.tookOffer === true,
        };
        break;
      case 'hangup':
        event = { type: 'hangup', from: m.from ?? '' };
        break;
      case 'peer-left':
        event = { type: 'peer-left', id: m.id ?? '', role: m.role, reason: m.reason };
        break;
      case 'error':
        event = { type: 'error', code: m.code, message: m.message };
        break;
      case 'held-expired':
        // Nothing of it is held any more: nothing to resend after a rejoin either.
        this.#ledger.heldTaken();
        event = { type: 'held-expired' };
        break;
    }
    const { deliver, reply } = this.#ledger.received(event);
    for (const r of reply) this.#emitQuietly(socket, toWire(r));
    if (deliver) this.#emitSignal(event);
  }

  #emitSignal(event: SignalingEvent): void {
    if (!this.#closing) this.emit('signal', event);
  }

  /** Sends one message and waits for its ack; a refusal becomes a SignalError with the server's code. */
  async #emit(socket: ClientSocket, message: ClientMessage): Promise<Extract<SignalAck, { ok: true }>> {
    let raw: unknown;
    try {
      raw = await socket.timeout(ROOM_SIGNALING_DEFAULTS.ackTimeoutMs).emitWithAck(SIGNAL_EVENT, message);
    } catch (error) {
      throw new SignalError(
        'TIMEOUT',
        `signaling server ${this.url} did not acknowledge ${message.type} (${(error as Error).message})`,
        this.url,
        { cause: error },
      );
    }
    const parsed = signalAckSchema.safeParse(raw);
    if (!parsed.success)
      throw new SignalError(
        'BAD_MESSAGE',
        'the server sent an acknowledgement that does not match the protocol',
        this.url,
      );
    const ack = parsed.data as SignalAck;
    if (!ack.ok)
      throw new SignalError(
        ack.error.code,
        `signaling server ${this.url} refused ${message.type} (${ack.error.code}): ${ack.error.message}`,
        this.url,
      );
    return ack;
  }

  #emitQuietly(socket: ClientSocket, message: ClientMessage): void {
    this.#emit(socket, message).catch((error: unknown) => {
      const e = error as SignalError;
      if (e.code !== 'TIMEOUT')
        this.#emitSignal({
          type: 'error',
          code: e.code,
          message: `re-sending ${message.type}: ${e.message}`,
        });
    });
  }

  #backoff(attempt: number): number {
    const { retryMinMs, retryMaxMs } = ROOM_SIGNALING_DEFAULTS;
    const base = Math.min(retryMaxMs, retryMinMs * 2 ** Math.max(0, attempt - 1));
    return base * (0.8 + Math.random() * 0.4);
  }

  #dropSocket(): void {
    const socket = this.#socket;
    this.#socket = undefined;
    if (socket === undefined) return;
    socket.off();
    socket.disconnect();
  }

  #closedError(what: string): SignalError {
    return new SignalError(
      'CLOSED',
      `cannot ${what}: this signaling client was closed; create a new one`,
      this.url,
    );
  }
}

function checkUrl(url: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TypeError(`signal url ${JSON.stringify(url)} is not a URL; use e.g. http://127.0.0.1:8080`);
  }
  if (!['http:', 'https:', 'ws:', 'wss:'].includes(parsed.protocol))
    throw new TypeError(`signal url ${url} must start with http://, https://, ws:// or wss://`);
}

function remotePeer(p: PeerInfo): RemotePeer {
  return {
    id: p.id,
    role: p.role,
    protocol: p.protocol,
    inCall: p.inCall,
    ...(p.offers ? { offers: true } : {}),
  };
}

function toWire(m: OutgoingSignal): ClientMessage {
  switch (m.type) {
    case 'offer':
      return {
        type: 'offer',
        sdp: m.sdp,
        ...(m.to !== undefined ? { to: m.to } : {}),
        ...(m.renegotiate ? { renegotiate: true } : {}),
      };
    case 'answer':
      return { type: 'answer', sdp: m.sdp, ...(m.to !== undefined ? { to: m.to } : {}) };
    case 'candidate':
      return { type: 'candidate', candidate: m.candidate, ...(m.to !== undefined ? { to: m.to } : {}) };
    case 'hangup':
      return { type: 'hangup', ...(m.to !== undefined ? { to: m.to } : {}) };
  }
}
