/**
 * A real TURN server for the relay tests: Debian's coturn (`turnserver`, test/system/packages.ts;
 * `RTC_PEER_turnserver` points elsewhere), on loopback and a free port, with one long-term credential, or
 * (`useAuthSecret`) with a shared secret for TURN REST credentials (`--use-auth-secret`). A missing binary
 * fails the test with what to install.
 * Its verbose log is kept and parsed: what coturn saw (allocations, refusals, bytes relayed) is the evidence a
 * relay test checks next to what the peers report.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { systemCommand } from '../system/find-command.js';
import { freePort } from './ports.js';

/** A running coturn. */
export interface TurnServer {
  url: string;
  /** The long-term user and password; with `useAuthSecret`, empty (credentials are minted from `secret`). */
  user: string;
  pass: string;
  /** With `useAuthSecret`: coturn's `static-auth-secret`. */
  secret?: string;
  /** Everything coturn has logged so far. */
  log(): string;
  /** Its log, read: see {@link TurnLog}. */
  read(): TurnLog;
  stop(): Promise<void>;
}

/** What coturn's log says happened, per TURN session (one client 5-tuple). */
export interface TurnLog {
  /** Sessions whose ALLOCATE succeeded for `user`. */
  allocated: string[];
  /**
   * Sessions that were given a peer to relay to (`CREATE_PERMISSION` or `CHANNEL_BIND` succeeded): the ones a
   * call used. A peer connection that gathered and never got the other side's candidates (a caller's spare
   * offer) allocates too, but never gets one.
   */
  permitted: string[];
  /** Requests refused because the credentials were wrong (`check_stun_auth: ... credentials are incorrect`). */
  badCredentials: number;
  /**
   * Requests refused because coturn found no key for the username (`check_stun_auth: Cannot find credentials
   * of user <...>`): with `use-auth-secret`, a username whose timestamp has passed (get_user_key() in
   * coturn's userdb.c), by username.
   */
  noCredentials: string[];
  /**
   * Bytes relayed between the session's relay address and its peers, from the `peer usage` line coturn logs
   * when a session ends (`rb` received from peers, `sb` sent to them), by session.
   */
  peerBytes: Map<string, { received: number; sent: number }>;
}

/** Reads coturn's verbose log (`-v`); `user`: the long-term user whose allocations count, or any (undefined). */
export function readTurnLog(log: string, user: string | undefined): TurnLog {
  const allocated = new Set<string>();
  const permitted = new Set<string>();
  const peerBytes = new Map<string, { received: number; sent: number }>();
  let badCredentials = 0;
  const noCredentials: string[] = [];
  for (const line of log.split('\n')) {
    const session = /session (\d+):/.exec(line)?.[1];
    if (/check_stun_auth: user .* credentials are incorrect/.test(line)) badCredentials++;
    const unknown = /check_stun_auth: Cannot find credentials of user <([^>]*)>/.exec(line)?.[1];
    if (unknown !== undefined) noCredentials.push(unknown);
    const allocatedFor = /user <([^>]*)>: incoming packet ALLOCATE processed, success/.exec(line)?.[1];
    if (session && allocatedFor !== undefined && (user === undefined || allocatedFor === user))
      allocated.add(session);
    if (
      session &&
      /user <[^>]*>: incoming packet (CREATE_PERMISSION|CHANNEL_BIND) processed, success/.test(line)
    )
      permitted.add(session);
    const usage = /peer usage: .*username=<([^>]*)>, rp=\d+, rb=(\d+), sp=\d+, sb=(\d+)/.exec(line);
    if (session && usage !== null && (user === undefined || usage[1] === user))
      peerBytes.set(session, { received: Number(usage[2]), sent: Number(usage[3]) });
  }
  return { allocated: [...allocated], permitted: [...permitted], badCredentials, noCredentials, peerBytes };
}

