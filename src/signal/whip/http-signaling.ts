/**
 * The {@link Signaling} of a WHIP or WHEP client (RFC 9725, and the WHEP draft that mirrors it): the
 * negotiation rules (peer/negotiator.ts) run over it as over the Socket.IO room. The server's session is the
 * one peer of the other side, `server`:
 *
 * - an offer (`send({ type: 'offer' })`) is POSTed as `application/sdp`; the `201 Created` brings the answer
 *   (an `answer` event), the session URL (`Location`), its `ETag`, whether it takes trickled candidates
 *   (`Accept-Patch: application/trickle-ice-sdpfrag`) and ICE servers (`Link: <...>; rel="ice-server"`,
 *   exposed as {@link HttpSignaling.iceServers} for the negotiator to apply before gathering);
 * - our candidates go in one aggregated `PATCH` (`application/trickle-ice-sdpfrag`, `If-Match: ETAG`) when the
 *   server takes them; when it does not, the next offers carry their candidates inside (the capability
 *   `offerCandidates: 'in-offer'`: gathering completes before the POST);
 * - an ICE restart (`renegotiate: true`) is a `PATCH` with `If-Match: *` and the new credentials; the
 *   server's fragment becomes the answer. A server that cannot restart gets a new session instead, on the
 *   same peer connection (libwebrtc takes the new DTLS fingerprint): the call and its recording go on;
 * - `hangup` (the call ended) and `close()` DELETE the session.
 *
 * Failures are {@link SignalError}s naming the URL, the status and the server's text; unreachable and busy
 * servers (`503` with `Retry-After`) are retried with back-off within `connectTimeoutMs`. Portable (fetch).
 */
import { SignalError } from '../../errors.js';
import { logger } from '../../util/log.js';
import { TypedEmitter } from '../../util/typed-emitter.js';
import type {
  OutgoingSignal,
  RemotePeer,
  Signaling,
  SignalingCapabilities,
  SignalingEvent,
  SignalingEvents,
} from '../signaling.js';
import type { IceCandidateMessage, Role } from '../types.js';
import { exchange, isTransient, statusError, type ExchangeResponse } from './http-exchange.js';
import { parseIceServerLinks, type IceServer } from './link-header.js';
import { buildSdpFragment, parseSdpFragment, restartedAnswer, SDP_FRAGMENT_TYPE } from './sdp-fragment.js';
import { describeSdpProblem, iceCredentials } from './session-description.js';

const log = logger('whip');

/** The id of the one remote peer of a WHIP/WHEP signaling: the server's session. */
export const SERVER_PEER_ID = 'server';

/** Options of a WHIP or WHEP client signaling. Defaults live in {@link HTTP_SIGNALING_DEFAULTS}. */
export interface HttpSignalingOptions {
  /** The WHIP/WHEP endpoint URL (`http(s)://`), where the offer is POSTed. Required. */
  url: string;
  /** Bearer token (`Authorization: Bearer TOKEN`). Default: none. */
  token?: string;
  /** Bound on creating a session (the POST), retries of unreachable or busy servers included, ms. Default 15000. */
  connectTimeoutMs?: number;
  /** Bound on one HTTP exchange (a server that never answers), ms. Default 10000. */
  requestTimeoutMs?: number;
  /**
   * Trickle our candidates by PATCH. Default: when the server says it takes them (`Accept-Patch` in its
   * 201); `false`: never (every offer waits for its candidates), `true`: always.
   */
  trickle?: boolean;
  /**
   * The PATCH of our candidates goes when gathering completes, or at the latest this long after the first
   * candidate that found the session there (later ones go in another PATCH), ms. Default 2000: gathering on a
   * busy machine can take longer than a short window, and a split PATCH is one more round trip for nothing
   * (the server's candidates came in its 201, so its checks towards us do not wait for it).
   */
  trickleBatchMs?: number;
  /** Bound on the DELETE that close() sends, ms. Default 2000. */
  closeTimeoutMs?: number;
}

