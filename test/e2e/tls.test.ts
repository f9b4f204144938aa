/**
 * `rtc-peer signal --cert --key` as users run it: certificates made by a real openssl at test time (a test
 * CA and server certificates it signs), the CLI as separate processes, a real call over wss (the caller
 * trusting the CA with --ca, the answerer with NODE_EXTRA_CA_CERTS) whose recording is decoded, the
 * certificate reloaded on SIGHUP in the middle of that call without dropping it, and the clear errors of
 * a client that does not trust the server, of an expired certificate, of a plain client to a TLS server and
 * of bad certificate files.
 */
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { connect } from 'node:tls';
import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { killAll, startCli, startSignalCli } from '../helpers/cli.js';
import { makeTestCa, type TestCa } from '../helpers/certs.js';
import { expectPatternRecording } from '../helpers/pattern-recording.js';

const NO_STUN = ['--stun', 'none'];

let dir: string;
let ca: TestCa;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'rtc-peer-tls-e2e-'));
  ca = makeTestCa();
});
afterEach(async () => {
  await killAll();
  rmSync(dir, { recursive: true, force: true });
  ca.remove();
});

/** GET `url` over https trusting the test CA: status and body. */
function get(url: string): Promise<{ status: number; body: string; type: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca: readFileSync(ca.caFile) }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, body, type: String(res.headers['content-type']) }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

/** The serial number of the certificate a new TLS connection to `port` is served. */
function servedSerial(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, ca: readFileSync(ca.caFile), servername: 'localhost' });
    socket.once('secureConnect', () => {
      resolve(socket.getPeerCertificate().serialNumber);
      socket.end();
    });
    socket.once('error', reject);
  });
}

/** The server's certificate as files the test can replace (as certbot renews them in place). */
function liveCert(name: string): { cert: string; key: string } {
  const issued = ca.issue(name);
  const cert = path.join(dir, 'live-cert.pem');
  const key = path.join(dir, 'live-key.pem');
  copyFileSync(issued.cert, cert);
  copyFileSync(issued.key, key);
  return { cert, key };
}

