/**
 * Protocol 2 in the pure room: member ids, one caller and several answerers, addressed messages, the held
 * offer for the next viewer, renegotiation, rejoining with a session, and protocol-1 members beside them.
 */
import { describe, expect, it } from 'vitest';
import { memberIdOf, Room, type Delivery, type JoinRequest } from '../../src/signal/room.js';
import { RoomRegistry } from '../../src/signal/room-registry.js';
import { fakeCandidate } from '../helpers/signal-server.js';

const SESSION = { c: 'caller-session-000001', a: 'viewer-a-session-0001', b: 'viewer-b-session-0001' };
const v2 = (role: 'caller' | 'answerer', session: string, extra: Partial<JoinRequest> = {}): JoinRequest => ({
  role,
  protocol: 2,
  session,
  ...extra,
});
const idOf = (session: string, room = 'r'): string => memberIdOf(room, session);
const C = idOf(SESSION.c);
const A = idOf(SESSION.a);
const B = idOf(SESSION.b);

/** Every connection a list of deliveries reaches. */
const targets = (d: Delivery[]): string[] => [...new Set(d.map((x) => x.to))];

function joined(room: Room, conn: string, request: JoinRequest | 'caller' | 'answerer'): Delivery[] {
  const result = room.join(conn, request);
  if (!result.ok) throw new Error(`join refused: ${result.error.code}`);
  return result.deliveries;
}

