/**
 * The room and held-bytes limits with the rooms in Redis (redis-registry.ts): two real servers in this
 * process on a real redis-server, real clients. Whether a join creates a room is the registry's to say (the
 * room may have members on the other server only); each server charges its own clients' addresses.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { SignalServer, SignalServerOptions } from '../../src/signal/server.js';
import { startRedisServer, stopRedisServers } from '../helpers/redis-server.js';
import { SignalTestKit, emitWithAck, fakeSdp, waitFor } from '../helpers/signal-server.js';

const kit = new SignalTestKit();
afterEach(async () => {
  await kit.closeAll();
  await stopRedisServers();
});

async function pair(limits: SignalServerOptions['limits']): Promise<[SignalServer, SignalServer]> {
  const redis = await startRedisServer();
  const a = await kit.server({ redis: redis.url, limits });
  const b = await kit.server({ redis: redis.url, limits });
  for (const s of [a, b]) await waitFor('ready', () => (s.readiness().ready ? true : undefined), 10_000);
  return [a, b];
}

const from2 = { localAddress: '127.0.0.2' } as object;

describe('limits with the rooms in Redis', { timeout: 30_000 }, () => {
  it('refuses a new room over the rooms per address, yet admits a join to a room that lives on the other server', async () => {
    const [a, b] = await pair({ roomsPerAddress: 1 });
    const first = await kit.socket(a.url, {}, from2);
    expect(await emitWithAck(first, { type: 'join', room: 'r1', role: 'caller' })).toMatchObject({
      ok: true,
    });
    const second = await kit.socket(a.url, {}, from2);
    expect(await emitWithAck(second, { type: 'join', room: 'r2', role: 'caller' })).toMatchObject({
      ok: false,
      error: { code: 'TOO_MANY_ROOMS', message: expect.stringMatching(/127\.0\.0\.2 has created 1 rooms/) },
    });
    // Room r3 has its caller on server b: joining it from a creates nothing, so it is admitted.
    const elsewhere = await kit.socket(b.url);
    expect(await emitWithAck(elsewhere, { type: 'join', room: 'r3', role: 'caller' })).toMatchObject({
      ok: true,
    });
    expect(await emitWithAck(second, { type: 'join', room: 'r3', role: 'answerer' })).toMatchObject({
      ok: true,
    });
    expect(a.stats().refused.rooms).toBe(1);
    // Its first room closed, the address may create one again.
    expect(await emitWithAck(first, { type: 'bye' })).toMatchObject({ ok: true });
    const third = await kit.socket(a.url, {}, from2);
    expect(await emitWithAck(third, { type: 'join', room: 'r4', role: 'caller' })).toMatchObject({
      ok: true,
    });
  });

  it("holds at most the held-bytes budget of an address; a caller's departure frees its bytes", async () => {
    const [a] = await pair({ heldBytesPerAddress: 1000 });
    const cam1 = await kit.socket(a.url, {}, from2);
    await emitWithAck(cam1, { type: 'join', room: 'h1', role: 'caller' });
    expect(await emitWithAck(cam1, { type: 'offer', sdp: fakeSdp('one', 800) })).toMatchObject({ ok: true });
    expect(a.stats().heldBytes).toBe(800);
    const cam2 = await kit.socket(a.url, {}, from2);
    await emitWithAck(cam2, { type: 'join', room: 'h2', role: 'caller' });
    expect(await emitWithAck(cam2, { type: 'offer', sdp: fakeSdp('two', 800) })).toMatchObject({
      ok: false,
      error: { code: 'OVER_BUDGET' },
    });
    // Another address is not concerned.
    const cam3 = await kit.socket(a.url);
    await emitWithAck(cam3, { type: 'join', room: 'h3', role: 'caller' });
    expect(await emitWithAck(cam3, { type: 'offer', sdp: fakeSdp('three', 800) })).toMatchObject({
      ok: true,
    });
    cam1.disconnect();
    await waitFor('freed', () => (a.stats().heldBytes === 800 ? true : undefined));
    expect(await emitWithAck(cam2, { type: 'offer', sdp: fakeSdp('two', 800) })).toMatchObject({ ok: true });
    expect(a.stats().refused.heldBytes).toBe(1);
  });
});
