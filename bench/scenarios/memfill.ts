/**
 * The memory fill of issue 15: clients from 64 loopback addresses (127.0.1.x), as many connections as each
 * may have, each joining a room of its own as caller with a 60 KiB offer and 200 candidates of ~1 KiB (the
 * most a room holds), against `rtc-peer signal` with the default limits and a 256 MB V8 heap
 * (`--max-old-space-size=256`: the crash). Meanwhile another room's offer relay (from 127.0.0.2)
 * is timed. The fill runs twice against the same server, each round followed by a settle: the clients
 * leave, and the server's RSS and V8 heap (its `/metrics`) are read every second until the heap is back
 * where it was before the first round (what the fill made the server keep, and the garbage of what it
 * refused, is gone), then for 10 s more. Measured per round: RSS before, at its peak (sampled every 100 ms)
 * and after the settle, the heap before and after, when the heap came back, what the limits refused, and
 * whether the server lived. The second round shows whether what the process keeps after the first (pages
 * its allocators hold) is reused or grows.
 */
import { io, type Socket } from 'socket.io-client';
import { startSignal } from '../lib/child.js';
import { statusKb } from '../lib/proc.js';
import { percentiles, sleep, type Percentiles } from '../lib/stats.js';

/** One round of {@link runMemoryFill}. */
export interface MemoryFillResult {
  /** 1 for the first fill, 2 for the second against the same server. */
  round: number;
  /** Connections the fill tried, and those admitted. */
  tried: number;
  admitted: number;
  /** Rooms whose offer the server held, and the refusals of the limits (code: count). */
  held: number;
  refusals: Record<string, number>;
  /** RSS at the round's start, its peak during the fill and the settle, and at the settle's end, MB. */
  rssBeforeMb: number;
  rssPeakMb: number;
  rssAfterMb: number;
  /** V8 heap in use (`/metrics`) before the first round and at this round's settle end, MB. */
  heapBaselineMb: number;
  heapAfterMb: number;
  /** Seconds from the fill's clients leaving until the heap was back within 10 MB of its baseline; null: never. */
  heapBackSec: number | null;
  /** The server was still serving at the end (its `/healthz` answered, it had not exited). */
  alive: boolean;
  /** What `/healthz` said at the end: rooms, clients and held bytes left (all the fill's should be gone). */
  after: { rooms: number; clients: number; heldBytes: number } | undefined;
  probes: number;
  lost: number;
  relayMs: Percentiles | undefined;
}

const ADDRESSES = 64;
const PER_ADDRESS = 32; // the default connectionsPerAddress
const OFFER_BYTES = 60 * 1024;
const CANDIDATES = 200;
/** The heap is "back" within this of its baseline, MB. */
const HEAP_BACK_MB = 10;

function connect(url: string, address: string): Promise<Socket | undefined> {
  return new Promise((resolve) => {
    const s = io(url, {
      transports: ['websocket'],
      reconnection: false,
      forceNew: true,
      timeout: 10_000,
      localAddress: address,
    } as object);
    s.once('connect', () => resolve(s));
    s.once('connect_error', () => {
      s.close();
      resolve(undefined);
    });
  });
}

type Ack = { ok: boolean; error?: { code: string } };
const send = (s: Socket, m: object): Promise<Ack> =>
  (s.timeout(20_000).emitWithAck('signal', m) as Promise<Ack>).catch(() => ({
    ok: false,
    error: { code: 'TIMEOUT' },
  }));

/** V8's heap in use of the server at `url`, MB, from its `/metrics` (prom-client's default metrics). */
async function heapUsedMb(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const m = /^rtc_peer_nodejs_heap_size_used_bytes(?:\{[^}]*\})? (\S+)$/m.exec(text);
  if (m === null) throw new Error('/metrics has no rtc_peer_nodejs_heap_size_used_bytes');
  return Number(m[1]) / 1024 / 1024;
}

/**
 * The fill, `rounds` times against one server, the probe beside it throughout; each round's settle lasts
 * until the heap is back (plus 10 s) or `settleMaxSec`.
 */
