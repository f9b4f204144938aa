/**
 * `rtc-peer call --whip URL` and `rtc-peer answer --whep URL`, the real CLI as separate processes, against
 * `rtc-peer signal`'s own WHIP/WHEP endpoints, with room members on the other side: the recordings decoded and
 * judged by the barcodes the test pattern carries (frame ids, the sender's clock). What the clients sent is
 * read by a recording HTTP proxy between them and the server (test/helpers/http-recorder.ts): the witness of
 * the DELETE on every end, outside the client.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { killAll, startCli, startSignalCli, type CliProcess } from '../helpers/cli.js';
import { httpRecorder, type HttpRecorder } from '../helpers/http-recorder.js';
import { inspectRecording } from '../helpers/media.js';
import { expectPatternRecording } from '../helpers/pattern-recording.js';
import { waitFor } from '../helpers/signal-server.js';

let dir: string;
const cleanups: Array<() => unknown> = [];
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'rtc-peer-whip-cli-'));
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  await killAll();
  rmSync(dir, { recursive: true, force: true });
});

/** `Date.now()` as the barcode carries it (modulo 2^32 ms), and the distance between two such stamps. */
const stampOf = (ms: number): number => ms % 2 ** 32;
const stampDiff = (a: number, b: number): number => (((b - a) % 2 ** 32) + 2 ** 32) % 2 ** 32;

/** `rtc-peer signal` on a free port, and a recording proxy in front of it (what the WHIP/WHEP client uses). */
async function signalBehindProxy(): Promise<{ url: string; proxy: HttpRecorder }> {
  const { url } = await startSignalCli();
  const proxy = await httpRecorder(url);
  cleanups.push(() => proxy.close());
  return { url, proxy };
}

/** The session the client's `session` event named, and the proxy's DELETE of it (awaited). */
async function expectDeleted(proxy: HttpRecorder, client: CliProcess): Promise<void> {
  const session = await client.waitFor('session');
  const sessionPath = new URL(String(session.session)).pathname;
  await waitFor(
    `the DELETE of ${sessionPath}`,
    () => (proxy.exchanges.some((e) => e.method === 'DELETE' && e.path === sessionPath) ? true : undefined),
    5000,
  );
  expect(proxy.exchanges.filter((e) => e.method === 'DELETE')).toMatchObject([
    { path: sessionPath, status: 200 },
  ]);
}

