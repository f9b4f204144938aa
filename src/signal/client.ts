/**
 * The typed signaling client the peers use: connect + join a room in a role, send the offer/answer and
 * candidates, receive the other side's as events, and survive a server restart by rejoining by itself.
 */
import { io, type Socket } from 'socket.io-client';
import { SignalError } from '../errors.js';
import { logger } from '../util/log.js';
import { TypedEmitter } from '../util/typed-emitter.js';
import {
  DEFAULT_ROOM,
  LIMITS,
  SIGNAL_EVENT,
  roleSchema,
  roomNameSchema,
  serverMessageSchema,
  signalAckSchema,
  type ClientMessage,
  type ClientToServerEvents,
  type IceCandidateMessage,
  type LeaveReason,
  type Role,
  type ServerMessage,
  type ServerToClientEvents,
  type SignalAck,
} from './types.js';

const log = logger('signal-client');

/** Options of a {@link SignalClient}. */
export interface SignalClientOptions {
  /** Signaling server URL, `http(s)://host:port` (ws/wss accepted). Required. */
  url: string;
  /** Role to hold in the room. Required. */
  role: Role;
  /** Room to join: 1..64 characters of `[A-Za-z0-9_.-]`. Default `'default'`. */
  room?: string;
  /** Token for a server started with `--token`. Default: none. */
  token?: string;
  /** Bound on the first connection, retries included, in ms. Default 10000. */
  connectTimeoutMs?: number;
}

/** Events of a {@link SignalClient}. Events that arrive before any listener is attached are kept for it. */
export type SignalClientEvents = {
  /** The caller's offer (answerer only). A duplicate of the current offer after a reconnect is not repeated. */
  offer: [sdp: string];
  /** The answerer's answer (caller only). */
  answer: [sdp: string];
  /** An ICE candidate from the other side, in the order it sent them. */
  candidate: [candidate: IceCandidateMessage];
  /** The other role joined the room. */
  'peer-joined': [role: Role];
  /** The other role left (`bye`) or its connection dropped (`disconnected`). */
  'peer-left': [role: Role, reason: LeaveReason];
  /** Lost the server; Socket.IO retries by itself (250 ms .. 2 s backoff). */
  disconnected: [reason: string];
  /** Reconnected and joined the same room and role again after a drop. */
  rejoined: [];
  /** An error the server pushed, or a failed rejoin (e.g. `UNAUTHORIZED`, `ROLE_TAKEN`). */
  'server-error': [code: string, message: string];
};

const DEFAULTS = { room: DEFAULT_ROOM, connectTimeoutMs: 10_000 } as const;
/** How long an acknowledgement may take before a send fails with TIMEOUT. */
const ACK_TIMEOUT_MS = 10_000;
/** Events kept for listeners that are not attached yet; beyond, the oldest are dropped (counted). */
const MAX_PENDING_EVENTS = 1000;
/** Candidate keys remembered to drop duplicates re-sent after a reconnect. */
const MAX_SEEN_CANDIDATES = 1000;
/** A rejoin refused with ROLE_TAKEN (our old connection not yet timed out) is retried this often. */
const REJOIN_RETRY_MS = 1000;
const REJOIN_RETRIES = 60;

type PendingEvent = { [K in keyof SignalClientEvents]: [K, SignalClientEvents[K]] }[keyof SignalClientEvents];

/**
 * A client of the rtc-peer signaling server (see docs/protocol.md).
 *
 * @example
 * const client = new SignalClient({ url: 'http://127.0.0.1:8080', role: 'answerer', room: 'lab' });
 * client.on('offer', (sdp) => void answer(sdp));           // listeners first: a held offer comes at once
 * client.on('candidate', (c) => void pc.addIceCandidate(c));
 * const { peerPresent } = await client.connect();
 * // ...
 * await client.close();
 */
export class SignalClient extends TypedEmitter<SignalClientEvents> {
  /** The room this client joins. */
  readonly room: string;
  /** The role this client holds. */
  readonly role: Role;
  /** The server URL. */
  readonly url: string;

