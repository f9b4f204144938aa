/**
 * `rtc-peer signal --max-viewers N`: the real CLI, and protocol-2 clients (raw Socket.IO sockets) that find
 * the limit where the flag put it.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { killAll, startSignalCli, startCli } from '../../helpers/cli.js';
import { emitWithAck, SignalTestKit } from '../../helpers/signal-server.js';

const kit = new SignalTestKit();
afterEach(async () => {
  await kit.closeAll();
  await killAll();
});

const join = (role: 'caller' | 'answerer', session: string) => ({
  type: 'join',
  room: 'v',
  role,
  protocol: 2,
  session,
});

describe('rtc-peer signal --max-viewers', () => {
  test('N viewers per caller: the one more is refused with ROOM_FULL, naming N', async () => {
    const { proc, url } = await startSignalCli(['--max-viewers', '1']);
    const caller = await kit.socket(url);
    expect(await emitWithAck(caller, join('caller', 'caller-session-000001'))).toMatchObject({ ok: true });
    const first = await kit.socket(url);
    expect(await emitWithAck(first, join('answerer', 'viewer-a-session-0001'))).toMatchObject({
      ok: true,
      maxViewers: 1,
    });
    // The default (4) would admit this one.
    const second = await kit.socket(url);
    const refused = await emitWithAck(second, join('answerer', 'viewer-b-session-0001'));
    expect(refused).toMatchObject({ ok: false, error: { code: 'ROOM_FULL' } });
    expect(JSON.stringify(refused)).toContain('1 answerers at most');
    proc.child.kill('SIGINT');
    expect((await proc.exited).code).toBe(0);
  }, 20_000);

  test.each([['0'], ['-2'], ['1.5'], ['many'], ['']])(
    '--max-viewers %j: a usage error naming the flag, exit 2',
    async (value) => {
      const proc = startCli(['signal', '--host', '127.0.0.1', '--port', '0', '--max-viewers', value]);
      expect((await proc.exited).code).toBe(2);
      expect(proc.stderr()).toContain(
        `--max-viewers ${JSON.stringify(value)} is not a positive whole number`,
      );
      expect(proc.stdout()).not.toMatch(/listening/);
    },
    20_000,
  );

  test('--help shows it, with its default', async () => {
    const proc = startCli(['signal', '--help']);
    expect((await proc.exited).code).toBe(0);
    // commander wraps the help to the terminal: the default may fall on the next line
    expect(proc.stdout()).toMatch(/--max-viewers <n> .*\(default:\s+"4"\)/s);
  }, 20_000);
});
