/**
 * One signaling room as a pure state machine: who is in it, in which role and protocol, and the caller's
 * held offer with the candidates that follow it. No I/O: every method returns what to deliver to which
 * connection, and the server sends it.
 *
 * Protocol 1 (the original): one caller and one answerer; messages have no addresses.
 * Protocol 2: one caller and up to `maxViewers` answerers, each with its own peer connection to the caller.
 * Every member has an id; the caller addresses a message to one answerer with `to`, every relayed message
 * says `from`. The caller keeps one offer held at all times, for the next answerer that joins (the
 * walk-through's held offer, once per viewer). See docs/protocol.md.
 */
import { createHash, randomBytes } from 'node:crypto';
import type {
  IceCandidateMessage,
  JoinMessage,
  LeaveReason,
  PeerInfo,
  RelayMessage,
  Role,
  ServerMessage,
  SignalAck,
  SignalErrorBody,
} from './types.js';
import { DEFAULT_MAX_VIEWERS, LIMITS } from './types.js';

/** A message for one connection, identified by the id the server gave it (the Socket.IO socket id). */
export interface Delivery {
  to: string;
  message: ServerMessage;
}

/** Options of a {@link Room}. */
export interface RoomOptions {
  /** Caller candidates held per offer before dropping (counted). Default `LIMITS.maxHeldCandidates` (200). */
  maxHeldCandidates?: number;
  /** Answerers a protocol-2 caller serves at once; one more is refused with ROOM_FULL. Default 4. */
  maxViewers?: number;
  /** Makes the id of a member that joined without a session. Default: 16 random base64url characters. */
  newId?: () => string;
}

/** What a client asks for in its join: the `join` message without its `type` and `room`. */
export type JoinRequest = Omit<JoinMessage, 'type' | 'room'>;

/** The outcome of a join. `replaced`: a connection that lost its membership to this one (same session). */
export type JoinResult =
  | { ok: true; ack: Extract<SignalAck, { ok: true }>; deliveries: Delivery[]; replaced?: string }
  | { ok: false; error: SignalErrorBody };

/** The outcome of an offer/answer/candidate. `delivered` is false when it was held or dropped. */
export type RelayResult =
  { ok: true; delivered: boolean; deliveries: Delivery[] } | { ok: false; error: SignalErrorBody };

/** A member as the room keeps it (exported in {@link RoomState}). */
export interface Member {
  id: string;
  /** The connection it speaks through now (a rejoin with its session moves it to a new one). */
  conn: string;
  role: Role;
  protocol: 1 | 2;
  /** It said it is in a call already when it joined (a rejoin). */
  inCall: boolean;
  /** Answerer: it got an offer from the current caller, so it is not waiting for one. */
  offered: boolean;
  /** Answerer: it makes its own offers (a WHEP session bridged into the room); it never takes the held offer. */
  offers: boolean;
  /** Join order: lower has waited longer. */
  seq: number;
}

/**
 * The caller's latest offer sent without `to`, as the room remembers it: held until an answerer takes it.
 * `sdp` is null until the first offer; candidates sent before it are kept and belong to it.
 */
export interface HeldOffer {
  sdp: string | null;
  candidates: IceCandidateMessage[];
  /** The answerer that took it: later candidates without `to` go to it. */
  takenBy?: string;
  /** An answer to it reached the caller: nothing more to hold or re-deliver. */
  answered: boolean;
}

function emptyHeld(): HeldOffer {
  return { sdp: null, candidates: [], answered: false };
}

/**
 * A room's whole state as a plain object (JSON-safe), to store it elsewhere and make the same room again
 * with {@link Room.fromState}: the shared state of several servers (redis-registry.ts) is this object.
 */
export interface RoomState {
  /** Members in join order. */
  members: Member[];
  held: HeldOffer;
  /** The next join's sequence number. */
  seq: number;
  droppedCandidates: number;
}

/** The member id of a session in a room: public (others see it), derived so that only the session holder can rejoin as it. */
export function memberIdOf(room: string, session: string): string {
  return createHash('sha256').update(`${room}\n${session}`).digest('base64url').slice(0, 16);
}

function randomId(): string {
  return randomBytes(12).toString('base64url');
}

/**
 * A room. It holds the caller's latest unanswered offer without `to` and the caller's candidates sent after
 * it, in order, so that an answerer joining later gets them (walk-through: "the socket.io server holds it
 * for the other browser").
 *
 * @example
 * const room = new Room('lab');
 * room.join('a', 'caller');
 * room.relay('a', { type: 'offer', sdp });        // held: { delivered: false }
 * room.join('b', 'answerer').deliveries;           // peer-joined to a, then offer + held candidates to b
 */
