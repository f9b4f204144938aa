/**
 * DataLink over a real @roamhq/wrtc data channel between two peer connections in this process: order and
 * completeness at full speed both ways with backpressure, messages held until the channel opens, the size
 * limit, and a producer that ignores backpressure (bounded queue, counted drops).
 */
import wrtc from '@roamhq/wrtc';
import { afterEach, describe, expect, it } from 'vitest';
import {
  DataLink,
  DataMessageTooLarge,
  DATA_CHANNEL_LABEL,
  READY_WAIT_MS,
} from '../../src/peer/data-link.js';
import { waitFor } from '../helpers/signal-server.js';

const pcs: RTCPeerConnection[] = [];
afterEach(() => {
  for (const pc of pcs.splice(0)) pc.close();
});

/**
 * Two connected peer connections; `a` creates the channel before the offer, `b` gets it. With the ready
 * handshake, as rtc-peer's calls make it, unless `receiverSaysReady` is false (a peer that does not know it,
 * such as a browser app of its own).
 */
async function linkedPair(
  options: ConstructorParameters<typeof DataLink>[1] = {},
  receiverSaysReady = true,
): Promise<{ a: DataLink; b: Promise<DataLink> }> {
  const pa = new wrtc.RTCPeerConnection() as unknown as RTCPeerConnection;
  const pb = new wrtc.RTCPeerConnection() as unknown as RTCPeerConnection;
  pcs.push(pa, pb);
  // Candidates that come after a test closed its connections are not the test's business; any other refusal is.
  const hand = (to: RTCPeerConnection, c: RTCIceCandidate | null): void => {
    if (c)
      to.addIceCandidate(c).catch((error: unknown) => {
        if (to.signalingState !== 'closed') throw error;
      });
  };
  pa.onicecandidate = (e) => hand(pb, e.candidate);
  pb.onicecandidate = (e) => hand(pa, e.candidate);
  const a = new DataLink(pa.createDataChannel(DATA_CHANNEL_LABEL, { ordered: true }), options, {
    pc: pa,
    side: 'creator',
  });
  const b = new Promise<DataLink>((resolve) => {
    pb.ondatachannel = (e) =>
      resolve(new DataLink(e.channel, options, receiverSaysReady ? { pc: pb, side: 'receiver' } : undefined));
  });
  // The descriptions as set (candidates trickle): pc.localDescription is not safe to read (issue 18).
  const offer = await pa.createOffer();
  await pa.setLocalDescription(offer);
  await pb.setRemoteDescription(offer);
  const answer = await pb.createAnswer();
  await pb.setLocalDescription(answer);
  await pa.setRemoteDescription(answer);
  return { a, b };
}

/** Sends `n` numbered lines as fast as backpressure allows. */
async function pump(link: DataLink, tag: string, n: number, size?: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const head = `${tag} ${i} `;
    if (!link.send(size === undefined ? `${head}${'x'.repeat(i % 200)}` : head.padEnd(size, 'x')))
      await new Promise<void>((r) => link.once('drain', r));
  }
}