/** Defaults of {@link HttpSignalingOptions}, and the client's limits. */
export const HTTP_SIGNALING_DEFAULTS = {
  connectTimeoutMs: 15_000,
  requestTimeoutMs: 10_000,
  trickleBatchMs: 2000,
  closeTimeoutMs: 2000,
  /** Largest answer or fragment read, bytes. */
  maxBodyBytes: 128 * 1024,
  /** Candidates kept while no session exists yet; more are dropped (counted). */
  maxQueuedCandidates: 200,
  /** Back-off between attempts: from this, doubling up to `retryMaxMs`, ±20 %. */
  retryMinMs: 250,
  retryMaxMs: 2000,
} as const;

type Joined = Extract<SignalingEvent, { type: 'joined' }>;
type Resolved = Required<Omit<HttpSignalingOptions, 'token' | 'trickle'>> &
  Pick<HttpSignalingOptions, 'token' | 'trickle'>;

/** The session the server created for our offer. */
interface Session {
  /** Its URL (`Location`, absolute). */
  url: string;
  etag: string | undefined;
  /** It takes trickled candidates by PATCH. */
  trickle: boolean;
  /** It may restart ICE by PATCH (false once it refused). */
  restart: boolean;
  /** Our current offer (its credentials go in every fragment) and the answer in force. */
  offer: string;
  answer: string;
}

/** What WHIP and WHEP share; see the module comment. {@link WhipSignaling} and {@link WhepSignaling} fix the role. */
export class HttpSignaling extends TypedEmitter<SignalingEvents> implements Signaling {
  readonly role: Role;
  /** `WHIP` or `WHEP`, for messages. */
  readonly protocol: 'WHIP' | 'WHEP';
  /** The endpoint URL. */
  readonly url: string;
  /** Candidates dropped: the server takes none by PATCH, or too many came before the session existed. */
  droppedCandidates = 0;

  readonly #o: Resolved;
  #session: Session | undefined;
  #trickle: boolean | undefined;
  #iceServers: IceServer[] = [];
  #queued: IceCandidateMessage[] = [];
  #queuedEnd = false;
  #batchTimer: ReturnType<typeof setTimeout> | undefined;
  /** PATCHes and DELETEs of the session, one at a time, in order. */
  #chain: Promise<unknown> = Promise.resolve();
  readonly #abort = new AbortController();
  /**
   * The POST of the latest offer, with its retries: abandoned when a newer offer replaces it or the call ends
   * (`hangup`), so that a late 201 never answers the wrong offer.
   */
  #posting: AbortController | undefined;
  #established: { promise: Promise<void>; resolve(): void; reject(e: Error): void } | undefined;
  #connecting: Promise<Joined> | undefined;
  #closing: Promise<void> | undefined;

