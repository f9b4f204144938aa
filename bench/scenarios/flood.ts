/**
 * The flood figure of issue 15: another room's offer relay (a caller and an answerer from 127.0.0.2, 40
 * offers/s, each carrying its send time) on an idle `rtc-peer signal`, beside the same relay while one
 * client from 127.0.0.1 floods join/bye pairs as fast as it can and reconnects whenever it is cut; with the
 * default limits, and once with the message limits lifted (the server as it was before the limits).
 */
import { io, type Socket } from 'socket.io-client';
import { Child, compileChild, startSignal } from '../lib/child.js';
import { percentiles, sleep, type Percentiles } from '../lib/stats.js';

/** One run of {@link runFlood}. */
export interface FloodResult {
  setup: 'no flooder' | 'flooder, default limits' | 'flooder, no message limit';
  probes: number;
  /** Probe offers not delivered within 2 s of the end. */
  lost: number;
  relayMs: Percentiles | undefined;
  /** Messages the flooder sent, and how often the server cut it. */
  floodSent: number | null;
  floodCuts: number | null;
  /** From the flood's start to its first cut, ms. */
  firstCutMs: number | null;
}

const PROBE_PER_SEC = 40;

function connect(url: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = io(url, {
      transports: ['websocket'],
      reconnection: false,
      forceNew: true,
      localAddress: '127.0.0.2',
    } as object);
    s.once('connect', () => resolve(s));
    s.once('connect_error', reject);
  });
}

async function join(s: Socket, role: 'caller' | 'answerer'): Promise<void> {
  const ack = (await s.timeout(5000).emitWithAck('signal', { type: 'join', room: 'probe', role })) as {
    ok: boolean;
  };
  if (!ack.ok) throw new Error(`probe ${role} join refused: ${JSON.stringify(ack)}`);
}

/** One run: `flood` says whether a flooder runs and against which limits. */
export async function runFlood(setup: FloodResult['setup'], seconds: number): Promise<FloodResult> {
  const args =
    setup === 'flooder, no message limit'
      ? ['--limit', 'messagesPerSecond=1000000000', '--limit', 'messageBurst=1000000000']
      : [];
  const { child: server, url } = await startSignal({ args });
  let flooder: Child | undefined;
  const caller = await connect(url);
  const answerer = await connect(url);
  try {
    await join(caller, 'caller');
    await join(answerer, 'answerer');
    const relayMs: number[] = [];
    answerer.on('signal', (m: { type: string; sdp?: string }) => {
      if (m.type === 'offer' && m.sdp) relayMs.push(performance.now() - Number(m.sdp.split(' ')[2]));
    });
    if (setup !== 'no flooder') {
      flooder = new Child('flooder', compileChild('flooder'), [url, String(seconds + 1)]);
      await flooder.waitFor('started', 10_000);
      await sleep(500);
    }
    const probes = Math.round(seconds * PROBE_PER_SEC);
    for (let i = 0; i < probes; i++) {
      caller.emit('signal', { type: 'offer', sdp: `v=0 probe ${performance.now()} ${i}` });
      await sleep(1000 / PROBE_PER_SEC);
    }
    await sleep(2000);
    const done = flooder ? await flooder.waitFor('done', 15_000) : undefined;
    return {
      setup,
      probes,
      lost: probes - relayMs.length,
      relayMs: percentiles(relayMs),
      floodSent: done ? Number(done.sent) : null,
      floodCuts: done ? Number(done.cuts) : null,
      firstCutMs: done && typeof done.firstCutMs === 'number' ? Math.round(done.firstCutMs) : null,
    };
  } finally {
    caller.disconnect();
    answerer.disconnect();
    await flooder?.stop();
    await server.stop();
  }
}
