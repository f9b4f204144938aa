import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  looksLikeJwt,
  parseTtl,
  readSecret,
  roomTokenSigned,
  signRoomToken,
  verifyRoomToken,
} from '../../src/signal/room-token.js';

const SECRET = 'a'.repeat(16) + 'b'.repeat(16) + 'c'.repeat(16);

describe('room tokens', () => {
  it('admits exactly its room and role until expiry', async () => {
    const token = await signRoomToken(SECRET, { room: 'lab', role: 'caller', ttlSeconds: 60 });
    expect(looksLikeJwt(token)).toBe(true);
    const ok = await verifyRoomToken(SECRET, token, { room: 'lab', role: 'caller' });
    expect(ok.ok).toBe(true);
    const codeOf = async (want: { room: string; role: string }, t = token, now?: Date) => {
      const r = await verifyRoomToken(SECRET, t, want, now);
      return r.ok ? 'ok' : r.refusal.code;
    };
    expect(await codeOf({ room: 'Lab', role: 'caller' })).toBe('TOKEN_WRONG_ROOM');
    expect(await codeOf({ room: 'lab', role: 'answerer' })).toBe('TOKEN_WRONG_ROLE');
    // Within the 5 s clock tolerance, then past it.
    expect(await codeOf({ room: 'lab', role: 'caller' }, token, new Date(Date.now() + 63_000))).toBe('ok');
    expect(await codeOf({ room: 'lab', role: 'caller' }, token, new Date(Date.now() + 70_000))).toBe(
      'TOKEN_EXPIRED',
    );
    const other = await signRoomToken(SECRET.replace('a', 'z'), {
      room: 'lab',
      role: 'caller',
      ttlSeconds: 60,
    });
    expect(await codeOf({ room: 'lab', role: 'caller' }, other)).toBe('TOKEN_INVALID');
    const [h, , s] = token.split('.');
    const forged = `${h}.${Buffer.from('{"room":"lab","role":"caller","exp":9999999999,"iss":"rtc-peer"}').toString('base64url')}.${s}`;
    expect(await codeOf({ room: 'lab', role: 'caller' }, forged)).toBe('TOKEN_INVALID');
    const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${forged.split('.')[1]}.`;
    expect(await codeOf({ room: 'lab', role: 'caller' }, none)).toBe('TOKEN_INVALID');
  });

  it('checks the signature alone, synchronously, for the handshake (as jose does)', async () => {
    const token = await signRoomToken(SECRET, { room: 'lab', role: 'caller', ttlSeconds: 60 });
    expect(roomTokenSigned(SECRET, token)).toBe(true);
    // An expired token is still signed: its expiry is the join's to refuse, with its own code.
    const old = await signRoomToken(SECRET, { room: 'lab', role: 'caller', ttlSeconds: 1 }, new Date(0));
    expect(roomTokenSigned(SECRET, old)).toBe(true);
    expect(roomTokenSigned(SECRET.replace('a', 'z'), token)).toBe(false);
    const [h, p, s] = token.split('.') as [string, string, string];
    const otherPayload = Buffer.from('{"room":"any","role":"caller","exp":9999999999}').toString('base64url');
    expect(roomTokenSigned(SECRET, `${h}.${otherPayload}.${s}`)).toBe(false);
    expect(roomTokenSigned(SECRET, `${h}.${p}.${s.slice(0, -4)}`)).toBe(false);
    const none = Buffer.from('{"alg":"none"}').toString('base64url');
    expect(roomTokenSigned(SECRET, `${none}.${p}.${s}`)).toBe(false);
    expect(roomTokenSigned(SECRET, `${Buffer.from('not json').toString('base64url')}.${p}.${s}`)).toBe(false);
    expect(roomTokenSigned(SECRET, 'shared-token')).toBe(false);
  });

  it('takes an expired token for a session admitted while it was valid (anyExpiry), nothing else', async () => {
    const old = await signRoomToken(SECRET, { room: 'lab', role: 'caller', ttlSeconds: 60 }, new Date(0));
    const want = { room: 'lab', role: 'caller', anyExpiry: true };
    expect((await verifyRoomToken(SECRET, old, want)).ok).toBe(true);
    const refusal = async (w: typeof want, t = old) => {
      const r = await verifyRoomToken(SECRET, t, w);
      return r.ok ? 'ok' : r.refusal.code;
    };
    expect(await refusal({ ...want, room: 'other' })).toBe('TOKEN_WRONG_ROOM');
    expect(await refusal({ ...want, role: 'answerer' })).toBe('TOKEN_WRONG_ROLE');
    const foreign = await signRoomToken(
      'q'.repeat(40),
      { room: 'lab', role: 'caller', ttlSeconds: 60 },
      new Date(0),
    );
    expect(await refusal(want, foreign)).toBe('TOKEN_INVALID');
    expect(await refusal({ ...want, anyExpiry: false })).toBe('TOKEN_EXPIRED');
  });

  it('reads the secret from a file or the environment, refusing short ones', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tok-'));
    writeFileSync(join(dir, 's'), `${SECRET}\n`);
    expect(readSecret(join(dir, 's'), 'RTC_PEER_TEST_SECRET', '--token-secret-file')).toBe(SECRET);
    writeFileSync(join(dir, 'short'), 'abc');
    expect(() => readSecret(join(dir, 'short'), 'X', '--token-secret-file')).toThrow(/fewer than 32/);
    expect(() => readSecret(join(dir, 'missing'), 'X', '--token-secret-file')).toThrow(/cannot read it/);
    process.env.RTC_PEER_TEST_SECRET = SECRET;
    expect(readSecret(undefined, 'RTC_PEER_TEST_SECRET', '--token-secret-file')).toBe(SECRET);
    delete process.env.RTC_PEER_TEST_SECRET;
    expect(readSecret(undefined, 'RTC_PEER_TEST_SECRET', '--token-secret-file')).toBeUndefined();
  });

  it('parses ttls', () => {
    expect(parseTtl('1h')).toBe(3600);
    expect(parseTtl('90')).toBe(90);
    expect(parseTtl('15m')).toBe(900);
    expect(() => parseTtl('0s')).toThrow(/positive duration/);
    expect(() => parseTtl('1y')).toThrow(/positive duration/);
  });
});
