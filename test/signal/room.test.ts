import { describe, expect, it } from 'vitest';
import { Room } from '../../src/signal/room.js';
import { RoomRegistry } from '../../src/signal/room-registry.js';
import { fakeCandidate } from '../helpers/signal-server.js';

describe('Room (pure state machine)', { timeout: 5000 }, () => {
  it('holds the offer and the candidates after it for a later answerer, in order', () => {
    const room = new Room('r');
    expect(room.join('c', 'caller')).toEqual({
      ok: true,
      ack: { ok: true, room: 'r', role: 'caller', peerPresent: false },
      deliveries: [],
    });
    expect(room.relay('c', { type: 'offer', sdp: 'o1' })).toEqual({
      ok: true,
      delivered: false,
      deliveries: [],
    });
    room.relay('c', { type: 'candidate', candidate: fakeCandidate(1) });
    room.relay('c', { type: 'candidate', candidate: fakeCandidate(2) });
    expect(room.join('a', 'answerer')).toEqual({
      ok: true,
      ack: { ok: true, room: 'r', role: 'answerer', peerPresent: true },
      deliveries: [
        { to: 'c', message: { type: 'peer-joined', role: 'answerer' } },
        { to: 'a', message: { type: 'offer', sdp: 'o1' } },
        { to: 'a', message: { type: 'candidate', candidate: fakeCandidate(1) } },
        { to: 'a', message: { type: 'candidate', candidate: fakeCandidate(2) } },
      ],
    });
  });

  it('refuses a taken role without changing anything', () => {
    const room = new Room('r');
    room.join('c', 'caller');
    room.relay('c', { type: 'offer', sdp: 'o1' });
    const refused = room.join('x', 'caller');
    expect(refused).toMatchObject({ ok: false, error: { code: 'ROLE_TAKEN' } });
    expect(room.memberOf('caller')).toBe('c');
    expect(room.heldState()).toMatchObject({ sdp: 'o1' });
  });

  it('bounds the held candidates and counts the dropped ones', () => {
    const room = new Room('r', { maxHeldCandidates: 3 });
    room.join('c', 'caller');
    room.relay('c', { type: 'offer', sdp: 'o' });
    for (let i = 0; i < 5; i++) room.relay('c', { type: 'candidate', candidate: fakeCandidate(i) });
    expect(room.heldState().candidates).toHaveLength(3);
    expect(room.droppedCandidates).toBe(2);
  });

  it('a new offer replaces the held one and clears its candidates', () => {
    const room = new Room('r');
    room.join('c', 'caller');
    room.relay('c', { type: 'offer', sdp: 'o1' });
    room.relay('c', { type: 'candidate', candidate: fakeCandidate(1) });
    room.relay('c', { type: 'offer', sdp: 'o2' });
    expect(room.heldState()).toEqual({ sdp: 'o2', candidates: [], answered: false });
  });

  it('candidates before the first offer are delivered after it, never before', () => {
    const room = new Room('r');
    room.join('a', 'answerer');
    room.join('c', 'caller');
    expect(room.relay('c', { type: 'candidate', candidate: fakeCandidate(1) })).toEqual({
      ok: true,
      delivered: false,
      deliveries: [],
    });
    expect(room.relay('c', { type: 'offer', sdp: 'o' })).toEqual({
      ok: true,
      delivered: true,
      deliveries: [
        { to: 'a', message: { type: 'offer', sdp: 'o' } },
        { to: 'a', message: { type: 'candidate', candidate: fakeCandidate(1) } },
      ],
    });
  });

  it('an answered offer is no longer held: a replacing answerer waits for a new offer', () => {
    const room = new Room('r');
    room.join('c', 'caller');
    room.join('a', 'answerer');
    room.relay('c', { type: 'offer', sdp: 'o' });
    expect(room.relay('a', { type: 'answer', sdp: 'ans' })).toEqual({
      ok: true,
      delivered: true,
      deliveries: [{ to: 'c', message: { type: 'answer', sdp: 'ans' } }],
    });
    room.relay('c', { type: 'candidate', candidate: fakeCandidate(9) });
    expect(room.heldState().candidates).toEqual([]);
    expect(room.leave('a', 'bye')).toEqual([
      { to: 'c', message: { type: 'peer-left', role: 'answerer', reason: 'bye' } },
    ]);
    expect(room.join('b', 'answerer')).toEqual({
      ok: true,
      ack: { ok: true, room: 'r', role: 'answerer', peerPresent: true },
      deliveries: [{ to: 'c', message: { type: 'peer-joined', role: 'answerer' } }],
    });
  });

  it('an unanswered offer is re-delivered to a replacing answerer', () => {
    const room = new Room('r');
    room.join('c', 'caller');
    room.join('a', 'answerer');
    room.relay('c', { type: 'offer', sdp: 'o' });
    room.relay('c', { type: 'candidate', candidate: fakeCandidate(1) });
    room.leave('a', 'disconnected');
    const again = room.join('b', 'answerer');
    expect(again.ok && again.deliveries.map((d) => d.message.type)).toEqual([
      'peer-joined',
      'offer',
      'candidate',
    ]);
  });

  it('a leaving caller takes its held state with it', () => {
    const room = new Room('r');
    room.join('c', 'caller');
    room.relay('c', { type: 'offer', sdp: 'o' });
    expect(room.leave('c', 'disconnected')).toEqual([]);
    expect(room.isEmpty).toBe(true);
    room.join('c2', 'caller');
    expect(room.join('a', 'answerer')).toMatchObject({ deliveries: [{ to: 'c2' }] });
  });

  it('answers from a caller and offers from an answerer are WRONG_ROLE; answers with nobody to get them are dropped', () => {
    const room = new Room('r');
    room.join('c', 'caller');
    room.join('a', 'answerer');
    expect(room.relay('c', { type: 'answer', sdp: 'x' })).toMatchObject({
      ok: false,
      error: { code: 'WRONG_ROLE' },
    });
    expect(room.relay('a', { type: 'offer', sdp: 'x' })).toMatchObject({
      ok: false,
      error: { code: 'WRONG_ROLE' },
    });
    expect(room.relay('z', { type: 'offer', sdp: 'x' })).toMatchObject({
      ok: false,
      error: { code: 'NOT_JOINED' },
    });
    room.leave('c', 'bye');
    expect(room.relay('a', { type: 'answer', sdp: 'x' })).toEqual({
      ok: true,
      delivered: false,
      deliveries: [],
    });
    expect(room.relay('a', { type: 'candidate', candidate: fakeCandidate(1) })).toEqual({
      ok: true,
      delivered: false,
      deliveries: [],
    });
  });
});

