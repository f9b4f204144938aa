/**
 * How a call is negotiated: the one place for it. Given a {@link Signaling} and a way to make a call's peer
 * connection, the negotiator runs the walk-through for every peer of the other side and keeps the calls
 * going:
 *
 * - caller (the camera): one call per viewer. With a signaling that holds offers (the Socket.IO room) it
 *   keeps a spare call ready whose offer the server holds for the next viewer (steps 1-2); the viewer that
 *   joins takes it, and the next spare is prepared. Viewers that were there first get offers addressed to
 *   them. Their answers are applied (step 4).
 * - answerer: answers the caller's offer on a new call (step 3), or on the same call when it is a
 *   renegotiation (an ICE restart). Over a signaling where the answerer makes the offer (a WHEP viewer:
 *   capability `answererOffers`) the roles of steps 1-4 swap: the answerer offers to the caller it finds, the
 *   caller answers; a viewer that says it makes its own offers (`offers`, a WHEP session bridged into the
 *   room) gets no offer from the caller.
 * - candidates travel as the signaling says (`offerCandidates`): trickled after the offer, or after an offer
 *   sent before gathering (so that the ICE servers its reply brings are used), or inside the offer; the end
 *   of them is said to peers that want it (`endOfCandidates`).
 * - a call its owner ends, or that failed, is hung up with its peer (`hangup`), which stays where it is.
 * - ICE restarts (the caller makes them, so the two sides never offer at once): when a call's connection
 *   failed, or stayed disconnected for a moment, or a side rejoined the signaling (its network changed), or
 *   `restartAll()` is called (our addresses changed). The call, its tracks, stats and recording go on.
 *
 * Portable: it only uses the standard RTCPeerConnection API, so Node (with @roamhq/wrtc) and the browser
 * page share it. Candidates that come before their remote description are kept (bounded) and applied after.
 *
 * @example
 * const negotiator = new Negotiator({ signaling, createCall: (peer) => new Call(...) });
 * negotiator.on('call', (call, peer) => console.log('in a call with', peer.id));
 * negotiator.on('ended', (call, reason) => void call.close(reason));
 * await negotiator.start();
 */
import { SignalError } from '../errors.js';
import { logger } from '../util/log.js';
import { SessionDescriptions } from './descriptions.js';
import { withStartBitrate, withoutRtx } from './sdp.js';
import { TypedEmitter } from '../util/typed-emitter.js';
import type { RemotePeer, Signaling, SignalingEvent } from '../signal/signaling.js';
import type { IceCandidateMessage } from '../signal/types.js';
import { mergeIceServers, type IceServer } from '../signal/whip/link-header.js';

const log = logger('negotiator');

/** What the negotiator needs of a call: its peer connection. */
export interface NegotiatedCall {
  readonly pc: RTCPeerConnection;
}

/** Why the negotiator ended a call. */
export type NegotiationEnd =
  | 'peer-hangup' // the other side said bye, or hung up this call
  | 'replaced' // a new call from the same caller (a new offer, not a renegotiation)
  | 'error'; // the offer or answer could not be made or applied

/** Options of a {@link Negotiator}. Defaults live in {@link NEGOTIATOR_DEFAULTS}. */
export interface NegotiatorOptions<C extends NegotiatedCall> {
  /** What carries the offers. Required. */
  signaling: Signaling;
  /**
   * Makes a new call: a peer connection with our tracks added (and, where we send nothing, receive-only
   * transceivers for what we want to receive). `peer` is undefined for the caller's spare call. Required.
   */
  createCall(peer: RemotePeer | undefined): C;
  /** Caller: keep a spare call ready for the next viewer. Default true (false: serve only who is there). */
  spare?: boolean;
  /** Caller: how long a call may stay `disconnected` before an ICE restart, ms. Default 2000. */
  restartAfterMs?: number;
  /** Caller: a restart that did not bring the call back is tried again after this, ms (doubling). Default 4000. */
  restartRetryMs?: number;
  /** Candidates kept per call until its remote description is set. Default 200. */
  maxPendingCandidates?: number;
  /** Bound on gathering before an offer that carries its candidates (`offerCandidates: 'in-offer'`), ms. Default 3000. */
  gatherTimeoutMs?: number;
  /**
   * Negotiate RTX (retransmissions on a stream of their own). Default false: NACK alone, which keeps 30 fps
   * under heavy random loss where RTX lets the bandwidth estimate collapse (see peer/sdp.ts).
   */
  rtx?: boolean;
  /**
   * Where libwebrtc's bandwidth estimate for the video we send starts, kbit/s (`x-google-start-bitrate` in the
   * remote description, see peer/sdp.ts). Default 1000; 0: libwebrtc's own (300, and its start-up probes).
   */
  startBitrateKbps?: number;
}

