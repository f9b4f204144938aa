/**
 * The data channel as users run it: `rtc-peer call --data` and `rtc-peer answer --data`, separate processes
 * on loopback, lines written to their standard input, what the other side prints on stdout read back. In
 * words mode stdout must carry the data messages and nothing else (`rtc-peer answer --data | my-controller`).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { killAll, startCli, startSignalCli, type CliProcess } from '../helpers/cli.js';

const NO_STUN = ['--stun', 'none'];
/** A small picture and no sound: the data is under test, the video only keeps the call honest. */
const LIGHT = ['--size', '160x120', '--fps', '10', '--no-audio'];

afterEach(async () => {
  await killAll();
});

function caller(url: string, room: string, extra: string[] = []): CliProcess {
  return startCli(['call', '--signal', url, '--room', room, '--data', ...NO_STUN, ...LIGHT, ...extra], {
    stdin: 'pipe',
  });
}

function answerer(url: string, room: string, extra: string[] = []): CliProcess {
  return startCli(['answer', '--signal', url, '--room', room, '--data', '--once', ...NO_STUN, ...extra], {
    stdin: 'pipe',
  });
}

/** Resolves when stderr (the words) matches. */
async function waitForWords(proc: CliProcess, re: RegExp, timeoutMs = 20_000): Promise<RegExpExecArray> {
  const started = Date.now();
  for (;;) {
    const m = re.exec(proc.stderr());
    if (m) return m;
    if (Date.now() - started > timeoutMs)
      throw new Error(`timed out waiting for ${re} on stderr:\n${proc.stderr()}\nstdout:\n${proc.stdout()}`);
    if (proc.child.exitCode !== null) throw new Error(`exited before ${re}:\n${proc.stderr()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Resolves when stdout has `n` complete lines. */
async function waitForLines(proc: CliProcess, n: number, timeoutMs = 60_000): Promise<string[]> {
  const started = Date.now();
  for (;;) {
    const lines = proc.stdout().split('\n').slice(0, -1);
    if (lines.length >= n) return lines;
    if (Date.now() - started > timeoutMs)
      throw new Error(`${lines.length} of ${n} lines on stdout after ${timeoutMs} ms:\n${proc.stderr()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const numbered = (tag: string, n: number): string[] =>
  Array.from({ length: n }, (_, i) => `${tag} ${i} ${'x'.repeat(i % 200)}`);

/** Writes lines to the process's stdin (the pipe buffers what the process does not read yet). */
function write(proc: CliProcess, lines: string[]): void {
  proc.child.stdin?.write(lines.map((l) => `${l}\n`).join(''));
}

/** SIGINT to the caller: both end cleanly (the answerer, `--once`, on the caller's bye). */
async function endBoth(call: CliProcess, ...answers: CliProcess[]): Promise<void> {
  call.child.kill('SIGINT');
  expect((await call.exited).code, call.stderr()).toBe(0);
  for (const a of answers) expect((await a.exited).code, a.stderr()).toBe(0);
}

describe('rtc-peer call/answer --data', { timeout: 120_000 }, () => {
  test('10,000 lines each way at full speed: none lost, reordered or duplicated; stdout carries only them', async () => {
    const { url } = await startSignalCli();
    const call = caller(url, 'data-10k', ['--once']);
    const answer = answerer(url, 'data-10k');
    await waitForWords(call, /data channel open/);
    await waitForWords(answer, /data channel open/);
    const down = numbered('c', 10_000);
    const up = numbered('a', 10_000);
    write(call, down);
    write(answer, up);
    const [atAnswer, atCaller] = await Promise.all([
      waitForLines(answer, 10_000),
      waitForLines(call, 10_000),
    ]);
    // Exactly these lines, in order: nothing lost, reordered or duplicated, and nothing but them on stdout.
    expect(atAnswer).toEqual(down);
    expect(atCaller).toEqual(up);
    await endBoth(call, answer);
    expect(answer.stdout()).toBe(`${down.join('\n')}\n`);
    expect(call.stdout()).toBe(`${up.join('\n')}\n`);
    // The summaries, on stderr, count them.
    expect(call.stderr()).toMatch(/data: sent 10000 messages, received 10000, dropped 0/);
    expect(answer.stderr()).toMatch(/data: sent 10000 messages, received 10000, dropped 0/);
  });

  test('a 1 MB line is refused clearly, and the call and the next lines go on', async () => {
    const { url } = await startSignalCli();
    const call = caller(url, 'data-big', ['--once']);
    const answer = answerer(url, 'data-big');
    await waitForWords(call, /data channel open/);
    call.child.stdin?.write(`before\n${'y'.repeat(1024 * 1024)}\nafter\n`);
    // "after" is the sentinel: once it is there, the refused line would have come before it.
    await waitForLines(answer, 2);
    expect(answer.stdout()).toBe('before\nafter\n');
    expect(call.stderr()).toContain(
      'error: line 2 of standard input is 1048576 bytes, over the data message limit of 65536 bytes: ' +
        'not sent (split it up); the next lines go on',
    );
    await endBoth(call, answer);
    expect(call.stderr()).toMatch(/data: 1 message\(s\) refused \(too large\)/);
  });

  test('lines written before the answerer joins arrive once it does, all of them, in order', async () => {
    const { url } = await startSignalCli();
    const call = caller(url, 'data-early', ['--once']);
    await waitForWords(call, /offer sent, held by the server/);
    // More than the 1000 held: the caller stops reading its input until the channel opens (backpressure),
    // and loses none.
    const early = numbered('early', 3000);
    write(call, early);
    await new Promise((r) => setTimeout(r, 1000));
    const answer = answerer(url, 'data-early');
    expect(await waitForLines(answer, 3000)).toEqual(early);
    await endBoth(call, answer);
    expect(answer.stdout()).toBe(`${early.join('\n')}\n`);
    expect(call.stderr()).not.toMatch(/dropped, the oldest/);
  });

  test("two viewers: both get the caller's lines; the caller gets each viewer's, tagged with its id", async () => {
    const { url } = await startSignalCli();
    const call = caller(url, 'data-two', ['--json']);
    const v1 = answerer(url, 'data-two');
    const v2 = answerer(url, 'data-two');
    // Both calls' channels open (a data-open event each).
    await call.waitFor(
      'data-open',
      20_000,
      () => call.events.filter((e) => e.event === 'data-open').length >= 2,
    );
    const idOf = async (v: CliProcess): Promise<string> => (await waitForWords(v, /\(id (\S+)\)/))[1] ?? '';
    const [id1, id2] = await Promise.all([idOf(v1), idOf(v2)]);
    await waitForWords(v1, /data channel open/);
    await waitForWords(v2, /data channel open/);
    const down = numbered('cam', 500);
    write(call, down);
    write(v1, numbered('one', 300));
    write(v2, numbered('two', 300));
    expect(await waitForLines(v1, 500)).toEqual(down);
    expect(await waitForLines(v2, 500)).toEqual(down);
    const from = (id: string): string[] =>
      call.events.filter((e) => e.event === 'data' && e.from === id).map((e) => String(e.text));
    const started = Date.now();
    while (from(id1).length < 300 || from(id2).length < 300) {
      if (Date.now() - started > 30_000)
        throw new Error(`caller got ${from(id1).length}, ${from(id2).length}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(from(id1)).toEqual(numbered('one', 300));
    expect(from(id2)).toEqual(numbered('two', 300));
    expect(call.events.filter((e) => e.event === 'data')).toHaveLength(600);
    await endBoth(call, v1, v2);
    expect(v1.stdout()).toBe(`${down.join('\n')}\n`);
  });

  test('the channel survives an ICE restart (the signaling server restarted): same channel, nothing lost, in order', async () => {
    const first = await startSignalCli();
    const port = new URL(first.url).port;
    const call = caller(first.url, 'data-restart', ['--once', '--json']);
    const answer = answerer(first.url, 'data-restart');
    await call.waitFor('data-open', 20_000);
    await waitForWords(answer, /data channel open/);
    // Both sides write a line every 20 ms through it all.
    let n = 0;
    const ticker = setInterval(() => {
      call.child.stdin?.write(`down ${n}\n`);
      answer.child.stdin?.write(`up ${n}\n`);
      n++;
    }, 20);
    try {
      await new Promise((r) => setTimeout(r, 1000));
      await first.proc.kill('SIGKILL');
      await call.waitFor('signal-lost', 5000);
      const second = startCli(['signal', '--host', '127.0.0.1', '--port', port]);
      await second.waitForLine(/listening on/);
      // The caller's rejoin restarts ICE on the call (its network may have changed).
      await call.waitFor('ice-restart', 20_000);
      await waitForWords(answer, /call 1: ICE restart/);
      await new Promise((r) => setTimeout(r, 1500));
    } finally {
      clearInterval(ticker);
    }
    call.child.stdin?.write('down last\n');
    answer.child.stdin?.write('up last\n');
    const sent = (tag: string): string[] => [
      ...Array.from({ length: n }, (_, i) => `${tag} ${i}`),
      `${tag} last`,
    ];
    expect(await waitForLines(answer, n + 1)).toEqual(sent('down'));
    await call.waitFor('data', 20_000, (e) => e.text === 'up last');
    expect(call.events.filter((e) => e.event === 'data').map((e) => e.text)).toEqual(sent('up'));
    // One call, one channel: opened once, before the restart.
    expect(call.events.filter((e) => e.event === 'data-open')).toHaveLength(1);
    expect(call.events.filter((e) => e.event === 'call')).toHaveLength(1);
    await endBoth(call, answer);
    expect(answer.stdout()).toBe(`${sent('down').join('\n')}\n`);
  });

  test('--data-in FIFO: writer after writer, each line sent; the FIFO never ends the input', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'rtc-peer-data-'));
    try {
      const fifo = path.join(dir, 'cmd');
      execFileSync('mkfifo', [fifo]);
      const { url } = await startSignalCli();
      const call = caller(url, 'data-fifo', ['--once', '--data-in', fifo]);
      const answer = answerer(url, 'data-fifo');
      await waitForWords(call, /data channel open/);
      // Two writers, one after the other, as `echo forward > cmd` twice.
      writeFileSync(fifo, 'forward\n');
      writeFileSync(fifo, 'left\nstop\n');
      expect(await waitForLines(answer, 3)).toEqual(['forward', 'left', 'stop']);
      expect(call.stderr()).not.toMatch(/ended after/);
      await endBoth(call, answer);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('an answerer with --data whose caller has none says so; the call goes on', async () => {
    const { url } = await startSignalCli();
    const call = startCli(['call', '--signal', url, '--room', 'data-none', '--once', ...NO_STUN, ...LIGHT]);
    const answer = answerer(url, 'data-none', ['--json']);
    const warning = await answer.waitFor('warning', 20_000, (e) => e.kind === 'no-data-channel');
    expect(warning.message).toBe('call 1: the caller opened no data channel (run it with --data too)');
    await answer.waitFor('first-frame', 20_000);
    await endBoth(call, answer);
  });

  test('bad --data flags are a bad command line (exit 2), said before anything starts', async () => {
    const run = async (args: string[]): Promise<{ code: number | null; stderr: string }> => {
      const p = startCli(args);
      const { code } = await p.exited;
      return { code, stderr: p.stderr() };
    };
    const missing = await run(['answer', '--data', '--data-in', '/nonexistent/cmd', '--stun', 'none']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(
      '--data-in /nonexistent/cmd: no such file (make a FIFO with mkfifo, or give a file)',
    );
    const alone = await run(['answer', '--data-in', '/dev/null']);
    expect(alone.code).toBe(2);
    expect(alone.stderr).toContain('--data-in needs --data');
    const restart = await run(['answer', '--data', '--restart']);
    expect(restart.code).toBe(2);
    expect(restart.stderr).toContain('with --restart, give --data-in FIFO');
  });
});
