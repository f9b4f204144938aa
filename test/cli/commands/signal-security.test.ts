/**
 * `rtc-peer signal`'s safe defaults and security flags (issue 15), through the real CLI: a generated token on
 * a non-loopback address (printed with ready-to-use links), `--open`, SIGHUP not ending the server,
 * `--limit`, `--allow-origin`, and refusals reported on stderr.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { killAll, startCli } from '../../helpers/cli.js';
import { SignalTestKit, waitFor } from '../../helpers/signal-server.js';

const kit = new SignalTestKit();
afterEach(async () => {
  await kit.closeAll();
  await killAll();
});

function refusal(url: string, auth: Record<string, unknown> = {}, headers: Record<string, string> = {}) {
  const socket = kit.rawSocket(url, auth, { extraHeaders: headers });
  return new Promise<string>((resolve) => {
    socket.once('connect', () => resolve('connected'));
    socket.once('connect_error', (e) => resolve(e.message));
    socket.connect();
  });
}

describe('rtc-peer signal: safe defaults', () => {
  test('a non-loopback address without --token gets a generated token, printed with links that carry it', async () => {
    const proc = startCli(['signal', '--host', '0.0.0.0', '--port', '0']);
    const token = (await proc.waitForLine(/Token: +(\S+) \(generated for this run/))[1] ?? '';
    expect(token).toMatch(/^[A-Za-z0-9_-]{24}$/);
    const url = (proc.stdout().match(/listening on (http:\/\/\S+)/) ?? [])[1] ?? '';
    expect(proc.stdout()).toContain(`Local:   ${url}/?room=default#token=${token}`);
    expect(proc.stderr()).not.toMatch(/without a token/);
    expect(await refusal(url)).toMatch(/^UNAUTHORIZED: this signaling server requires a token/);
    expect(await refusal(url, { token })).toBe('connected');
    proc.child.kill('SIGINT');
    expect((await proc.exited).code).toBe(0);
  }, 20_000);

  test('--json carries the generated token; --open serves without one (and warns); loopback needs none', async () => {
    const json = startCli(['signal', '--host', '0.0.0.0', '--port', '0', '--json']);
    const line = await json.waitForLine(/^\{.*"listening".*\}$/m);
    expect(JSON.parse(line[0])).toMatchObject({
      event: 'listening',
      token: expect.stringMatching(/^\S{24}$/),
    });

    const open = startCli(['signal', '--host', '0.0.0.0', '--port', '0', '--open']);
    const url = (await open.waitForLine(/listening on (http:\/\/\S+)/))[1] ?? '';
    expect(open.stdout()).not.toMatch(/Token:/);
    expect(open.stderr()).toMatch(/warning: listening on 0\.0\.0\.0 without a token/);
    expect(await refusal(url)).toBe('connected');

    const local = startCli(['signal', '--host', '127.0.0.1', '--port', '0']);
    const localUrl = (await local.waitForLine(/listening on (http:\/\/\S+)/))[1] ?? '';
    expect(local.stdout()).not.toMatch(/Token:/);
    expect(await refusal(localUrl)).toBe('connected');

    const both = startCli(['signal', '--host', '0.0.0.0', '--port', '0', '--open', '--token', 'x']);
    expect((await both.exited).code).toBe(2);
    expect(both.stderr()).toMatch(/--open and --token contradict each other/);
    for (const p of [json, open, local]) {
      p.child.kill('SIGINT');
      expect((await p.exited).code).toBe(0);
    }
  }, 30_000);

  test('SIGHUP does not end the server; SIGINT then does, exit 0', async () => {
    const proc = startCli(['signal', '--host', '127.0.0.1', '--port', '0']);
    const url = (await proc.waitForLine(/listening on (http:\/\/\S+)/))[1] ?? '';
    proc.child.kill('SIGHUP');
    // kill() has delivered the signal before it returns; its default action would end the process before
    // it answers anything more: this request is the sentinel.
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    expect(proc.child.exitCode).toBeNull();
    proc.child.kill('SIGINT');
    expect((await proc.exited).code).toBe(0);
  }, 20_000);

  test('--limit sets a limit; its refusals are reported on stderr; a bad --limit is a usage error', async () => {
    const proc = startCli([
      'signal',
      '--host',
      '127.0.0.1',
      '--port',
      '0',
      '--limit',
      'connectionsPerAddress=1',
    ]);
    const url = (await proc.waitForLine(/listening on (http:\/\/\S+)/))[1] ?? '';
    expect(await refusal(url)).toBe('connected');
    expect(await refusal(url)).toMatch(
      /^TOO_MANY_CONNECTIONS: 1 connections from 127\.0\.0\.1 already \(limit 1\)/,
    );
    await waitFor('the refusal on stderr', () =>
      /rtc-peer: security: refused 127\.0\.0\.1: TOO_MANY_CONNECTIONS/.test(proc.stderr()) ? true : undefined,
    );
    proc.child.kill('SIGINT');
    expect((await proc.exited).code).toBe(0);

    const bad = startCli(['signal', '--host', '127.0.0.1', '--port', '0', '--limit', 'bogus=1']);
    expect((await bad.exited).code).toBe(2);
    expect(bad.stderr()).toMatch(/--limit "bogus=1": unknown limit bogus; known: messagesPerSecond/);
  }, 20_000);

  test('--allow-origin admits that origin; others are refused', async () => {
    const proc = startCli([
      'signal',
      '--host',
      '127.0.0.1',
      '--port',
      '0',
      '--allow-origin',
      'https://ok.example',
    ]);
    const url = (await proc.waitForLine(/listening on (http:\/\/\S+)/))[1] ?? '';
    expect(await refusal(url, {}, { origin: 'https://ok.example' })).toBe('connected');
    expect(await refusal(url, {}, { origin: 'https://evil.example' })).toMatch(/^FORBIDDEN_ORIGIN/);
    proc.child.kill('SIGINT');
    expect((await proc.exited).code).toBe(0);
  }, 20_000);
});
