/**
 * One signaling room as a pure state machine: who holds which role, and the caller's held offer with the
 * candidates that follow it. No I/O: every method returns what to deliver to whom, and the server sends it.
 */
import type {
  IceCandidateMessage,
  LeaveReason,
  RelayMessage,
  Role,
  ServerMessage,
  SignalErrorBody,
} from './types.js';
import { LIMITS } from './types.js';

/** A message for one client, identified by the id the server gave it (the Socket.IO socket id). */
export interface Delivery {
  to: string;
  message: ServerMessage;
}

/** Options of a {@link Room}. */
export interface RoomOptions {
  /** Caller candidates held per offer before dropping (counted). Default `LIMITS.maxHeldCandidates` (200). */
  maxHeldCandidates?: number;
}

/** The outcome of a join. */
export type JoinResult =
  { ok: true; peerPresent: boolean; deliveries: Delivery[] } | { ok: false; error: SignalErrorBody };

/** The outcome of an offer/answer/candidate. `delivered` is false when it was held or dropped. */
export type RelayResult =
  { ok: true; delivered: boolean; deliveries: Delivery[] } | { ok: false; error: SignalErrorBody };

/**
 * The caller's side of the current call, as the room remembers it. `sdp` is null until the first offer;
 * candidates sent before it are kept and belong to the next offer.
 */
interface HeldOffer {
  sdp: string | null;
  candidates: IceCandidateMessage[];
  /** An answer to this offer reached the caller: nothing more to hold or re-deliver. */
  answered: boolean;
}

function emptyHeld(): HeldOffer {
  return { sdp: null, candidates: [], answered: false };
}

function otherRole(role: Role): Role {
  return role === 'caller' ? 'answerer' : 'caller';
}

/**
 * A room: at most one caller and one answerer. It holds the caller's latest unanswered offer and the
 * caller's candidates sent after it, in order, so that an answerer joining later gets them (walk-through:
 * "the socket.io server holds it for the other browser").
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

  private readonly maxHeldCandidates: number;
  private readonly members = new Map<Role, string>();
  private held: HeldOffer = emptyHeld();

  constructor(name: string, options: RoomOptions = {}) {
    this.name = name;
    this.maxHeldCandidates = options.maxHeldCandidates ?? LIMITS.maxHeldCandidates;
  }

  /** True when nobody is in the room (the registry then forgets it). */
  get isEmpty(): boolean {
    return this.members.size === 0;
  }

  /** The client id holding `role`, if any. */
  memberOf(role: Role): string | undefined {
    return this.members.get(role);
  }

  /** The role `clientId` holds here, if any. */
  roleOf(clientId: string): Role | undefined {
    for (const [role, id] of this.members) if (id === clientId) return role;
    return undefined;
  }

  /** The held offer and candidates, for tests and stats. */
  heldState(): Readonly<{
    sdp: string | null;
    candidates: readonly IceCandidateMessage[];
    answered: boolean;
  }> {
    return this.held;
  }

  /**
   * `clientId` takes `role`. Refused with ROLE_TAKEN when another client holds it (nothing changes).
   * The other member, if any, gets `peer-joined`. A joining answerer gets the held offer, then the held
   * candidates in order (step: "the answerer receives the held offer").
   */
  join(clientId: string, role: Role): JoinResult {
    const holder = this.members.get(role);
    if (holder !== undefined) {
      return {
        ok: false,
        error: {
          code: 'ROLE_TAKEN',
          message:
            `room "${this.name}" already has a ${role}; ` +
            `use another room, or wait until the current ${role} leaves`,
        },
      };
    }
    this.members.set(role, clientId);
    const deliveries: Delivery[] = [];
    const peer = this.members.get(otherRole(role));
    if (peer !== undefined) deliveries.push({ to: peer, message: { type: 'peer-joined', role } });
    if (role === 'answerer') deliveries.push(...this.heldFor(clientId));
    return { ok: true, peerPresent: peer !== undefined, deliveries };
  }

  /**
   * `clientId` leaves (bye or disconnect). The other member gets `peer-left`; the room forgets the leaver's
   * state: a leaving caller takes its held offer and candidates with it. Unknown ids deliver nothing.
   */
  leave(clientId: string, reason: LeaveReason): Delivery[] {
    const role = this.roleOf(clientId);
    if (role === undefined) return [];
    this.members.delete(role);
    if (role === 'caller') this.held = emptyHeld();
    const peer = this.members.get(otherRole(role));
    return peer === undefined ? [] : [{ to: peer, message: { type: 'peer-left', role, reason } }];
  }

  /**
   * An offer, answer or candidate from `clientId`, which must be a member. Offers come from the caller
   * only, answers from the answerer only (WRONG_ROLE otherwise).
   */
  relay(clientId: string, message: RelayMessage): RelayResult {
    const role = this.roleOf(clientId);
    if (role === undefined) {
      return {
        ok: false,
        error: { code: 'NOT_JOINED', message: `not a member of room "${this.name}"; send join first` },
      };
    }
    const peer = this.members.get(otherRole(role));
    const to = (m: ServerMessage): Delivery[] => (peer === undefined ? [] : [{ to: peer, message: m }]);

    switch (message.type) {
      case 'offer': {
        if (role !== 'caller') return wrongRole('offer', 'caller');
        // A new offer is a fresh call: it replaces the held one and its candidates. Candidates sent before
        // the very first offer (no offer held yet) stay and follow it.
        const keep = this.held.sdp === null ? this.held.candidates : [];
        this.held = { sdp: message.sdp, candidates: keep, answered: false };
        const deliveries = to({ type: 'offer', sdp: message.sdp });
        // Candidates that were waiting for this offer follow it, in order.
        if (peer !== undefined)
          for (const c of keep) deliveries.push(...to({ type: 'candidate', candidate: c }));
        return { ok: true, delivered: peer !== undefined, deliveries };
      }
      case 'answer': {
        if (role !== 'answerer') return wrongRole('answer', 'answerer');
        if (peer === undefined) return { ok: true, delivered: false, deliveries: [] };
        // The offer is answered: the call is now between the peers, nothing is held any more.
        this.held = { sdp: this.held.sdp, candidates: [], answered: true };
        return { ok: true, delivered: true, deliveries: to({ type: 'answer', sdp: message.sdp }) };
      }
      case 'candidate': {
        const m: ServerMessage = { type: 'candidate', candidate: message.candidate };
        if (role === 'answerer' || this.held.answered) {
          // The answerer's candidates, and the caller's once answered, are relayed and never held.
          return { ok: true, delivered: peer !== undefined, deliveries: to(m) };
        }
        // Caller, offer not answered: held (even when delivered now) so that a replacing answerer gets them.
        // Past the bound a candidate is no longer held (counted), but still relayed to a present answerer.
        if (this.held.candidates.length < this.maxHeldCandidates)
          this.held.candidates.push(message.candidate);
        else this.droppedCandidates++;
        // Before the first offer, candidates wait for it: an answerer must see the offer first.
        if (this.held.sdp === null) return { ok: true, delivered: false, deliveries: [] };
        return { ok: true, delivered: peer !== undefined, deliveries: to(m) };
      }
    }
  }

  /** What a newly joined answerer must receive: the unanswered held offer, then its candidates. */
  private heldFor(answerer: string): Delivery[] {
    const { sdp, candidates, answered } = this.held;
    if (sdp === null || answered) return [];
    return [
      { to: answerer, message: { type: 'offer', sdp } },
      ...candidates.map((candidate): Delivery => ({
        to: answerer,
        message: { type: 'candidate', candidate },
      })),
    ];
  }
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