/** Defaults of {@link NegotiatorOptions}. */
export const NEGOTIATOR_DEFAULTS = {
  spare: true,
  restartAfterMs: 2000,
  restartRetryMs: 4000,
  maxPendingCandidates: 200,
  gatherTimeoutMs: 3000,
  rtx: false,
  startBitrateKbps: 1000,
} as const;

/** Steps of the walk-through, as they happen (for what a user sees). */
export type NegotiationStep =
  'offer-held' | 'offer-sent' | 'offer-received' | 'answer-sent' | 'answer-received';

/** Events of a {@link Negotiator}. */
export type NegotiatorEvents<C> = {
  /** A call now belongs to a peer: the spare was taken, an offer was made to a viewer, an offer came. */
  call: [call: C, peer: RemotePeer];
  /** A negotiation step of a call (the spare's: `offer-held`). */
  step: [call: C, step: NegotiationStep];
  /** The negotiator is done with a call: close it. */
  ended: [call: C, reason: NegotiationEnd];
  /** The peer of a call left the signaling without a bye (crashed, or its network went): it may come back. */
  'peer-gone': [call: C];
  /** The peer of a call is back on the signaling (`inCall`): the call restarts if needed. */
  'peer-back': [call: C];
  /** An ICE restart of a call began: ours (the caller's), or the caller's offer for it came (answerer). */
  restart: [call: C, why: string];
  /** The signaling connection is lost (it reconnects by itself; the calls go on peer to peer). */
  'signal-lost': [reason: string];
  /** Back on the signaling server; `resent`: messages sent again (the held offer and its candidates). */
  'signal-rejoined': [resent: number];
  /** Something the user should know that does not end anything. */
  warning: [message: string];
};

type ResolvedOptions<C extends NegotiatedCall> = Required<
  Omit<NegotiatorOptions<C>, 'signaling' | 'createCall'>
> &
  Pick<NegotiatorOptions<C>, 'signaling' | 'createCall'>;

interface Entry<C extends NegotiatedCall> {
  call: C;
  /** The peer it belongs to; undefined while it is the spare. */
  peer: RemotePeer | undefined;
  /** Who offered: we (the caller's calls, a WHEP viewer's) or they (an answerer's call, or a viewer that offers). */
  weOffer: boolean;
  /** Our current offer carries our candidates inside: none is sent after it. */
  candidatesInOffer: boolean;
  /** Negotiation operations of this call run one at a time, in order. */
  ops: Promise<void>;
  pending: IceCandidateMessage[];
  droppedCandidates: number;
  disconnectedAt: number;
  restartTimer: ReturnType<typeof setTimeout> | undefined;
  restarts: number;
  /**
   * Our offer that waits for its answer: when it went, and whether it reached the peer. A second offer made
   * before that answer comes would get it (answers carry nothing that says which offer they answer), and a
   * restart applied to the wrong answer never connects: so a restart waits for a delivered offer's answer.
   */
  outstanding: { at: number; delivered: boolean } | undefined;
  /** A restart is queued behind the call's other operations and not made yet. */
  restartQueued: boolean;
  /** The ICE generation (our ufrag) whose end of candidates we said. */
  endSaidFor: string | undefined;
  removeListeners: () => void;
}

/**
 * The negotiation rules of one peer (caller or answerer) over one signaling. See the module comment.
 */
export class Negotiator<C extends NegotiatedCall> extends TypedEmitter<NegotiatorEvents<C>> {
  readonly #o: ResolvedOptions<C>;
  readonly #entries = new Map<C, Entry<C>>();
  /** Each call's own ICE servers, before the signaling's were added (those are replaced when they change). */
  readonly #ownIceServers = new WeakMap<RTCPeerConnection, IceServer[]>();
  /** The peers of the other side there now, by id. */
  readonly #present = new Map<string, RemotePeer>();
  #spare: Entry<C> | undefined;
  #spareWanted: boolean;
  #closed = false;
  readonly #onSignal = (event: SignalingEvent): void => this.#handle(event);

  constructor(options: NegotiatorOptions<C>) {
    super();
    const defined = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
    this.#o = { ...NEGOTIATOR_DEFAULTS, ...defined } as ResolvedOptions<C>;
    this.#spareWanted = this.#o.spare;
  }

  /** Our role. */
  get role(): 'caller' | 'answerer' {
    return this.#o.signaling.role;
  }

