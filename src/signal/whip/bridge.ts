/**
 * One WHIP or WHEP session of `rtc-peer signal`, bridged into a room as a protocol-2 member through a real
 * {@link RoomSignaling} connection to the server itself, so that the room's rules, limits and routing apply
 * to it as to any member:
 *
 * - WHIP (`POST /whip/ROOM`): the publisher is the room's **caller**. Its offer goes to the longest-waiting
 *   viewer there, or is held for the next one that joins; that viewer's answer, with its candidates, is the
 *   201's answer. The publisher has one peer connection: it serves that one viewer.
 * - WHEP (`POST /whep/ROOM`): the client is one more **viewer**, one that makes its own offer (`offers`): its
 *   receive-only offer goes to the room's caller, which answers it on a peer connection of its own.
 *
 * WHIP and WHEP have no candidates from server to client: the bridge waits, after the answer, for the room
 * peer's candidates until its end-of-candidates (bounded) and puts them in the answer. The client's
 * candidates (PATCH) are relayed to the room peer; an ICE restart (PATCH with new credentials) is a
 * renegotiation of the same call, whose answer goes back as a fragment. The session ends on DELETE, when its
 * room peer hangs up or leaves, or when the endpoint closes.
 */
import { randomBytes } from 'node:crypto';
import { SignalError } from '../../errors.js';
import { logger } from '../../util/log.js';
import { TypedEmitter } from '../../util/typed-emitter.js';
import { RoomSignaling, type SignalTlsOptions } from '../room-signaling.js';
import type { RemotePeer, SignalingEvent } from '../signaling.js';
import type { IceCandidateMessage } from '../types.js';
import { buildSdpFragment, type SdpFragment } from './sdp-fragment.js';
import {
  iceCredentials,
  sectionIndex,
  withCandidates,
  withIceCredentials,
  withNextVersion,
  withoutCandidates,
} from './session-description.js';

const log = logger('whip:bridge');

/** What a bridge needs. */
export interface BridgeOptions {
  kind: 'whip' | 'whep';
  room: string;
  /** The signaling server's own URL (the bridge connects to it like any client). */
  signalUrl: string;
  /** The server's token, if it has one. */
  token?: string;
  /** Headers of the room connection (the server's limits charge the HTTP client through them). */
  headers?: Record<string, string>;
  /** TLS options of the room connection (the server's own certificate is not checked). */
  tls?: SignalTlsOptions;
  /** The client's offer. */
  offer: string;
  /** Bound on finding the room peer and getting its answer, ms. */
  answerTimeoutMs: number;
  /** After the answer, how long the room peer's candidates are waited for (until its end-of-candidates), ms. */
  candidateWaitMs: number;
}

/** A refusal, as the HTTP answer it becomes. */
export class BridgeError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly retryAfterSec?: number,
  ) {
    super(message);
    this.name = 'BridgeError';
  }
}

/** Events of a {@link SessionBridge}. */
export type BridgeEvents = {
  /** The session is over (not fired by close()). */
  ended: [why: string];
};

type Waiter = { test(e: SignalingEvent): boolean; resolve(e: SignalingEvent): void };

/** One bridged session. Open with {@link SessionBridge.open}. */
export class SessionBridge extends TypedEmitter<BridgeEvents> {
  /** The session id (in its URL): 128 random bits. */
  readonly id = randomBytes(16).toString('base64url');
  readonly kind: 'whip' | 'whep';
  readonly room: string;
  /** The current ETag (a new one after each ICE restart), quoted as it goes in the header. */
  etag = newEtag();
  /** The answer the client got (with the room peer's candidates). */
  answer = '';

  readonly #o: BridgeOptions;
  readonly #signaling: RoomSignaling;
  #peer: RemotePeer | undefined;
  #offer: string;
  /** Room peer candidates seen since the last reset, and whether its end-of-candidates came. */
  #candidates: IceCandidateMessage[] = [];
  #endOfCandidates = false;
  #waiters: Waiter[] = [];
  #restarting: Promise<unknown> = Promise.resolve();
  #closing: Promise<void> | undefined;
  #ended = false;

