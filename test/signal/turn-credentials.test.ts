import { describe, expect, it } from 'vitest';
import {
  checkTurnOptions,
  turnCredentials,
  turnIceServer,
  TURN_TTL_DEFAULT_S,
} from '../../src/signal/turn-credentials.js';
import { opensslTurnCredential as opensslHmac } from '../helpers/turn-server.js';

const SECRET = 'rtc-peer-turn-test-secret';
const NOW = new Date('2026-01-01T00:00:00Z');

describe('TURN REST credentials', () => {
  it('are <expiry>:<label> and base64(HMAC-SHA1(secret, username)), as coturn computes them', () => {
    const c = turnCredentials(SECRET, 'k3Xq', 86_400, NOW);
    // 2026-01-02T00:00:00Z, a day after NOW
    expect(c.username).toBe('1767312000:k3Xq');
    expect(c.expiresAt.toISOString()).toBe('2026-01-02T00:00:00.000Z');
    // A fixed vector (computed by hand with `printf %s 1767312000:k3Xq | openssl dgst -sha1 -hmac ... -binary
    // | base64`), and openssl again on a label of this run.
    expect(c.credential).toBe('lxGi4SDwq+yxD4Mh5y+xAYI45pQ=');
    const fresh = turnCredentials(SECRET, 'member_Id-9', 60);
    expect(fresh.credential).toBe(opensslHmac(SECRET, fresh.username));
    expect(Number(fresh.username.split(':')[0])).toBe(Math.floor(Date.now() / 1000) + 60);
  });

  it('default to a day, and carry the URLs; a random label differs per call', () => {
    const turn = { urls: ['turn:127.0.0.1:3478?transport=udp'], secret: SECRET };
    const a = turnIceServer(turn, undefined, NOW);
    const b = turnIceServer(turn, undefined, NOW);
    expect(a.urls).toEqual(turn.urls);
    expect(a.username).toMatch(/^1767312000:[A-Za-z0-9_-]{16}$/);
    expect(a.username).not.toBe(b.username);
    expect(a.credential).toBe(opensslHmac(SECRET, a.username));
    expect(TURN_TTL_DEFAULT_S).toBe(86_400);
  });

  it('refuse a label coturn would split or reject', () => {
    expect(() => turnCredentials(SECRET, 'a:b')).toThrow(/label "a:b".*letters, digits/);
    expect(() => turnCredentials(SECRET, '')).toThrow(/label/);
  });

  it('options are checked: URLs, secret length, TTL', () => {
    const ok = { urls: ['turn:t.example.org:3478'], secret: SECRET };
    expect(checkTurnOptions(ok)).toEqual({ ...ok, ttlSeconds: 86_400 });
    expect(() => checkTurnOptions({ ...ok, urls: [] })).toThrow(/turn.urls is empty/);
    expect(() => checkTurnOptions({ ...ok, urls: ['stun:t.example.org'] })).toThrow(
      /"stun:t.example.org" is not a TURN URL/,
    );
    expect(() => checkTurnOptions({ ...ok, secret: 'short' })).toThrow(
      /the TURN secret has 5 bytes, fewer than 16; make one with: openssl rand/,
    );
    expect(() => checkTurnOptions({ ...ok, ttlSeconds: 0 })).toThrow(/ttlSeconds must be a whole number/);
    expect(() => checkTurnOptions({ ...ok, ttlSeconds: 1.5 })).toThrow(/ttlSeconds/);
    expect(() => checkTurnOptions({ ...ok, ttlSeconds: 31 * 86_400 })).toThrow(/30 days/);
  });
});
