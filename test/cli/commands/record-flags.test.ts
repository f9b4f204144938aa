/**
 * `rtc-peer answer --record-segment / --record-keep`: bad values are usage errors (exit 2) naming the flag,
 * before anything starts; --help shows both.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { killAll, startCli } from '../../helpers/cli.js';

afterEach(async () => {
  await killAll();
});

// nothing listens there: a run that got past the flags would fail on signaling (exit 3), not exit 2
const SIGNAL = ['--signal', 'http://127.0.0.1:9', '--stun', 'none'];

describe('answer --record-segment / --record-keep', () => {
  test.each([
    [['--record', 'x.webm', '--record-segment', 'soon'], '--record-segment "soon" is not a duration'],
    [['--record', 'x.webm', '--record-segment', '0.5s'], '--record-segment "0.5s" is shorter than 1 s'],
    [['--record-segment', '10m'], '--record-segment and --record-keep need --record NAME'],
    [['--record', 'x.webm', '--record-keep', '7d'], '--record-keep needs --record-segment'],
    [
      ['--record', 'x.webm', '--record-segment', '1m', '--record-keep', 'lots'],
      '--record-keep "lots" is not an age',
    ],
    [['--record', 'cam-%H.webm', '--record-segment', '10m'], 'two segments 600 s apart would share a name'],
    [['--record', 'cam-%q.webm', '--record-segment', '10m'], 'unknown field %q'],
  ])(
    '%j: exit 2, %s',
    async (args, message) => {
      const proc = startCli(['answer', ...SIGNAL, ...args]);
      expect((await proc.exited).code).toBe(2);
      expect(proc.stderr()).toContain(message);
    },
    20_000,
  );

  test('--help shows both flags', async () => {
    const proc = startCli(['answer', '--help']);
    expect((await proc.exited).code).toBe(0);
    expect(proc.stdout()).toMatch(/--record-segment <duration>.*strftime/s);
    expect(proc.stdout()).toMatch(/--record-keep <age\|size>.*7d,50GB/s);
  }, 20_000);
});