  private constructor(o: BridgeOptions) {
    super();
    this.#o = o;
    this.kind = o.kind;
    this.room = o.room;
    this.#offer = o.offer;
    this.#signaling = new RoomSignaling({
      url: o.signalUrl,
      role: o.kind === 'whip' ? 'caller' : 'answerer',
      room: o.room,
      offers: o.kind === 'whep',
      connectTimeoutMs: Math.min(5000, o.answerTimeoutMs),
      ...(o.token !== undefined ? { token: o.token } : {}),
      ...(o.headers !== undefined ? { headers: o.headers } : {}),
      ...(o.tls !== undefined ? { tls: o.tls } : {}),
    });
    this.#signaling.on('signal', (e) => this.#onSignal(e));
  }

  /**
   * Joins the room, hands the offer to the room peer and resolves with the bridge once its answer (with its
   * candidates) is in {@link SessionBridge.answer}. Rejects with a {@link BridgeError} (and leaves the room):
   * 409 (the role is taken, the caller cannot answer offers), 503 with a retry time (the room is full, nobody
   * there to answer in time), 422 (the room peer could not apply the offer). `abort` gives up.
   */
  static async open(o: BridgeOptions, abort: AbortSignal): Promise<SessionBridge> {
    const bridge = new SessionBridge(o);
    const onAbort = (): void => void bridge.close('the client went away');
    abort.addEventListener('abort', onAbort, { once: true });
    try {
      await bridge.#setup(abort);
      return bridge;
    } catch (error) {
      await bridge.close('setup failed');
      throw error;
    } finally {
      abort.removeEventListener('abort', onAbort);
    }
  }

  async #setup(abort: AbortSignal): Promise<void> {
    const deadline = performance.now() + this.#o.answerTimeoutMs;
    let joined: Extract<SignalingEvent, { type: 'joined' }>;
    try {
      joined = await this.#signaling.connect();
    } catch (error) {
      throw refusal(error, this.#o);
    }
    const { kind, room } = this.#o;
    if (kind === 'whip') {
      // Step 2: the publisher's offer, to the viewer that waited longest, or held for the next one.
      const viewer = joined.peers.find((p) => p.role === 'answerer' && !p.offers);
      // Refused (e.g. over its client's held-bytes budget): the HTTP answer says why.
      const offer = (to?: string): Promise<boolean> =>
        this.#signaling
          .send({ type: 'offer', sdp: this.#offer, ...(to !== undefined ? { to } : {}) })
          .catch((error: unknown) => {
            throw refusal(error, this.#o);
          });
      if (viewer !== undefined) {
        this.#peer = viewer;
        await offer(viewer.id);
      } else {
        await offer();
        const took = await this.#wait(
          (e) => e.type === 'peer-joined' && e.tookOffer,
          deadline,
          abort,
          () =>
            new BridgeError(
              503,
              `no viewer joined room "${room}" within ${seconds(this.#o.answerTimeoutMs)}: start ` +
                `\`rtc-peer answer --room ${room}\` (or open the page), then publish again`,
              2,
            ),
        );
        if (took.type === 'peer-joined') this.#peer = took.peer;
      }
    } else {
      let caller = joined.peers.find((p) => p.role === 'caller');
      if (caller === undefined) {
        const came = await this.#wait(
          (e) => e.type === 'peer-joined' && e.peer.role === 'caller',
          deadline,
          abort,
          () =>
            new BridgeError(
              503,
              `room "${room}" has no camera (caller) within ${seconds(this.#o.answerTimeoutMs)}: start ` +
                `\`rtc-peer call --room ${room}\`, then watch again`,
              2,
            ),
        );
        if (came.type === 'peer-joined') caller = came.peer;
      }
      if (caller === undefined) throw new BridgeError(503, `room "${room}" has no caller`, 2);
      if (caller.protocol < 2)
        throw new BridgeError(
          409,
          `the caller of room "${room}" speaks the original protocol: it only makes offers and cannot answer ` +
            "a WHEP viewer's; run a current rtc-peer call",
        );
      this.#peer = caller;
      // Steps 1-2 the other way round: the viewer's receive-only offer goes to the caller.
      try {
        await this.#signaling.send({ type: 'offer', sdp: this.#offer, to: caller.id });
      } catch (error) {
        throw new BridgeError(
          409,
          `the caller of room "${room}" cannot take a WHEP offer: ${(error as Error).message}`,
        );
      }
    }
    this.answer = await this.#answered(deadline, abort);
    log('%s %s/%s: live with %s', kind, room, this.id, this.#peer?.id);
  }

  /** Waits for the room peer's answer, then its candidates (until its end-of-candidates, bounded). */
  async #answered(deadline: number, abort: AbortSignal): Promise<string> {
    const peer = (): string | undefined => this.#peer?.id;
    this.#candidates = [];
    this.#endOfCandidates = false;
    const answer = await this.#wait(
      (e) => from(e) !== undefined && from(e) === peer(),
      deadline,
      abort,
      () =>
        new BridgeError(
          503,
          `the ${this.#o.kind === 'whip' ? 'viewer' : 'camera'} in room "${this.#o.room}" did not answer within ` +
            `${seconds(this.#o.answerTimeoutMs)}`,
          2,
        ),
    );
    if (answer.type === 'hangup')
      throw new BridgeError(
        422,
        `the ${this.#o.kind === 'whip' ? 'viewer' : 'camera'} in room "${this.#o.room}" could not take the offer ` +
          '(its WebRTC stack refused it); check the SDP',
      );
    if (answer.type !== 'answer')
      throw new BridgeError(503, `the peer in room "${this.#o.room}" left before answering; try again`, 1);
    // Its candidates follow its answer: they go into the description the client gets.
    const until = performance.now() + this.#o.candidateWaitMs;
    await this.#wait(
      () => this.#endOfCandidates,
      until,
      abort,
      () => undefined,
    ).catch(() => undefined);
    return withCandidates(answer.sdp, this.#candidates, this.#endOfCandidates);
  }

  /**
   * A PATCH of the session: an ICE restart (new credentials) renegotiates the call with the room peer and
   * resolves with the fragment of its new credentials and candidates; trickled candidates are relayed
   * (resolves with undefined).
   */
  async patch(fragment: SdpFragment, abort: AbortSignal): Promise<string | undefined> {
    const peer = this.#peer;
    if (peer === undefined || this.#ended) throw new BridgeError(404, 'this session is over');
    const current = iceCredentials(this.#offer);
    const creds = fragment.credentials;
    if (creds !== undefined && (creds.ufrag !== current?.ufrag || creds.pwd !== current?.pwd)) {
      const run = this.#restarting.then(() => this.#restart(fragment, abort));
      this.#restarting = run.catch(() => undefined);
      return run;
    }
    for (const c of fragment.candidates) {
      const index = sectionIndex(this.#offer, c);
      await this.#signaling.send({
        type: 'candidate',
        candidate: {
          candidate: c.candidate,
          sdpMid: c.sdpMid ?? null,
          sdpMLineIndex: index ?? 0,
          usernameFragment: current?.ufrag ?? null,
        },
        to: peer.id,
      });
    }
    if (fragment.endOfCandidates)
      await this.#signaling.send({
        type: 'candidate',
        candidate: {
          candidate: '',
          sdpMid: null,
          sdpMLineIndex: 0,
          usernameFragment: current?.ufrag ?? null,
        },
        to: peer.id,
      });
    return undefined;
  }

  async #restart(fragment: SdpFragment, abort: AbortSignal): Promise<string> {
    const peer = this.#peer;
    const creds = fragment.credentials;
    if (peer === undefined || creds === undefined) throw new BridgeError(404, 'this session is over');
    const offer = withCandidates(
      withNextVersion(withIceCredentials(withoutCandidates(this.#offer), creds)),
      fragment.candidates,
      fragment.endOfCandidates,
    );
    this.#candidates = [];
    this.#endOfCandidates = false;
    try {
      await this.#signaling.send({ type: 'offer', sdp: offer, to: peer.id, renegotiate: true });
    } catch (error) {
      // An original-protocol viewer has no renegotiation: the client starts a new session instead.
      throw new BridgeError(
        422,
        `the room peer cannot restart ICE on this call (${(error as Error).message}); start a new session`,
      );
    }
    const answer = await this.#answered(performance.now() + this.#o.answerTimeoutMs, abort);
    this.#offer = offer;
    this.answer = answer;
    this.etag = newEtag();
    return buildSdpFragment(answer, this.#candidates, { endOfCandidates: this.#endOfCandidates });
  }

  /** Leaves the room (the room peer hears a bye). Idempotent. */
  close(why: string): Promise<void> {
    this.#closing ??= (async () => {
      this.#ended = true;
      log('%s %s/%s: closing (%s)', this.kind, this.room, this.id, why);
      for (const w of this.#waiters.splice(0)) w.resolve({ type: 'lost', reason: 'closed' });
      await this.#signaling.close();
      this.removeAllListeners();
    })();
    return this.#closing;
  }

  #onSignal(e: SignalingEvent): void {
    const peer = this.#peer?.id;
    if (e.type === 'candidate' && e.from === peer) {
      if (e.candidate.candidate === '') this.#endOfCandidates = true;
      else if (this.#candidates.length < 200) this.#candidates.push(e.candidate);
    }
    if (e.type === 'offer' && this.kind === 'whip') {
      // A WHEP viewer's offer to a WHIP publisher: it has no peer connection to answer with.
      void this.#signaling.send({ type: 'hangup', to: e.from }).catch(() => undefined);
    }
    for (const w of [...this.#waiters]) {
      if (!w.test(e)) continue;
      this.#waiters.splice(this.#waiters.indexOf(w), 1);
      w.resolve(e);
    }
    // The call is over once its room peer hangs up or leaves: the session ends (its client is told on its
    // next PATCH or DELETE, 404).
    const over = (e.type === 'hangup' && e.from === peer) || (e.type === 'peer-left' && e.id === peer);
    if (over && this.answer !== '' && !this.#ended) {
      this.#ended = true;
      this.emit('ended', e.type === 'hangup' ? 'the room peer hung up' : 'the room peer left');
    }
  }

  /** The next event that passes `test`, or `onTimeout()`'s error after `deadline`, or on abort. */
  #wait(
    test: (e: SignalingEvent) => boolean,
    deadline: number,
    abort: AbortSignal,
    onTimeout: () => BridgeError | undefined,
  ): Promise<SignalingEvent> {
    return new Promise((resolve, reject) => {
      // A condition that already holds (no event needed).
      if (test({ type: 'lost', reason: 'check' })) return resolve({ type: 'lost', reason: 'check' });
      const fail = (error: BridgeError | undefined): void => {
        cleanup();
        reject(error ?? new BridgeError(504, 'timed out'));
      };
      const timer = setTimeout(() => fail(onTimeout()), Math.max(0, deadline - performance.now()));
      const onAbort = (): void => fail(new BridgeError(499, 'the client went away'));
      const waiter: Waiter = {
        test: (e) => this.#ended || test(e),
        resolve: (e) => {
          cleanup();
          if (this.#ended && !test(e)) reject(new BridgeError(404, 'this session is over'));
          else resolve(e);
        },
      };
      const cleanup = (): void => {
        clearTimeout(timer);
        abort.removeEventListener('abort', onAbort);
        const i = this.#waiters.indexOf(waiter);
        if (i >= 0) this.#waiters.splice(i, 1);
      };
      abort.addEventListener('abort', onAbort, { once: true });
      this.#waiters.push(waiter);
    });
  }
}

function from(e: SignalingEvent): string | undefined {
  if (e.type === 'hangup' || e.type === 'answer') return e.from;
  if (e.type === 'peer-left') return e.id;
  return undefined;
}

function newEtag(): string {
  return `"${randomBytes(9).toString('base64url')}"`;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(ms % 1000 === 0 ? 0 : 1)} s`;
}

/** A failed join as the HTTP answer it becomes. */
function refusal(error: unknown, o: BridgeOptions): BridgeError {
  const code = error instanceof SignalError ? error.code : '';
  const message = error instanceof Error ? error.message : String(error);
  if (code === 'ROLE_TAKEN')
    return new BridgeError(
      409,
      o.kind === 'whip'
        ? `room "${o.room}" already has a caller (a camera publishing): publish to another room, or stop that one first`
        : `room "${o.room}" cannot take one more viewer: ${message}`,
    );
  // The server's limits, charged to this client's address (server-guard.ts): too many at once.
  if (/\b(TOO_MANY_CONNECTIONS|TOO_MANY_ROOMS|OVER_BUDGET|RATE_LIMITED)\b/.test(`${code} ${message}`))
    return new BridgeError(429, `room "${o.room}": ${message}`, 5);
  if (code === 'ROOM_FULL')
    return new BridgeError(
      503,
      `room "${o.room}" is full: ${message.replace(/^signaling server \S+ refused join \(ROOM_FULL\): /, '')}`,
      5,
    );
  return new BridgeError(503, `the bridge into room "${o.room}" could not join it: ${message}`, 2);
}