describe('rtc-peer signal over TLS', () => {
  test('https and wss: page, /healthz, /metrics; a call over wss recorded whole across a certificate reload', async () => {
    const live = liveCert('first');
    const { proc: signal, url } = await startSignalCli(['--cert', live.cert, '--key', live.key]);
    expect(url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const port = Number(new URL(url).port);
    expect(signal.stdout()).toMatch(/Local: {3}https:\/\/127\.0\.0\.1:\d+\/\?room=default/);
    const page = await get(`${url}/`);
    expect(page.status).toBe(200);
    expect(page.type).toMatch(/text\/html/);
    expect((await get(`${url}/healthz`)).body).toMatch(/"status":"ok"/);
    expect((await get(`${url}/metrics`)).body).toMatch(/rtc_peer_clients/);
    const firstSerial = await servedSerial(port);

    const file = path.join(dir, 'over-wss.webm');
    const answerer = startCli(
      ['answer', '--signal', url, '--room', 'tls', '--record', file, '--once', ...NO_STUN],
      { env: { NODE_EXTRA_CA_CERTS: ca.caFile } },
    );
    await answerer.waitFor('joined');
    const from = Date.now();
    const caller = startCli([
      'call',
      '--signal',
      url,
      '--ca',
      ca.caFile,
      '--room',
      'tls',
      '--duration',
      '6',
      '--once',
      ...NO_STUN,
    ]);
    await answerer.waitFor('first-frame', 15_000);
    // Renewed in place, then SIGHUP: new connections get the new certificate, the call goes on.
    const renewed = ca.issue('second');
    copyFileSync(renewed.cert, live.cert);
    copyFileSync(renewed.key, live.key);
    signal.child.kill('SIGHUP');
    await waitForText(signal.stderr, /certificate reloaded \(DNS:localhost, IP Address:127\.0\.0\.1/);
    const secondSerial = await servedSerial(port);
    expect(secondSerial).not.toBe(firstSerial);

    const callerEnd = await caller.waitFor('call-ended', 20_000);
    const answererEnd = await answerer.waitFor('call-ended', 20_000);
    expect(callerEnd.reason).toBe('hangup');
    expect(answererEnd.reason).toBe('peer-hangup');
    expect((await caller.exited).code).toBe(0);
    expect((await answerer.exited).code).toBe(0);
    const sentBetween = { from, to: Date.now() };
    // Neither side lost its wss connection over the reload. (A client also reconnects on purpose when this
    // machine's addresses change, as other tests' network namespaces do on a shared machine: not a loss.)
    const lost = (events: typeof caller.events) =>
      events.filter((e) => e.event === 'signal-lost' && !/network addresses changed/.test(String(e.reason)));
    expect(lost(caller.events)).toEqual([]);
    expect(lost(answerer.events)).toEqual([]);
    await expectPatternRecording(file, { durationSec: 6, sentBetween, receiver: answererEnd });
    // A reload of broken files keeps the certificate in service and says so.
    writeFileSync(live.cert, 'not a certificate\n');
    signal.child.kill('SIGHUP');
    await waitForText(signal.stderr, /certificate NOT reloaded, still serving the previous one: .*not a PEM/);
    expect(await servedSerial(port)).toBe(secondSerial);
    signal.child.kill('SIGINT');
    expect((await signal.exited).code).toBe(0);
  }, 60_000);

  test('clear errors: an untrusted server, an expired certificate, a plain client to a TLS server', async () => {
    const good = ca.issue('good');
    const { url } = await startSignalCli(['--cert', good.cert, '--key', good.key]);
    const untrusted = startCli(['call', '--signal', url, '--room', 'x', '--once', ...NO_STUN]);
    expect((await untrusted.exited).code).toBe(3);
    expect(untrusted.stderr()).toMatch(
      /its certificate is not trusted \(unable to verify the first certificate\); .*pass --ca FILE/,
    );
    const plain = startCli([
      'call',
      '--signal',
      url.replace('https:', 'http:'),
      '--room',
      'x',
      '--once',
      ...NO_STUN,
    ]);
    expect((await plain.exited).code).toBe(3);
    expect(plain.stderr()).toMatch(/if it serves TLS \(rtc-peer signal --cert\), use https:\/\/127\.0\.0\.1/);

    const old = ca.issue('old', { days: -1 });
    const expired = await startSignalCli(['--cert', old.cert, '--key', old.key]);
    expect(expired.proc.stderr()).toMatch(/warning: the certificate .*old\.pem .* expired on /);
    const late = startCli(['call', '--signal', expired.url, '--ca', ca.caFile, '--room', 'x', ...NO_STUN]);
    expect((await late.exited).code).toBe(3);
    expect(late.stderr()).toMatch(/its certificate has expired/);
  }, 60_000);

  test('bad certificate files are refused before listening, saying which file and what to do', async () => {
    const good = ca.issue('good');
    const other = ca.issue('other');
    const cases: Array<[string[], RegExp]> = [
      [
        ['--cert', path.join(dir, 'missing.pem'), '--key', good.key],
        /cannot read the certificate .*missing\.pem \(ENOENT\)/,
      ],
      [['--cert', good.key, '--key', good.key], /good\.key is not a PEM certificate/],
      [['--cert', good.cert, '--key', other.key], /is not the key of the certificate/],
      [['--cert', good.cert], /--cert needs --key/],
    ];
    for (const [args, message] of cases) {
      const proc = startCli(['signal', '--host', '127.0.0.1', '--port', '0', ...args]);
      expect((await proc.exited).code).toBe(2);
      expect(proc.stderr()).toMatch(message);
      expect(proc.stdout()).not.toMatch(/listening/);
    }
    const noCa = startCli(['call', '--signal', 'https://127.0.0.1:1', '--ca', path.join(dir, 'nope.pem')]);
    expect((await noCa.exited).code).toBe(2);
    expect(noCa.stderr()).toMatch(/--ca .*nope\.pem: cannot read it \(ENOENT\)/);
    // fetch() (the WHIP/WHEP client) takes extra CAs from the environment only: said, not ignored.
    const whip = startCli(['call', '--whip', 'https://127.0.0.1:1/whip/x', '--ca', ca.caFile]);
    expect((await whip.exited).code).toBe(2);
    expect(whip.stderr()).toMatch(/--ca is for the signaling server's websocket; .*set NODE_EXTRA_CA_CERTS=/);
  }, 40_000);
});

async function waitForText(read: () => string, re: RegExp, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!re.test(read())) {
    if (Date.now() > deadline) throw new Error(`no ${String(re)} within ${ms} ms in:\n${read()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