  /** The calls that belong to a peer now (not the spare). */
  get calls(): C[] {
    return [...this.#entries.values()].filter((e) => e.peer !== undefined).map((e) => e.call);
  }

  /** The peer a call belongs to. */
  peerOf(call: C): RemotePeer | undefined {
    return this.#entries.get(call)?.peer;
  }

  /** Joins through the signaling; the negotiation then runs on the signaling's events. */
  async start(): Promise<void> {
    this.#o.signaling.on('signal', this.#onSignal);
    await this.#o.signaling.connect();
  }

  /**
   * Stops keeping a spare call (`--once` after the first viewer), or starts again. The spare already held
   * stays held until taken.
   */
  setSpare(wanted: boolean): void {
    this.#spareWanted = wanted;
    if (wanted) this.#ensureSpare();
  }

  /**
   * Forgets a call its owner ended (its duration, a vanished peer, ICE that did not come back): no more
   * restarts, its late messages are ignored. With `reoffer`, a caller whose viewer is still in the room
   * makes it a new call (as a protocol-1 caller makes a fresh offer after a call).
   */
  end(call: C, options: { reoffer?: boolean } = {}): void {
    const entry = this.#entries.get(call);
    const peer = entry?.peer;
    this.forget(call);
    if (peer === undefined || this.#closed) return;
    const present = this.#present.get(peer.id);
    if (options.reoffer && this.#offering() && present !== undefined && !present.offers) {
      this.#offerTo(present);
      return;
    }
    // Over: the peer stays where it is, and hears that this call is over.
    this.#hangup(peer);
  }

  /**
   * Offers a new call to peer `id` of the other side, which is there and has no call with us: a WHIP/WHEP
   * server, after a session ended or could not be made (the server stays "there": its endpoint does).
   * Returns false, and does nothing, when there is no such peer, it makes its own offers, or we do not offer.
   */
  offerAgain(id: string): boolean {
    const peer = this.#present.get(id);
    if (this.#closed || !this.#offering() || peer === undefined || peer.offers) return false;
    if (this.#byPeer(id) !== undefined) return false;
    this.#offerTo(peer);
    return true;
  }

  /** Remote candidates of `call` dropped because too many came before its remote description. */
  droppedCandidates(call: C): number {
    return this.#entries.get(call)?.droppedCandidates ?? 0;
  }

  /** Forgets a call (its owner closes it): no more restarts, its late messages are ignored. */
  forget(call: C): void {
    const entry = this.#entries.get(call);
    if (entry === undefined) return;
    clearTimeout(entry.restartTimer);
    entry.removeListeners();
    this.#entries.delete(call);
    if (this.#spare === entry) this.#spare = undefined;
    this.#updateInCall();
  }

  /** Restarts ICE on every call we offered (our network addresses changed). */
  restartAll(why: string): void {
    for (const entry of this.#entries.values()) if (entry.peer !== undefined) this.#restart(entry, why);
    // The spare's candidates name the old addresses: a new spare for the next viewer.
    if (this.#spare !== undefined && this.role === 'caller') this.#replaceSpare();
  }

  /**
   * Makes the offer held for the next viewer again (our addresses changed: its candidates name the old
   * ones). The calls are left alone: `restartAll` restarts them too.
   */
  renewSpare(): void {
    if (this.#spare !== undefined && this.role === 'caller') this.#replaceSpare();
  }

  /** Stops: no more events. Calls are the owner's to close. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#o.signaling.off('signal', this.#onSignal);
    for (const entry of this.#entries.values()) {
      clearTimeout(entry.restartTimer);
      entry.removeListeners();
    }
    this.#entries.clear();
    this.#spare = undefined;
    this.removeAllListeners();
  }

  /** We make the offers: the caller, or an answerer over a signaling where the answerer offers (WHEP). */
  #offering(): boolean {
    return this.role === 'caller' || this.#o.signaling.capabilities.answererOffers === true;
  }

  #handle(event: SignalingEvent): void {
    if (this.#closed) return;
    switch (event.type) {
      case 'joined':
        if (event.rejoined) this.emit('signal-rejoined', event.resent);
        this.#onJoined(event.peers, event.rejoined);
        return;
      case 'peer-joined':
        if (event.peer.role !== this.role) this.#present.set(event.peer.id, event.peer);
        this.#onPeerJoined(event.peer, event.tookOffer);
        return;
      case 'held-expired':
        // The server's lease on the held offer ran out: a fresh spare (new offer, new candidates) for the
        // next viewer, so that it still finds an offer waiting.
        log('the held offer expired: a new one');
        this.renewSpare();
        return;
      case 'hangup': {
        const entry = this.#byPeer(event.from) ?? (this.role === 'answerer' ? this.#only() : undefined);
        if (entry !== undefined) this.#end(entry, 'peer-hangup', false);
        return;
      }
      case 'peer-left': {
        this.#present.delete(event.id);
        const entry = this.#byPeer(event.id) ?? (this.role === 'answerer' ? this.#only() : undefined);
        if (entry === undefined) return;
        if (event.reason === 'bye') this.#end(entry, 'peer-hangup');
        else this.emit('peer-gone', entry.call);
        return;
      }
      case 'offer':
        this.#onOffer(event.from, event.sdp, event.renegotiate);
        return;
      case 'answer': {
        const entry = this.#byPeer(event.from) ?? (this.role === 'caller' ? undefined : this.#only());
        if (entry === undefined) return void log('answer from %s: no call with it', event.from);
        this.#enqueue(entry, async () => {
          const pc = entry.call.pc;
          if (pc.signalingState !== 'have-local-offer') {
            log('answer from %s ignored in state %s', event.from, pc.signalingState);
            return;
          }
          await SessionDescriptions.of(pc).setRemote({ type: 'answer', sdp: this.#remote(event.sdp) });
          entry.outstanding = undefined;
          this.emit('step', entry.call, 'answer-received'); // step 4
          await this.#flush(entry);
        });
        return;
      }
      case 'candidate': {
        const entry = this.#byPeer(event.from) ?? (this.role === 'answerer' ? this.#only() : undefined);
        if (entry !== undefined) this.#addCandidate(entry, event.candidate);
        return;
      }
      case 'lost':
        this.emit('signal-lost', event.reason);
        return;
      case 'error':
        this.emit('warning', `signaling: ${event.code}: ${event.message}`);
        return;
    }
  }

  /** Joined (or rejoined): offers for the viewers that are there, a spare for the next; restarts after a rejoin. */
  #onJoined(peers: RemotePeer[], rejoined: boolean): void {
    this.#present.clear();
    for (const peer of peers) if (peer.role !== this.role) this.#present.set(peer.id, peer);
    if (!this.#offering()) return;
    for (const peer of this.#present.values()) {
      const entry = this.#byPeer(peer.id);
      // Our own connection dropped: our network may have changed; restart what we had. A viewer we have no
      // call with (it waited for us, or its call was with an earlier caller) gets an offer of its own, unless
      // it makes its own.
      if (entry !== undefined) {
        if (rejoined) this.#restart(entry, 'rejoined the signaling server');
      } else if (!peer.offers) this.#offerTo(peer);
    }
    this.#ensureSpare();
  }

  #onPeerJoined(peer: RemotePeer, tookOffer: boolean): void {
    if (!this.#offering()) return;
    const existing = this.#byPeer(peer.id);
    if (peer.offers) {
      // It makes its own offer (a WHEP session): wait for it.
      if (existing !== undefined && !peer.inCall) this.#end(existing, 'replaced');
      else if (existing !== undefined) this.emit('peer-back', existing.call);
      return;
    }
    if (tookOffer && this.#spare !== undefined) {
      // Steps 2-3: the viewer took the held offer; the spare call is now its call.
      const entry = this.#spare;
      this.#spare = undefined;
      if (existing !== undefined) this.#end(existing, 'replaced');
      entry.peer = peer;
      // Its answer is coming now.
      if (entry.outstanding !== undefined) entry.outstanding.at = performance.now();
      this.#updateInCall();
      this.emit('call', entry.call, peer);
      this.#ensureSpare();
      return;
    }
    if (existing !== undefined && peer.inCall) {
      // It rejoined (its signaling dropped: usually its network changed): same call, new path.
      this.emit('peer-back', existing.call);
      this.#restart(existing, 'the viewer rejoined');
      return;
    }
    if (existing !== undefined) this.#end(existing, 'replaced');
    this.#offerTo(peer);
    if (tookOffer) this.#ensureSpare();
  }

  #onOffer(from: string, sdp: string, renegotiate: boolean): void {
    const existing = this.#byPeer(from) ?? (this.role === 'answerer' ? this.#only() : undefined);
    if (renegotiate && existing !== undefined) {
      // The same call, renegotiated (an ICE restart): applied to the same peer connection.
      if (existing.peer !== undefined && existing.peer.id !== from)
        existing.peer = { ...existing.peer, id: from };
      // New ICE credentials: the caller restarted ICE (what rtc-peer renegotiates for).
      const ufrag = (d: string | undefined): string | undefined => /^a=ice-ufrag:(\S+)/m.exec(d ?? '')?.[1];
      if (ufrag(sdp) !== SessionDescriptions.of(existing.call.pc).remoteUfrag)
        this.emit('restart', existing.call, 'the caller restarted ICE');
      // Its gathering uses the ICE servers of our last join (renewed TURN credentials).
      this.#applyIceServers(existing.call.pc);
      this.#enqueue(existing, () =>
        this.#answer(existing, sdp).catch((error: unknown) => {
          // The answer to a renegotiation not sent (the signaling is down): the call goes on; the caller
          // restarts again.
          if (!(error instanceof SignalError)) throw error;
          log('answer to the restart of %s not sent: %s', from, error.message);
        }),
      );
      return;
    }
    // A new call: it replaces the one we had with this caller.
    if (existing !== undefined) this.#end(existing, 'replaced');
    const peer: RemotePeer = this.#present.get(from) ?? {
      id: from,
      role: this.role === 'caller' ? 'answerer' : 'caller',
      protocol: 2,
      inCall: false,
    };
    const entry = this.#add(this.#o.createCall(peer), peer, false);
    this.emit('call', entry.call, peer);
    this.emit('step', entry.call, 'offer-received');
    this.#applyIceServers(entry.call.pc);
    this.#enqueue(entry, () => this.#answer(entry, sdp));
  }

  /** Step 3: the offer as remote description, then the answer, as local description, sent. */
  async #answer(entry: Entry<C>, sdp: string): Promise<void> {
    const pc = entry.call.pc;
    const descriptions = SessionDescriptions.of(pc);
    await descriptions.setRemote({ type: 'offer', sdp: this.#remote(sdp) });
    await this.#flush(entry);
    const answer = await pc.createAnswer();
    await descriptions.setLocal({ type: 'answer', sdp: this.#edit(answer.sdp ?? '') });
    // As set: our candidates follow it (trickle ICE).
    await this.#send(entry, { type: 'answer', sdp: localSdp(pc) });
    this.emit('step', entry.call, 'answer-sent');
  }

  /** Steps 1-2 for a viewer already there: a new call and an offer addressed to it. */
  #offerTo(peer: RemotePeer): void {
    const entry = this.#add(this.#o.createCall(peer), peer, true);
    this.emit('call', entry.call, peer);
    this.#enqueue(entry, async () => {
      await this.#makeOffer(entry, false);
      this.emit('step', entry.call, 'offer-sent');
    });
  }

  /** Steps 1-2 for the next viewer: a spare call whose offer the server holds. */
  #ensureSpare(): void {
    if (this.role !== 'caller' || !this.#spareWanted || this.#spare !== undefined || this.#closed) return;
    if (!this.#o.signaling.capabilities.holdsOffers) return;
    const entry = this.#add(this.#o.createCall(undefined), undefined, true);
    this.#spare = entry;
    this.#enqueue(entry, async () => {
      // Taken before it was even sent (a peer-joined with tookOffer for the previous spare came first)?
      // Then it goes as an addressed offer; else it is held.
      await this.#makeOffer(entry, false);
      this.emit('step', entry.call, entry.peer === undefined ? 'offer-held' : 'offer-sent');
    });
  }

  /** A new spare (the old one's candidates are stale): the old one is dropped. */
  #replaceSpare(): void {
    const old = this.#spare;
    if (old === undefined) return;
    this.#spare = undefined;
    this.#end(old, 'replaced');
    this.#ensureSpare();
  }