  /** @throws TypeError on invalid options. */
  constructor(protocol: 'WHIP' | 'WHEP', options: HttpSignalingOptions) {
    super();
    let parsed: URL;
    try {
      parsed = new URL(options.url);
    } catch {
      throw new TypeError(
        `${protocol} URL ${JSON.stringify(options.url)} is not a URL; use e.g. http://127.0.0.1:8889/cam/${protocol.toLowerCase()}`,
      );
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
      throw new TypeError(`${protocol} URL ${options.url} must start with http:// or https://`);
    if (options.token !== undefined && (typeof options.token !== 'string' || options.token.length === 0))
      throw new TypeError('token must be a non-empty string; omit it for an open server');
    const defined = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
    this.#o = { ...HTTP_SIGNALING_DEFAULTS, ...defined } as unknown as Resolved;
    for (const name of [
      'connectTimeoutMs',
      'requestTimeoutMs',
      'trickleBatchMs',
      'closeTimeoutMs',
    ] as const) {
      const v = this.#o[name];
      if (!Number.isFinite(v) || v < 0)
        throw new TypeError(`${name} must be a number of milliseconds, got ${String(v)}`);
    }
    this.protocol = protocol;
    this.role = protocol === 'WHIP' ? 'caller' : 'answerer';
    this.url = parsed.href;
    this.#trickle = options.trickle;
  }

  get capabilities(): SignalingCapabilities {
    return {
      holdsOffers: false,
      // A WHEP viewer makes the (receive-only) offer; the server answers.
      answererOffers: this.role === 'answerer',
      endOfCandidates: true,
      // The offer goes before gathering starts, so that the ICE servers of the answer are used; a server
      // that takes no trickled candidates gets them inside the offer instead.
      offerCandidates: this.#trickle === false ? 'in-offer' : 'after-offer',
    };
  }

  /** The ICE servers the server gave (its `Link` headers), for the peer connection: merge with your own. */
  get iceServers(): readonly IceServer[] {
    return this.#iceServers;
  }

  /** The session URL, while there is a session. */
  get sessionUrl(): string | undefined {
    return this.#session?.url;
  }

  setInCall(): void {
    // Nothing to tell: the session is the call.
  }

  /**
   * Reports `joined` with the server as the one peer (the negotiator then makes its offer), and resolves once
   * the server created the session for that offer (the 201). Rejects with the {@link SignalError} of the POST:
   * `UNAUTHORIZED` (401), `NOT_FOUND` (404), `UNREACHABLE`, `TIMEOUT`, `BUSY` (503 past the deadline),
   * `BAD_ANSWER`, ... Concurrent calls share one attempt.
   */
  connect(): Promise<Joined> {
    if (this.#closing) return Promise.reject(this.#closedError('connect'));
    this.#connecting ??= this.#connect();
    return this.#connecting;
  }

  async #connect(): Promise<Joined> {
    let resolve!: () => void;
    let reject!: (e: Error) => void;
    const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
    promise.catch(() => undefined); // observed below
    this.#established = { promise, resolve, reject };
    const peer: RemotePeer = {
      id: SERVER_PEER_ID,
      role: this.role === 'caller' ? 'answerer' : 'caller',
      protocol: 2,
      inCall: false,
    };
    const joined: Joined = { type: 'joined', self: 'client', peers: [peer], rejoined: false, resent: 0 };
    this.#emitSignal(joined);
    const bound = this.#o.connectTimeoutMs + this.#o.requestTimeoutMs;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, rej) => {
      timer = setTimeout(
        () =>
          rej(
            new SignalError(
              'TIMEOUT',
              `no ${this.protocol} session with ${this.url} within ${(bound / 1000).toFixed(1)} s (no offer was posted)`,
              this.url,
            ),
          ),
        bound,
      );
    });
    try {
      await Promise.race([promise, timeout]);
    } finally {
      clearTimeout(timer);
    }
    return joined;
  }

  async send(message: OutgoingSignal): Promise<boolean> {
    if (this.#closing) throw this.#closedError(`send ${message.type}`);
    switch (message.type) {
      case 'offer':
        return message.renegotiate ? this.#restart(message.sdp) : this.#start(message.sdp);
      case 'answer':
        throw new SignalError(
          'WRONG_ROLE',
          `a ${this.protocol} client makes the offer and the server answers it: there is nothing to answer`,
          this.url,
        );
      case 'candidate':
        return this.#candidate(message.candidate);
      case 'hangup':
        this.#posting?.abort();
        await this.#endSession('the call ended');
        return true;
    }
  }

  /** DELETEs the session (bounded by `closeTimeoutMs`). Idempotent; concurrent calls share one promise. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    clearTimeout(this.#batchTimer);
    this.#established?.reject(this.#closedError('connect'));
    // What is in flight is abandoned; the DELETE goes on its own, bounded.
    this.#abort.abort();
    const session = this.#session;
    this.#session = undefined;
    if (session !== undefined) await this.#delete(session, this.#o.closeTimeoutMs, undefined);
    this.removeAllListeners();
  }

  /** A new session for `offer` (an earlier one is DELETEd first): POST, retried while the server is unreachable or busy. */
  async #start(offer: string): Promise<boolean> {
    this.#posting?.abort();
    const posting = new AbortController();
    this.#posting = posting;
    const signal = AbortSignal.any([this.#abort.signal, posting.signal]);
    const abandoned = (): SignalError =>
      new SignalError(
        'ABANDONED',
        `POST of the ${this.protocol} offer to ${this.url} abandoned: a newer offer, or the end of the call, replaced it`,
        this.url,
      );
    await this.#endSession('a new offer replaces it');
    if (posting.signal.aborted) return this.#failStart(abandoned());
    const deadline = performance.now() + this.#o.connectTimeoutMs;
    let attempts = 0;
    for (;;) {
      attempts++;
      let response: ExchangeResponse | undefined;
      let error: SignalError & { retryAfterMs?: number };
      try {
        response = await exchange({
          method: 'POST',
          url: this.url,
          headers: { 'content-type': 'application/sdp', accept: 'application/sdp' },
          body: offer,
          token: this.#o.token,
          timeoutMs: this.#o.requestTimeoutMs,
          maxBodyBytes: HTTP_SIGNALING_DEFAULTS.maxBodyBytes,
          signal,
        });
      } catch (e) {
        error = e as SignalError;
        if (posting.signal.aborted && !this.#closing) return this.#failStart(abandoned());
        // Only a server we could not reach is tried again: one that took the request may have made a session.
        if (error.code !== 'UNREACHABLE') return this.#failStart(error);
      }
      if (response !== undefined && posting.signal.aborted && !this.#closing) {
        // Replaced while the answer came: a session made for it is not left behind.
        const location = response.status === 201 ? response.headers.get('location') : null;
        if (location !== null)
          void this.#delete({ url: new URL(location, response.url).href }, this.#o.closeTimeoutMs, undefined);
        return this.#failStart(abandoned());
      }
      if (response !== undefined) {
        if (response.status === 201) return this.#created(offer, response);
        error = statusError(`POST of the ${this.protocol} offer to`, response);
        if (!isTransient(response.status)) return this.#failStart(error);
      }
      const wait = error!.retryAfterMs ?? this.#backoff(attempts);
      if (performance.now() + wait > deadline) {
        const s = (this.#o.connectTimeoutMs / 1000).toFixed(1);
        return this.#failStart(
          new SignalError(
            error!.code,
            `${error!.message} (gave up after ${attempts} attempts in ${s} s)`,
            this.url,
            {
              cause: error!,
              ...(error!.status !== undefined ? { status: error!.status } : {}),
            },
          ),
        );
      }
      log('%s: attempt %d failed (%s), again in %d ms', this.url, attempts, error!.message, Math.round(wait));
      await this.#sleep(wait, signal);
      if (this.#closing) return this.#failStart(this.#closedError('post the offer'));
      if (posting.signal.aborted) return this.#failStart(abandoned());
    }
  }

  #failStart(error: SignalError): never {
    this.#established?.reject(error);
    throw error;
  }

  /** The 201: the session, its answer, its ICE servers; queued candidates go out. */
  async #created(offer: string, response: ExchangeResponse): Promise<boolean> {
    const location = response.headers.get('location');
    const type = (response.headers.get('content-type') ?? '').split(';')[0]?.trim().toLowerCase();
    let problem: string | undefined;
    if (location === null) problem = 'it has no Location header (the session URL)';
    else if (type !== 'application/sdp')
      problem = `its body is ${type === '' ? 'untyped' : type}, not application/sdp`;
    else {
      const sdp = describeSdpProblem(response.body);
      if (sdp !== undefined) problem = `its answer is not a usable SDP: ${sdp}`;
    }
    const sessionUrl = location === null ? undefined : new URL(location, response.url).href;
    if (problem !== undefined) {
      // The server may have made a session all the same: do not leave it behind.
      if (sessionUrl !== undefined)
        void this.#delete({ url: sessionUrl } as Session, this.#o.closeTimeoutMs, this.#abort.signal);
      return this.#failStart(
        new SignalError(
          'BAD_ANSWER',
          `POST of the ${this.protocol} offer to ${response.url} answered 201, but ${problem}; is this a ${this.protocol} server?`,
          this.url,
          { status: 201 },
        ),
      );
    }
    const acceptsPatch = (response.headers.get('accept-patch') ?? '')
      .toLowerCase()
      .includes(SDP_FRAGMENT_TYPE);
    const session: Session = {
      url: sessionUrl!,
      etag: response.headers.get('etag') ?? undefined,
      trickle: this.#o.trickle ?? acceptsPatch,
      restart: acceptsPatch,
      offer,
      answer: response.body,
    };
    this.#session = session;
    this.#trickle = this.#o.trickle ?? acceptsPatch;
    this.#iceServers = parseIceServerLinks(response.headers.get('link'));
    log(
      '%s: session %s (trickle %s, %d ICE servers)',
      this.url,
      session.url,
      session.trickle,
      this.#iceServers.length,
    );
    this.#emitSignal({ type: 'answer', from: SERVER_PEER_ID, sdp: response.body });
    this.#established?.resolve();
    if (this.#queuedEnd) this.#flush();
    else if (this.#queued.length > 0)
      this.#batchTimer ??= setTimeout(() => this.#flush(), this.#o.trickleBatchMs);
    return true;
  }

  /** An ICE restart: PATCH with `If-Match: *` where the server can, else a new session for the offer. */
  async #restart(offer: string): Promise<boolean> {
    const session = this.#session;
    if (session !== undefined && session.restart) {
      const credentials = iceCredentials(offer);
      let response: ExchangeResponse | undefined;
      try {
        response = await this.#serial(() =>
          exchange({
            method: 'PATCH',
            url: session.url,
            headers: { 'content-type': SDP_FRAGMENT_TYPE, 'if-match': '*' },
            body: buildSdpFragment(offer, [], credentials ? { credentials } : {}),
            token: this.#o.token,
            timeoutMs: this.#o.requestTimeoutMs,
            maxBodyBytes: HTTP_SIGNALING_DEFAULTS.maxBodyBytes,
            signal: this.#abort.signal,
          }),
        );
      } catch (e) {
        this.#warn(e as SignalError, 'ICE restart');
        return false;
      }
      if (response.status === 200) {
        try {
          const answer = restartedAnswer(session.answer, parseSdpFragment(response.body));
          session.answer = answer;
          session.offer = offer;
          session.etag = response.headers.get('etag') ?? session.etag;
          this.#emitSignal({ type: 'answer', from: SERVER_PEER_ID, sdp: answer });
          return true;
        } catch (e) {
          log('%s: restart answer unusable (%s): a new session instead', session.url, (e as Error).message);
        }
      } else if ([204, 404, 405, 412, 422, 501].includes(response.status)) {
        // It cannot restart this session (or forgot it): a new session, on the same connection.
        log('%s: no ICE restart (%d): a new session instead', session.url, response.status);
      } else {
        this.#warn(statusError('PATCH (ICE restart) of', response), 'ICE restart');
        return false;
      }
      session.restart = false;
    }
    try {
      return await this.#start(offer);
    } catch (e) {
      this.#warn(e as SignalError, 'new session for the ICE restart');
      return false;
    }
  }

  #candidate(candidate: IceCandidateMessage): boolean {
    const session = this.#session;
    if (session !== undefined && !session.trickle) {
      this.droppedCandidates++;
      return false;
    }
    if (candidate.candidate === '') this.#queuedEnd = true;
    else if (this.#queued.length < HTTP_SIGNALING_DEFAULTS.maxQueuedCandidates) this.#queued.push(candidate);
    else this.droppedCandidates++;
    if (session === undefined) return false; // sent after the 201
    if (this.#queuedEnd) this.#flush();
    else this.#batchTimer ??= setTimeout(() => this.#flush(), this.#o.trickleBatchMs);
    return true;
  }

  /** One PATCH with every candidate queued (and the end of them, if it came). */
  #flush(): void {
    clearTimeout(this.#batchTimer);
    this.#batchTimer = undefined;
    const session = this.#session;
    if (session === undefined || !session.trickle) return;
    const candidates = this.#queued.splice(0);
    const end = this.#queuedEnd;
    this.#queuedEnd = false;
    if (candidates.length === 0 && !end) return;
    void this.#serial(async () => {
      if (session !== this.#session) return;
      const response = await exchange({
        method: 'PATCH',
        url: session.url,
        headers: {
          'content-type': SDP_FRAGMENT_TYPE,
          ...(session.etag !== undefined ? { 'if-match': session.etag } : {}),
        },
        body: buildSdpFragment(session.offer, candidates, { endOfCandidates: end }),
        token: this.#o.token,
        timeoutMs: this.#o.requestTimeoutMs,
        maxBodyBytes: HTTP_SIGNALING_DEFAULTS.maxBodyBytes,
        signal: this.#abort.signal,
      });
      if (response.status === 204 || response.status === 200) return;
      if (response.status === 405 || response.status === 422 || response.status === 501) {
        log('%s takes no trickled candidates (%d)', session.url, response.status);
        session.trickle = false;
        return;
      }
      this.#warn(statusError('PATCH (candidates) of', response), 'trickle');
    }).catch((e: unknown) => this.#warn(e as SignalError, 'trickle'));
  }

  /** Ends the current session, if any: DELETE after what is in flight. */
  async #endSession(why: string): Promise<void> {
    const session = this.#session;
    if (session === undefined) return;
    this.#session = undefined;
    clearTimeout(this.#batchTimer);
    this.#batchTimer = undefined;
    this.#queued = [];
    this.#queuedEnd = false;
    log('%s: ending session %s (%s)', this.url, session.url, why);
    await this.#serial(() => this.#delete(session, this.#o.requestTimeoutMs, this.#abort.signal)).catch(
      () => undefined,
    );
  }

  async #delete(
    session: Pick<Session, 'url'>,
    timeoutMs: number,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    try {
      const response = await exchange({
        method: 'DELETE',
        url: session.url,
        token: this.#o.token,
        timeoutMs,
        maxBodyBytes: HTTP_SIGNALING_DEFAULTS.maxBodyBytes,
        ...(signal !== undefined ? { signal } : {}),
      });
      if (response.status >= 300 && response.status !== 404)
        log('DELETE %s: %s', session.url, statusError('DELETE of', response).message);
    } catch (error) {
      log('DELETE %s failed: %s', session.url, (error as Error).message);
    }
  }

  /** Runs `op` after the session's earlier PATCHes and DELETEs. */
  #serial<T>(op: () => Promise<T>): Promise<T> {
    const run = this.#chain.then(op, op);
    this.#chain = run.catch(() => undefined);
    return run;
  }

  #warn(error: SignalError, what: string): void {
    // Abandoned on purpose (a newer offer replaced it): nothing went wrong.
    if (this.#closing || error.code === 'ABANDONED') return;
    log('%s: %s failed: %s', this.url, what, error.message);
    this.#emitSignal({ type: 'error', code: error.code ?? 'HTTP_ERROR', message: error.message });
  }

  #emitSignal(event: SignalingEvent): void {
    if (!this.#closing) this.emit('signal', event);
  }

  #sleep(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      }
      signal.addEventListener('abort', done, { once: true });
    });
  }

  #backoff(attempt: number): number {
    const { retryMinMs, retryMaxMs } = HTTP_SIGNALING_DEFAULTS;
    return Math.min(retryMaxMs, retryMinMs * 2 ** Math.max(0, attempt - 1)) * (0.8 + Math.random() * 0.4);
  }

  #closedError(what: string): SignalError {
    return new SignalError(
      'CLOSED',
      `cannot ${what}: this ${this.protocol} client was closed; create a new one`,
      this.url,
    );
  }
}
