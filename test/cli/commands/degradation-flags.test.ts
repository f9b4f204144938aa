/**
 * `rtc-peer call/answer --degradation-preference`: a value other than the two is a usage error (exit 2) that
 * names the flag and the choices, before anything starts; --help shows it with its default. What each value
 * does on a thin link is tested in the network lab (test/net/cap-250.test.ts).
 */
import { afterEach, describe, expect, test } from 'vitest';
import { killAll, startCli } from '../../helpers/cli.js';

afterEach(async () => {
  await killAll();
});

// nothing listens there: a run that got past the flags would fail on signaling (exit 3), not exit 2
const SIGNAL = ['--signal', 'http://127.0.0.1:9', '--stun', 'none'];

describe('--degradation-preference', () => {
  test.each(['call', 'answer'])(
    '%s with an unknown preference: exit 2, the choices said',
    async (command) => {
      const proc = startCli([command, ...SIGNAL, '--degradation-preference', 'balanced']);
      expect((await proc.exited).code).toBe(2);
      expect(proc.stderr()).toMatch(
        /--degradation-preference <pref>' argument 'balanced' is invalid\. Allowed choices are maintain-framerate, maintain-resolution/,
      );
    },
    20_000,
  );

  test('--help shows it and its default', async () => {
    const proc = startCli(['call', '--help']);
    expect((await proc.exited).code).toBe(0);
    // commander wraps the help to the terminal's width: compare it as one line
    expect(proc.stdout().replace(/\s+/g, ' ')).toMatch(
      /--degradation-preference <pref>.*send it smaller.*\(choices: "maintain-framerate", "maintain-resolution", default: "maintain-resolution"\)/s,
    );
  });
});