export class Room {
  /** The room's name. */
  readonly name: string;
  /** Candidates dropped because the held list was full, since the room was created. */
  droppedCandidates = 0;

  readonly #maxHeldCandidates: number;
  readonly #maxViewers: number;
  readonly #newId: () => string;
  /** Members by id, in join order. */
  readonly #members = new Map<string, Member>();
  readonly #byConn = new Map<string, Member>();
  #held: HeldOffer = emptyHeld();
  #seq = 0;

  constructor(name: string, options: RoomOptions = {}) {
    this.name = name;
    this.#maxHeldCandidates = options.maxHeldCandidates ?? LIMITS.maxHeldCandidates;
    this.#maxViewers = options.maxViewers ?? DEFAULT_MAX_VIEWERS;
    this.#newId = options.newId ?? randomId;
  }

  /**
   * The room made again from {@link Room.toState}: it behaves exactly as the room the state was taken from.
   * The state is not checked: it must come from `toState()` (a store keeps it as it was written).
   */
  static fromState(name: string, state: RoomState, options: RoomOptions = {}): Room {
    const room = new Room(name, options);
    for (const m of state.members) {
      const member: Member = { ...m };
      room.#members.set(member.id, member);
      room.#byConn.set(member.conn, member);
    }
    room.#held = { ...state.held, candidates: [...state.held.candidates] };
    room.#seq = state.seq;
    room.droppedCandidates = state.droppedCandidates;
    return room;
  }

