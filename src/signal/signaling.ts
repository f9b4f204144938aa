/**
 * The signaling seam: what a peer needs from whatever carries its offers, answers and candidates. The
 * Socket.IO room (room-signaling.ts) is one implementation; WHIP and WHEP clients, or your own signaling (a
 * CI job testing a video app with its own server), are others. The negotiation rules (peer/negotiator.ts)
 * only ever talk to this interface, as aiortc's peers only talk to its `contrib/signaling.py` objects.
 *
 * Everything a signaling reports comes as one event, `signal`, carrying a {@link SignalingEvent}: one
 * mechanism, in order.
 *
 * @example
 * const signaling: Signaling = new RoomSignaling({ url, room: 'lab', role: 'answerer' });
 * signaling.on('signal', (e) => { if (e.type === 'offer') void answer(e.from, e.sdp); });
 * const joined = await signaling.connect();
 */
import type { TypedEmitter } from '../util/typed-emitter.js';
import type { IceCandidateMessage, LeaveReason, Role } from './types.js';

/** A member of the other side, as the signaling reports it. */
export interface RemotePeer {
  /** Its id: what `to` names and `from` says. */
  id: string;
  role: Role;
  /** 1: an original-protocol peer (no renegotiation, one call at a time); 2: the current one. */
  protocol: number;
  /** It said it is in a call already when it (re)joined. */
  inCall: boolean;
  /**
   * It makes its own offers (a WHEP viewer bridged into the room): the caller does not offer to it, it waits
   * for its offer and answers it.
   */
  offers?: boolean;
}

/** What a signaling reports, in the order it happened. */
export type SignalingEvent =
  /**
   * Joined (`rejoined`: again, after a lost connection); `peers`: the other side present now; `resent`: how
   * many of our messages went again because the rules say they must survive a lost connection (the held offer
   * and its candidates).
   */
  | { type: 'joined'; self: string; peers: RemotePeer[]; rejoined: boolean; resent: number }
  /** A peer of the other side joined. `tookOffer`: it took the offer held for it (see `holdsOffers`). */
  | { type: 'peer-joined'; peer: RemotePeer; tookOffer: boolean }
  | { type: 'peer-left'; id: string; role: Role; reason: LeaveReason }
  /** An offer; `renegotiate`: for the connection we already have with `from` (an ICE restart). */
  | { type: 'offer'; from: string; sdp: string; renegotiate: boolean }
  | { type: 'answer'; from: string; sdp: string }
  /** A candidate; an empty `candidate.candidate` is the end-of-candidates marker (see `endOfCandidates`). */
  | { type: 'candidate'; from: string; candidate: IceCandidateMessage }
  /** `from` ended its call with us (it stays where it is): the call is over. */
  | { type: 'hangup'; from: string }
  /** The offer held for the next peer expired (the server's lease on it): hold a fresh one. */
  | { type: 'held-expired' }
  /** The connection to the signaling server is gone; it reconnects by itself, then `joined` again. */
  | { type: 'lost'; reason: string }
  /** Something went wrong that does not end the signaling (a refused message, a failed rejoin). */
  | { type: 'error'; code: string; message: string };

/**
 * What we send: an offer, an answer or a candidate, to one peer (`to`) or, for an offer, held; or the end of
 * our call with one peer (`hangup`: we stay, the call is over).
 */
export type OutgoingSignal =
  | { type: 'offer'; sdp: string; to?: string; renegotiate?: boolean }
  | { type: 'answer'; sdp: string; to?: string }
  | { type: 'candidate'; candidate: IceCandidateMessage; to?: string }
  | { type: 'hangup'; to?: string };

/** Events of a {@link Signaling}. */
export type SignalingEvents = { signal: [event: SignalingEvent] };

/** What a signaling can do, which decides how the negotiation goes. */
export interface SignalingCapabilities {
  /**
   * An offer sent without `to` is held for the next peer that joins, which takes it (`peer-joined` with
   * `tookOffer`): a caller keeps one such offer ready (the Socket.IO room). Otherwise every offer has a `to`.
   */
  holdsOffers: boolean;
  /**
   * The answerer makes the offer and the caller answers (a WHEP viewer POSTs a receive-only offer). Default
   * false: the caller offers.
   */
  answererOffers?: boolean;
  /**
   * When our candidates travel, for an offer:
   * - `trickle` (default): once the offer is set as local description it is sent, and each candidate follows
   *   as it comes (the Socket.IO room);
   * - `after-offer`: the offer is sent *before* it is set as local description, so that ICE servers the reply
   *   brings (a WHIP server's `Link` headers: {@link Signaling.iceServers}) are in place before gathering
   *   starts; the candidates follow (RFC 9725 section 4.6);
   * - `in-offer`: gathering completes (bounded) before the offer is sent, every candidate inside it, and none
   *   is sent after it (vanilla ICE: a WHIP server that takes no trickled candidates).
   */
  offerCandidates?: 'trickle' | 'after-offer' | 'in-offer';
  /**
   * It wants the end of our candidates said: a candidate with an empty `candidate` string (and the ICE
   * generation's `usernameFragment`) once gathering completes. Sent to protocol-2 peers only. Default false.
   */
  endOfCandidates?: boolean;
}

/** One side's signaling: connect, send, hear the other side, leave. */
export interface Signaling extends TypedEmitter<SignalingEvents> {
  /** The role we hold. */
  readonly role: Role;
  readonly capabilities: SignalingCapabilities;
  /**
   * ICE servers the signaling learnt from the other side (a WHIP/WHEP server's `Link` headers), if any: the
   * negotiator adds them to a call's configuration before it gathers.
   */
  readonly iceServers?: readonly RTCIceServer[];
  /** Connects and joins; resolves with the first `joined` (also emitted). */
  connect(): Promise<Extract<SignalingEvent, { type: 'joined' }>>;
  /**
   * Sends one message; resolves with whether it reached someone now (false: held, or nobody there). While the
   * connection is down, what must survive (the held offer and its candidates) is kept and sent again after
   * the rejoin; the rest is dropped (the calls restart after a rejoin anyway).
   */
  send(message: OutgoingSignal): Promise<boolean>;
  /** Tells the signaling whether we are in a call, for what it says when it rejoins. */
  setInCall(inCall: boolean): void;
  /** Leaves (the other side hears a bye); idempotent; resolves once sent or given up (bounded). */
  close(): Promise<void>;
}
