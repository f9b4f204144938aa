/**
 * A message flood against the real server with its default limits (issue 15): one socket emitting join/bye
 * pairs as fast as it can is refused with RATE_LIMITED and cut within a second, and another room's offer
 * relay keeps working meanwhile. The p99 figures (with and without a flooder) are in `npm run bench`
 * (bench/scenarios/flood.ts); here, each probe must arrive, in order.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { emitWithAck, fakeSdp, SignalTestKit, waitFor } from '../helpers/signal-server.js';
import { SIGNAL_EVENT, type ServerMessage } from '../../src/signal/index.js';

const kit = new SignalTestKit();
afterEach(() => kit.closeAll());

describe('message flood', { timeout: 30_000 }, () => {
  it('cuts the flooder within 1 s with RATE_LIMITED; another room relays every probe offer meanwhile', async () => {
    const lines: string[] = [];
    // When the server decides the cut (its log line is written then, synchronously, in this process): the
    // client hears of it later, after its own flooding ticks.
    let cutAt = Number.NaN;
    const server = await kit.server({
      host: '0.0.0.0',
      securityLog: (l) => {
        lines.push(l);
        if (l.startsWith('cut ')) cutAt = performance.now();
      },
    });
    const caller = await kit.socket(server.url, {}, { localAddress: '127.0.0.2' } as object);
    const answerer = await kit.socket(server.url, {}, { localAddress: '127.0.0.2' } as object);
    await emitWithAck(caller, { type: 'join', room: 'probe', role: 'caller' });
    await emitWithAck(answerer, { type: 'join', room: 'probe', role: 'answerer' });
    const offers: string[] = [];
    answerer.on(SIGNAL_EVENT, (m: ServerMessage) => {
      if (m.type === 'offer') offers.push(m.sdp);
    });

    const flooder = await kit.socket(server.url);
    const pushed: ServerMessage[] = [];
    flooder.on(SIGNAL_EVENT, (m: ServerMessage) => pushed.push(m));
    const cut = new Promise<void>((resolve) => flooder.once('disconnect', () => resolve()));
    const started = performance.now();
    let sent = 0;
    let rateAcks = 0;
    let okAcks = 0;
    const flood = (): void => {
      if (!flooder.connected) return;
      for (let i = 0; i < 500; i++) {
        flooder.emit(
          SIGNAL_EVENT,
          { type: 'join', room: 'flood', role: 'caller' },
          (ack: { ok: boolean; error?: { code: string } }) => {
            if (ack.error?.code === 'RATE_LIMITED') rateAcks++;
            if (ack.ok) okAcks++;
          },
        );
        flooder.emit(SIGNAL_EVENT, { type: 'bye' });
        sent += 2;
      }
      setImmediate(flood);
    };
    flood();
    // Probes in the other room while the flood goes on (and after): every one arrives.
    for (let i = 0; i < 20; i++) {
      const ack = await emitWithAck(caller, { type: 'offer', sdp: fakeSdp(`probe${i}`) }, 5000);
      expect(ack).toMatchObject({ ok: true, delivered: true });
      await waitFor(`probe ${i}`, () => (offers.length === i + 1 ? true : undefined), 5000);
    }
    await cut;
    // The cut comes after the bucket's burst (200) and 100 refusals in a row: a count, whatever the load;
    // the joins accepted are at most the burst plus the refill (50/s) over the time to the cut.
    const toCut = cutAt - started;
    expect(toCut, 'ms from the first flood message to the cut').toBeLessThan(1000);
    expect(okAcks).toBeLessThanOrEqual(100 + Math.ceil((toCut / 1000) * 25) + 1);
    expect(sent).toBeGreaterThan(300);
    expect(rateAcks).toBeGreaterThan(0);
    expect(pushed.at(-1)).toMatchObject({ type: 'error', code: 'RATE_LIMITED' });
    expect(offers.every((sdp, i) => sdp.includes(`probe${i} `))).toBe(true);
    expect(server.stats().refused).toMatchObject({ cut: 1 });
    // Reconnecting at once would start the flood again: the cut address waits (1 s, doubling).
    await expect(kit.socket(server.url)).rejects.toThrow();
    expect(server.stats().refused.connections).toBe(1);
    expect(lines.some((l) => /^cut 127\.0\.0\.1 .*over its rate/.test(l))).toBe(true);
  });

  it('a client that paces itself under the rate is never refused', async () => {
    const server = await kit.server({ limits: { messagesPerSecond: 50, messageBurst: 20 } });
    const s = await kit.socket(server.url);
    await emitWithAck(s, { type: 'join', room: 'calm', role: 'caller' });
    // 60 candidates in bursts of 10 every 250 ms: 40/s, under 50/s.
    for (let burst = 0; burst < 6; burst++) {
      const acks = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          emitWithAck(s, {
            type: 'candidate',
            candidate: { candidate: `candidate:${burst * 10 + i} 1 udp 1 10.0.0.1 9 typ host`, sdpMid: '0' },
          }),
        ),
      );
      expect(acks.every((a) => a.ok)).toBe(true);
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(server.stats().refused.rate).toBe(0);
  });
});