  readonly #token: string | undefined;
  readonly #connectTimeoutMs: number;
  #socket: Socket<ServerToClientEvents, ClientToServerEvents> | undefined;
  #connecting: Promise<{ peerPresent: boolean }> | undefined;
  #cancelConnect: ((error: Error) => void) | undefined;
  #closing: Promise<void> | undefined;
  #closed = false;
  /** connect() succeeded and no bye since: rejoin after a reconnect. */
  #wantJoined = false;
  /** Joined on the current connection: sends go out now (otherwise they are kept for the rejoin). */
  #joined = false;
  #peerPresent = false;
  #generation = 0;
  #rejoinTimer: NodeJS.Timeout | undefined;
  readonly #pending: PendingEvent[] = [];
  #droppedEvents = 0;

  /** Caller: the current offer and our candidates after it, until answered (what a rejoin re-sends). */
  #localOffer: { sdp: string | null; candidates: IceCandidateMessage[]; answered: boolean; answer?: string } =
    {
      sdp: null,
      candidates: [],
      answered: false,
    };
  /** Answerer: the offer being answered, our answer and our candidates (re-sent if the offer comes again). */
  #remote: { offer: string | null; answer: string | null; candidates: IceCandidateMessage[] } = {
    offer: null,
    answer: null,
    candidates: [],
  };
  /** Candidates received for the current offer, to drop the duplicates a reconnect re-sends. */
  readonly #seen = new Set<string>();

  /** @throws TypeError on invalid options. */
  constructor(options: SignalClientOptions) {
    super();
    if (typeof options !== 'object' || options === null)
      throw new TypeError('SignalClient options are required');
    let parsed: URL;
    try {
      parsed = new URL(options.url);
    } catch {
      throw new TypeError(
        `signal url ${JSON.stringify(options.url)} is not a URL; use e.g. http://127.0.0.1:8080`,
      );
    }
    if (!['http:', 'https:', 'ws:', 'wss:'].includes(parsed.protocol)) {
      throw new TypeError(`signal url ${options.url} must start with http://, https://, ws:// or wss://`);
    }
    if (!roleSchema.safeParse(options.role).success) {
      throw new TypeError(`role must be "caller" or "answerer", got ${JSON.stringify(options.role)}`);
    }
    const room = options.room ?? DEFAULTS.room;
    const roomCheck = roomNameSchema.safeParse(room);
    if (!roomCheck.success) {
      throw new TypeError(
        `room ${JSON.stringify(room)} is invalid: ${roomCheck.error.issues[0]?.message ?? ''}`,
      );
    }
    if (options.token !== undefined && (typeof options.token !== 'string' || options.token.length === 0)) {
      throw new TypeError('token must be a non-empty string; omit it for an open server');
    }
    const timeout = options.connectTimeoutMs ?? DEFAULTS.connectTimeoutMs;
    if (!Number.isFinite(timeout) || timeout <= 0) {
      throw new TypeError(
        `connectTimeoutMs must be a positive number of milliseconds, got ${String(timeout)}`,
      );
    }
    this.url = options.url;
    this.role = options.role;
    this.room = room;
    this.#token = options.token;
    this.#connectTimeoutMs = timeout;
  }

  /** True while joined on a live connection. */
  get joined(): boolean {
    return this.#joined;
  }

  override on<K extends keyof SignalClientEvents & string>(
    event: K,
    listener: (...args: SignalClientEvents[K]) => void,
  ): this {
    super.on(event, listener);
    this.#flushSoon();
    return this;
  }

  override once<K extends keyof SignalClientEvents & string>(
    event: K,
    listener: (...args: SignalClientEvents[K]) => void,
  ): this {
    super.once(event, listener);
    this.#flushSoon();
    return this;
  }

  /**
   * Connects (retrying within `connectTimeoutMs`) and joins the room in the role. Concurrent calls share
   * one attempt; after `bye()` it joins again. Rejects with {@link SignalError}: `UNREACHABLE`,
   * `UNAUTHORIZED`, `ROLE_TAKEN`, `CLOSED`, ...
   */
  connect(): Promise<{ peerPresent: boolean }> {
    if (this.#closed) return Promise.reject(this.#closedError('connect'));
    if (this.#joined) return Promise.resolve({ peerPresent: this.#peerPresent });
    this.#connecting ??= this.#connectAndJoin().finally(() => {
      this.#connecting = undefined;
    });
    return this.#connecting;
  }

  /** Sends the offer (caller only). A new offer replaces the previous one, on the server too. */
  sendOffer(sdp: string): Promise<void> {
    return this.#send({ type: 'offer', sdp });
  }

  /** Sends the answer to the current offer (answerer only). */
  sendAnswer(sdp: string): Promise<void> {
    return this.#send({ type: 'answer', sdp });
  }

  /** Sends one of our ICE candidates (`candidate.toJSON()`). */
  sendCandidate(candidate: IceCandidateMessage): Promise<void> {
    return this.#send({ type: 'candidate', candidate });
  }

  /** Leaves the room (the other side gets `peer-left` with reason `bye`); stays connected for `connect()`. */
  async bye(): Promise<void> {
    if (this.#closed) throw this.#closedError('bye');
    const wasJoined = this.#joined;
    this.#leaveState();
    if (wasJoined) await this.#emit({ type: 'bye' });
  }

  /** Says bye if joined, then disconnects. Idempotent; concurrent calls share one promise. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#closed = true;
    this.#cancelConnect?.(this.#closedError('connect'));
    clearTimeout(this.#rejoinTimer);
    const socket = this.#socket;
    if (this.#joined && socket?.connected) {
      try {
        await socket.timeout(1000).emitWithAck(SIGNAL_EVENT, { type: 'bye' });
      } catch (error) {
        log('%s: bye on close not acknowledged: %s', this.room, (error as Error).message);
      }
    }
    this.#leaveState();
    this.#dropSocket();
    // Listeners last: nothing is emitted after this.
    this.removeAllListeners();
    this.#pending.length = 0;
  }

  async #connectAndJoin(): Promise<{ peerPresent: boolean }> {
    const socket = this.#socket ?? this.#createSocket();
    try {
      if (!socket.connected) await this.#firstConnect(socket);
      const ack = await this.#emit({ type: 'join', room: this.room, role: this.role });
      this.#wantJoined = true;
      this.#joined = true;
      this.#peerPresent = ack.ok && ack.peerPresent === true;
      log('%s: joined %s as %s (peer present: %s)', this.url, this.room, this.role, this.#peerPresent);
      return { peerPresent: this.#peerPresent };
    } catch (error) {
      // A failed first connect leaves nothing behind (no retrying socket keeping the process alive).
      this.#dropSocket();
      if (this.#closed) throw this.#closedError('connect');
      throw error;
    }
  }

  #createSocket(): Socket<ServerToClientEvents, ClientToServerEvents> {
    const socket: Socket<ServerToClientEvents, ClientToServerEvents> = io(this.url, {
      autoConnect: false,
      forceNew: true,
      transports: ['websocket'],
      reconnection: true,
      reconnectionDelay: 250,
      reconnectionDelayMax: 2000,
      randomizationFactor: 0.2,
      timeout: Math.min(this.#connectTimeoutMs, 5000),
      auth: this.#token === undefined ? {} : { token: this.#token },
    });
    this.#socket = socket;
    socket.on(SIGNAL_EVENT, (message: unknown) => this.#onServerMessage(message));
    socket.on('connect', () => {
      if (this.#wantJoined && !this.#closed) this.#rejoin(0);
    });
    socket.on('disconnect', (reason) => {
      const wasJoined = this.#joined;
      this.#joined = false;
      this.#generation++;
      if (reason === 'io client disconnect' || this.#closed) return;
      log('%s: disconnected (%s)', this.url, reason);
      if (wasJoined || this.#wantJoined) this.#deliver('disconnected', reason);
      // After a server-side disconnect (e.g. the server shut down) Socket.IO does not retry by itself.
      if (reason === 'io server disconnect' && this.#wantJoined) {
        setTimeout(() => {
          if (!this.#closed && this.#socket === socket && !socket.connected) socket.connect();
        }, 250).unref();
      }
    });
    socket.on('connect_error', (error) => {
      if (this.#wantJoined && error.message.startsWith('UNAUTHORIZED')) {
        // Socket.IO does not retry a refusal: tell the user, there is nothing more we can do.
        this.#deliver('server-error', 'UNAUTHORIZED', error.message);
      }
    });
    return socket;
  }

  /** The first connection, retried by Socket.IO until `connectTimeoutMs`. */
  #firstConnect(socket: Socket<ServerToClientEvents, ClientToServerEvents>): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const startedAt = performance.now();
      let attempts = 0;
      let lastError = 'no answer';
      const done = (error?: Error): void => {
        clearTimeout(timer);
        socket.off('connect', onConnect);
        socket.off('connect_error', onError);
        this.#cancelConnect = undefined;
        if (error) reject(error);
        else resolve();
      };
      const onConnect = (): void => done();
      const onError = (error: Error): void => {
        attempts++;
        lastError = error.message;
        log('%s: connect attempt %d failed: %s', this.url, attempts, error.message);
        if (error.message.startsWith('UNAUTHORIZED')) {
          done(
            new SignalError(
              'UNAUTHORIZED',
              `signaling server ${this.url} refused us: ${error.message}`,
              this.url,
            ),
          );
        }
      };
      const timer = setTimeout(() => {
        const seconds = ((performance.now() - startedAt) / 1000).toFixed(1);
        done(
          new SignalError(
            'UNREACHABLE',
            `signaling server ${this.url} is unreachable (${attempts} attempts in ${seconds} s, last error: ` +
              `${lastError}); start it with \`rtc-peer signal\` or check --signal`,
            this.url,
          ),
        );
      }, this.#connectTimeoutMs);
      this.#cancelConnect = done;
      socket.on('connect', onConnect);
      socket.on('connect_error', onError);
      socket.connect();
    });
  }

  /** Joins again after a reconnect, then re-sends what the other side may have lost with the old server. */
  #rejoin(attempt: number): void {
    const socket = this.#socket;
    const generation = this.#generation;
    if (socket === undefined) return;
    socket
      .timeout(ACK_TIMEOUT_MS)
      .emitWithAck(SIGNAL_EVENT, { type: 'join', room: this.room, role: this.role })
      .then((raw) => {
        if (generation !== this.#generation || this.#closed || !this.#wantJoined) return;
        const ack = parseAck(raw);
        if (!ack.ok) {
          log('%s: rejoin %s refused: %s', this.url, this.room, ack.error.code);
          if (ack.error.code === 'ROLE_TAKEN' && attempt < REJOIN_RETRIES) {
            // Most likely our previous connection, which the server has not noticed is gone yet.
            this.#rejoinTimer = setTimeout(() => this.#rejoin(attempt + 1), REJOIN_RETRY_MS);
            return;
          }
          this.#deliver('server-error', ack.error.code, `rejoining room ${this.room}: ${ack.error.message}`);
          return;
        }
        this.#joined = true;
        this.#peerPresent = ack.peerPresent === true;
        log('%s: rejoined %s as %s', this.url, this.room, this.role);
        this.#resendAfterRejoin(socket);
        this.#deliver('rejoined');
      })
      .catch((error: unknown) => {
        // The connection dropped again: the next `connect` event rejoins.
        log('%s: rejoin not acknowledged: %s', this.url, (error as Error).message);
      });
  }

  /**
   * Caller: the current offer and its candidates, only while unanswered (after an answer the call runs
   * peer-to-peer and must not be disturbed). Answerer: nothing; its answer is re-sent if the offer comes again.
   */
  #resendAfterRejoin(socket: Socket<ServerToClientEvents, ClientToServerEvents>): void {
    if (this.role !== 'caller' || this.#localOffer.answered) return;
    const { sdp, candidates } = this.#localOffer;
    const messages: ClientMessage[] = [];
    if (sdp !== null) messages.push({ type: 'offer', sdp });
    for (const candidate of candidates) messages.push({ type: 'candidate', candidate });
    log('%s: re-sending %d messages of the unanswered offer', this.url, messages.length);
    for (const message of messages) this.#emitQuietly(socket, message);
  }

  #emitQuietly(socket: Socket<ServerToClientEvents, ClientToServerEvents>, message: ClientMessage): void {
    socket
      .timeout(ACK_TIMEOUT_MS)
      .emitWithAck(SIGNAL_EVENT, message)
      .then((raw) => {
        const ack = parseAck(raw);
        if (!ack.ok)
          this.#deliver('server-error', ack.error.code, `re-sending ${message.type}: ${ack.error.message}`);
      })
      .catch((error: unknown) =>
        log('%s: re-sent %s lost: %s', this.url, message.type, (error as Error).message),
      );
  }

  async #send(message: Extract<ClientMessage, { type: 'offer' | 'answer' | 'candidate' }>): Promise<void> {
    if (this.#closed) throw this.#closedError(`send ${message.type}`);
    if (!this.#wantJoined) {
      throw new SignalError(
        'NOT_JOINED',
        `cannot send ${message.type}: not in a room; call connect() first`,
        this.url,
      );
    }
    const needed: Role | undefined =
      message.type === 'offer' ? 'caller' : message.type === 'answer' ? 'answerer' : undefined;
    if (needed !== undefined && needed !== this.role) {
      throw new SignalError(
        'WRONG_ROLE',
        `only the ${needed} may send an ${message.type}; this client is the ${this.role}`,
        this.url,
      );
    }
    this.#remember(message);
    if (!this.#joined) {
      // Connection down: kept in #localOffer / #remote and re-sent after the rejoin where the rules say so.
      log('%s: %s kept while disconnected', this.url, message.type);
      return;
    }
    try {
      await this.#emit(message);
    } catch (error) {
      // Lost with the connection: the rejoin re-sends what must be re-sent.
      if (!this.#joined && error instanceof SignalError && error.code === 'TIMEOUT') return;
      throw error;
    }
  }

  /** Records what we send, for the re-sends after a reconnect. */
  #remember(message: Extract<ClientMessage, { type: 'offer' | 'answer' | 'candidate' }>): void {
    if (this.role === 'caller') {
      const current = this.#localOffer;
      if (message.type === 'offer') {
        // Candidates sent before the first offer belong to it; a new offer is a fresh call.
        this.#localOffer = {
          sdp: message.sdp,
          candidates: current.sdp === null ? current.candidates : [],
          answered: false,
        };
        this.#seen.clear();
      } else if (message.type === 'candidate' && !current.answered) {
        if (current.candidates.length < LIMITS.maxHeldCandidates) current.candidates.push(message.candidate);
      }
    } else if (message.type === 'answer') {
      this.#remote.answer = message.sdp;
    } else if (message.type === 'candidate' && this.#remote.candidates.length < LIMITS.maxHeldCandidates) {
      this.#remote.candidates.push(message.candidate);
    }
  }

  #onServerMessage(raw: unknown): void {
    const parsed = serverMessageSchema.safeParse(raw);
    if (!parsed.success) {
      log('%s: ignored an invalid server message: %s', this.url, parsed.error.message);
      this.#deliver(
        'server-error',
        'BAD_MESSAGE',
        'the server sent a message that does not match the protocol',
      );
      return;
    }
    const message: ServerMessage = parsed.data;
    switch (message.type) {
      case 'offer': {
        if (this.role === 'answerer' && message.sdp === this.#remote.offer) {
          // The caller re-sent an offer we already have (a reconnect): answer again if we did, else ignore.
          log('%s: duplicate offer; re-sending our answer: %s', this.url, this.#remote.answer !== null);
          const socket = this.#socket;
          if (this.#remote.answer !== null && socket !== undefined && this.#joined) {
            this.#emitQuietly(socket, { type: 'answer', sdp: this.#remote.answer });
            for (const candidate of this.#remote.candidates)
              this.#emitQuietly(socket, { type: 'candidate', candidate });
          }
          return;
        }
        this.#remote = { offer: message.sdp, answer: null, candidates: [] };
        this.#seen.clear();
        this.#deliver('offer', message.sdp);
        return;
      }
      case 'answer': {
        if (this.#localOffer.answered && this.#localOffer.answer === message.sdp) return; // duplicate
        this.#localOffer = { sdp: this.#localOffer.sdp, candidates: [], answered: true, answer: message.sdp };
        this.#deliver('answer', message.sdp);
        return;
      }
      case 'candidate': {
        const key = JSON.stringify(message.candidate);
        if (this.#seen.has(key)) return; // re-sent after a reconnect
        if (this.#seen.size < MAX_SEEN_CANDIDATES) this.#seen.add(key);
        this.#deliver('candidate', message.candidate);
        return;
      }
      case 'peer-joined':
        this.#peerPresent = true;
        this.#deliver('peer-joined', message.role);
        return;
      case 'peer-left':
        this.#peerPresent = false;
        // The other side is gone: a later identical offer is a new call, not a duplicate.
        if (this.role === 'answerer') this.#remote = { offer: null, answer: null, candidates: [] };
        this.#seen.clear();
        this.#deliver('peer-left', message.role, message.reason);
        return;
      case 'error':
        this.#deliver('server-error', message.code, message.message);
        return;
    }
  }

  /** Emits now, or keeps the event until a listener for it is attached (bounded, oldest dropped). */
  #deliver<K extends keyof SignalClientEvents & string>(event: K, ...args: SignalClientEvents[K]): void {
    if (this.#closed) return;
    const queuedBefore = this.#pending.some(([e]) => e === event);
    if (this.listenerCount(event) > 0 && !queuedBefore) {
      this.emit(event, ...args);
      return;
    }
    if (this.#pending.length >= MAX_PENDING_EVENTS) {
      this.#pending.shift();
      this.#droppedEvents++;
      log('%s: event buffer full, %d dropped', this.url, this.#droppedEvents);
    }
    this.#pending.push([event, args] as PendingEvent);
    this.#flushSoon();
  }

  #flushScheduled = false;
  #flushSoon(): void {
    if (this.#flushScheduled || this.#pending.length === 0) return;
    this.#flushScheduled = true;
    queueMicrotask(() => {
      this.#flushScheduled = false;
      // In arrival order, each event once a listener for it exists; the others keep waiting.
      const waiting = this.#pending.splice(0);
      for (const entry of waiting) {
        const [event, args] = entry;
        const blocked = this.#pending.some(([e]) => e === event);
        if (this.listenerCount(event) > 0 && !blocked)
          (this.emit as (e: string, ...a: unknown[]) => boolean)(event, ...args);
        else this.#pending.push(entry);
      }
    });
  }

  /** Sends one message and waits for its ack; a refusal becomes a SignalError with the server's code. */
  async #emit(message: ClientMessage): Promise<Extract<SignalAck, { ok: true }>> {
    const socket = this.#socket;
    if (socket === undefined || !socket.connected) {
      throw new SignalError(
        'DISCONNECTED',
        `cannot send ${message.type}: not connected to ${this.url}`,
        this.url,
      );
    }
    let raw: unknown;
    try {
      raw = await socket.timeout(ACK_TIMEOUT_MS).emitWithAck(SIGNAL_EVENT, message);
    } catch (error) {
      throw new SignalError(
        'TIMEOUT',
        `signaling server ${this.url} did not acknowledge ${message.type} (${(error as Error).message})`,
        this.url,
        { cause: error },
      );
    }
    const ack = parseAck(raw);
    if (!ack.ok) {
      throw new SignalError(
        ack.error.code,
        `signaling server ${this.url} refused ${message.type}: ${ack.error.message}`,
        this.url,
      );
    }
    return ack;
  }

  #leaveState(): void {
    this.#wantJoined = false;
    this.#joined = false;
    this.#peerPresent = false;
    this.#generation++;
    clearTimeout(this.#rejoinTimer);
    this.#localOffer = { sdp: null, candidates: [], answered: false };
    this.#remote = { offer: null, answer: null, candidates: [] };
    this.#seen.clear();
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
      `cannot ${what}: this SignalClient was closed; create a new one`,
      this.url,
    );
  }
}

function parseAck(raw: unknown): SignalAck {
  const parsed = signalAckSchema.safeParse(raw);
  if (parsed.success) return parsed.data as SignalAck;
  return {
    ok: false,
    error: {
      code: 'BAD_MESSAGE',
      message: 'the server sent an acknowledgement that does not match the protocol',
    },
  };
}
