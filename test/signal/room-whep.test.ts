/**
 * What the room learnt for WHIP/WHEP sessions bridged into it (protocol 2): a viewer that makes its own offers
 * (`offers`) never takes the held offer and is announced as such; `hangup` ends one call, both members stay.
 */
import { describe, expect, it } from 'vitest';
import { memberIdOf, Room, type JoinRequest } from '../../src/signal/room.js';

const v2 = (role: 'caller' | 'answerer', session: string, extra: Partial<JoinRequest> = {}): JoinRequest => ({
  role,
  protocol: 2,
  session,
  ...extra,
});
const C = memberIdOf('r', 'caller-session-000001');
const W = memberIdOf('r', 'whep-session-00000001');
const A = memberIdOf('r', 'viewer-session-000001');

describe('Room: viewers that offer, and hangups', () => {
  it('a viewer that offers does not take the held offer; the caller hears it offers, and it is listed so', () => {
    const room = new Room('r');
    room.join('conn-c', v2('caller', 'caller-session-000001'));
    room.relay('conn-c', { type: 'offer', sdp: 'held' });
    const w = room.join('conn-w', v2('answerer', 'whep-session-00000001', { offers: true }));
    expect(w).toMatchObject({ ok: true });
    // Only the caller hears of it; no held offer goes to the WHEP viewer.
    expect(w.ok && w.deliveries).toEqual([
      { to: 'conn-c', message: { type: 'peer-joined', role: 'answerer', id: W, protocol: 2, offers: true } },
    ]);
    // The next plain viewer still takes the held offer.
    const a = room.join('conn-a', v2('answerer', 'viewer-session-000001'));
    expect(a.ok && a.deliveries.map((d) => d.message.type)).toEqual(['peer-joined', 'offer']);
    // A caller joining later sees who offers in its peers.
    const room2 = new Room('r');
    room2.join('conn-w', v2('answerer', 'whep-session-00000001', { offers: true }));
    const c = room2.join('conn-c', v2('caller', 'caller-session-000001'));
    expect(c.ok && c.ack.peers).toEqual([
      { id: W, role: 'answerer', protocol: 2, inCall: false, offers: true },
    ]);
  });

  it('hangup ends a call with one member: delivered to protocol-2 members, refused when it names nobody', () => {
    const room = new Room('r');
    room.join('conn-c', v2('caller', 'caller-session-000001'));
    room.join('conn-a', v2('answerer', 'viewer-session-000001'));
    expect(room.relay('conn-c', { type: 'hangup', to: A })).toEqual({
      ok: true,
      delivered: true,
      deliveries: [{ to: 'conn-a', message: { type: 'hangup', from: C } }],
    });
    // An answerer may omit `to`: its caller.
    expect(room.relay('conn-a', { type: 'hangup' })).toEqual({
      ok: true,
      delivered: true,
      deliveries: [{ to: 'conn-c', message: { type: 'hangup', from: A } }],
    });
    expect(room.relay('conn-c', { type: 'hangup' })).toMatchObject({
      ok: false,
      error: { code: 'BAD_MESSAGE' },
    });
    expect(room.relay('conn-c', { type: 'hangup', to: 'nobody' })).toMatchObject({
      ok: false,
      error: { code: 'NO_SUCH_PEER' },
    });
    // Both are still members.
    expect(room.answererCount).toBe(1);
    expect(room.roleOf('conn-c')).toBe('caller');
    // A protocol-1 member never gets one.
    const old = new Room('r');
    old.join('conn-c', v2('caller', 'caller-session-000001'));
    old.join('conn-1', 'answerer');
    expect(old.relay('conn-c', { type: 'hangup', to: old.idOf('conn-1') ?? '' })).toEqual({
      ok: true,
      delivered: false,
      deliveries: [],
    });
  });
});