describe('Room, protocol 2', { timeout: 5000 }, () => {
  it('gives each member an id derived from its session, with the room in the join ack', () => {
    const room = new Room('r', { maxViewers: 3 });
    const a = room.join('conn-a', v2('answerer', SESSION.a));
    expect(a).toMatchObject({
      ok: true,
      ack: { ok: true, room: 'r', role: 'answerer', id: A, peerPresent: false, peers: [], maxViewers: 3 },
    });
    const c = room.join('conn-c', v2('caller', SESSION.c));
    expect(c).toMatchObject({
      ok: true,
      ack: { id: C, peerPresent: true, peers: [{ id: A, role: 'answerer', protocol: 2, inCall: false }] },
    });
    // The answerer hears of the caller, with its id.
    expect(c.ok && c.deliveries).toEqual([
      { to: 'conn-a', message: { type: 'peer-joined', role: 'caller', id: C, protocol: 2 } },
    ]);
    // Without a session the server makes one up; ids differ per room for the same session.
    const anonymous = room.join('conn-x', { role: 'answerer', protocol: 2 });
    expect(anonymous.ok && anonymous.ack.id).toMatch(/^[A-Za-z0-9_-]{16}$/);
    expect(idOf(SESSION.a, 'other')).not.toBe(A);
  });

  it('holds one offer for the next viewer; the viewer that joins takes it, the next gets the next one', () => {
    const room = new Room('r');
    joined(room, 'conn-c', v2('caller', SESSION.c));
    expect(room.relay('conn-c', { type: 'offer', sdp: 'spare-1' })).toEqual({
      ok: true,
      delivered: false,
      deliveries: [],
    });
    room.relay('conn-c', { type: 'candidate', candidate: fakeCandidate(1) });
    expect(joined(room, 'conn-a', v2('answerer', SESSION.a))).toEqual([
      {
        to: 'conn-c',
        message: { type: 'peer-joined', role: 'answerer', id: A, protocol: 2, tookOffer: true },
      },
      { to: 'conn-a', message: { type: 'offer', sdp: 'spare-1', from: C } },
      { to: 'conn-a', message: { type: 'candidate', candidate: fakeCandidate(1), from: C } },
    ]);
    // Candidates without `to` still belong to the taken offer until the caller holds a new one.
    expect(room.relay('conn-c', { type: 'candidate', candidate: fakeCandidate(2) })).toEqual({
      ok: true,
      delivered: true,
      deliveries: [{ to: 'conn-a', message: { type: 'candidate', candidate: fakeCandidate(2), from: C } }],
    });
    // The caller prepares the next held offer: nobody present gets it, the next viewer does.
    expect(room.relay('conn-c', { type: 'offer', sdp: 'spare-2' })).toMatchObject({ delivered: false });
    room.relay('conn-c', { type: 'candidate', candidate: fakeCandidate(3) });
    expect(room.heldState()).toEqual({ sdp: 'spare-2', candidates: [fakeCandidate(3)], answered: false });
    const b = joined(room, 'conn-b', v2('answerer', SESSION.b));
    expect(b.map((d) => [d.to, d.message.type])).toEqual([
      ['conn-c', 'peer-joined'],
      ['conn-b', 'offer'],
      ['conn-b', 'candidate'],
    ]);
    expect(b[1]?.message).toEqual({ type: 'offer', sdp: 'spare-2', from: C });
  });

  it('routes addressed messages between the caller and one viewer, never to another', () => {
    const room = new Room('r');
    joined(room, 'conn-a', v2('answerer', SESSION.a));
    joined(room, 'conn-b', v2('answerer', SESSION.b));
    joined(room, 'conn-c', v2('caller', SESSION.c));
    const toA = room.relay('conn-c', { type: 'offer', sdp: 'for-a', to: A });
    expect(toA).toEqual({
      ok: true,
      delivered: true,
      deliveries: [{ to: 'conn-a', message: { type: 'offer', sdp: 'for-a', from: C } }],
    });
    const toB = room.relay('conn-c', { type: 'candidate', candidate: fakeCandidate(7), to: B });
    expect(toB.ok && targets(toB.deliveries)).toEqual(['conn-b']);
    // Each viewer's answer and candidates reach the caller, saying whose they are.
    expect(room.relay('conn-b', { type: 'answer', sdp: 'from-b' })).toEqual({
      ok: true,
      delivered: true,
      deliveries: [{ to: 'conn-c', message: { type: 'answer', sdp: 'from-b', from: B } }],
    });
    const cand = room.relay('conn-a', { type: 'candidate', candidate: fakeCandidate(8), to: C });
    expect(cand.ok && cand.deliveries).toEqual([
      { to: 'conn-c', message: { type: 'candidate', candidate: fakeCandidate(8), from: A } },
    ]);
    // Viewers do not hear of each other.
    const c2 = new Room('r');
    joined(c2, 'conn-c', v2('caller', SESSION.c));
    joined(c2, 'conn-a', v2('answerer', SESSION.a));
    expect(targets(joined(c2, 'conn-b', v2('answerer', SESSION.b)))).toEqual(['conn-c']);
    expect(targets(c2.leave('conn-b', 'bye'))).toEqual(['conn-c']);
  });

  it('refuses what it cannot route: an unknown `to`, an answer addressed past the caller', () => {
    const room = new Room('r');
    joined(room, 'conn-c', v2('caller', SESSION.c));
    joined(room, 'conn-a', v2('answerer', SESSION.a));
    expect(room.relay('conn-c', { type: 'offer', sdp: 'x', to: 'nobody' })).toMatchObject({
      ok: false,
      error: { code: 'NO_SUCH_PEER' },
    });
    expect(room.relay('conn-a', { type: 'answer', sdp: 'x', to: 'nobody' })).toMatchObject({
      ok: false,
      error: { code: 'NO_SUCH_PEER' },
    });
    // An answerer cannot address another answerer.
    joined(room, 'conn-b', v2('answerer', SESSION.b));
    expect(room.relay('conn-a', { type: 'candidate', candidate: fakeCandidate(1), to: B })).toMatchObject({
      ok: false,
      error: { code: 'NO_SUCH_PEER' },
    });
  });

  it('refuses one viewer more than maxViewers with ROOM_FULL, and admits again after one leaves', () => {
    const room = new Room('r', { maxViewers: 2 });
    joined(room, 'conn-c', v2('caller', SESSION.c));
    joined(room, 'conn-a', v2('answerer', SESSION.a));
    joined(room, 'conn-b', v2('answerer', SESSION.b));
    const full = room.join('conn-x', v2('answerer', 'viewer-x-session-0001'));
    expect(full).toMatchObject({ ok: false, error: { code: 'ROOM_FULL' } });
    expect(!full.ok && full.error.message).toContain('2 answerers at most');
    room.leave('conn-a', 'bye');
    expect(room.join('conn-x', v2('answerer', 'viewer-x-session-0001'))).toMatchObject({ ok: true });
  });

  it('carries renegotiation (an ICE restart) to a protocol-2 viewer only', () => {
    const room = new Room('r');
    joined(room, 'conn-c', v2('caller', SESSION.c));
    joined(room, 'conn-a', v2('answerer', SESSION.a));
    joined(room, 'conn-old', 'answerer');
    expect(room.relay('conn-c', { type: 'offer', sdp: 'restart', to: A, renegotiate: true })).toEqual({
      ok: true,
      delivered: true,
      deliveries: [{ to: 'conn-a', message: { type: 'offer', sdp: 'restart', from: C, renegotiate: true } }],
    });
    const oldId = room.idOf('conn-old') ?? '';
    expect(room.relay('conn-c', { type: 'offer', sdp: 'r', to: oldId, renegotiate: true })).toMatchObject({
      ok: false,
      error: { code: 'BAD_MESSAGE', message: expect.stringContaining('protocol 1') },
    });
  });

  it('a viewer may make the offer itself (as a WHEP client does); the caller answers it, addressed', () => {
    const room = new Room('r');
    joined(room, 'conn-c', v2('caller', SESSION.c));
    joined(room, 'conn-a', v2('answerer', SESSION.a));
    expect(room.relay('conn-a', { type: 'offer', sdp: 'recvonly', to: C })).toEqual({
      ok: true,
      delivered: true,
      deliveries: [{ to: 'conn-c', message: { type: 'offer', sdp: 'recvonly', from: A } }],
    });
    expect(room.relay('conn-c', { type: 'answer', sdp: 'sendonly', to: A })).toEqual({
      ok: true,
      delivered: true,
      deliveries: [{ to: 'conn-a', message: { type: 'answer', sdp: 'sendonly', from: C } }],
    });
    expect(room.relay('conn-c', { type: 'answer', sdp: 'x' })).toMatchObject({
      ok: false,
      error: { code: 'BAD_MESSAGE' },
    });
    // A protocol-1 caller only makes offers, and protocol-1 members keep their roles.
    const old = new Room('r');
    old.join('conn-c', 'caller');
    joined(old, 'conn-a', v2('answerer', SESSION.a));
    expect(old.relay('conn-a', { type: 'offer', sdp: 'x' })).toMatchObject({ error: { code: 'WRONG_ROLE' } });
    expect(old.relay('conn-c', { type: 'answer', sdp: 'x' })).toMatchObject({
      error: { code: 'WRONG_ROLE' },
    });
  });

  it('a member rejoining with its session on a new connection keeps its id and its call', () => {
    const registry = new RoomRegistry();
    registry.dispatch('conn-c', { type: 'join', room: 'r', ...v2('caller', SESSION.c) });
    registry.dispatch('conn-a1', { type: 'join', room: 'r', ...v2('answerer', SESSION.a) });
    registry.dispatch('conn-c', { type: 'offer', sdp: 'spare', to: undefined });
    // conn-a1 is gone behind a dead network, the server has not noticed; the viewer rejoins on conn-a2.
    const back = registry.dispatch('conn-a2', {
      type: 'join',
      room: 'r',
      ...v2('answerer', SESSION.a, { inCall: true }),
    });
    expect(back.ack).toMatchObject({ ok: true, id: A });
    expect(back.deliveries).toEqual([
      {
        to: 'conn-a1',
        message: { type: 'error', code: 'REPLACED', message: expect.stringContaining('no longer a member') },
      },
      // No peer-left: the caller learns that A is back, in a call, and does not get the held offer.
      {
        to: 'conn-c',
        message: { type: 'peer-joined', role: 'answerer', id: A, protocol: 2, inCall: true },
      },
    ]);
    // Messages to A reach the new connection; the old one is in no room.
    const sent = registry.dispatch('conn-c', { type: 'offer', sdp: 'restart', to: A, renegotiate: true });
    expect(targets(sent.deliveries)).toEqual(['conn-a2']);
    expect(registry.dispatch('conn-a1', { type: 'answer', sdp: 'late' }).ack).toMatchObject({
      ok: false,
      error: { code: 'NOT_JOINED' },
    });
    // The old connection finally drops: nothing happens to the member.
    expect(registry.disconnect('conn-a1')).toEqual([]);
    expect(registry.roomOf('conn-a2')?.answererCount).toBe(1);
  });

  it('a viewer leaving or crashing disturbs no other viewer; the caller leaving tells every viewer', () => {
    const room = new Room('r');
    joined(room, 'conn-c', v2('caller', SESSION.c));
    joined(room, 'conn-a', v2('answerer', SESSION.a));
    joined(room, 'conn-b', v2('answerer', SESSION.b));
    expect(room.leave('conn-a', 'disconnected')).toEqual([
      { to: 'conn-c', message: { type: 'peer-left', role: 'answerer', reason: 'disconnected', id: A } },
    ]);
    expect(room.leave('conn-c', 'bye')).toEqual([
      { to: 'conn-b', message: { type: 'peer-left', role: 'caller', reason: 'bye', id: C } },
    ]);
    expect(room.heldState().sdp).toBeNull();
  });
});

