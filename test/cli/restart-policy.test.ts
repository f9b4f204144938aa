/**
 * `--restart`'s policy: which ends of a peer process bring it back, which stop the supervisor, and the
 * back-off between attempts. Pure: no processes here (test/e2e/restart.test.ts crashes real ones).
 */
import { describe, expect, test } from 'vitest';
import { judgeExit, RESTART_DEFAULTS, RestartPolicy } from '../../src/cli/restart-policy.js';

describe('judgeExit', () => {
  test('a signal or a shell-reported 128+N is a crash: restart', () => {
    for (const signal of ['SIGSEGV', 'SIGABRT', 'SIGKILL', 'SIGBUS'] as const)
      expect(judgeExit({ code: null, signal })).toEqual({ action: 'restart', why: `killed by ${signal}` });
    expect(judgeExit({ code: 139, signal: null }).action).toBe('restart');
    expect(judgeExit({ code: 134, signal: null }).action).toBe('restart');
  });

  test('exit 0 is a normal end, exit 1 a failure during the run (restart)', () => {
    expect(judgeExit({ code: 0, signal: null }).action).toBe('done');
    expect(judgeExit({ code: 1, signal: null })).toEqual({
      action: 'restart',
      why: 'exit 1 (failure during the run)',
    });
  });

  test('usage and configuration errors stop: the same command line would fail again', () => {
    expect(judgeExit({ code: 2, signal: null }).action).toBe('stop');
    expect(judgeExit({ code: 5, signal: null, errorCode: 'RECORDING_EXISTS' })).toEqual({
      action: 'stop',
      why: 'exit 5 (recording, RECORDING_EXISTS): the same command line would fail again',
    });
    expect(judgeExit({ code: 3, signal: null, errorCode: 'UNAUTHORIZED' }).action).toBe('stop');
    expect(judgeExit({ code: 4, signal: null, errorCode: 'DEVICE_NOT_FOUND' }).action).toBe('stop');
    expect(judgeExit({ code: 4, signal: null, errorCode: 'FFMPEG_NOT_FOUND' }).action).toBe('stop');
    // Without the child's word on its error, 3 and 4 are taken as configuration.
    expect(judgeExit({ code: 3, signal: null }).action).toBe('stop');
  });

  test('a server not up yet, or a camera still held by the crashed capture, is worth another attempt', () => {
    expect(judgeExit({ code: 3, signal: null, errorCode: 'UNREACHABLE' })).toEqual({
      action: 'restart',
      why: 'exit 3 (signaling, UNREACHABLE)',
    });
    expect(judgeExit({ code: 4, signal: null, errorCode: 'DEVICE_BUSY' }).action).toBe('restart');
    // A transient code under the wrong exit code does not count.
    expect(judgeExit({ code: 5, signal: null, errorCode: 'UNREACHABLE' }).action).toBe('stop');
  });
});

describe('RestartPolicy', () => {
  test('doubles from 250 ms up to the cap, and counts the restarts', () => {
    const policy = new RestartPolicy();
    const delays = Array.from({ length: 10 }, () => policy.nextDelay(100));
    expect(delays).toEqual([250, 500, 1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000]);
    expect(policy.restarts).toBe(10);
  });

  test('a process that ran for a stable minute starts the back-off over', () => {
    const policy = new RestartPolicy();
    expect([policy.nextDelay(10), policy.nextDelay(10), policy.nextDelay(10)]).toEqual([250, 500, 1000]);
    expect(policy.nextDelay(RESTART_DEFAULTS.stableAfterMs - 1)).toBe(2000);
    expect(policy.nextDelay(RESTART_DEFAULTS.stableAfterMs)).toBe(250);
    expect(policy.nextDelay(10)).toBe(500);
    expect(policy.restarts).toBe(6);
  });

  test('takes its own delays, and refuses nonsense', () => {
    const policy = new RestartPolicy({ initialDelayMs: 100, maxDelayMs: 300, stableAfterMs: 1000 });
    expect([100, 200, 300, 300].map(() => policy.nextDelay(0))).toEqual([100, 200, 300, 300]);
    expect(() => new RestartPolicy({ initialDelayMs: 0 })).toThrow(TypeError);
    expect(() => new RestartPolicy({ maxDelayMs: Number.NaN })).toThrow(/maxDelayMs/);
    expect(() => new RestartPolicy({ initialDelayMs: 500, maxDelayMs: 100 })).toThrow(/below/);
  });
});