/** Where coturn listens: loopback by default, or an address inside a network namespace. */
export interface TurnServerOptions {
  /** Address to listen and relay on. Default: `127.0.0.1`. */
  ip?: string;
  /** A network namespace to run it in (`ip netns exec`). Default: none. */
  netns?: string;
  /**
   * TURN REST credentials instead of the long-term user: `--use-auth-secret --static-auth-secret=SECRET`
   * (read back from {@link TurnServer.secret}). Default: false.
   */
  useAuthSecret?: boolean;
}

/** Starts coturn (on 127.0.0.1 unless told otherwise) and resolves once it listens. */
export async function startTurnServer(options: TurnServerOptions = {}): Promise<TurnServer> {
  const ip = options.ip ?? '127.0.0.1';
  const turnserver = systemCommand('turnserver');
  // A free port on loopback; inside a namespace of its own nothing else listens anyway.
  const port = options.netns ? 3478 : await freePort();
  const secret = options.useAuthSecret ? `coturn-${randomBytes(18).toString('base64url')}` : undefined;
  const user = secret === undefined ? 'rtc-peer' : '';
  const pass = secret === undefined ? 'test-secret' : '';
  const pidfile = path.join(tmpdir(), `rtc-peer-turnserver-${process.pid}-${port}.pid`);
  const args = [
    // -v: sessions, allocations, refusals and the bytes relayed, which the tests read
    ...['-n', '-v', '--log-binding', `--listening-ip=${ip}`, `--listening-port=${port}`, `--relay-ip=${ip}`],
    // (the secret on coturn's command line: a test's throwaway; deployments put it in turnserver.conf)
    ...(secret === undefined
      ? ['--lt-cred-mech', `--user=${user}:${pass}`]
      : ['--use-auth-secret', `--static-auth-secret=${secret}`]),
    ...['--realm=rtc-peer.test', '--fingerprint'],
    // Loopback peers are refused by default (an open relay into localhost is a risk); this one is ours.
    ...['--allow-loopback-peers', '--no-tls', '--no-dtls', '--no-cli', '--log-file=stdout', '--simple-log'],
    // its own pid file, not the system's /var/run/turnserver.pid (other coturns may run on this machine)
    `--pidfile=${pidfile}`,
  ];
  const child: ChildProcess = options.netns
    ? spawn(systemCommand('ip'), ['netns', 'exec', options.netns, turnserver, ...args], {
        stdio: ['ignore', 'pipe', 'ignore'],
      })
    : // stdin: unused; stdout: its log, read for readiness and by the tests; stderr: ignored
      spawn(turnserver, args, { stdio: ['ignore', 'pipe', 'ignore'] });
  let log = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`turnserver did not start in 5 s:\n${log}`)), 5000);
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => {
      log += chunk;
      if (process.env.RTC_PEER_TEST_VERBOSE) process.stderr.write(chunk);
      if (/listener opened on|Total (UDP|General) servers/i.test(log)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`turnserver exited with ${code}:\n${log}`));
    });
  });
  return {
    url: `turn:${ip}:${port}?transport=udp`,
    user,
    pass,
    ...(secret !== undefined ? { secret } : {}),
    log: () => log,
    read: () => readTurnLog(log, secret === undefined ? user : undefined),
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
      rmSync(pidfile, { force: true });
    },
  };
}

/** Waits until coturn's log satisfies `check` (it logs a session's bytes when the session ends). */
export async function waitForTurnLog(
  server: TurnServer,
  what: string,
  check: (log: TurnLog) => boolean,
  timeoutMs = 15_000,
): Promise<TurnLog> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const log = server.read();
    if (check(log)) return log;
    if (performance.now() > deadline) throw new Error(`coturn never logged ${what}:\n${server.log()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * The TURN REST password of `username` under `secret` as openssl computes it (`openssl dgst -sha1 -hmac`,
 * base64): a witness outside node:crypto for what coturn's `use-auth-secret` expects.
 */
export function opensslTurnCredential(secret: string, username: string): string {
  const digest = execFileSync(systemCommand('openssl'), ['dgst', '-sha1', '-hmac', secret, '-binary'], {
    input: username,
  });
  return digest.toString('base64');
}
