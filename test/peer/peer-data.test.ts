/**
 * The programmatic data API: `new Peer({ data: true })`, `send()` and the `data` event, between two peers in
 * this process (no media: the data alone) over a real signaling server on port 0.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { DataMessageTooLarge, Peer, startSignalServer, type SignalServer } from '../../src/index.js';
import { waitFor } from '../helpers/signal-server.js';

let server: SignalServer | undefined;
const aborts: AbortController[] = [];
const runs: Promise<unknown>[] = [];
afterEach(async () => {
  for (const a of aborts.splice(0)) a.abort();
  await Promise.allSettled(runs.splice(0));
  await server?.close();
  server = undefined;
});

function start(peer: Peer): void {
  const abort = new AbortController();
  aborts.push(abort);
  runs.push(peer.run(abort.signal));
}

describe('Peer data API', { timeout: 30_000 }, () => {
  test('send() before any call is held and goes once a call has its channel; data events both ways, with the sender', async () => {
    server = await startSignalServer({ host: '127.0.0.1', port: 0 });
    const common = {
      signalUrl: server.url,
      room: 'api-data',
      rtcConfiguration: { iceServers: [] },
      data: true,
    };
    const caller = new Peer({ role: 'caller', ...common });
    const answerer = new Peer({ role: 'answerer', once: true, ...common });
    const atAnswerer: string[] = [];
    const atCaller: { text: string; from: string }[] = [];
    answerer.on('data', (text) => atAnswerer.push(text));
    caller.on('data', (text, _call, from) => atCaller.push({ text, from }));
    let answererId = '';
    answerer.on('joined', (_room, _role, _present, id) => (answererId = id));
    expect(caller.send('held 1')).toBe(true);
    expect(caller.send('held 2')).toBe(true);
    start(caller);
    start(answerer);
    await waitFor('the held messages', () => (atAnswerer.length >= 2 ? true : undefined), 20_000);
    expect(atAnswerer).toEqual(['held 1', 'held 2']);
    answerer.send('back');
    await waitFor('the answer', () => (atCaller.length > 0 ? true : undefined), 10_000);
    expect(atCaller).toEqual([{ text: 'back', from: answererId }]);
    expect(() => caller.send('z'.repeat(70_000))).toThrow(DataMessageTooLarge);
    caller.send('after');
    await waitFor('the sentinel', () => (atAnswerer.length >= 3 ? true : undefined), 10_000);
    expect(atAnswerer).toEqual(['held 1', 'held 2', 'after']);
  });

  test('send() without the data option is a TypeError; bad limits are refused at construction', () => {
    expect(() => new Peer({ role: 'caller' }).send('x')).toThrow(TypeError);
    expect(() => new Peer({ role: 'caller', data: { maxQueued: 0 } })).toThrow(
      /maxQueued must be a positive integer/,
    );
  });
});
