/**
 * Signaling load: N Socket.IO clients in rooms of two against one `rtc-peer signal` process; callers in one
 * client process, answerers in another (bench/children/signal-load.ts). Connect time, server RSS per
 * client, and relay latency at a fixed handshake rate.
 */
import { Child, compileChild, startSignal } from '../lib/child.js';
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
}

/** One load run on a fresh server. */
export async function runSignalingLoad(o: SignalingOptions): Promise<SignalingResult> {
  const script = compileChild('signal-load');
  // Every client comes from 127.0.0.1: the per-address and total limits (issue 15) are lifted, this
  // measures capacity (the flood section measures the limits).
  const { child: server, url } = await startSignal({
    nofile: NOFILE,
    args: [
      '--limit',
      'connectionsPerAddress=0',
      '--limit',
      'connections=0',
      '--limit',
      'roomsPerAddress=0',
    ].concat(['--limit', 'rooms=0', '--limit', 'heldBytesPerAddress=0']),
  });
  const rooms = Math.floor(o.clients / 2);
  const prefix = `load${o.clients}`;
  let callers: Child | undefined;
  let answerers: Child | undefined;
  try {
    await sleep(500);
    const rssIdleKb = statusKb(server.pid, 'VmRSS');
    answerers = new Child('answerers', script, [url, 'answerer', String(rooms), prefix], { nofile: NOFILE });
    callers = new Child('callers', script, [url, 'caller', String(rooms), prefix], { nofile: NOFILE });
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
    const rssKb = statusKb(server.pid, 'VmRSS');
    const cpu = new CpuWindow(() => [server.pid]);
    cpu.start();
    const t0 = performance.now();
    callers.send({ event: 'go', rate: o.rate, seconds: o.seconds });
    await callers.waitFor('sent', o.seconds * 1000 + 30_000);
    await sleep(1000); // the last handshakes complete
    const elapsed = (performance.now() - t0) / 1000 - 1;
    const usage = cpu.stop();
    answerers.send({ event: 'report' });
    callers.send({ event: 'report' });
    const [ra, rc] = await Promise.all([
      answerers.waitFor('report', 30_000),
      callers.waitFor('report', 30_000),
    ]);
    const relay = [...(ra.relayMs as number[]), ...(rc.relayMs as number[])];
    const handshakes = ra.handshakes as number;
    return {
      clients: o.clients,
      connectAllMs: Math.max(a.connectAllMs as number, c.connectAllMs as number),
      connectMs: percentiles([...(a.connectMs as number[]), ...(c.connectMs as number[])]),
      rssPerClientKb: (rssKb - rssIdleKb) / o.clients,
      serverRssMb: rssKb / 1024,
      rate: o.rate,
      handshakes,
      rateAchieved: handshakes / elapsed,
      relayMs: percentiles(relay),
      handshakeMs: percentiles(ra.handshakeMs as number[]),
      serverCpuCores: usage.cores,
    };
  } finally {
    callers?.send({ event: 'end' });
    answerers?.send({ event: 'end' });
    await Promise.all([callers?.stop('SIGTERM', 3000), answerers?.stop('SIGTERM', 3000)]);
    await server.stop('SIGTERM');
  }
}
