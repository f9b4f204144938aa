/**
 * `rtc-peer signal --turn-url/--turn-secret-file/--turn-ttl` (or RTC_PEER_TURN_SECRET) as a process: bad
 * input is a usage error (exit 2) that names the flag, a good one hands each join credentials that last
 * --turn-ttl (checked with openssl). And `call`/`answer --ice-transport-policy relay` without --turn against a
 * server that gives no TURN server ends at once with NO_TURN (exit 3), saying what to do.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { killAll, startCli, startSignalCli } from '../../helpers/cli.js';
import { SignalTestKit } from '../../helpers/signal-server.js';
import { opensslTurnCredential } from '../../helpers/turn-server.js';

const SECRET = 'turn-flags-test-secret-0123456789';
const TURN = 'turn:127.0.0.1:3478?transport=udp';
const kit = new SignalTestKit();
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'rtc-peer-turn-flags-'));
});
afterEach(async () => {
  await kit.closeAll();
  await killAll();
  rmSync(dir, { recursive: true, force: true });
});

const signal = ['signal', '--host', '127.0.0.1', '--port', '0'];
const noEnv = { RTC_PEER_TURN_SECRET: '' };

describe('signal --turn-url', () => {
  test.each([
    [
      ['--turn-url', TURN],
      noEnv,
      /--turn-url needs coturn's static-auth-secret: --turn-secret-file FILE or RTC_PEER_TURN_SECRET/,
    ],
    [['--turn-secret-file', '@secret'], noEnv, /--turn-secret-file needs --turn-url/],
    [['--turn-ttl', '1h'], noEnv, /--turn-ttl needs --turn-url/],
    [
      ['--turn-url', TURN, '--turn-secret-file', '@secret', '--turn-ttl', 'soon'],
      noEnv,
      /--turn-ttl "soon": expected a positive duration/,
    ],
    [
      ['--turn-url', TURN, '--turn-secret-file', '@short'],
      noEnv,
      /--turn-secret-file \S+short: the TURN secret has 5 bytes, fewer than 16/,
    ],
    [
      ['--turn-url', TURN, '--turn-secret-file', '@missing'],
      noEnv,
      /--turn-secret-file \S+missing: cannot read it/,
    ],
    [
      ['--turn-url', TURN],
      { RTC_PEER_TURN_SECRET: 'tiny' },
      /RTC_PEER_TURN_SECRET: the TURN secret has 4 bytes/,
    ],
    [
      ['--turn-url', 'stun:127.0.0.1:3478'],
      { RTC_PEER_TURN_SECRET: SECRET },
      /turn URL "stun:127.0.0.1:3478" is not a TURN URL/,
    ],
  ])(
    '%j is a usage error (exit 2) saying what to fix',
    async (flags, env, message) => {
      writeFileSync(join(dir, 'secret'), `${SECRET}\n`);
      writeFileSync(join(dir, 'short'), 'short\n');
      const args = flags.map((f) => (f.startsWith('@') ? join(dir, f.slice(1)) : f));
      const p = startCli([...signal, ...args], { env });
      expect((await p.exited).code).toBe(2);
      expect(p.stderr()).toMatch(message);
      expect(p.stdout()).not.toMatch(/listening on/);
    },
    20_000,
  );

  test('from a file or the environment: each join gets credentials lasting --turn-ttl', async () => {
    const file = join(dir, 'secret');
    writeFileSync(file, `${SECRET}\n`);
    const runs: [string[], NodeJS.ProcessEnv, number][] = [
      [['--turn-secret-file', file, '--turn-ttl', '90s'], noEnv, 90],
      [['--turn-ttl', '2m'], { RTC_PEER_TURN_SECRET: SECRET }, 120],
    ];
    for (const [flags, env, ttl] of runs) {
      const p = startCli(
        [...signal, '--turn-url', TURN, '--turn-url', `${TURN.replace('udp', 'tcp')}`, ...flags],
        { env },
      );
      const url = (await p.waitForLine(/listening on (http:\/\/\S+)/))[1] ?? '';
      const from = Math.floor(Date.now() / 1000);
      const member = await kit.join(url, 'lab', 'caller');
      const servers = member.ack.ok ? (member.ack.iceServers ?? []) : [];
      expect(servers).toHaveLength(1);
      expect(servers[0]!.urls).toEqual([TURN, TURN.replace('udp', 'tcp')]);
      const username = servers[0]!.username ?? '';
      expect(Number(username.split(':')[0]) - from).toBeGreaterThanOrEqual(ttl);
      expect(Number(username.split(':')[0]) - from).toBeLessThanOrEqual(ttl + 1);
      expect(servers[0]!.credential).toBe(opensslTurnCredential(SECRET, username));
      member.socket.disconnect();
      p.child.kill('SIGINT');
      expect((await p.exited).code).toBe(0);
    }
  }, 30_000);

  test('relay only without --turn, from a server that gives no TURN server: NO_TURN (exit 3) at join', async () => {
    const { url } = await startSignalCli();
    const p = startCli([
      'answer',
      '--signal',
      url,
      '--room',
      'r',
      '--stun',
      'none',
      '--ice-transport-policy',
      'relay',
      '--json',
    ]);
    expect((await p.exited).code).toBe(3);
    expect((await p.waitFor('error')).code).toBe('NO_TURN');
    expect(p.stderr()).toMatch(
      /relay-only ICE \(--ice-transport-policy relay\) needs a TURN server, and there is none: not configured \(--turn\) and not given by the signaling server http:\/\/127\.0\.0\.1:\d+ in its join ack; start that server with --turn-url/,
    );
  }, 20_000);
});
