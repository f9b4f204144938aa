/**
 * `rtc-peer call|answer --restart` (issue 18): the peer runs in a child process that comes back by itself after
 * a crash. The crashes are real signals sent to the child's pid (SIGSEGV as the native crash delivers it,
 * SIGKILL), the pid as the supervisor's `peer-process` event names it and /proc confirms. Evidence: the
 * processes' exit codes, /proc for what is left, the recordings decoded (frames, finalized, and the barcode
 * stamps saying when each part was sent, by the test's own clock).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { killAll, startCli, startSignalCli, type CliEvent, type CliProcess } from '../helpers/cli.js';
import { inspectRecording, pidAlive, waitUntil } from '../helpers/media.js';
import { describeProcs, processesWithArg } from '../helpers/procs.js';

const NO_STUN = ['--stun', 'none'];
/**
 * The bound, ms: a crashed peer is back in its room within 2 s of the crash. (The supervisor keeps
 * the next process in standby with its modules loaded: a cold start of the CLI alone takes 1-3 s on this
 * machine when it is busy.)
 */
const BACK_WITHIN_MS = 2000;

/**
 * Waits for the supervisor's `n`-th child and its join, and checks both bounds by the test's clock from
 * `crashedAt` (`Date.now()` at the kill). Returns the new child's pid.
 */
async function expectBack(
  supervisor: CliProcess,
  n: number,
  crashedAt: number,
  what: string,
): Promise<number> {
  const pid = await childPid(supervisor, n);
  const restartedMs = Date.now() - crashedAt;
  await nth(supervisor, 'joined', n);
  const joinedMs = Date.now() - crashedAt;
  console.log(`${what}: restarted ${restartedMs} ms after the crash, back in its room after ${joinedMs} ms`);
  expect(joinedMs).toBeLessThan(BACK_WITHIN_MS);
  return pid;
}
/** A small picture: the suite's other calls use 640x480; this file is about processes, not quality. */
const SMALL = ['--size', '320x240', '--no-audio'];

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'rtc-peer-restart-'));
});
afterEach(async () => {
  await killAll();
  // Orphans are no one's descendants: found by the test's unique directory in their arguments.
  const left = processesWithArg(dir);
  for (const p of left) process.kill(p.pid, 'SIGKILL');
  rmSync(dir, { recursive: true, force: true });
  expect(describeProcs(left), 'processes left behind').toBe('');
});

/** The `peer-process` events of a supervisor: each child it started, with its pid. */
const children = (p: CliProcess): CliEvent[] => p.events.filter((e) => e.event === 'peer-process');

/** The pid of the supervisor's `n`-th child (1-based), once started; checked against /proc's parentage. */
async function childPid(supervisor: CliProcess, n: number): Promise<number> {
  await supervisor.waitFor('peer-process', 15_000, () => children(supervisor).length >= n);
  const pid = Number(children(supervisor)[n - 1]?.pid);
  const ppid = Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ')[1]);
  expect(ppid, `peer process ${pid} is the supervisor's child`).toBe(supervisor.child.pid);
  return pid;
}

/** Resolves with the `n`-th event named `name` (1-based). */
async function nth(p: CliProcess, name: string, n: number, timeoutMs = 15_000): Promise<CliEvent> {
  const named = (): CliEvent[] => p.events.filter((e) => e.event === name);
  await p.waitFor(name, timeoutMs, () => named().length >= n);
  return named()[n - 1]!;
}

/** Decoded frames of a recording and when they were sent (the barcodes' stamps, ms since the epoch). */
async function decoded(file: string): Promise<{ frames: number; firstSentAt: number; lastSentAt: number }> {
  const rec = await inspectRecording(file);
  const stamps = rec.barcodes.filter((b) => b !== null).map((b) => b.timestampMs);
  const facts = `${path.basename(file)}: ${rec.frames} frames, ${stamps.length} stamps, container ${rec.containerDurationSec} s`;
  // Finalized (the container states its duration), decodes cleanly, and every frame is the pattern.
  expect(rec.containerDurationSec, facts).not.toBeNull();
  expect(rec.decodeErrors, facts).toEqual([]);
  expect([rec.width, rec.height], facts).toEqual([320, 240]);
  expect(stamps.length, facts).toBeGreaterThan(rec.frames * 0.95);
  return { frames: rec.frames, firstSentAt: Math.min(...stamps), lastSentAt: Math.max(...stamps) };
}

