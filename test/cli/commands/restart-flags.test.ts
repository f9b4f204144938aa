/**
 * `rtc-peer call|answer --restart-watchdog SECONDS`: a bad value is a usage error (exit 2) naming the flag,
 * before any peer process starts; --help shows it with its default. What the watchdog does is in
 * test/e2e/restart.test.ts (a SIGSTOPped peer process ended and restarted).
 */
import { afterEach, describe, expect, test } from 'vitest';
import { killAll, startCli } from '../../helpers/cli.js';

afterEach(async () => {
  await killAll();
});

// nothing listens there: a run that got past the flags would fail on signaling (exit 3), not exit 2
const SIGNAL = ['--signal', 'http://127.0.0.1:9', '--stun', 'none'];

describe('--restart-watchdog', () => {
  test.each([
    ['call', 'soon'],
    ['answer', '-1'],
    ['call', ''],
  ])(
    '%s --restart --restart-watchdog %j: exit 2, the flag named',
    async (command, value) => {
      const proc = startCli([command, ...SIGNAL, '--restart', '--restart-watchdog', value]);
      expect((await proc.exited).code).toBe(2);
      expect(proc.stderr()).toContain(
        `--restart-watchdog ${JSON.stringify(value)} is not a number of seconds >= 0 (0: never)`,
      );
      // refused before the supervisor started a peer process
      expect(proc.events.some((e) => e.event === 'peer-process')).toBe(false);
    },
    20_000,
  );

  test('--help shows it with its default', async () => {
    const proc = startCli(['answer', '--help']);
    expect((await proc.exited).code).toBe(0);
    expect(proc.stdout().replace(/\s+/g, ' ')).toMatch(
      /--restart-watchdog <seconds> with --restart, also end and restart the peer process .* \(default: "15"\)/,
    );
  });
});
