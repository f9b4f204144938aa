/**
 * Room tokens against the real server and real clients, all as CLI processes: `rtc-peer signal` with a
 * token secret (from a file), `rtc-peer token`, and `rtc-peer answer` admitted for exactly its room and role,
 * refused with TOKEN_WRONG_ROOM, TOKEN_WRONG_ROLE, TOKEN_EXPIRED, TOKEN_INVALID (exit 3), and the shared
 * --token still working beside them.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { signRoomToken } from '../../../src/signal/room-token.js';
import { killAll, startCli } from '../../helpers/cli.js';

afterEach(async () => {
  await killAll();
});

const SECRET = 's'.repeat(48);

describe('room tokens at join', () => {
  test('admitted for its room and role only; each refusal has its code', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rtok-'));
    const file = join(dir, 'secret');
    writeFileSync(file, `${SECRET}\n`);
    const env = { RTC_PEER_TOKEN_SECRET: '', RTC_PEER_TOKEN: '' };
    const server = startCli(
      ['signal', '--host', '127.0.0.1', '--port', '0', '--token-secret-file', file, '--token', 'shared-one'],
      { env },
    );
    const url = (await server.waitForLine(/listening on (http:\/\/\S+)/))[1] ?? '';
    const make = startCli(['token', '--room', 'lab', '--role', 'answerer', '--token-secret-file', file], {
      env,
    });
    expect((await make.exited).code).toBe(0);
    const token = make.stdout().trim();

    const answer = (room: string, tok: string) =>
      startCli(['answer', '--signal', url, '--room', room, '--token', tok, '--stun', 'none', '--json'], {
        env,
      });
    const admitted = answer('lab', token);
    expect((await admitted.waitFor('joined', 10_000)).role).toBe('answerer');
    admitted.child.kill('SIGINT');
    expect((await admitted.exited).code).toBe(0);

    const refused = async (room: string, tok: string, code: string) => {
      const p = answer(room, tok);
      expect((await p.exited).code).toBe(3);
      expect((await p.waitFor('error')).code).toBe(code);
      return p.stderr();
    };
    expect(await refused('lab2', token, 'TOKEN_WRONG_ROOM')).toMatch(/for room "lab", not "lab2"/);
    const caller = await signRoomToken(SECRET, { room: 'lab', role: 'caller', ttlSeconds: 60 });
    expect(await refused('lab', caller, 'TOKEN_WRONG_ROLE')).toMatch(/for the caller role, not answerer/);
    const old = await signRoomToken(
      SECRET,
      { room: 'lab', role: 'answerer', ttlSeconds: 60 },
      new Date(Date.now() - 120_000),
    );
    expect(await refused('lab', old, 'TOKEN_EXPIRED')).toMatch(/expired at/);
    const other = await signRoomToken('o'.repeat(48), { room: 'lab', role: 'answerer', ttlSeconds: 60 });
    expect(await refused('lab', other, 'TOKEN_INVALID')).toMatch(/not valid for this server/);
    expect(await refused('lab', 'not-the-shared', 'UNAUTHORIZED')).toMatch(/wrong token/);

    // The shared token still admits any room and role.
    const shared = answer('anything', 'shared-one');
    expect((await shared.waitFor('joined', 10_000)).room).toBe('anything');
    shared.child.kill('SIGINT');
    expect((await shared.exited).code).toBe(0);
    server.child.kill('SIGINT');
    expect((await server.exited).code).toBe(0);
  }, 60_000);
});