/** Milliseconds from `ms` (a `Date.now()`) to barcode stamp `s` (`Date.now()` modulo 2^32), signed. */
const after = (ms: number, s: number): number =>
  ((s - (ms % 2 ** 32) + 2 ** 31 + 2 ** 32) % 2 ** 32) - 2 ** 31;

describe('rtc-peer --restart', () => {
  test('answer --restart: the child SIGSEGVed mid-call comes back and records the next call to out-2.webm; both files decode; SIGTERM ends all, exit 0', async () => {
    const { url } = await startSignalCli();
    const file = path.join(dir, 'out.webm');
    const answerer = startCli([
      'answer',
      ...['--signal', url, '--room', 'r', '--record', file, '--restart', ...NO_STUN],
    ]);
    const first = await childPid(answerer, 1);
    await nth(answerer, 'joined', 1);
    const caller = startCli(['call', '--signal', url, '--room', 'r', ...SMALL, ...NO_STUN]);
    await nth(answerer, 'first-frame', 1);
    // Two seconds of call in the first file, then the crash.
    await new Promise((r) => setTimeout(r, 2000));
    // The next process is in standby (its modules loaded): what the 2 s bound counts on.
    await answerer.waitFor('peer-standby');
    const crashedAt = Date.now();
    process.kill(first, 'SIGSEGV');
    const exited = await answerer.waitFor('peer-exited');
    expect(exited).toMatchObject({
      pid: first,
      signal: 'SIGSEGV',
      code: null,
      restarts: 1,
      restartInSec: 0.25,
    });
    // The line a log keeps (stderr, in JSON mode too), written just after the event.
    const line = new RegExp(
      `peer process ${first} crashed \\(killed by SIGSEGV\\) after [\\d.]+ s; restart 1 in 0.25 s`,
    );
    await waitUntil(() => line.test(answerer.stderr()), 2000);
    expect(answerer.stderr()).toMatch(line);
    const second = await expectBack(answerer, 2, crashedAt, 'answerer after SIGSEGV');
    expect(second).not.toBe(first);
    expect(pidAlive(first)).toBe(false);
    // The caller noticed the answerer gone and offered again; the new child records that call to out-2.webm.
    const recording = await nth(answerer, 'recording', 2, 20_000);
    expect(recording.path).toBe(path.join(dir, 'out-2.webm'));
    await nth(answerer, 'first-frame', 2, 20_000);
    await new Promise((r) => setTimeout(r, 2000));
    const stoppedAt = Date.now();
    answerer.child.kill('SIGTERM');
    expect(await answerer.exited).toEqual({ code: 0, signal: null });
    await waitUntil(() => !pidAlive(second), 2000);
    expect(pidAlive(second)).toBe(false);
    caller.child.kill('SIGTERM');
    expect(await caller.exited).toEqual({ code: 0, signal: null });

    // The first file: the finished part of the crashed call, finalized by the recorder's ffmpeg on EOF.
    const one = await decoded(file);
    expect(one.frames).toBeGreaterThan(45); // 2 s of call at 30 fps, less the first frame's wait
    expect(after(crashedAt, one.lastSentAt)).toBeLessThanOrEqual(0);
    expect(after(crashedAt, one.lastSentAt)).toBeGreaterThan(-1000);
    // The second: the next call, all of it sent after the crash, up to the SIGTERM.
    const two = await decoded(path.join(dir, 'out-2.webm'));
    expect(two.frames).toBeGreaterThan(45);
    expect(after(crashedAt, two.firstSentAt)).toBeGreaterThan(0);
    expect(after(stoppedAt, two.lastSentAt)).toBeLessThanOrEqual(0);
    expect(existsSync(path.join(dir, 'out-3.webm'))).toBe(false);
  }, 60_000);

  test('call --restart: the child SIGKILLed mid-call comes back; the answerer records its next call to out-2.webm', async () => {
    const { url } = await startSignalCli();
    const file = path.join(dir, 'out.webm');
    const answerer = startCli(['answer', '--signal', url, '--room', 'k', '--record', file, ...NO_STUN]);
    await answerer.waitFor('joined');
    const caller = startCli(['call', '--signal', url, '--room', 'k', ...SMALL, '--restart', ...NO_STUN]);
    const first = await childPid(caller, 1);
    await nth(answerer, 'first-frame', 1);
    await new Promise((r) => setTimeout(r, 1500));
    await caller.waitFor('peer-standby');
    const crashedAt = Date.now();
    process.kill(first, 'SIGKILL');
    expect(await caller.waitFor('peer-exited')).toMatchObject({ pid: first, signal: 'SIGKILL', restarts: 1 });
    await expectBack(caller, 2, crashedAt, 'caller after SIGKILL');
    // The answerer saw the caller vanish, finalized out.webm, and answers the new child's offer.
    expect(await nth(answerer, 'recording', 2, 20_000)).toMatchObject({ path: path.join(dir, 'out-2.webm') });
    await nth(answerer, 'first-frame', 2, 20_000);
    await new Promise((r) => setTimeout(r, 1500));
    caller.child.kill('SIGTERM');
    expect(await caller.exited).toEqual({ code: 0, signal: null });
    // The caller's bye ends the answerer's call 2; it then waits for a call 3.
    await nth(answerer, 'call-ended', 2);
    answerer.child.kill('SIGTERM');
    expect(await answerer.exited).toEqual({ code: 0, signal: null });
    const one = await decoded(file);
    const two = await decoded(path.join(dir, 'out-2.webm'));
    expect(one.frames).toBeGreaterThan(30);
    expect(after(crashedAt, one.lastSentAt)).toBeLessThanOrEqual(0);
    expect(two.frames).toBeGreaterThan(30);
    expect(after(crashedAt, two.firstSentAt)).toBeGreaterThan(0);
  }, 60_000);

  test('answer --restart --restart-watchdog 3: a child whose main thread stops turning (SIGSTOP) is ended and comes back; both files decode', async () => {
    const { url } = await startSignalCli();
    const file = path.join(dir, 'out.webm');
    const answerer = startCli([
      'answer',
      ...[
        '--signal',
        url,
        '--room',
        'w',
        '--record',
        file,
        '--restart',
        '--restart-watchdog',
        '3',
        ...NO_STUN,
      ],
    ]);
    const first = await childPid(answerer, 1);
    await nth(answerer, 'joined', 1);
    const caller = startCli(['call', '--signal', url, '--room', 'w', ...SMALL, ...NO_STUN]);
    await nth(answerer, 'first-frame', 1);
    await new Promise((r) => setTimeout(r, 1500));
    // Wedged as a native call that never returns would leave it: alive, but its event loop not turning.
    const stoppedAt = Date.now();
    process.kill(first, 'SIGSTOP');
    const unresponsive = await answerer.waitFor('peer-unresponsive', 10_000);
    const toldMs = Date.now() - stoppedAt;
    expect(unresponsive).toMatchObject({ pid: first });
    expect(Number(unresponsive.silentSec)).toBeGreaterThanOrEqual(3);
    // 3 s after its last heartbeat (at most 1 s before the stop), within the next check (1 s)
    expect(toldMs).toBeGreaterThan(1500);
    expect(toldMs).toBeLessThan(6000);
    // A stopped process cannot act on SIGABRT: the SIGKILL after it ends it, a crash like any other.
    expect(await answerer.waitFor('peer-exited', 10_000)).toMatchObject({ pid: first, restarts: 1 });
    const line = new RegExp(`peer process ${first} has not answered for [\\d.]+ s .*ending it`);
    await waitUntil(() => line.test(answerer.stderr()), 2000);
    const second = await childPid(answerer, 2);
    await nth(answerer, 'joined', 2);
    expect(pidAlive(first)).toBe(false);
    console.log(
      `watchdog: told ${toldMs} ms after SIGSTOP, back in the room ${Date.now() - stoppedAt} ms after it`,
    );
    // The caller saw the answerer go and offered again; the new child records that call to out-2.webm.
    expect(await nth(answerer, 'recording', 2, 20_000)).toMatchObject({ path: path.join(dir, 'out-2.webm') });
    await nth(answerer, 'first-frame', 2, 20_000);
    await new Promise((r) => setTimeout(r, 1500));
    answerer.child.kill('SIGTERM');
    expect(await answerer.exited).toEqual({ code: 0, signal: null });
    await waitUntil(() => !pidAlive(second), 2000);
    caller.child.kill('SIGTERM');
    expect(await caller.exited).toEqual({ code: 0, signal: null });
    // The first file: what came before the stop, finalized by its ffmpeg when the stopped process was killed.
    const one = await decoded(file);
    expect(one.frames).toBeGreaterThan(30);
    expect(after(stoppedAt, one.lastSentAt)).toBeLessThanOrEqual(0);
    const two = await decoded(path.join(dir, 'out-2.webm'));
    expect(two.frames).toBeGreaterThan(30);
    expect(after(stoppedAt, two.firstSentAt)).toBeGreaterThan(0);
  }, 60_000);

  test('a SIGKILLed supervisor leaves no orphan: its child ends by itself and finalizes its recording', async () => {
    const { url } = await startSignalCli();
    const file = path.join(dir, 'out.webm');
    const answerer = startCli([
      'answer',
      ...['--signal', url, '--room', 'o', '--record', file, '--restart', ...NO_STUN],
    ]);
    const child = await childPid(answerer, 1);
    await answerer.waitFor('joined');
    const caller = startCli(['call', '--signal', url, '--room', 'o', ...SMALL, ...NO_STUN]);
    await answerer.waitFor('first-frame');
    await new Promise((r) => setTimeout(r, 1500));
    answerer.child.kill('SIGKILL');
    expect(await answerer.exited).toEqual({ code: null, signal: 'SIGKILL' });
    // The child is no one's to reap now: /proc says when it is gone (its ffmpeg with it).
    expect(await waitUntil(() => !pidAlive(child), 5000)).toBe(true);
    expect(await waitUntil(() => processesWithArg(file).length === 0, 5000)).toBe(true);
    // It ended as on SIGTERM: its summary says the call ended, and the file is finalized.
    expect(answerer.events.some((e) => e.event === 'summary')).toBe(true);
    expect((await decoded(file)).frames).toBeGreaterThan(30);
    caller.child.kill('SIGTERM');
    expect(await caller.exited).toEqual({ code: 0, signal: null });
  }, 60_000);

  test('a configuration error is not restarted: --record onto an existing file exits 5 once', async () => {
    const { url } = await startSignalCli();
    const file = path.join(dir, 'taken.webm');
    writeFileSync(file, 'keep');
    const answerer = startCli(['answer', '--signal', url, '--record', file, '--restart', ...NO_STUN]);
    expect(await answerer.exited).toEqual({ code: 5, signal: null });
    expect(children(answerer)).toHaveLength(1);
    expect(answerer.events.find((e) => e.event === 'peer-exited')).toMatchObject({
      code: 5,
      restartInSec: null,
    });
    expect(answerer.stderr()).toMatch(/already exists/);
    expect(answerer.stderr()).toMatch(/ended with exit 5 \(recording, RECORDING_EXISTS\).*; not restarting/);
    expect(readFileSync(file, 'utf8')).toBe('keep');
  });

  test('a bad command line is exit 2 in the supervisor itself, before any child', async () => {
    const answerer = startCli(['answer', '--size', 'big', '--restart']);
    expect(await answerer.exited).toEqual({ code: 2, signal: null });
    expect(children(answerer)).toEqual([]);
  });

  test('a second SIGTERM ends the supervisor and its child at once', async () => {
    const { proc: signal, url } = await startSignalCli();
    const caller = startCli(['call', '--signal', url, '--room', 'x', ...SMALL, '--restart', ...NO_STUN]);
    const child = await childPid(caller, 1);
    await caller.waitFor('waiting');
    // A frozen server: the clean end (bye, then closing the connection) waits for it, up to its bound.
    signal.child.kill('SIGSTOP');
    const t0 = performance.now();
    caller.child.kill('SIGTERM');
    // Two signals sent back to back may reach the process as one (they do not queue).
    await new Promise((r) => setTimeout(r, 20));
    caller.child.kill('SIGTERM');
    expect(await caller.exited).toEqual({ code: 143, signal: null });
    expect(await waitUntil(() => !pidAlive(child), 2000)).toBe(true);
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(caller.stderr()).toContain('SIGTERM again, exiting without cleanup');
  });
});
