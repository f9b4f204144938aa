/**
 * What a room client must remember across a lost connection, as pure rules (docs/protocol.md,
 * "Reconnection"): the caller's held offer and its candidates, re-sent after a rejoin while nobody took them;
 * and, on the answerer's side, an offer that comes again with the same SDP (a protocol-1 caller re-sends its
 * offer to a restarted server), answered again instead of starting a new call. No I/O, no timers.
 */
import type { OutgoingSignal, SignalingEvent } from './signaling.js';
import type { IceCandidateMessage } from './types.js';
import { LIMITS } from './types.js';

/** Candidates remembered to recognise the ones a reconnect re-sends. */
const MAX_SEEN_CANDIDATES = 1000;

/** What to do with a message from the server. */
export interface Received {
  /** Pass it on to the negotiation (false: a re-sent duplicate). */
  deliver: boolean;
  /** Messages to send back at once (our answer and candidates again, for a re-sent offer). */
  reply: OutgoingSignal[];
}

/**
 * The ledger of one room client.
 *
 * @example
 * const ledger = new ResendLedger();
 * ledger.sent({ type: 'offer', sdp });            // held
 * ledger.sent({ type: 'candidate', candidate });  // held with it
 * // ... the connection drops, the client rejoins:
 * for (const m of ledger.afterRejoin()) send(m);   // the offer, then its candidates, in order
 */
export class ResendLedger {
  /** The offer we sent without `to` (held by the server) and our candidates without `to` after it. */
  #held: { sdp: string | null; candidates: IceCandidateMessage[] } = { sdp: null, candidates: [] };
  /** The offer we last got, our answer to it and our candidates to its sender. */
  #answering: { offer: string; answer: string | null; candidates: IceCandidateMessage[] } | undefined;
  readonly #seen = new Set<string>();

  /** Records a message we send. */
  sent(message: OutgoingSignal): void {
    if (message.type === 'offer' && message.to === undefined) {
      // A new held offer; candidates sent before the very first one belong to it.
      this.#held = { sdp: message.sdp, candidates: this.#held.sdp === null ? this.#held.candidates : [] };
    } else if (message.type === 'candidate' && message.to === undefined) {
      if (this.#held.candidates.length < LIMITS.maxHeldCandidates)
        this.#held.candidates.push(message.candidate);
    }
    if (this.#answering !== undefined) {
      if (message.type === 'answer') this.#answering.answer = message.sdp;
      else if (
        message.type === 'candidate' &&
        message.to !== undefined &&
        this.#answering.candidates.length < LIMITS.maxHeldCandidates
      )
        this.#answering.candidates.push(message.candidate);
    }
  }

  /** A peer took the held offer: it is no longer ours to re-send. */
  heldTaken(): void {
    this.#held = { sdp: null, candidates: [] };
  }

  /** What to send again after a rejoin: the held offer, then its candidates, in order (nothing if taken). */
  afterRejoin(): OutgoingSignal[] {
    const { sdp, candidates } = this.#held;
    if (sdp === null) return [];
    return [
      { type: 'offer', sdp },
      ...candidates.map((candidate) => ({ type: 'candidate' as const, candidate })),
    ];
  }

  /** Decides about a message from the server. */
  received(event: SignalingEvent): Received {
    switch (event.type) {
      case 'offer': {
        const current = this.#answering;
        if (!event.renegotiate && current !== undefined && current.offer === event.sdp) {
          // The same offer again: a re-send after a reconnect. Answer again if we did; never a new call.
          const reply: OutgoingSignal[] =
            current.answer === null
              ? []
              : [
                  { type: 'answer', sdp: current.answer, to: event.from },
                  ...current.candidates.map((candidate) => ({
                    type: 'candidate' as const,
                    candidate,
                    to: event.from,
                  })),
                ];
          return { deliver: false, reply };
        }
        this.#answering = { offer: event.sdp, answer: null, candidates: [] };
        if (!event.renegotiate) this.#seen.clear();
        return { deliver: true, reply: [] };
      }
      case 'candidate': {
        const key = `${event.from}\n${JSON.stringify(event.candidate)}`;
        if (this.#seen.has(key)) return { deliver: false, reply: [] };
        if (this.#seen.size < MAX_SEEN_CANDIDATES) this.#seen.add(key);
        return { deliver: true, reply: [] };
      }
      case 'peer-left':
        // After a departure, the same offer again is a new call, not a duplicate.
        if (event.role === 'caller') this.#answering = undefined;
        return { deliver: true, reply: [] };
      default:
        return { deliver: true, reply: [] };
    }
  }

  /** Forgets everything (we left the room). */
  clear(): void {
    this.#held = { sdp: null, candidates: [] };
    this.#answering = undefined;
    this.#seen.clear();
  }
}