  /** An ICE restart of a call we offered, on the same peer connection (protocol-2 peers only). */
  #restart(entry: Entry<C>, why: string): void {
    const peer = entry.peer;
    if (!entry.weOffer || peer === undefined || this.#closed) return;
    if (peer.protocol < 2) {
      // A protocol-1 peer has no renegotiation: only a new call would do, which its side records anew.
      log('no restart for protocol-1 peer %s (%s)', peer.id, why);
      return;
    }
    clearTimeout(entry.restartTimer);
    if (this.#answerComing(entry) || entry.restartQueued) {
      // An offer of ours is on its way and will be answered, or a restart is about to be made: that exchange
      // is the restart (its answer brings the peer's candidates of now); if it does not bring the call back,
      // the retry restarts again.
      log('restart with %s (%s) left to the offer on its way', peer.id, why);
      this.#scheduleRetry(entry);
      return;
    }
    entry.restarts++;
    entry.restartQueued = true;
    log('restarting ICE with %s (%s), restart %d', peer.id, why, entry.restarts);
    this.emit('restart', entry.call, why);
    this.#enqueue(entry, async () => {
      entry.restartQueued = false;
      const pc = entry.call.pc;
      if (pc.signalingState === 'closed') return;
      // An offer made meanwhile (queued before this restart) is on its way: it is the restart.
      if (this.#answerComing(entry)) return;
      // A restart while an earlier offer waits for its answer: roll back to stable first.
      if (pc.signalingState === 'have-local-offer')
        await SessionDescriptions.of(pc).setLocal({ type: 'rollback' });
      try {
        await this.#makeOffer(entry, true);
      } catch (error) {
        // Not sent (the signaling is down too: a blackout, a network change): the call is not over, its media
        // may come back by itself; the retry restarts again.
        if (!(error instanceof SignalError)) throw error;
        log('restart offer to %s not sent: %s', peer.id, error.message);
      }
    });
    this.#scheduleRetry(entry);
  }

  /** Whether an offer of ours reached the peer a moment ago and its answer is still to come. */
  #answerComing(entry: Entry<C>): boolean {
    const out = entry.outstanding;
    return out !== undefined && out.delivered && performance.now() - out.at < this.#o.restartAfterMs;
  }

  /** If the call does not come back, a restart again later (doubling), as long as it stays down. */
  #scheduleRetry(entry: Entry<C>): void {
    clearTimeout(entry.restartTimer);
    const retry = this.#o.restartRetryMs * 2 ** Math.min(4, Math.max(0, entry.restarts - 1));
    entry.restartTimer = setTimeout(() => {
      const state = entry.call.pc.connectionState;
      if (this.#entries.has(entry.call) && (state === 'disconnected' || state === 'failed'))
        this.#restart(entry, `still ${state} after the restart`);
    }, retry);
  }

  /**
   * Steps 1-2: an offer made, set as local description and sent, in the order the signaling's candidates want
   * (`offerCandidates`, see signal/signaling.ts).
   */
  async #makeOffer(entry: Entry<C>, restart: boolean): Promise<void> {
    const pc = entry.call.pc;
    const mode = this.#o.signaling.capabilities.offerCandidates ?? 'trickle';
    const renegotiate = restart ? { renegotiate: true } : {};
    entry.candidatesInOffer = mode === 'in-offer';
    const offer = this.#editOffer(await pc.createOffer(restart ? { iceRestart: true } : undefined));
    if (mode === 'after-offer') {
      // Sent before gathering starts: the ICE servers its reply brings are used (RFC 9725 section 4.6).
      await this.#sendOffer(entry, { type: 'offer', sdp: offer.sdp ?? '', ...renegotiate });
      this.#applyIceServers(pc);
      await SessionDescriptions.of(pc).setLocal(offer);
      return;
    }
    this.#applyIceServers(pc);
    const descriptions = SessionDescriptions.of(pc);
    await descriptions.setLocal(offer);
    if (mode === 'trickle')
      return void (await this.#sendOffer(entry, { type: 'offer', sdp: localSdp(pc), ...renegotiate }));
    // In the offer: what was gathered when gathering ended, or by the timeout.
    const complete = await gatheringComplete(pc, this.#o.gatherTimeoutMs);
    const sdp = descriptions.localWithCandidates(complete);
    await this.#sendOffer(entry, { type: 'offer', sdp, ...renegotiate });
  }

  /**
   * Adds the ICE servers the signaling learnt (a WHIP server's `Link` headers, a join ack's TURN server) to the
   * call's own, replacing those it added before: credentials renewed at a rejoin take the place of the expired
   * ones for the next gathering (an ICE restart).
   */
  #applyIceServers(pc: RTCPeerConnection): void {
    const extra = this.#o.signaling.iceServers;
    if (extra === undefined || extra.length === 0) return;
    const config = pc.getConfiguration();
    const current = (config.iceServers ?? []).map(normalizeIceServer);
    let own = this.#ownIceServers.get(pc);
    if (own === undefined) {
      own = current;
      this.#ownIceServers.set(pc, own);
    }
    const merged = mergeIceServers(own, extra.map(normalizeIceServer));
    if (sameIceServers(merged, current)) return;
    try {
      pc.setConfiguration({ ...config, iceServers: merged });
      log('ICE servers from the signaling added: %s', merged.map((s) => s.urls.join(' ')).join(', '));
    } catch (error) {
      this.emit('warning', `the ICE servers the server gave cannot be used: ${errorMessage(error)}`);
    }
  }

  /** Tells a peer still there that our call with it is over (protocol-2 peers: the others have no such message). */
  #hangup(peer: RemotePeer): void {
    if (peer.protocol < 2 || !this.#present.has(peer.id)) return;
    this.#o.signaling
      .send({ type: 'hangup', to: peer.id })
      .catch((error: unknown) => log('hangup to %s not sent: %s', peer.id, errorMessage(error)));
  }

  #add(call: C, peer: RemotePeer | undefined, weOffer: boolean): Entry<C> {
    const pc = call.pc;
    const entry: Entry<C> = {
      call,
      peer,
      weOffer,
      candidatesInOffer: false,
      ops: Promise.resolve(),
      pending: [],
      droppedCandidates: 0,
      disconnectedAt: 0,
      restartTimer: undefined,
      restarts: 0,
      outstanding: undefined,
      restartQueued: false,
      endSaidFor: undefined,
      removeListeners: () => undefined,
    };
    // Steps 1-3: our candidates go up as they come (trickle ICE); the spare's without `to`, held with it.
    const onCandidate = (event: RTCPeerConnectionIceEvent): void => {
      if (entry.candidatesInOffer) return; // they went inside the offer
      const c = event.candidate;
      // The final null candidate is not our end of candidates: wrtc dispatches its events late, and one it
      // queued when a gathering started (before its candidates) can be read when the state is already
      // 'complete' (seen on a busy machine: the end sent before the candidates). sayEnd (below) judges.
      if (!c) {
        sayEnd();
        return;
      }
      if (!c.candidate) return; // a generation's end, in some browsers: the final null says it for all
      const candidate: IceCandidateMessage = {
        candidate: c.candidate,
        sdpMid: c.sdpMid,
        sdpMLineIndex: c.sdpMLineIndex,
        usernameFragment: c.usernameFragment,
      };
      void this.#send(entry, { type: 'candidate', candidate }).catch((error: unknown) =>
        log('a local candidate could not be sent: %s', String(error)),
      );
      sayEnd();
    };
    // Gathering is complete: said to a peer that wants to know (it builds a description with them all), once
    // per ICE generation and after every candidate of it. wrtc dispatches its events late and we read its
    // state live, so the state says 'complete' while candidates may still wait in its queue: the end goes
    // when every candidate gathered has gone (seen: the end sent before the candidates), by the stats.
    const descriptions = SessionDescriptions.of(pc);
    const sayEnd = (): void => {
      if (entry.candidatesInOffer || pc.iceGatheringState !== 'complete') return;
      const ufrag = descriptions.localUfrag;
      if (ufrag === undefined || entry.endSaidFor === ufrag || this.#endOfCandidates(entry) === undefined)
        return;
      void descriptions.caughtUp().then(
        (all) => {
          // Each later candidate event asks again.
          if (!all || entry.endSaidFor === ufrag || descriptions.localUfrag !== ufrag) return;
          const marker = this.#endOfCandidates(entry);
          if (marker === undefined || !this.#entries.has(entry.call)) return;
          entry.endSaidFor = ufrag;
          void this.#send(entry, { type: 'candidate', candidate: marker }).catch((error: unknown) =>
            log('the end of candidates could not be sent: %s', String(error)),
          );
        },
        (error: unknown) => log('stats for the end of candidates failed: %s', String(error)),
      );
    };
    const onGathering = (): void => sayEnd();
    const onState = (): void => this.#onConnectionState(entry);
    pc.addEventListener('icecandidate', onCandidate);
    pc.addEventListener('icegatheringstatechange', onGathering);
    pc.addEventListener('connectionstatechange', onState);
    entry.removeListeners = () => {
      pc.removeEventListener('icecandidate', onCandidate);
      pc.removeEventListener('icegatheringstatechange', onGathering);
      pc.removeEventListener('connectionstatechange', onState);
    };
    this.#entries.set(call, entry);
    this.#updateInCall();
    return entry;
  }

  #onConnectionState(entry: Entry<C>): void {
    const state = entry.call.pc.connectionState;
    if (state === 'connected') {
      entry.disconnectedAt = 0;
      clearTimeout(entry.restartTimer);
      entry.restartTimer = undefined;
      return;
    }
    if (state === 'failed') {
      this.#restart(entry, 'the connection failed');
      return;
    }
    if (state === 'disconnected' && entry.disconnectedAt === 0) {
      // Once per disconnection: a blackout that lasts gets one restart now and a few later, not a storm.
      entry.disconnectedAt = performance.now();
      clearTimeout(entry.restartTimer);
      entry.restartTimer = setTimeout(() => {
        if (entry.call.pc.connectionState === 'disconnected')
          this.#restart(entry, `disconnected for ${this.#o.restartAfterMs} ms`);
      }, this.#o.restartAfterMs);
    }
  }

  /** Sends an offer of a call, and notes it as waiting for its answer. */
  async #sendOffer(
    entry: Entry<C>,
    message: { type: 'offer'; sdp: string; renegotiate?: boolean },
  ): Promise<void> {
    const delivered = await this.#send(entry, message);
    // When it reached the server, which may be long after it went (a blackout holds it in TCP, and then the
    // peer gets it late); held for the next viewer: delivered when one takes it.
    entry.outstanding = { at: performance.now(), delivered: delivered || entry.peer === undefined };
  }

  /** Sends a message of a call: to its peer, or, for the spare, held (no `to`). */
  async #send(
    entry: Entry<C>,
    message:
      | { type: 'offer'; sdp: string; renegotiate?: boolean }
      | { type: 'answer'; sdp: string }
      | { type: 'candidate'; candidate: IceCandidateMessage },
  ): Promise<boolean> {
    if (!this.#entries.has(entry.call)) return false;
    const to = entry.peer?.id;
    return this.#o.signaling.send(to === undefined ? message : { ...message, to });
  }

  /** The end-of-candidates marker for a call's current ICE generation, if its peer wants one. */
  #endOfCandidates(entry: Entry<C>): IceCandidateMessage | undefined {
    const peer = entry.peer;
    if (this.#o.signaling.capabilities.endOfCandidates !== true || peer === undefined || peer.protocol < 2)
      return undefined;
    const sdp = SessionDescriptions.of(entry.call.pc).local ?? '';
    return {
      candidate: '',
      sdpMid: /^a=mid:(\S+)/m.exec(sdp)?.[1] ?? null,
      sdpMLineIndex: 0,
      usernameFragment: /^a=ice-ufrag:(\S+)/m.exec(sdp)?.[1] ?? null,
    };
  }

  #addCandidate(entry: Entry<C>, candidate: IceCandidateMessage): void {
    // The other side's end of candidates: nothing for our stack to do (libwebrtc M106 refuses the marker).
    if (candidate.candidate === '') return;
    this.#enqueue(entry, async () => {
      if (SessionDescriptions.of(entry.call.pc).remote === undefined) {
        if (entry.pending.length >= this.#o.maxPendingCandidates) entry.droppedCandidates++;
        else entry.pending.push(candidate);
        return;
      }
      await addIceCandidate(entry.call.pc, candidate);
    });
  }

  async #flush(entry: Entry<C>): Promise<void> {
    const pending = entry.pending.splice(0);
    for (const candidate of pending) await addIceCandidate(entry.call.pc, candidate);
  }

  #end(entry: Entry<C>, reason: NegotiationEnd, tellPeer = reason === 'error'): void {
    if (!this.#entries.has(entry.call)) return;
    this.forget(entry.call);
    if (tellPeer && entry.peer !== undefined) this.#hangup(entry.peer);
    this.emit('ended', entry.call, reason);
  }

  #enqueue(entry: Entry<C>, op: () => Promise<void>): void {
    const run = entry.ops.then(() => (this.#entries.has(entry.call) ? op() : undefined));
    entry.ops = run.catch((error: unknown) => {
      if (!this.#entries.has(entry.call)) return;
      this.emit(
        'warning',
        `negotiation with ${entry.peer?.id ?? 'the next viewer'} failed: ${errorMessage(error)}`,
      );
      this.#end(entry, 'error');
    });
  }

  /** The SDP as we negotiate it (without RTX unless asked for). */
  #edit(sdp: string): string {
    return this.#o.rtx ? sdp : withoutRtx(sdp);
  }

  /** A remote description as we set it: edited, and with our start bitrate (read from there by libwebrtc). */
  #remote(sdp: string): string {
    return withStartBitrate(this.#edit(sdp), this.#o.startBitrateKbps);
  }

  #editOffer(offer: RTCSessionDescriptionInit): RTCSessionDescriptionInit {
    return { type: 'offer', sdp: this.#edit(offer.sdp ?? '') };
  }

  #byPeer(id: string): Entry<C> | undefined {
    for (const entry of this.#entries.values()) if (entry.peer?.id === id) return entry;
    return undefined;
  }

  /** The answerer's one call, whoever the caller is now (a protocol-1 caller's id changes when it rejoins). */
  #only(): Entry<C> | undefined {
    for (const entry of this.#entries.values()) if (entry.peer !== undefined) return entry;
    return undefined;
  }

  #updateInCall(): void {
    this.#o.signaling.setInCall(this.calls.length > 0);
  }
}

