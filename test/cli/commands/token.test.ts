/**
 * `rtc-peer token` through the real CLI: a token from a secret file or RTC_PEER_TOKEN_SECRET that verifies
 * for its room and role, and clear usage errors (exit 2) without a secret, with a short one, a bad ttl.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { verifyRoomToken } from '../../../src/signal/room-token.js';
import { killAll, startCli } from '../../helpers/cli.js';

afterEach(async () => {
  await killAll();
});

const SECRET = 'k'.repeat(40);

describe('rtc-peer token', () => {
  test('prints a token for its room and role, from a secret file or the environment', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tok-'));
    writeFileSync(join(dir, 'secret'), `${SECRET}\n`);
    const fromFile = startCli(
      [
        'token',
        '--room',
        'lab',
        '--role',
        'caller',
        '--ttl',
        '10m',
        '--token-secret-file',
        join(dir, 'secret'),
      ],
      { env: { RTC_PEER_TOKEN_SECRET: '' } },
    );
    expect((await fromFile.exited).code).toBe(0);
    const token = fromFile.stdout().trim();
    const ok = await verifyRoomToken(SECRET, token, { room: 'lab', role: 'caller' });
    expect(ok.ok && ok.claims.exp - Math.floor(Date.now() / 1000)).toBeGreaterThan(590);
    const wrong = await verifyRoomToken(SECRET, token, { room: 'lab', role: 'answerer' });
    expect(wrong.ok ? '' : wrong.refusal.code).toBe('TOKEN_WRONG_ROLE');

    const fromEnv = startCli(['token', '--room', 'lab', '--role', 'answerer'], {
      env: { RTC_PEER_TOKEN_SECRET: SECRET },
    });
    expect((await fromEnv.exited).code).toBe(0);
    const ans = await verifyRoomToken(SECRET, fromEnv.stdout().trim(), { room: 'lab', role: 'answerer' });
    expect(ans.ok).toBe(true);
  }, 20_000);

  test('without a secret, with a short one or a bad ttl: a usage error that says what to do', async () => {
    const none = startCli(['token', '--room', 'lab', '--role', 'caller'], {
      env: { RTC_PEER_TOKEN_SECRET: '' },
    });
    expect((await none.exited).code).toBe(2);
    expect(none.stderr()).toMatch(
      /no token secret: pass --token-secret-file FILE or set RTC_PEER_TOKEN_SECRET/,
    );
    const short = startCli(['token', '--room', 'lab', '--role', 'caller'], {
      env: { RTC_PEER_TOKEN_SECRET: 'abc' },
    });
    expect((await short.exited).code).toBe(2);
    expect(short.stderr()).toMatch(/fewer than 32/);
    const ttl = startCli(['token', '--room', 'lab', '--role', 'caller', '--ttl', 'soon'], {
      env: { RTC_PEER_TOKEN_SECRET: SECRET },
    });
    expect((await ttl.exited).code).toBe(2);
    expect(ttl.stderr()).toMatch(/--ttl "soon": expected a positive duration/);
    const role = startCli(['token', '--room', 'lab', '--role', 'viewer'], {
      env: { RTC_PEER_TOKEN_SECRET: SECRET },
    });
    expect((await role.exited).code).toBe(2);
    expect(role.stderr()).toMatch(/viewer.*caller, answerer/s);
  }, 20_000);
});