describe('rtc-peer call --whip, answer --whep (against rtc-peer signal)', { timeout: 60_000 }, () => {
  test('call --whip into a room, recorded by answer --room --record; --duration ends it with a DELETE; both exit 0', async () => {
    const { url, proxy } = await signalBehindProxy();
    const file = path.join(dir, 'whip.webm');
    const answerer = startCli([
      'answer',
      '--signal',
      url,
      '--room',
      'lab',
      '--record',
      file,
      '--once',
      '--stun',
      'none',
    ]);
    await answerer.waitFor('joined');
    const from = Date.now();
    const caller = startCli([
      'call',
      '--whip',
      `${proxy.url}/whip/lab`,
      '--stun',
      'none',
      '--duration',
      '4',
      '--once',
    ]);
    const session = await caller.waitFor('session');
    expect(session).toMatchObject({ call: 1, protocol: 'WHIP', url: `${proxy.url}/whip/lab` });
    expect(String(session.session)).toMatch(new RegExp(`^${proxy.url}/whip/lab/[A-Za-z0-9_-]{22}$`));
    await caller.waitFor('connected', 10_000);
    expect((await caller.exited).code).toBe(0);
    const ended = await answerer.waitFor('call-ended', 10_000);
    const to = Date.now();
    expect(ended.reason).toBe('peer-hangup');
    expect((await answerer.exited).code).toBe(0);
    await expectDeleted(proxy, caller);
    // The offer was a WHIP publisher's: send-only, POSTed as application/sdp.
    const post = proxy.exchanges.find((e) => e.method === 'POST')!;
    expect(post).toMatchObject({ path: '/whip/lab', status: 201 });
    expect(post.headers['content-type']).toBe('application/sdp');
    expect(post.body).toMatch(/a=sendonly/);
    expect(post.body).not.toMatch(/a=(sendrecv|recvonly)/);
    const callerEnd = caller.events.find((e) => e.event === 'call-ended')!;
    expect(callerEnd).toMatchObject({ reason: 'hangup', remote: 'server' });
    expect(caller.events.some((e) => e.event === 'stats' && Number(e.fpsSent) > 20)).toBe(true);
    const { distinct, sentSpan } = await expectPatternRecording(file, {
      durationSec: 4,
      sentBetween: { from, to },
      receiver: ended,
    });
    console.log('call --whip recorded by answer --room:', { distinct, sentSpan });
  });

  test('answer --whep watching a room whose caller is rtc-peer call: recorded; --duration ends it with a DELETE', async () => {
    const { url, proxy } = await signalBehindProxy();
    const from = Date.now();
    const caller = startCli(['call', '--signal', url, '--room', 'cam', '--stun', 'none']);
    await caller.waitFor('offer-sent');
    const file = path.join(dir, 'whep.webm');
    const answerer = startCli([
      'answer',
      '--whep',
      `${proxy.url}/whep/cam`,
      '--record',
      file,
      '--stun',
      'none',
      '--duration',
      '4',
    ]);
    const session = await answerer.waitFor('session');
    expect(session).toMatchObject({ call: 1, protocol: 'WHEP', url: `${proxy.url}/whep/cam` });
    expect(await answerer.waitFor('recording')).toMatchObject({ call: 1, path: file });
    await answerer.waitFor('first-frame', 10_000);
    expect((await answerer.exited).code).toBe(0);
    const to = Date.now();
    const ended = answerer.events.find((e) => e.event === 'call-ended')!;
    expect(ended).toMatchObject({ reason: 'hangup', remote: 'server' });
    await expectDeleted(proxy, answerer);
    // The camera's call with the WHEP viewer ended because the viewer said so (the DELETE: a bye in the room).
    const callerEnd = await caller.waitFor('call-ended', 5000);
    expect(callerEnd.reason).toBe('peer-hangup');
    // The offer was a WHEP viewer's: receive-only, video and sound.
    const post = proxy.exchanges.find((e) => e.method === 'POST')!;
    expect(post).toMatchObject({ path: '/whep/cam', status: 201 });
    expect(post.body.match(/a=recvonly/g)).toHaveLength(2);
    expect(post.body).not.toMatch(/a=(sendrecv|sendonly)/);
    const { distinct, sentSpan } = await expectPatternRecording(file, {
      durationSec: 4,
      sentBetween: { from, to },
      receiver: ended,
    });
    console.log('answer --whep recorded:', { distinct, sentSpan });
    caller.child.kill('SIGINT');
    expect((await caller.exited).code).toBe(0);
  });

  test('answer --whep across two cameras: the first one gone is noticed (peer-vanished), the next call is a new session recorded to whep-2.webm', async () => {
    const { url, proxy } = await signalBehindProxy();
    const file = path.join(dir, 'whep.webm');
    const camera = (): CliProcess =>
      startCli(['call', '--signal', url, '--room', 'two', '--stun', 'none', '--duration', '3', '--once']);
    const fromA = Date.now();
    const a = camera();
    await a.waitFor('offer-sent');
    const viewer = startCli([
      'answer',
      '--whep',
      `${proxy.url}/whep/two`,
      '--record',
      file,
      '--stun',
      'none',
    ]);
    await viewer.waitFor('first-frame', 10_000, (e) => e.call === 1);
    expect((await a.exited).code).toBe(0);
    const toA = Date.now();
    // Nothing comes any more, and the server cannot say why: the call is over once it heard nothing for 5 s.
    const first = await viewer.waitFor('call-ended', 15_000);
    expect(first).toMatchObject({ call: 1, reason: 'peer-vanished' });
    const fromB = Date.now();
    const b = camera();
    const second = await viewer.waitFor('recording', 20_000, (e) => e.path !== file);
    expect(second.path).toBe(path.join(dir, 'whep-2.webm'));
    await viewer.waitFor('first-frame', 10_000, (e) => e.call === second.call);
    expect((await b.exited).code).toBe(0);
    const toB = Date.now();
    viewer.child.kill('SIGINT');
    expect((await viewer.exited).code).toBe(0);
    // Two sessions, each DELETEd, each with a POST of its own.
    const sessions = viewer.events
      .filter((e) => e.event === 'session')
      .map((e) => new URL(String(e.session)).pathname);
    expect(new Set(sessions).size).toBe(2);
    for (const p of sessions)
      expect(proxy.exchanges.some((e) => e.method === 'DELETE' && e.path === p)).toBe(true);
    // Each file holds its own camera's frames, by their stamps, in order.
    for (const [f, from, to] of [
      [file, fromA, toA],
      [second.path as string, fromB, toB],
    ] as const) {
      const rec = await inspectRecording(f);
      const codes = rec.barcodes.filter((c) => c !== null);
      const ids = codes.map((c) => c.frameId);
      expect(rec.decodeErrors).toEqual([]);
      for (let i = 1; i < ids.length; i++) expect(ids[i]).toBeGreaterThanOrEqual(ids[i - 1]!);
      for (const c of codes) expect(stampDiff(stampOf(from), c.timestampMs)).toBeLessThanOrEqual(to - from);
      // About the camera's 3 s at 30 fps (its first moments go before the viewer connects).
      expect(new Set(ids).size, path.basename(f)).toBeGreaterThan(60);
    }
  });

  test("SIGINT of the WHIP caller DELETEs its session: the answerer's call ends at once (peer-hangup); both exit 0", async () => {
    const { url, proxy } = await signalBehindProxy();
    const answerer = startCli(['answer', '--signal', url, '--room', 'sig', '--once', '--stun', 'none']);
    await answerer.waitFor('joined');
    const caller = startCli(['call', '--whip', `${proxy.url}/whip/sig`, '--stun', 'none']);
    await caller.waitFor('connected', 10_000);
    await answerer.waitFor('first-frame', 10_000);
    caller.child.kill('SIGINT');
    const stoppedAt = performance.now();
    expect((await caller.exited).code).toBe(0);
    await expectDeleted(proxy, caller);
    const ended = await answerer.waitFor('call-ended', 5000);
    // A bye through the room, not a vanished peer noticed by its silence.
    expect(ended.reason).toBe('peer-hangup');
    expect(performance.now() - stoppedAt).toBeLessThan(3000);
    expect((await answerer.exited).code).toBe(0);
    expect(caller.events.find((e) => e.event === 'call-ended')).toMatchObject({ reason: 'hangup' });
  });
});

