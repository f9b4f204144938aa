import { describe, expect, it } from 'vitest';
import { ResendLedger } from '../../src/signal/resend-ledger.js';
import { fakeCandidate } from '../helpers/signal-server.js';

describe('ResendLedger (pure reconnection rules)', () => {
  it('re-sends the held offer and its candidates, in order, until a peer takes it', () => {
    const l = new ResendLedger();
    l.sent({ type: 'candidate', candidate: fakeCandidate(0) }); // before the first offer: belongs to it
    l.sent({ type: 'offer', sdp: 'held' });
    l.sent({ type: 'candidate', candidate: fakeCandidate(1) });
    l.sent({ type: 'candidate', candidate: fakeCandidate(2), to: 'v1' }); // addressed: never re-sent
    expect(l.afterRejoin()).toEqual([
      { type: 'offer', sdp: 'held' },
      { type: 'candidate', candidate: fakeCandidate(0) },
      { type: 'candidate', candidate: fakeCandidate(1) },
    ]);
    l.sent({ type: 'offer', sdp: 'next' }); // a new held offer replaces it, and its candidates
    expect(l.afterRejoin()).toEqual([{ type: 'offer', sdp: 'next' }]);
    l.heldTaken();
    expect(l.afterRejoin()).toEqual([]);
  });

  it('answers a re-sent offer again and drops re-sent candidates; after peer-left it is a new call', () => {
    const l = new ResendLedger();
    const offer = { type: 'offer' as const, from: 'c1', sdp: 'o', renegotiate: false };
    expect(l.received(offer)).toEqual({ deliver: true, reply: [] });
    l.sent({ type: 'answer', sdp: 'a', to: 'c1' });
    l.sent({ type: 'candidate', candidate: fakeCandidate(3), to: 'c1' });
    const cand = { type: 'candidate' as const, from: 'c1', candidate: fakeCandidate(7) };
    expect(l.received(cand).deliver).toBe(true);
    expect(l.received(cand).deliver).toBe(false);
    // The same offer again, from the caller's new connection after a server restart.
    expect(l.received({ ...offer, from: 'c2' })).toEqual({
      deliver: false,
      reply: [
        { type: 'answer', sdp: 'a', to: 'c2' },
        { type: 'candidate', candidate: fakeCandidate(3), to: 'c2' },
      ],
    });
    // A renegotiation with the same SDP text would be applied, never treated as a re-send.
    expect(l.received({ ...offer, renegotiate: true }).deliver).toBe(true);
    l.received({ type: 'peer-left', id: 'c1', role: 'caller', reason: 'bye' });
    expect(l.received(offer).deliver).toBe(true);
  });
});
