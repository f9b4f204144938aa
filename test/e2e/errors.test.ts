/**
 * Bad input at the process level: a clear message, the documented exit code, bounded time, nothing lost.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { killAll, startCli, startSignalCli } from '../helpers/cli.js';
import { freePort } from '../helpers/ports.js';

/**
 * The V4L2 cameras this machine has, as the OS lists them (not as rtc-peer does): the expected output of a
 * test cannot assume there are none, a developer's laptop has a webcam.
 */
function cameraNodes(): string[] {
  return readdirSync('/dev')
    .filter((n) => /^video\d+$/.test(n))
    .sort((a, b) => Number(a.slice(5)) - Number(b.slice(5)))
    .map((n) => `/dev/${n}`);
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'rtc-peer-err-'));
});
afterEach(async () => {
  await killAll();
  rmSync(dir, { recursive: true, force: true });
});

describe('errors at the command line', () => {
  test('unreachable signaling server: a clear error after a bounded retry, exit 3', async () => {
    const port = await freePort();
    const started = performance.now();
    const caller = startCli(['call', '--signal', `http://127.0.0.1:${port}`, '--stun', 'none']);
    const { code } = await caller.exited;
    const sec = (performance.now() - started) / 1000;
    expect(code).toBe(3);
    expect(sec).toBeLessThan(20);
    expect(caller.stderr()).toContain(`127.0.0.1:${port}`);
    expect(caller.stderr()).toMatch(/rtc-peer signal/);
  }, 30_000);

  test('signal on a busy port: a clear error, exit 3, no stack trace', async () => {
    const { url } = await startSignalCli();
    const port = new URL(url).port;
    const second = startCli(['signal', '--host', '127.0.0.1', '--port', port]);
    const { code } = await second.exited;
    expect(code).toBe(3);
    expect(second.stderr()).toMatch(new RegExp(`port ${port}.*already in use`));
    expect(second.stderr()).not.toMatch(/\n\s+at /);
  }, 20_000);

  test('signal --token refuses a peer without the token (exit 3) and admits one with RTC_PEER_TOKEN', async () => {
    const { url } = await startSignalCli(['--token', 's3cret']);
    const refused = startCli(['answer', '--signal', url, '--once', '--stun', 'none']);
    expect((await refused.exited).code).toBe(3);
    expect(refused.stderr()).toMatch(/UNAUTHORIZED/);
    expect(refused.stderr()).toMatch(/token/);
    const wrong = startCli(['answer', '--signal', url, '--once', '--token', 'guess', '--stun', 'none']);
    expect((await wrong.exited).code).toBe(3);
    const admitted = startCli(['answer', '--signal', url, '--once', '--stun', 'none'], {
      env: { RTC_PEER_TOKEN: 's3cret' },
    });
    await admitted.waitFor('joined');
    admitted.child.kill('SIGINT');
    expect((await admitted.exited).code).toBe(0);
  }, 30_000);

  test('signal exits 0 on SIGINT and SIGTERM, and answers /healthz meanwhile', async () => {
    for (const sig of ['SIGINT', 'SIGTERM'] as const) {
      const { proc, url } = await startSignalCli();
      const health = (await (await fetch(`${url}/healthz`)).json()) as { status: string };
      expect(health.status).toBe('ok');
      proc.child.kill(sig);
      expect((await proc.exited).code).toBe(0);
    }
  }, 20_000);

  test('a camera that does not exist: names it, says what exists, exit 4', async () => {
    // A path no machine has; what the message lists is checked against what the OS lists.
    const missing = path.join(dir, 'video7');
    const caller = startCli([
      'call',
      '--device',
      missing,
      '--signal',
      'http://127.0.0.1:9',
      '--stun',
      'none',
    ]);
    const { code } = await caller.exited;
    expect(code).toBe(4);
    const cameras = cameraNodes();
    expect(caller.stderr()).toContain(
      cameras.length === 0
        ? `camera ${missing} not found: there are no /dev/video* devices on this machine`
        : `camera ${missing} not found (found: ${cameras.join(', ')})`,
    );
  }, 20_000);

  test('a recording path that exists is not overwritten without --force, exit 5', async () => {
    const file = path.join(dir, 'exists.webm');
    writeFileSync(file, 'precious');
    const answerer = startCli(['answer', '--record', file, '--signal', 'http://127.0.0.1:9']);
    const { code } = await answerer.exited;
    expect(code).toBe(5);
    expect(answerer.stderr()).toContain(file);
    expect(answerer.stderr()).toMatch(/--force/);
    expect(readFileSync(file, 'utf8')).toBe('precious');
  }, 20_000);

  test('a recording path that cannot be written: exit 5 before any call', async () => {
    const answerer = startCli(['answer', '--record', path.join(dir, 'no', 'such', 'dir', 'x.webm')]);
    const { code } = await answerer.exited;
    expect(code).toBe(5);
    expect(answerer.stderr()).toMatch(/cannot be written|does not exist|not writable/i);
  }, 20_000);

  test('bad option values: exit 2 with the option named', async () => {
    const proc = startCli(['call', '--size', 'big']);
    expect((await proc.exited).code).toBe(2);
    expect(proc.stderr()).toContain('--size');
    const unknown = startCli(['call', '--no-such-flag']);
    expect((await unknown.exited).code).toBe(2);
    expect(unknown.stderr()).toMatch(/unknown option/);
  }, 20_000);

  test('--help on every command shows examples', async () => {
    for (const cmd of ['signal', 'call', 'answer', 'devices', 'demo']) {
      const proc = startCli([cmd, '--help']);
      expect((await proc.exited).code).toBe(0);
      expect(proc.stdout()).toContain('Examples:');
    }
  }, 30_000);

  test('--version shows which ffmpeg is used; devices lists the cameras the OS has, or says there are none', async () => {
    const version = startCli(['--version']);
    expect((await version.exited).code).toBe(0);
    expect(version.stdout()).toMatch(/^rtc-peer \d+\.\d+\.\d+/);
    expect(version.stdout()).toMatch(/ffmpeg: \S+ \(from /);
    const devices = startCli(['devices']);
    expect((await devices.exited).code).toBe(0);
    const cameras = cameraNodes();
    expect(/no video capture devices/.test(devices.stdout())).toBe(cameras.length === 0);
    for (const camera of cameras) expect(devices.stdout()).toMatch(new RegExp(`^${camera}\\b`, 'm'));
    const json = startCli(['devices', '--json']);
    expect((await json.exited).code).toBe(0);
    const listed = JSON.parse(json.stdout()) as { video: { id: string }[] };
    expect(listed.video.map((d) => d.id)).toEqual(cameras);
  }, 20_000);
});