  /** The room's state as a plain object (copied: later changes to the room do not show in it). */
  toState(): RoomState {
    const held: HeldOffer = { ...this.#held, candidates: [...this.#held.candidates] };
    if (held.takenBy === undefined) delete held.takenBy;
    return {
      members: [...this.#members.values()].map((m) => ({ ...m })),
      held,
      seq: this.#seq,
      droppedCandidates: this.droppedCandidates,
    };
  }

  /** The connections of the members, in join order. */
  get connections(): string[] {
    return [...this.#members.values()].map((m) => m.conn);
  }

  /** True when nobody is in the room (the registry then forgets it). */
  get isEmpty(): boolean {
    return this.#members.size === 0;
  }

  /** Answerers in the room. */
  get answererCount(): number {
    let n = 0;
    for (const m of this.#members.values()) if (m.role === 'answerer') n++;
    return n;
  }

  /** The connection of the member holding `role` (the first one, for answerers), if any. */
  memberOf(role: Role): string | undefined {
    for (const m of this.#members.values()) if (m.role === role) return m.conn;
    return undefined;
  }

  /** The role the member on connection `conn` holds here, if any. */
  roleOf(conn: string): Role | undefined {
    return this.#byConn.get(conn)?.role;
  }

  /** The member id of the member on connection `conn`, if any. */
  idOf(conn: string): string | undefined {
    return this.#byConn.get(conn)?.id;
  }

  /**
   * The held offer of the caller on `conn` expired (server-guard's `heldOfferTtlMs`): if `sdp` is still the
   * one held and nobody took it, it is dropped with its candidates and the caller is told (`held-expired`),
   * to hold a fresh one. Protocol-1 callers have no such message: theirs stays. Otherwise nothing changes.
   */
  expireHeld(conn: string, sdp: string): RelayResult {
    const member = this.#byConn.get(conn);
    const held = this.#held;
    if (
      member?.role !== 'caller' ||
      member.protocol < 2 ||
      held.sdp !== sdp ||
      held.takenBy !== undefined ||
      held.answered
    ) {
      return { ok: true, delivered: false, deliveries: [] };
    }
    this.#held = emptyHeld();
    return { ok: true, delivered: true, deliveries: [{ to: conn, message: { type: 'held-expired' } }] };
  }

  /** The held offer and candidates, for tests and stats. */
  heldState(): Readonly<{
    sdp: string | null;
    candidates: readonly IceCandidateMessage[];
    answered: boolean;
  }> {
    const { sdp, candidates, answered } = this.#held;
    return { sdp, candidates, answered };
  }

  /**
   * Connection `conn` joins in a role (`'caller'`/`'answerer'` is a protocol-1 join). Refused, with nothing
   * changed, with ROLE_TAKEN (a second caller; a second answerer beside a protocol-1 caller) or ROOM_FULL
   * (`maxViewers` answerers already). A protocol-2 join with the session of a member already here takes
   * that membership over (the member rejoins: its old connection is `replaced`). The caller gets
   * `peer-joined`; a joining answerer that is not in a call already takes the held offer and gets it, then
   * the held candidates in order (step: "the answerer receives the held offer").
   */
  join(conn: string, request: Role | JoinRequest): JoinResult {
    const req: JoinRequest = typeof request === 'string' ? { role: request } : request;
    const protocol = req.protocol === 2 ? 2 : 1;
    const id = req.session !== undefined ? memberIdOf(this.name, req.session) : undefined;
    const previous = id !== undefined ? this.#members.get(id) : undefined;
    const deliveries: Delivery[] = [];
    let replaced: string | undefined;
    if (previous !== undefined && previous.role === req.role) {
      // The same member, back on a new connection (its old one not noticed as gone yet, or still alive).
      this.#byConn.delete(previous.conn);
      replaced = previous.conn;
      deliveries.push({
        to: previous.conn,
        message: {
          type: 'error',
          code: 'REPLACED',
          message: `another connection joined room "${this.name}" with this session; this one is no longer a member`,
        },
      });
      this.#members.delete(previous.id);
    } else if (previous !== undefined) {
      // The session comes back in the other role: the old membership ends first.
      deliveries.push(...this.leave(previous.conn, 'disconnected'));
    } else {
      const refused = this.#admit(req.role, protocol);
      if (refused) return { ok: false, error: refused };
    }
    const member: Member = {
      id: id ?? this.#uniqueId(),
      conn,
      role: req.role,
      protocol,
      inCall: req.inCall === true,
      offers: req.role === 'answerer' && req.offers === true,
      offered: previous?.role === req.role ? previous.offered : false,
      seq: previous?.role === req.role ? previous.seq : this.#seq++,
    };
    this.#members.set(member.id, member);
    this.#byConn.set(conn, member);
    if (member.role === 'caller') deliveries.push(...this.#callerJoined(member));
    else deliveries.push(...this.#answererJoined(member));
    const others = [...this.#members.values()].filter((m) => m.role !== member.role);
    const ack: Extract<SignalAck, { ok: true }> = {
      ok: true,
      room: this.name,
      role: member.role,
      peerPresent: others.length > 0,
    };
    if (protocol === 2) {
      ack.id = member.id;
      ack.peers = others.map(info);
      ack.maxViewers = this.#maxViewers;
    }
    return { ok: true, ack, deliveries, ...(replaced !== undefined ? { replaced } : {}) };
  }

  /**
   * The member on `conn` leaves (bye or disconnect). The other side gets `peer-left`: every answerer when the
   * caller leaves, the caller when an answerer does. A leaving caller takes its held offer and candidates
   * with it; an answerer that took the held offer and leaves before answering gives it back for the next
   * one. Unknown connections deliver nothing.
   */
  leave(conn: string, reason: LeaveReason): Delivery[] {
    const member = this.#byConn.get(conn);
    if (member === undefined) return [];
    // Who a protocol-1 caller sees as its one answerer, before this one is gone.
    const counterpart = this.#v1Counterpart();
    this.#byConn.delete(conn);
    this.#members.delete(member.id);
    const left = (to: Member): Delivery => ({
      to: to.conn,
      message: shape(to, { type: 'peer-left', role: member.role, reason, id: member.id }),
    });
    if (member.role === 'caller') {
      this.#held = emptyHeld();
      const deliveries: Delivery[] = [];
      for (const m of this.#members.values()) {
        m.offered = false;
        deliveries.push(left(m));
      }
      return deliveries;
    }
    if (this.#held.takenBy === member.id) {
      // Unanswered: held again, for the next answerer. Answered: the call is over, nothing is held.
      if (this.#held.answered) this.#held = emptyHeld();
      else delete this.#held.takenBy;
    }
    const caller = this.#caller();
    // A protocol-1 caller knows one answerer only: it hears about that one.
    if (caller === undefined || (caller.protocol === 1 && counterpart !== member)) return [];
    return [left(caller)];
  }

  /**
   * An offer, answer or candidate from the member on `conn`. Offers come from the caller only, answers from
   * answerers only (WRONG_ROLE otherwise). `to` addresses one member (NO_SUCH_PEER when it is not here).
   */
  relay(conn: string, message: RelayMessage): RelayResult {
    const member = this.#byConn.get(conn);
    if (member === undefined) {
      return {
        ok: false,
        error: { code: 'NOT_JOINED', message: `not a member of room "${this.name}"; send join first` },
      };
    }
    switch (message.type) {
      case 'offer':
        if (member.role === 'caller') return this.#offer(member, message);
        return member.protocol === 2 ? this.#viewerOffer(member, message) : wrongRole('offer', 'caller');
      case 'answer':
        if (member.role === 'answerer') return this.#answer(member, message);
        return member.protocol === 2 ? this.#callerAnswer(member, message) : wrongRole('answer', 'answerer');
      case 'candidate':
        return this.#candidate(member, message);
      case 'hangup':
        return this.#hangup(member, message);
    }
  }

  /**
   * Protocol 2: the end of a call between two members, both staying (a call's duration, ICE that did not come
   * back, an offer that could not be applied). Delivered to protocol-2 members only; an answerer may omit `to`.
   */
  #hangup(member: Member, message: Extract<RelayMessage, { type: 'hangup' }>): RelayResult {
    const target = message.to !== undefined ? this.#members.get(message.to) : undefined;
    if (message.to !== undefined && (target === undefined || target.role === member.role))
      return noSuchPeer(this.name, message.to);
    const to = target ?? (member.role === 'answerer' ? this.#caller() : undefined);
    if (to === undefined && member.role === 'caller')
      return {
        ok: false,
        error: {
          code: 'BAD_MESSAGE',
          message: 'a hangup from the caller needs "to": the answerer it ends the call with',
        },
      };
    if (to === undefined || to.protocol !== 2) return { ok: true, delivered: false, deliveries: [] };
    return {
      ok: true,
      delivered: true,
      deliveries: [{ to: to.conn, message: { type: 'hangup', from: member.id } }],
    };
  }

  #admit(role: Role, protocol: 1 | 2): SignalErrorBody | undefined {
    const caller = this.#caller();
    if (role === 'caller') {
      if (caller === undefined) return undefined;
      return {
        code: 'ROLE_TAKEN',
        message:
          `room "${this.name}" already has a caller; ` +
          'use another room, or wait until the current caller leaves',
      };
    }
    const answerers = this.answererCount;
    // A protocol-1 caller serves one answerer, as it always did; and a protocol-1 answerer finds the
    // answerer role taken as it always did, unless a protocol-2 caller is there to serve several.
    if (answerers >= 1 && (caller?.protocol === 1 || (protocol === 1 && caller === undefined))) {
      return {
        code: 'ROLE_TAKEN',
        message:
          `room "${this.name}" already has an answerer` +
          (caller === undefined ? '' : ' and its caller serves only one') +
          '; use another room, or wait until the current answerer leaves',
      };
    }
    if (answerers >= this.#maxViewers) {
      return {
        code: 'ROOM_FULL',
        message:
          `room "${this.name}" is full: its caller serves ${this.#maxViewers} answerers at most ` +
          `(server option --max-viewers); wait until one leaves${protocol === 1 ? '' : ', or watch another room'}`,
      };
    }
    return undefined;
  }

  #callerJoined(caller: Member): Delivery[] {
    const deliveries: Delivery[] = [];
    for (const m of this.#members.values()) {
      if (m === caller) continue;
      deliveries.push({ to: m.conn, message: shape(m, joinedMessage(caller)) });
    }
    return deliveries;
  }

  #answererJoined(answerer: Member): Delivery[] {
    const caller = this.#caller();
    const held = this.#held;
    const takes =
      !answerer.inCall &&
      !answerer.offers &&
      held.sdp !== null &&
      held.takenBy === undefined &&
      !held.answered;
    if (takes) {
      held.takenBy = answerer.id;
      answerer.offered = true;
    }
    const deliveries: Delivery[] = [];
    if (caller !== undefined && (caller.protocol === 2 || this.#v1Counterpart() === answerer)) {
      deliveries.push({ to: caller.conn, message: shape(caller, joinedMessage(answerer, takes)) });
    }
    if (takes && caller !== undefined) deliveries.push(...this.#heldTo(answerer, caller));
    return deliveries;
  }

  #offer(caller: Member, message: Extract<RelayMessage, { type: 'offer' }>): RelayResult {
    if (message.to !== undefined) {
      const target = this.#members.get(message.to);
      if (target === undefined || target.role !== 'answerer') return noSuchPeer(this.name, message.to);
      if (message.renegotiate === true && target.protocol === 1) {
        return {
          ok: false,
          error: {
            code: 'BAD_MESSAGE',
            message:
              `answerer ${target.id} speaks protocol 1, which has no renegotiation: ` +
              'send it a new offer (a new call) instead',
          },
        };
      }
      target.offered = true;
      const out: ServerMessage = { type: 'offer', sdp: message.sdp, from: caller.id };
      if (message.renegotiate === true) out.renegotiate = true;
      return { ok: true, delivered: true, deliveries: [{ to: target.conn, message: shape(target, out) }] };
    }
    // Without `to`: the held offer, replacing the previous one and its candidates. Candidates sent before
    // the very first offer (no offer held yet) stay and follow it.
    const keep = this.#held.sdp === null ? this.#held.candidates : [];
    this.#held = { sdp: message.sdp, candidates: keep, answered: false };
    if (caller.protocol === 2) {
      // Held for the next answerer that joins; those already here get offers addressed to them.
      return { ok: true, delivered: false, deliveries: [] };
    }
    // Protocol 1: a fresh call, to the answerer the previous one went to, or else to the one that waited
    // longest; held when nobody is there.
    const partner = this.#v1Counterpart();
    if (partner === undefined) return { ok: true, delivered: false, deliveries: [] };
    this.#held.takenBy = partner.id;
    partner.offered = true;
    return { ok: true, delivered: true, deliveries: this.#heldTo(partner, caller) };
  }

  /**
   * Protocol 2: a viewer that makes the offer itself (a WHEP client does) sends it to the caller, which
   * answers it. A protocol-1 caller only makes offers.
   */
  #viewerOffer(answerer: Member, message: Extract<RelayMessage, { type: 'offer' }>): RelayResult {
    const caller = this.#caller();
    if (message.to !== undefined && message.to !== caller?.id) return noSuchPeer(this.name, message.to);
    if (caller === undefined) return { ok: true, delivered: false, deliveries: [] };
    if (caller.protocol === 1) {
      return {
        ok: false,
        error: {
          code: 'WRONG_ROLE',
          message: `the caller of room "${this.name}" speaks protocol 1: it makes the offers, wait for one`,
        },
      };
    }
    answerer.offered = true;
    const out: ServerMessage = { type: 'offer', sdp: message.sdp, from: answerer.id };
    if (message.renegotiate === true) out.renegotiate = true;
    return { ok: true, delivered: true, deliveries: [{ to: caller.conn, message: out }] };
  }

  /** Protocol 2: the caller's answer to a viewer's own offer, addressed to that viewer. */
  #callerAnswer(caller: Member, message: Extract<RelayMessage, { type: 'answer' }>): RelayResult {
    if (message.to === undefined) {
      return {
        ok: false,
        error: {
          code: 'BAD_MESSAGE',
          message: 'an answer from the caller needs "to": the viewer it answers',
        },
      };
    }
    const target = this.#members.get(message.to);
    if (target === undefined || target.role !== 'answerer') return noSuchPeer(this.name, message.to);
    const out: ServerMessage = { type: 'answer', sdp: message.sdp, from: caller.id };
    return { ok: true, delivered: true, deliveries: [{ to: target.conn, message: shape(target, out) }] };
  }

  #answer(answerer: Member, message: Extract<RelayMessage, { type: 'answer' }>): RelayResult {
    const caller = this.#caller();
    if (message.to !== undefined && message.to !== caller?.id) return noSuchPeer(this.name, message.to);
    if (caller === undefined) return { ok: true, delivered: false, deliveries: [] };
    if (this.#held.takenBy === answerer.id) {
      // The held offer is answered: the call is now between the peers, nothing of it is held any more.
      this.#held.answered = true;
      this.#held.candidates = [];
    }
    const out: ServerMessage = { type: 'answer', sdp: message.sdp, from: answerer.id };
    return { ok: true, delivered: true, deliveries: [{ to: caller.conn, message: shape(caller, out) }] };
  }

  #candidate(member: Member, message: Extract<RelayMessage, { type: 'candidate' }>): RelayResult {
    const out: ServerMessage = { type: 'candidate', candidate: message.candidate, from: member.id };
    const to = (target: Member | undefined): RelayResult =>
      target === undefined
        ? { ok: true, delivered: false, deliveries: [] }
        : { ok: true, delivered: true, deliveries: [{ to: target.conn, message: shape(target, out) }] };
    if (member.role === 'answerer') {
      // An answerer's candidates go to the caller, never held.
      const caller = this.#caller();
      if (message.to !== undefined && message.to !== caller?.id) return noSuchPeer(this.name, message.to);
      return to(caller);
    }
    if (message.to !== undefined) {
      const target = this.#members.get(message.to);
      if (target === undefined || target.role !== 'answerer') return noSuchPeer(this.name, message.to);
      return to(target);
    }
    // The caller's candidates without `to` belong to its held offer.
    const held = this.#held;
    const taker = held.takenBy !== undefined ? this.#members.get(held.takenBy) : undefined;
    // Once answered, they are relayed to the answerer and never held.
    if (held.answered) return to(taker);
    // Unanswered: held (even when delivered now) so that a replacing answerer gets them. Past the bound a
    // candidate is no longer held (counted), but still relayed to the answerer that has the offer.
    if (held.candidates.length < this.#maxHeldCandidates) held.candidates.push(message.candidate);
    else this.droppedCandidates++;
    // Before the first offer, candidates wait for it: an answerer must see the offer first.
    if (held.sdp === null) return { ok: true, delivered: false, deliveries: [] };
    return to(taker);
  }

  /** The held offer, then its candidates, for the answerer that took it. */
  #heldTo(answerer: Member, caller: Member): Delivery[] {
    const { sdp, candidates } = this.#held;
    if (sdp === null) return [];
    const offer: ServerMessage = { type: 'offer', sdp, from: caller.id };
    return [
      { to: answerer.conn, message: shape(answerer, offer) },
      ...candidates.map((candidate): Delivery => ({
        to: answerer.conn,
        message: shape(answerer, { type: 'candidate', candidate, from: caller.id }),
      })),
    ];
  }

  #caller(): Member | undefined {
    for (const m of this.#members.values()) if (m.role === 'caller') return m;
    return undefined;
  }

  /** Protocol 1: the answerer that already has a call with the caller (it got an offer), if any. */
  #previousPartner(): Member | undefined {
    for (const m of this.#members.values()) if (m.role === 'answerer' && m.offered) return m;
    return undefined;
  }

  /**
   * Protocol 1: the one answerer a protocol-1 caller deals with: the one that has its offer, or else the
   * one its next offer goes to. Joins and departures of other answerers (which joined before the caller,
   * as protocol-2 viewers may) are not its business.
   */
  #v1Counterpart(): Member | undefined {
    return this.#previousPartner() ?? this.#longestWaiting();
  }

  #longestWaiting(): Member | undefined {
    let best: Member | undefined;
    for (const m of this.#members.values())
      if (m.role === 'answerer' && !m.offered && (best === undefined || m.seq < best.seq)) best = m;
    return best;
  }

  #uniqueId(): string {
    for (;;) {
      const id = this.#newId();
      if (!this.#members.has(id)) return id;
    }
  }
}

function info(m: Member): PeerInfo {
  const peer: PeerInfo = { id: m.id, role: m.role, protocol: m.protocol, inCall: m.inCall };
  if (m.offers) peer.offers = true;
  return peer;
}

function joinedMessage(m: Member, tookOffer = false): ServerMessage {
  const message: ServerMessage = { type: 'peer-joined', role: m.role, id: m.id, protocol: m.protocol };
  if (m.inCall) message.inCall = true;
  if (tookOffer) message.tookOffer = true;
  if (m.offers) message.offers = true;
  return message;
}

/** A message as `to` may see it: a protocol-1 member gets exactly the protocol-1 fields. */
function shape(to: Member, message: ServerMessage): ServerMessage {
  if (to.protocol === 2) return message;
  switch (message.type) {
    case 'offer':
    case 'answer':
      return { type: message.type, sdp: message.sdp };
    case 'candidate':
      return { type: 'candidate', candidate: message.candidate };
    case 'peer-joined':
      return { type: 'peer-joined', role: message.role };
    case 'peer-left':
      return { type: 'peer-left', role: message.role, reason: message.reason };
    case 'error':
    case 'hangup':
    case 'held-expired':
      return message;
  }
}

function noSuchPeer(room: string, id: string): RelayResult {
  return {
    ok: false,
    error: {
      code: 'NO_SUCH_PEER',
      message: `no member ${JSON.stringify(id)} to send to in room "${room}" (it left?); nothing was sent`,
    },
  };
}

function wrongRole(what: 'offer' | 'answer', needed: Role): RelayResult {
  return {
    ok: false,
    error: {
      code: 'WRONG_ROLE',
      message: `only the ${needed} may send an ${what}; join as ${needed} to send one`,
    },
  };
}
