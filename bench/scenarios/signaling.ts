/**
 * Signaling load: N Socket.IO clients in rooms of two against one `rtc-peer signal` process, or against two
 * `rtc-peer signal --redis` processes sharing a redis-server (callers on one, answerers on the other, so
 * every message of every handshake crosses servers through Redis); callers in one client process,
 * answerers in another (bench/children/signal-load.ts). Connect time, servers' RSS per client, relay
 * latency at a fixed handshake rate, handshakes lost, the CPU of the servers and of Redis, and (held-offer.ts)
 * how long a late answerer waits for the offer held for it.
 */
import { spawn } from 'node:child_process';
import { findCommand } from '../../test/system/find-command.js';
import { freePort } from '../../test/helpers/ports.js';
import { Child, compileChild, startSignal } from '../lib/child.js';
import { measureHeldOffer } from './held-offer.js';
import { CpuWindow, statusKb } from '../lib/proc.js';
import { percentiles, sleep } from '../lib/stats.js';
import type { SignalingResult } from '../lib/types.js';

/** Open files allowed to the server and the client processes (one socket each, plus some). */
const NOFILE = 65_536;

/** Options of {@link runSignalingLoad}. */
export interface SignalingOptions {
  /** Clients in all (half callers, half answerers). */
  clients: number;
  /** Handshakes (offer -> answer -> candidate) per second. */
  rate: number;
  /** Seconds of handshakes. */
  seconds: number;
  /** `'one'`: one server, rooms in memory; `'two+redis'`: two servers on a redis-server. Default `'one'`. */
  servers?: 'one' | 'two+redis';
  /** Join -> held offer trials after the handshakes (held-offer.ts), callers and answerers apart. Default 0. */
  heldOfferTrials?: number;
}

/**
 * Every client comes from 127.0.0.1: the per-address and total limits (issue 15) are lifted, this measures
 * capacity (the flood section measures the limits).
 */
const UNLIMITED = ['connectionsPerAddress', 'connections', 'roomsPerAddress', 'rooms', 'heldBytesPerAddress']
  .map((name) => ['--limit', `${name}=0`])
  .flat();

/** The servers under load: where the callers and the answerers connect, the processes to measure. */
interface Servers {
  callerUrl: string;
  answererUrl: string;
  /** The signaling server processes. */
  pids: number[];
  /** redis-server, in the two-server setup. */
  redisPid?: number;
  stop(): Promise<void>;
}

/** Two `rtc-peer signal --redis` servers on a redis-server of their own (free port, no persistence). */
async function startRedisPair(): Promise<Servers> {
  const found = findCommand('redis-server');
  if (!found.found) throw new Error(`redis-server: ${found.reason}`);
  const port = await freePort();
  // stdin unused; stdout: its log, read for readiness; stderr ignored.
  const redis = spawn(
    found.path,
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    {
      stdio: ['ignore', 'pipe', 'ignore'],
    },
  );
  const redisExited = new Promise<void>((resolve) => redis.once('exit', () => resolve()));
  const stopRedis = async (): Promise<void> => {
    if (redis.exitCode === null && redis.signalCode === null) redis.kill('SIGTERM');
    await redisExited;
  };
  const nodes: Child[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      let log = '';
      const timer = setTimeout(() => reject(new Error(`redis-server did not start:\n${log}`)), 10_000);
      redis.stdout?.on('data', (c: Buffer) => {
        log += c.toString();
        if (log.includes('Ready to accept connections')) {
          clearTimeout(timer);
          resolve();
        }
      });
      redis.once('exit', (code) => reject(new Error(`redis-server exited with ${code}:\n${log}`)));
    });
    const urls: string[] = [];
    for (const name of ['signal-a', 'signal-b']) {
      const redisUrl = `redis://127.0.0.1:${port}`;
      const { child, url } = await startSignal({ nofile: NOFILE, redis: redisUrl, name, args: UNLIMITED });
      nodes.push(child);
      urls.push(url);
    }
    for (const url of urls) await waitReady(url);
    return {
      callerUrl: urls[0] ?? '',
      answererUrl: urls[1] ?? '',
      pids: nodes.map((n) => n.pid),
      redisPid: redis.pid,
      async stop() {
        await Promise.all(nodes.map((n) => n.stop('SIGTERM')));
        await stopRedis();
      },
    };
  } catch (error) {
    await Promise.all(nodes.map((n) => n.stop('SIGKILL')));
    await stopRedis();
    throw error;
  }
}

async function waitReady(url: string): Promise<void> {
  const deadline = performance.now() + 15_000;
  while (
    (await fetch(`${url}/readyz`).then(
      (r) => r.status,
      () => 0,
    )) !== 200
  ) {
    if (performance.now() > deadline) throw new Error(`${url} not ready in 15 s`);
    await sleep(100);
  }
}

