/**
 * A real load balancer in front of signaling servers: Debian's HAProxy (test/system/packages.ts;
 * `RTC_PEER_HAPROXY` points elsewhere) on loopback and a free port, its configuration in a temp dir of its
 * own, balancing new connections over the
 * servers by round robin and taking a server out when its `/readyz` fails, as docs/deploy.md sets it up
 * (without the TLS, which is the load balancer's business and not under test here).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { systemCommand } from '../system/find-command.js';
import { freePort } from './ports.js';

/** A running haproxy. */
export interface Haproxy {
  /** Where clients connect: `http://127.0.0.1:PORT`. */
  url: string;
  /** Everything it logged. */
  log(): string;
  stop(): Promise<void>;
}

const running = new Set<Haproxy>();

/** The configuration: websockets pass through (HTTP mode, long tunnel timeout), health from `/readyz`. */
export function haproxyConfig(port: number, servers: string[]): string {
  return [
    'global',
    '  maxconn 2000',
    'defaults',
    '  mode http',
    '  timeout connect 1s',
    '  timeout client 1h',
    '  timeout server 1h',
    // A websocket is a tunnel once upgraded: it lives as long as the call.
    '  timeout tunnel 1h',
    // A connection to a server that just died goes to another one.
    '  option redispatch',
    '  retries 3',
    'frontend signaling',
    `  bind 127.0.0.1:${port}`,
    '  default_backend rtc_peer',
    'backend rtc_peer',
    '  balance roundrobin',
    '  option httpchk GET /readyz',
    '  http-check expect status 200',
    '  default-server inter 250ms fall 1 rise 1',
    ...servers.map((s, i) => `  server n${i} ${new URL(s).host} check`),
    '',
  ].join('\n');
}

/** Starts haproxy in front of `servers` (their URLs) and resolves once one of them answers through it. */
export async function startHaproxy(servers: string[]): Promise<Haproxy> {
  const port = await freePort();
  // Its own temp dir: the configuration, removed with it.
  const dir = mkdtempSync(path.join(tmpdir(), 'rtc-peer-haproxy-'));
  const config = path.join(dir, 'haproxy.cfg');
  writeFileSync(config, haproxyConfig(port, servers));
  // -db: stay in the foreground, log to stderr; -W not needed (one process).
  const child: ChildProcess = spawn(systemCommand('haproxy'), ['-db', '-f', config], {
    // stdin unused; stdout and stderr: its log
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stdout?.on('data', (c: Buffer) => (log += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (log += c.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const proxy: Haproxy = {
    url: `http://127.0.0.1:${port}`,
    log: () => log,
    async stop() {
      running.delete(proxy);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
  running.add(proxy);
  const deadline = performance.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`haproxy exited with ${child.exitCode}:\n${log}`);
    try {
      if ((await fetch(`${proxy.url}/readyz`)).status === 200) return proxy;
    } catch {
      // not listening yet
    }
    if (performance.now() > deadline) {
      await proxy.stop();
      throw new Error(`haproxy on ${proxy.url} did not pass a request in 10 s:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Stops every haproxy started here (afterEach). */
export async function stopHaproxies(): Promise<void> {
  await Promise.all([...running].map((p) => p.stop()));
}