describe('RoomRegistry', { timeout: 5000 }, () => {
  it('keeps clients to the one room they joined and forgets empty rooms', () => {
    const rooms = new RoomRegistry();
    expect(rooms.dispatch('c1', { type: 'join', room: 'one', role: 'caller' }).ack).toEqual({
      ok: true,
      room: 'one',
      role: 'caller',
      peerPresent: false,
    });
    rooms.dispatch('a2', { type: 'join', room: 'two', role: 'answerer' });
    expect(rooms.roomCount).toBe(2);
    // An offer in room one never reaches the answerer of room two.
    expect(rooms.dispatch('c1', { type: 'offer', sdp: 'o' })).toEqual({
      ack: { ok: true, delivered: false },
      deliveries: [],
      // For the limits: the room now holds the 1-byte offer.
      usage: { room: 'one', member: true, role: 'caller', created: false, heldBytes: 1 },
    });
    expect(rooms.dispatch('c1', { type: 'join', room: 'two', role: 'caller' }).ack).toMatchObject({
      ok: false,
      error: { code: 'ALREADY_JOINED' },
    });
    expect(rooms.dispatch('x', { type: 'candidate', candidate: fakeCandidate(1) }).ack).toMatchObject({
      ok: false,
      error: { code: 'NOT_JOINED' },
    });
    expect(rooms.dispatch('x', { type: 'bye' }).ack).toMatchObject({
      ok: false,
      error: { code: 'NOT_JOINED' },
    });
    expect(rooms.dispatch('c1', { type: 'bye' })).toEqual({
      ack: { ok: true },
      deliveries: [],
      usage: { room: 'one', member: false, role: 'caller', created: false, heldBytes: 0 },
    });
    expect(rooms.roomCount).toBe(1);
    expect(rooms.disconnect('a2')).toEqual([]);
    expect(rooms.roomCount).toBe(0);
    // A refused join into a new room does not leave an empty room behind.
    rooms.dispatch('p', { type: 'join', room: 'three', role: 'caller' });
    rooms.dispatch('q', { type: 'join', room: 'three', role: 'caller' });
    expect(rooms.roomCount).toBe(1);
    expect(rooms.roomOf('q')).toBeUndefined();
  });

  it('refuses a join that would create a room when the limits say so, and admits one to an existing room', () => {
    const rooms = new RoomRegistry();
    const newRoom = { code: 'TOO_MANY_ROOMS' as const, message: 'no more rooms' };
    expect(rooms.dispatch('c', { type: 'join', room: 'r', role: 'caller' }, { newRoom }).ack).toEqual({
      ok: false,
      error: newRoom,
    });
    expect(rooms.roomCount).toBe(0);
    const created = rooms.dispatch('c', { type: 'join', room: 'r', role: 'caller' });
    expect(created.usage).toMatchObject({ room: 'r', created: true, member: true, heldBytes: 0 });
    const joined = rooms.dispatch('a', { type: 'join', room: 'r', role: 'answerer' }, { newRoom });
    expect(joined.ack).toMatchObject({ ok: true });
    expect(joined.usage).toMatchObject({ room: 'r', created: false, role: 'answerer' });
  });
});
