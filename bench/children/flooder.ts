/**
 * A message flood (issue 15): one Socket.IO client emitting join/bye pairs as fast as it can, reconnecting
 * at once whenever the server cuts it, as a determined attacker would.
 *
 * Usage: node flooder.mjs URL SECONDS
 * stdout: {"event":"started"}  {"event":"done","sent":N,"cuts":N,"firstCutMs":N|null}
 */
import { io, type Socket } from 'socket.io-client';

const [url, secondsArg] = process.argv.slice(2);
const seconds = Number(secondsArg);
if (!url || !(seconds > 0)) {
  process.stderr.write('usage: flooder URL SECONDS\n');
  process.exit(2);
}
const out = (event: string, fields: Record<string, unknown> = {}): void => {
  process.stdout.write(`${JSON.stringify({ event, ...fields })}\n`);
};
const noAck = (): void => undefined;

const started = performance.now();
let sent = 0;
let cuts = 0;
let firstCutMs: number | null = null;
let current: Socket | undefined;

function connect(): void {
  if (performance.now() - started > seconds * 1000) return;
  const socket = io(url as string, { transports: ['websocket'], reconnection: false, forceNew: true });
  current = socket;
  const flood = (): void => {
    if (!socket.connected) return;
    for (let i = 0; i < 500; i++) {
      socket.emit('signal', { type: 'join', room: 'flood', role: 'caller' }, noAck);
      socket.emit('signal', { type: 'bye' }, noAck);
      sent += 2;
    }
    setImmediate(flood);
  };
  socket.once('connect', flood);
  socket.once('disconnect', () => {
    cuts++;
    firstCutMs ??= performance.now() - started;
    connect();
  });
  socket.once('connect_error', () => setTimeout(connect, 50));
}

out('started');
connect();
setTimeout(() => {
  out('done', { sent, cuts, firstCutMs });
  current?.disconnect();
  setTimeout(() => process.exit(0), 100);
}, seconds * 1000);
