/**
 * A room made again from its plain state (what Redis stores between two messages, redis-registry.ts)
 * behaves exactly as the room it was taken from: the same script of joins, messages and departures, run on
 * one live room and on a room stored and reloaded through JSON before every step, gives the same results.
 */
import { describe, expect, it } from 'vitest';
import { Room, type RoomOptions } from '../../src/signal/room.js';
import type { ClientMessage } from '../../src/signal/types.js';
import { fakeCandidate } from '../helpers/signal-server.js';

type Step = { conn: string; message: ClientMessage } | { conn: string; leave: 'bye' | 'disconnected' };

/** Applies one step to a room; the result as plain data. */
function apply(room: Room, step: Step): unknown {
  if ('leave' in step) return room.leave(step.conn, step.leave);
  const m = step.message;
  if (m.type === 'join') {
    const { type: _t, room: _r, ...request } = m;
    return room.join(step.conn, request);
  }
  if (m.type === 'bye') return room.leave(step.conn, 'bye');
  return room.relay(step.conn, m);
}

/** Runs `steps` on a live room and on one reloaded from JSON before each step; both result lists. */
function both(steps: Step[], options: RoomOptions = {}): { live: unknown[]; stored: unknown[] } {
  let n = 0;
  let m = 0;
  const live = new Room('r', { ...options, newId: () => `id${n++}` });
  const liveResults = steps.map((s) => apply(live, s));
  let state = JSON.stringify(new Room('r').toState());
  const storedResults = steps.map((s) => {
    const room = Room.fromState('r', JSON.parse(state), { ...options, newId: () => `id${m++}` });
    const result = apply(room, s);
    state = JSON.stringify(room.toState());
    return result;
  });
  // Both end in the same state too.
  expect(state).toBe(JSON.stringify(live.toState()));
  return { live: liveResults, stored: storedResults };
}

const join = (conn: string, role: 'caller' | 'answerer', extra: Record<string, unknown> = {}): Step => ({
  conn,
  message: { type: 'join', room: 'r', role, ...extra } as ClientMessage,
});
const say = (conn: string, message: ClientMessage): Step => ({ conn, message });

describe('Room.toState / Room.fromState', { timeout: 5000 }, () => {
  it('protocol 1: held offer and candidates, answer, replacement answerer, caller leaving', () => {
    const steps: Step[] = [
      join('c', 'caller'),
      say('c', { type: 'candidate', candidate: fakeCandidate(0) }),
      say('c', { type: 'offer', sdp: 'offer-1' }),
      say('c', { type: 'candidate', candidate: fakeCandidate(1) }),
      join('a', 'answerer'),
      join('b', 'answerer'),
      { conn: 'a', leave: 'disconnected' },
      join('b', 'answerer'),
      say('b', { type: 'answer', sdp: 'answer-1' }),
      say('c', { type: 'candidate', candidate: fakeCandidate(2) }),
      say('b', { type: 'candidate', candidate: fakeCandidate(3) }),
      say('b', { type: 'offer', sdp: 'wrong role' }),
      { conn: 'c', leave: 'bye' },
      join('c2', 'caller'),
    ];
    const { live, stored } = both(steps);
    expect(stored).toEqual(live);
    // The script did what it says (a check that it is not vacuous): the second answerer got the held offer.
    expect(JSON.stringify(live[7])).toContain('offer-1');
  });

  it('protocol 2: sessions, viewers up to maxViewers, addressed offers, rejoin as itself, a dropped hold', () => {
    const session = (s: string): string => `${s}-session-0000000000`;
    const steps: Step[] = [
      join('c', 'caller', { protocol: 2, session: session('c') }),
      say('c', { type: 'offer', sdp: 'spare-1' }),
      join('a', 'answerer', { protocol: 2, session: session('a') }),
      say('c', { type: 'offer', sdp: 'spare-2' }),
      join('b', 'answerer', { protocol: 2, session: session('b') }),
      join('x', 'answerer', { protocol: 2 }),
      join('full', 'answerer', { protocol: 2, session: session('f') }),
      join('a2', 'answerer', { protocol: 2, session: session('a'), inCall: true }),
      { conn: 'a', leave: 'disconnected' },
      say('a2', { type: 'answer', sdp: 'answer-a' }),
      { conn: 'b', leave: 'bye' },
      join('v1', 'answerer'),
    ];
    for (let i = 0; i < 5; i++) steps.push(say('c', { type: 'candidate', candidate: fakeCandidate(10 + i) }));
    const { live, stored } = both(steps, { maxViewers: 3, maxHeldCandidates: 3 });
    expect(stored).toEqual(live);
    expect(JSON.stringify(live[6])).toContain('ROOM_FULL');
    expect(JSON.stringify(live[7])).toContain('REPLACED');
  });
});