/** One load run on fresh servers. */
export async function runSignalingLoad(o: SignalingOptions): Promise<SignalingResult> {
  const script = compileChild('signal-load');
  const setup = o.servers ?? 'one';
  let servers: Servers;
  if (setup === 'one') {
    const { child, url } = await startSignal({ nofile: NOFILE, args: UNLIMITED });
    servers = { callerUrl: url, answererUrl: url, pids: [child.pid], stop: () => child.stop('SIGTERM') };
  } else {
    servers = await startRedisPair();
  }
  const rooms = Math.floor(o.clients / 2);
  const prefix = `load${o.clients}`;
  const rss = (): number => servers.pids.reduce((kb, pid) => kb + statusKb(pid, 'VmRSS'), 0);
  let callers: Child | undefined;
  let answerers: Child | undefined;
  try {
    await sleep(500);
    const rssIdleKb = rss();
    const redisIdleKb = servers.redisPid === undefined ? 0 : statusKb(servers.redisPid, 'VmRSS');
    answerers = new Child('answerers', script, [servers.answererUrl, 'answerer', String(rooms), prefix], {
      nofile: NOFILE,
    });
    callers = new Child('callers', script, [servers.callerUrl, 'caller', String(rooms), prefix], {
      nofile: NOFILE,
    });
    const timeout = 60_000 + o.clients * 20;
    const [a, c] = await Promise.all([
      answerers.waitFor('ready', timeout),
      callers.waitFor('ready', timeout),
    ]);
    if ((a.failed as number) + (c.failed as number) > 0)
      throw new Error(
        `signaling: ${String(a.failed)} answerers and ${String(c.failed)} callers failed to join: ${answerers.stderr}${callers.stderr}`,
      );
    await sleep(1500); // let the server settle (buffers, timers) before reading its RSS
    const rssKb = rss();
    const redisKb = servers.redisPid === undefined ? 0 : statusKb(servers.redisPid, 'VmRSS');
    const cpu = new CpuWindow(() => servers.pids);
    const redisCpu =
      servers.redisPid === undefined ? undefined : new CpuWindow(() => [servers.redisPid ?? -1]);
    cpu.start();
    redisCpu?.start();
    const t0 = performance.now();
    callers.send({ event: 'go', rate: o.rate, seconds: o.seconds });
    await callers.waitFor('sent', o.seconds * 1000 + 30_000);
    await sleep(1000); // the last handshakes complete
    const elapsed = (performance.now() - t0) / 1000 - 1;
    const usage = cpu.stop();
    const redisUsage = redisCpu?.stop();
    answerers.send({ event: 'report' });
    callers.send({ event: 'report' });
    const [ra, rc] = await Promise.all([
      answerers.waitFor('report', 30_000),
      callers.waitFor('report', 30_000),
    ]);
    // With every load client still joined: a caller's offer held on one server, taken by a join on the other.
    const heldOfferMs =
      (o.heldOfferTrials ?? 0) > 0
        ? await measureHeldOffer({
            callerUrl: servers.callerUrl,
            answererUrl: servers.answererUrl,
            trials: o.heldOfferTrials ?? 0,
            prefix: `held${o.clients}`,
          })
        : undefined;
    const relay = [...(ra.relayMs as number[]), ...(rc.relayMs as number[])];
    const handshakes = ra.handshakes as number;
    return {
      setup,
      clients: o.clients,
      connectAllMs: Math.max(a.connectAllMs as number, c.connectAllMs as number),
      connectMs: percentiles([...(a.connectMs as number[]), ...(c.connectMs as number[])]),
      rssPerClientKb: (rssKb - rssIdleKb) / o.clients,
      serverRssMb: rssKb / 1024,
      rate: o.rate,
      handshakes,
      handshakesLost: Math.round(o.rate * o.seconds) - handshakes,
      rateAchieved: handshakes / elapsed,
      relayMs: percentiles(relay),
      handshakeMs: percentiles(ra.handshakeMs as number[]),
      ...(heldOfferMs === undefined ? {} : { heldOfferMs }),
      serverCpuCores: usage.cores,
      ...(redisUsage === undefined
        ? {}
        : {
            redisCpuCores: redisUsage.cores,
            redisRssPerClientKb: (redisKb - redisIdleKb) / o.clients,
          }),
    };
  } finally {
    callers?.send({ event: 'end' });
    answerers?.send({ event: 'end' });
    await Promise.all([callers?.stop('SIGTERM', 3000), answerers?.stop('SIGTERM', 3000)]);
    await servers.stop();
  }
}