/**
 * Resolves when the connection's gathering is complete and each candidate it gathered has come as an event
 * (true), or after `ms` (false): what was gathered by then goes.
 */
async function gatheringComplete(pc: RTCPeerConnection, ms: number): Promise<boolean> {
  const deadline = performance.now() + ms;
  if (pc.iceGatheringState !== 'complete') {
    const complete = await new Promise<boolean>((resolve) => {
      const done = (): void => {
        if (pc.iceGatheringState !== 'complete') return;
        clearTimeout(timer);
        pc.removeEventListener('icegatheringstatechange', done);
        resolve(true);
      };
      const timer = setTimeout(() => {
        pc.removeEventListener('icegatheringstatechange', done);
        resolve(false);
      }, ms);
      pc.addEventListener('icegatheringstatechange', done);
    });
    if (!complete) {
      log('gathering not complete after %d ms: offering the candidates we have', ms);
      return false;
    }
  }
  // The state is read live, the events come later (see SessionDescriptions.caughtUp).
  const descriptions = SessionDescriptions.of(pc);
  while (!(await descriptions.caughtUp())) {
    if (performance.now() >= deadline) {
      log('candidate events still missing after %d ms: offering the candidates we have', ms);
      return false;
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return true;
}

function sameIceServers(a: readonly IceServer[], b: readonly IceServer[]): boolean {
  const key = (list: readonly IceServer[]): string =>
    JSON.stringify(list.map((s) => [s.urls, s.username ?? '', s.credential ?? '']));
  return key(a) === key(b);
}

function normalizeIceServer(s: RTCIceServer): IceServer {
  const server: IceServer = { urls: typeof s.urls === 'string' ? [s.urls] : [...s.urls] };
  if (s.username !== undefined) server.username = s.username;
  if (typeof s.credential === 'string') server.credential = s.credential;
  return server;
}

async function addIceCandidate(pc: RTCPeerConnection, candidate: IceCandidateMessage): Promise<void> {
  try {
    await SessionDescriptions.of(pc).addRemoteCandidate(candidate);
  } catch (error) {
    // A candidate the stack cannot use (e.g. an address family we lack) is not fatal to the call.
    log('candidate rejected (%s): %s', candidate.candidate, errorMessage(error));
  }
}

/** The local description as we set it (see SessionDescriptions: never read from the peer connection). */
function localSdp(pc: RTCPeerConnection): string {
  const sdp = SessionDescriptions.of(pc).local;
  if (!sdp) throw new Error('the peer connection produced no local description');
  return sdp;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
