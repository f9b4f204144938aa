/**
 * Join → held offer: how long an answerer waits for the offer a caller left in the room before it came.
 * The caller connects to one server, joins a fresh room and sends its offer (held: nobody to take it);
 * then the answerer, already connected to the other server (or the same one, with one server), joins,
 * and the time from its join to the held offer arriving is one sample. The trials run one after the
 * other, beside the load's clients (all still joined, idle), from this process with raw
 * socket.io-client speaking the wire protocol of src/signal/types.ts, so the figure is the servers'.
 */
import { io, type Socket } from 'socket.io-client';
import type {
  ClientMessage,
  ClientToServerEvents,
  ServerMessage,
  ServerToClientEvents,
  SignalAck,
} from '../../src/signal/types.js';
import { percentiles, type Percentiles } from '../lib/stats.js';

type Client = Socket<ServerToClientEvents, ClientToServerEvents>;

/** Bound on one trial (connects, join, held offer), ms. */
const TRIAL_TIMEOUT_MS = 10_000;

/** Options of {@link measureHeldOffer}. */
export interface HeldOfferOptions {
  /** Where the callers connect. */
  callerUrl: string;
  /** Where the answerers connect (another server of the same Redis, or the same server). */
  answererUrl: string;
  /** Trials, one after the other. */
  trials: number;
  /** Room names are `PREFIX-N`. */
  prefix: string;
}

/** Join → held offer, ms, over `trials` fresh rooms. Throws if a trial fails (a held offer lost). */
export async function measureHeldOffer(o: HeldOfferOptions): Promise<Percentiles | undefined> {
  const samples: number[] = [];
  for (let i = 0; i < o.trials; i++) samples.push(await trial(o, `${o.prefix}-${i}`));
  return percentiles(samples);
}

async function trial(o: HeldOfferOptions, room: string): Promise<number> {
  const opened: Client[] = [];
  try {
    return await withTimeout(
      (async () => {
        const caller = await connect(o.callerUrl, opened);
        const answerer = await connect(o.answererUrl, opened);
        await ok(caller, { type: 'join', room, role: 'caller' });
        const sdp = `v=0 held ${room}`;
        const held = await ok(caller, { type: 'offer', sdp });
        if (!held.ok || held.delivered !== false)
          throw new Error(`${room}: the offer was not held: ${JSON.stringify(held)}`);
        const offer = new Promise<number>((resolve) =>
          answerer.on('signal', (m: ServerMessage) => {
            if (m.type === 'offer' && m.sdp === sdp) resolve(performance.now());
          }),
        );
        const t0 = performance.now();
        await ok(answerer, { type: 'join', room, role: 'answerer' });
        return (await offer) - t0;
      })(),
      `${room}: no held offer within ${TRIAL_TIMEOUT_MS} ms`,
    );
  } finally {
    for (const s of opened) s.disconnect();
  }
}

function connect(url: string, opened: Client[]): Promise<Client> {
  const socket: Client = io(url, { transports: ['websocket'], reconnection: false, forceNew: true });
  opened.push(socket);
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', reject);
  });
}

/** Sends `message` and resolves with its acknowledgement; rejects on a refusal. */
function ok(socket: Client, message: ClientMessage): Promise<SignalAck> {
  return new Promise((resolve, reject) =>
    socket.emit('signal', message, (ack: SignalAck) =>
      ack.ok ? resolve(ack) : reject(new Error(`${message.type}: ${ack.error.code} ${ack.error.message}`)),
    ),
  );
}

function withTimeout<T>(work: Promise<T>, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    work,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(message)), TRIAL_TIMEOUT_MS);
    }),
  ]).finally(() => clearTimeout(timer));
}