describe('Room, protocol 1 and 2 together', { timeout: 5000 }, () => {
  it('a protocol-1 viewer of a protocol-2 caller takes the held offer and sees protocol-1 messages only', () => {
    const room = new Room('r');
    joined(room, 'conn-c', v2('caller', SESSION.c));
    room.relay('conn-c', { type: 'offer', sdp: 'spare' });
    const result = room.join('conn-old', 'answerer');
    expect(result).toMatchObject({
      ok: true,
      ack: { ok: true, room: 'r', role: 'answerer', peerPresent: true },
    });
    const id = room.idOf('conn-old') ?? '';
    expect(result.ok && result.deliveries).toEqual([
      { to: 'conn-c', message: { type: 'peer-joined', role: 'answerer', id, protocol: 1, tookOffer: true } },
      { to: 'conn-old', message: { type: 'offer', sdp: 'spare' } },
    ]);
    // Its answer carries no `to`: it goes to the caller, which learns whose it is.
    expect(room.relay('conn-old', { type: 'answer', sdp: 'ans' })).toMatchObject({
      deliveries: [{ to: 'conn-c', message: { type: 'answer', sdp: 'ans', from: id } }],
    });
    expect(room.relay('conn-c', { type: 'candidate', candidate: fakeCandidate(1), to: id })).toMatchObject({
      deliveries: [{ to: 'conn-old', message: { type: 'candidate', candidate: fakeCandidate(1) } }],
    });
    expect(room.leave('conn-c', 'bye')).toEqual([
      { to: 'conn-old', message: { type: 'peer-left', role: 'caller', reason: 'bye' } },
    ]);
  });

  it('a protocol-1 answerer finds the role taken as before, unless a protocol-2 caller serves several', () => {
    const room = new Room('r');
    room.join('conn-1', 'answerer');
    expect(room.join('conn-2', 'answerer')).toMatchObject({ ok: false, error: { code: 'ROLE_TAKEN' } });
    // A protocol-2 viewer may wait beside it for a camera.
    expect(room.join('conn-b', v2('answerer', SESSION.b))).toMatchObject({ ok: true });
    const served = new Room('s');
    joined(served, 'conn-c', v2('caller', SESSION.c));
    joined(served, 'conn-1', 'answerer');
    expect(served.join('conn-2', 'answerer')).toMatchObject({ ok: true });
  });

  it('a protocol-1 caller serves the viewers that waited for it one after another, and admits no more', () => {
    const room = new Room('r');
    joined(room, 'conn-a', v2('answerer', SESSION.a));
    joined(room, 'conn-b', v2('answerer', SESSION.b));
    joined(room, 'conn-d', v2('answerer', 'viewer-d-session-0001'));
    room.join('conn-c', 'caller');
    expect(room.join('conn-x', v2('answerer', 'viewer-x-session-0001'))).toMatchObject({
      ok: false,
      error: { code: 'ROLE_TAKEN' },
    });
    // Its offer goes to the viewer that waited longest, which sees who sent it.
    const first = room.relay('conn-c', { type: 'offer', sdp: 'one' });
    expect(first.ok && first.deliveries).toEqual([
      { to: 'conn-a', message: { type: 'offer', sdp: 'one', from: room.idOf('conn-c') } },
    ]);
    // Another viewer leaving is none of its business; its own answerer leaving is.
    expect(room.leave('conn-d', 'bye')).toEqual([]);
    expect(room.leave('conn-a', 'bye')).toEqual([
      { to: 'conn-c', message: { type: 'peer-left', role: 'answerer', reason: 'bye' } },
    ]);
    // Its next offer (a new call) goes to the next viewer.
    const second = room.relay('conn-c', { type: 'offer', sdp: 'two' });
    expect(second.ok && targets(second.deliveries)).toEqual(['conn-b']);
  });
});