export async function runMemoryFill(
  options: { rounds: number; settleMaxSec: number } = { rounds: 2, settleMaxSec: 90 },
): Promise<MemoryFillResult[]> {
  const saved = process.env.NODE_OPTIONS;
  process.env.NODE_OPTIONS = `${saved ?? ''} --max-old-space-size=256`.trim();
  const { child: server, url } = await startSignal({ nofile: 8192, name: 'signal-memfill' });
  if (saved === undefined) delete process.env.NODE_OPTIONS;
  else process.env.NODE_OPTIONS = saved;
  const pid = server.proc.pid ?? 0;
  let exited = false;
  void server.exited.then(() => (exited = true));
  const rss = (): number => (exited ? 0 : statusKb(pid, 'VmRSS') / 1024);
  const fill: Socket[] = [];
  const probe = { caller: await connect(url, '127.0.0.2'), answerer: await connect(url, '127.0.0.2') };
  const results: MemoryFillResult[] = [];
  try {
    if (!probe.caller || !probe.answerer) throw new Error('the probe clients were refused');
    await send(probe.caller, { type: 'join', room: 'probe', role: 'caller' });
    await send(probe.answerer, { type: 'join', room: 'probe', role: 'answerer' });
    let relayMs: number[] = [];
    probe.answerer.on('signal', (m: { type: string; sdp?: string }) => {
      if (m.type === 'offer' && m.sdp) relayMs.push(performance.now() - Number(m.sdp.split(' ')[2]));
    });
    await sleep(1000);
    const heapBaselineMb = await heapUsedMb(url);
    const offer = `v=0\r\n${'a=x-fill:'.padEnd(OFFER_BYTES, 'f')}\r\n`;
    const candidate = (i: number) => ({
      candidate: `candidate:${i} 1 udp 2122260223 10.0.0.1 ${10000 + i} typ host ${'x'.repeat(900)}`,
      sdpMid: '0',
      sdpMLineIndex: 0,
    });
    for (let round = 1; round <= options.rounds && !exited; round++) {
      const refusals: Record<string, number> = {};
      const count = (code: string): void => void (refusals[code] = (refusals[code] ?? 0) + 1);
      relayMs = [];
      const rssBeforeMb = rss();
      let rssPeakMb = rssBeforeMb;
      const sampler = setInterval(() => (rssPeakMb = Math.max(rssPeakMb, rss())), 100);
      let probing = true;
      let probes = 0;
      const prober = (async () => {
        while (probing) {
          probe.caller!.emit('signal', { type: 'offer', sdp: `v=0 probe ${performance.now()} ${probes++}` });
          await sleep(50);
        }
      })();
      let held = 0;
      // Address by address, its connections at once: each joins its room, holds its offer and candidates.
      for (let a = 0; a < ADDRESSES; a++) {
        const address = `127.0.1.${a + 1}`;
        const sockets = await Promise.all(Array.from({ length: PER_ADDRESS }, () => connect(url, address)));
        await Promise.all(
          sockets.map(async (s, i) => {
            if (s === undefined) return count('connection refused');
            fill.push(s);
            const joined = await send(s, { type: 'join', room: `fill-${round}-${a}-${i}`, role: 'caller' });
            if (!joined.ok) return count(joined.error?.code ?? '?');
            const offered = await send(s, { type: 'offer', sdp: offer });
            if (!offered.ok) return count(offered.error?.code ?? '?');
            held++;
            for (let c = 0; c < CANDIDATES; c++) {
              const r = await send(s, { type: 'candidate', candidate: candidate(c) });
              if (!r.ok) {
                count(r.error?.code ?? '?');
                break;
              }
            }
          }),
        );
      }
      const admitted = fill.length;
      for (const s of fill.splice(0)) s.disconnect();
      // The settle: until the heap is back (and 10 s more: V8 unmaps freed pages behind), or settleMaxSec.
      const left = performance.now();
      let heapAfterMb = Number.NaN;
      let heapBackSec: number | null = null;
      while (!exited && (performance.now() - left) / 1000 < options.settleMaxSec) {
        await sleep(1000);
        heapAfterMb = await heapUsedMb(url).catch(() => Number.NaN);
        if (heapBackSec === null && heapAfterMb - heapBaselineMb <= HEAP_BACK_MB)
          heapBackSec = (performance.now() - left) / 1000;
        if (heapBackSec !== null && (performance.now() - left) / 1000 >= heapBackSec + 10) break;
      }
      probing = false;
      await prober;
      await sleep(500);
      clearInterval(sampler);
      const rssAfterMb = rss();
      const health = exited
        ? undefined
        : await fetch(`${url}/healthz`).then(
            async (r) => (r.ok ? ((await r.json()) as NonNullable<MemoryFillResult['after']>) : undefined),
            () => undefined,
          );
      results.push({
        round,
        tried: ADDRESSES * PER_ADDRESS,
        admitted,
        held,
        refusals,
        rssBeforeMb,
        rssPeakMb,
        rssAfterMb,
        heapBaselineMb,
        heapAfterMb,
        heapBackSec,
        alive: health !== undefined,
        after:
          health === undefined
            ? undefined
            : { rooms: health.rooms, clients: health.clients, heldBytes: health.heldBytes },
        probes,
        lost: probes - relayMs.length,
        relayMs: percentiles(relayMs),
      });
    }
    return results;
  } finally {
    for (const s of fill) s.disconnect();
    probe.caller?.disconnect();
    probe.answerer?.disconnect();
    await server.stop();
  }
}