describe('DataLink', { timeout: 30_000 }, () => {
  it('10,000 lines each way at full speed: none lost, none reordered, none duplicated', async () => {
    const { a, b: bPromise } = await linkedPair({ maxQueued: 100 });
    // Sent before the channel opens: held, and sent first when it does.
    a.send('early 1');
    a.send('early 2');
    const b = await bPromise;
    const atB: string[] = [];
    const atA: string[] = [];
    b.on('message', (m) => atB.push(m));
    a.on('message', (m) => atA.push(m));
    await waitFor('the channel to open', () => (a.open && b.open ? true : undefined));
    await Promise.all([pump(a, 'a', 10_000), pump(b, 'b', 10_000)]);
    await waitFor(
      'every line',
      () => (atB.length === 10_002 && atA.length === 10_000 ? true : undefined),
      20_000,
    );
    expect(atB.slice(0, 2)).toEqual(['early 1', 'early 2']);
    const numbers = (lines: string[], tag: string): number[] =>
      lines.filter((l) => l.startsWith(`${tag} `)).map((l) => Number(l.split(' ')[1]));
    const expected = Array.from({ length: 10_000 }, (_, i) => i);
    expect(numbers(atB, 'a')).toEqual(expected);
    expect(numbers(atA, 'b')).toEqual(expected);
    expect(a.stats).toMatchObject({ sent: 10_002, received: 10_000, dropped: 0, queued: 0 });
    expect(b.stats).toMatchObject({ sent: 10_000, received: 10_002, dropped: 0 });
  });

  // Without the ready handshake, @roamhq/wrtc's receiving side handed over messages that came while its
  // channel object was being made before the ones that came earlier: 1000 messages at open, 3 of 30 calls
  // reordered (measured with plain channels; see data-link.ts). This test fails without it in most runs.
  it('1000 messages queued before open, in 30 calls: each call receives them all in order', async () => {
    for (let call = 0; call < 30; call++) {
      const { a, b: bPromise } = await linkedPair({ maxQueued: 2000 });
      for (let i = 0; i < 1000; i++) a.send(String(i));
      const b = await bPromise;
      const got: number[] = [];
      b.on('message', (m) => got.push(Number(m)));
      await waitFor(`call ${call}: 1000 messages`, () => (got.length >= 1000 ? true : undefined), 10_000);
      expect(
        got.findIndex((v, i) => v !== i),
        `call ${call}: ${got.slice(0, 5).join()}…`,
      ).toBe(-1);
      for (const pc of pcs.splice(0)) pc.close();
    }
  });

  it('a peer that does not say it is ready gets the queued messages anyway, about a second after open', async () => {
    const { a, b: bPromise } = await linkedPair({}, false);
    a.send('held');
    const b = await bPromise;
    const got: string[] = [];
    b.on('message', (m) => got.push(m));
    await waitFor('the channel to open', () => (a.open ? true : undefined));
    const opened = performance.now();
    await waitFor('the held message', () => (got.length > 0 ? true : undefined), 5000);
    const after = performance.now() - opened;
    expect(got).toEqual(['held']);
    // The wait is READY_WAIT_MS (1 s) from open; the upper bound only says that it ended.
    expect(after).toBeGreaterThan(READY_WAIT_MS - 100);
    expect(after).toBeLessThan(READY_WAIT_MS + 3000);
  });

  it('a buffer filled past its high water drains by itself on wrtc (which never fires bufferedamountlow)', async () => {
    // 400 x 16 KiB is 6.4 MiB: far past the 1 MiB high water, so most of it waits in the queue for room.
    // With only the event to wake it, the queue waited for ever and this pump never finished.
    const { a, b: bPromise } = await linkedPair({ maxQueued: 50 });
    const b = await bPromise;
    const got: number[] = [];
    b.on('message', (m) => got.push(Number(m.split(' ')[1])));
    await waitFor('the channel to open', () => (a.open ? true : undefined));
    await pump(a, 'big', 400, 16 * 1024);
    await waitFor('every message', () => (got.length === 400 ? true : undefined), 20_000);
    expect(got).toEqual(Array.from({ length: 400 }, (_, i) => i));
    expect(a.stats).toMatchObject({ sent: 400, dropped: 0, queued: 0 });
  });

  it('refuses a message over the size limit clearly, and sends nothing of it', async () => {
    const { a, b: bPromise } = await linkedPair();
    const b = await bPromise;
    const got: string[] = [];
    b.on('message', (m) => got.push(m));
    const big = 'x'.repeat(1024 * 1024);
    expect(() => a.send(big)).toThrow(DataMessageTooLarge);
    expect(() => a.send(big)).toThrow(/1048576 bytes is over the limit of 65536 bytes/);
    a.send('after'); // sentinel: the next message arrives, the refused one never did
    await waitFor('the sentinel', () => (got.length > 0 ? true : undefined));
    expect(got).toEqual(['after']);
    expect(a.stats.tooLarge).toBe(2);
  });

  it('a producer that ignores backpressure: the queue stays bounded, the oldest are dropped and counted', async () => {
    // A channel that never opens (its connection is never negotiated): everything queues. (A linked pair
    // could open before the loop on a busy machine, and then nothing would queue: seen once in a suite run.)
    const pc = new wrtc.RTCPeerConnection() as unknown as RTCPeerConnection;
    pcs.push(pc);
    const a = new DataLink(pc.createDataChannel(DATA_CHANNEL_LABEL), { maxQueued: 50 });
    const drops: number[] = [];
    a.on('dropped', (_n, total) => drops.push(total));
    let refusedAt = -1;
    for (let i = 0; i < 200; i++) if (!a.send(`m ${i}`) && refusedAt < 0) refusedAt = i;
    expect(refusedAt).toBe(49); // send() said "wait" once the queue was full
    expect(a.stats).toMatchObject({ queued: 50, dropped: 150 });
    expect(drops.at(-1)).toBe(150);
  });
});
