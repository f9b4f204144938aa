/**
 * A real Redis for the cluster tests: Debian's `redis-server` (test/system/packages.ts;
 * `RTC_PEER_REDIS_SERVER` points elsewhere) on loopback and a free port, with no persistence (a restart is
 * a Redis that lost its data, the hard case), stopped and started again on the same port by the tests. A
 * raw client reads the keys, to check what the servers wrote against what the clients saw.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { systemCommand } from '../system/find-command.js';
import { freePort } from './ports.js';

/** A running (or stopped, to be started again) redis-server. */
export interface RedisServer {
  url: string;
  port: number;
  /** Everything it logged. */
  log(): string;
  /** Stops it (SIGKILL: as a crash, or SIGTERM) and waits for its exit. Idempotent. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again on the same port, empty. */
  start(): Promise<void>;
  /** A client for the test's own reads (closed by stop()/kill()). */
  client(): Redis;
  /** Removes its temp dir (once stopped for good). */
  remove(): void;
}

const running = new Set<RedisServer>();

/** Starts redis-server on a free loopback port; resolves once it accepts connections. */
export async function startRedisServer(): Promise<RedisServer> {
  const port = await freePort();
  // Its working directory, a temp dir of its own (nothing is written there: no persistence), removed with it.
  const dir = mkdtempSync(path.join(tmpdir(), 'rtc-peer-redis-'));
  let child: ChildProcess | undefined;
  let log = '';
  let client: Redis | undefined;
  const launch = async (): Promise<void> => {
    const args = [
      ...['--port', String(port), '--bind', '127.0.0.1'],
      // No files: nothing saved, nothing loaded; a restart is empty.
      ...['--save', '', '--appendonly', 'no', '--dir', dir],
      ...['--protected-mode', 'yes', '--loglevel', 'notice'],
    ];
    // stdin unused; stdout its log (readiness, and for the failure message); stderr with it.
    const proc = spawn(systemCommand('redis-server'), args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`redis-server did not start in 10 s:\n${log}`)),
        10_000,
      );
      const onData = (chunk: Buffer): void => {
        log += chunk.toString();
        if (/Ready to accept connections/.test(log)) {
          clearTimeout(timer);
          resolve();
        }
      };
      proc.stdout?.on('data', onData);
      proc.stderr?.on('data', onData);
      proc.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`redis-server exited with ${code}:\n${log}`));
      });
    });
  };
  try {
    await launch();
  } catch (error) {
    child?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  const server: RedisServer = {
    url: `redis://127.0.0.1:${port}`,
    port,
    log: () => log,
    async stop(signal = 'SIGKILL') {
      client?.disconnect();
      client = undefined;
      const proc = child;
      if (proc === undefined || proc.exitCode !== null || proc.signalCode !== null) return;
      const exited = new Promise((resolve) => proc.once('exit', resolve));
      proc.kill(signal);
      await exited;
    },
    async start() {
      await server.stop();
      log = '';
      await launch();
    },
    client() {
      client ??= new Redis(server.url, { maxRetriesPerRequest: 1 });
      return client;
    },
    remove() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
  running.add(server);
  return server;
}

/** Stops every redis-server started here and removes its dir (afterEach / afterAll). */
export async function stopRedisServers(): Promise<void> {
  await Promise.all([...running].map((s) => s.stop()));
  for (const s of running) s.remove();
  running.clear();
}