describe('rtc-peer call --whip, answer --whep: errors', { timeout: 40_000 }, () => {
  /** Runs the CLI to its end; its exit code, stderr and JSON `error` event. */
  async function failing(args: string[], env: NodeJS.ProcessEnv = {}) {
    const proc = startCli(args, {
      // Not from this shell: the test says what the command has.
      env: { RTC_PEER_TOKEN: undefined, RTC_PEER_SIGNAL: undefined, ...env },
    });
    const started = performance.now();
    const { code } = await proc.exited;
    return {
      code,
      ms: performance.now() - started,
      stderr: proc.stderr(),
      error: proc.events.find((e) => e.event === 'error'),
      events: proc.events.map((e) => e.event),
    };
  }

  test('401 without the token: exit 3, the URL, the status, the server text and the token hint; no call', async () => {
    const { url } = await startSignalCli(['--token', 'sekrit']);
    const whip = `${url}/whip/lab`;
    const run = await failing(['call', '--whip', whip, '--stun', 'none']);
    expect(run.code).toBe(3);
    expect(run.stderr).toContain(
      `rtc-peer: POST of the WHIP offer to ${whip} answered 401 Unauthorized: UNAUTHORIZED: this signaling server requires a token`,
    );
    expect(run.stderr).toContain('the server wants a token: pass --token (or set RTC_PEER_TOKEN)');
    expect(run.error).toMatchObject({ code: 'UNAUTHORIZED', exitCode: 3, url: whip });
    // Said once, as the error: no warning before it, no call that never was.
    expect(run.events).not.toContain('warning');
    expect(run.events).not.toContain('call-ended');
  });

  test('404 (a wrong endpoint; the token from RTC_PEER_TOKEN gets past the auth): exit 3, "check it"', async () => {
    const { url } = await startSignalCli(['--token', 'sekrit']);
    const wrong = `${url}/wihp/lab`;
    const run = await failing(['answer', '--whep', wrong, '--stun', 'none'], { RTC_PEER_TOKEN: 'sekrit' });
    expect(run.code).toBe(3);
    expect(run.stderr).toContain(`rtc-peer: POST of the WHEP offer to ${wrong} answered 404 Not Found`);
    expect(run.stderr).toContain('nothing is served at this URL: check it');
    expect(run.error).toMatchObject({ code: 'NOT_FOUND', exitCode: 3, url: wrong });
  });

  test('a server that takes the POST and never answers: exit 3 after the 10 s bound, said so', async () => {
    const sockets = new Set<Socket>();
    const mute = createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => mute.listen(0, '127.0.0.1', resolve));
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          for (const s of sockets) s.destroy();
          mute.close(() => resolve());
        }),
    );
    const whip = `http://127.0.0.1:${(mute.address() as AddressInfo).port}/whip/lab`;
    const run = await failing(['call', '--whip', whip, '--stun', 'none']);
    expect(run.code).toBe(3);
    expect(run.stderr).toContain(`rtc-peer: POST ${whip}: no complete response within 10000 ms`);
    expect(run.error).toMatchObject({ code: 'TIMEOUT', url: whip });
    expect(sockets.size).toBeGreaterThan(0);
    expect(run.ms).toBeGreaterThan(9500);
    expect(run.ms).toBeLessThan(20_000);
  });

  test('--whip/--whep beside --signal or --room, or with what they cannot do: exit 2, said which', async () => {
    const cases: Array<[string[], string]> = [
      [
        ['call', '--whip', 'http://127.0.0.1:9/whip/lab', '--room', 'lab'],
        'rtc-peer: --whip and --room contradict each other',
      ],
      [
        ['answer', '--whep', 'http://127.0.0.1:9/whep/lab', '--signal', 'http://127.0.0.1:9'],
        'rtc-peer: --whep and --signal contradict each other',
      ],
      [
        ['call', '--whip', 'rtsp://cam/whip'],
        'rtc-peer: --whip "rtsp://cam/whip" is not an http:// or https:// URL',
      ],
      [['call', '--whip', 'http://127.0.0.1:9/whip/lab', '--record', 'x.webm'], '--whip only publishes'],
      [['answer', '--whep', 'http://127.0.0.1:9/whep/lab', '--test-pattern'], '--whep only watches'],
    ];
    for (const [args, message] of cases) {
      const run = await failing(args);
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stderr, args.join(' ')).toContain(message);
    }
  });
});
