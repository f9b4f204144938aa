/**
 * Signaling load: many Socket.IO clients of one role (`caller` or `answerer`) in rooms `ROOM-0..N-1`, one
 * client per room from this process (the other role's clients run in a second process). Raw
 * socket.io-client speaking the wire protocol of src/signal/types.ts, so the figures are the server's.
 *
 * Usage: node signal-load.mjs URL ROLE COUNT ROOM_PREFIX
 * stdin:  {"event":"go","rate":500,"seconds":10} (callers)  {"event":"report"}  {"event":"end"}
 * stdout: {"event":"ready","connectMs":[...],"connectAllMs":N,"failed":N}  {"event":"report",...}
 *
 * Each message carries its send time (`performance.timeOrigin + performance.now()`, one clock on this
 * machine): an offer `v=0 bench T0`, the answer `v=0 bench T0 T1`, the candidate `candidate:bench T0 T2`.
 */
import { createInterface } from 'node:readline';
import { io, type Socket } from 'socket.io-client';
import type { ClientToServerEvents, ServerMessage, ServerToClientEvents } from '../../src/signal/types.js';

const [url, role, countArg, prefix] = process.argv.slice(2);
const count = Number(countArg);
if (!url || (role !== 'caller' && role !== 'answerer') || !(count > 0) || !prefix) {
  process.stderr.write('usage: signal-load URL caller|answerer COUNT ROOM_PREFIX\n');
  process.exit(2);
}

type Client = Socket<ServerToClientEvents, ClientToServerEvents>;
const now = (): number => performance.timeOrigin + performance.now();
const out = (event: string, fields: Record<string, unknown> = {}): void => {
  process.stdout.write(`${JSON.stringify({ event, ...fields })}\n`);
};
const noAck = (): void => undefined;

const clients: Client[] = [];
const relayMs: number[] = [];
const handshakeMs: number[] = [];
let handshakes = 0;
let failed = 0;

function onMessage(socket: Client, m: ServerMessage): void {
  const t = now();
  if (m.type === 'offer' && role === 'answerer') {
    const t0 = Number(m.sdp.split(' ')[2]);
    relayMs.push(t - t0);
    socket.emit('signal', { type: 'answer', sdp: `v=0 bench ${t0} ${now()}` }, noAck);
  } else if (m.type === 'answer' && role === 'caller') {
    const [, , t0, t1] = m.sdp.split(' ');
    relayMs.push(t - Number(t1));
    socket.emit(
      'signal',
      {
        type: 'candidate',
        candidate: { candidate: `candidate:bench ${t0} ${now()}`, sdpMid: '0', sdpMLineIndex: 0 },
      },
      noAck,
    );
  } else if (m.type === 'candidate' && role === 'answerer') {
    const [, t0, t2] = m.candidate.candidate.split(' ');
    relayMs.push(t - Number(t2));
    handshakeMs.push(t - Number(t0));
    handshakes++;
  }
}

/** Connects and joins one client; resolves with the time it took, ms. */
function connectOne(i: number): Promise<number> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const socket: Client = io(url as string, {
      transports: ['websocket'],
      reconnection: false,
      forceNew: true,
      timeout: 60_000,
    });
    socket.on('signal', (m) => onMessage(socket, m));
    socket.once('connect_error', (e) => reject(e));
    socket.once('connect', () => {
      socket.emit(
        'signal',
        { type: 'join', room: `${prefix}-${i}`, role: role as 'caller' | 'answerer' },
        (ack) => {
          if (!ack.ok) reject(new Error(`join ${prefix}-${i}: ${ack.error.code}`));
          else resolve(performance.now() - t0);
        },
      );
    });
    clients[i] = socket;
  });
}

async function connectAll(): Promise<void> {
  const started = performance.now();
  const connectMs: number[] = [];
  let next = 0;
  // At most 200 handshakes in flight: a steady ramp rather than a SYN flood.
  const worker = async (): Promise<void> => {
    while (next < count) {
      const i = next++;
      try {
        connectMs.push(await connectOne(i));
      } catch (error) {
        failed++;
        if (failed <= 3)
          process.stderr.write(`client ${i}: ${error instanceof Error ? error.message : String(error)}\n`);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(200, count) }, worker));
  out('ready', { connectMs, connectAllMs: performance.now() - started, failed });
}

/** Callers: offers at a fixed rate, cycling over the rooms, for `seconds`. */
function go(rate: number, seconds: number): void {
  const total = Math.round(rate * seconds);
  const started = performance.now();
  let sent = 0;
  const tick = (): void => {
    const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * rate));
    for (; sent < due; sent++) {
      clients[sent % count]?.emit('signal', { type: 'offer', sdp: `v=0 bench ${now()}` }, noAck);
    }
    if (sent < total) setTimeout(tick, 5);
    else out('sent', { sent });
  };
  tick();
}

createInterface({ input: process.stdin }).on('line', (line) => {
  const m = JSON.parse(line) as { event: string; rate?: number; seconds?: number };
  if (m.event === 'go') go(m.rate ?? 500, m.seconds ?? 10);
  else if (m.event === 'report') out('report', { relayMs, handshakeMs, handshakes });
  else if (m.event === 'end') {
    for (const c of clients) c?.disconnect();
    setTimeout(() => process.exit(0), 100);
  }
});

void connectAll();
