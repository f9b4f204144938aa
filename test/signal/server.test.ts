import { afterEach, describe, expect, it } from 'vitest';
import { ListenError, SignalError } from '../../src/errors.js';
import { startSignalServer } from '../../src/signal/index.js';
import { SignalTestKit, emitWithAck, fakeSdp, waitEvent } from '../helpers/signal-server.js';

const kit = new SignalTestKit();
afterEach(() => kit.closeAll());

describe('signal server', { timeout: 15_000 }, () => {
  it('refuses a missing or wrong token at connection and accepts the right one', async () => {
    // Six wrong tries here: past the default allowance of 5 the address would wait (guard.test.ts).
    const server = await kit.server({ token: 's3cret', limits: { authFailures: 10 } });

    for (const auth of [{}, { token: 'wrong' }, { token: 's3cret-longer' }, { token: 42 }]) {
      const raw = kit.rawSocket(server.url, auth);
      const error = await new Promise<Error>((resolve) => {
        raw.once('connect_error', resolve);
        raw.connect();
      });
      expect(error.message, JSON.stringify(auth)).toMatch(/^UNAUTHORIZED: /);
    }

    const noToken = kit.signaling({ url: server.url, role: 'caller' });
    const refused = await noToken.s.connect().catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(SignalError);
    expect(refused).toMatchObject({ code: 'UNAUTHORIZED', url: server.url });
    expect((refused as Error).message).toMatch(/requires a token; pass --token/);

    const wrong = kit.signaling({ url: server.url, role: 'caller', token: 'nope' });
    await expect(wrong.s.connect()).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    expect(server.stats().clients).toBe(0);

    const right = kit.signaling({ url: server.url, role: 'caller', token: 's3cret' });
    expect(await right.s.connect()).toMatchObject({ type: 'joined', peers: [], rejoined: false });
    expect(server.stats()).toMatchObject({ rooms: 1, clients: 1 });
  });

  it('GET /healthz reports status, rooms, clients and uptime', async () => {
    const server = await kit.server();
    const empty = await fetch(`${server.url}/healthz`);
    expect(empty.status).toBe(200);
    expect(empty.headers.get('content-type')).toMatch(/application\/json/);
    expect(await empty.json()).toEqual({
      status: 'ok',
      rooms: 0,
      clients: 0,
      uptimeSec: expect.any(Number),
      pending: 0,
      heldBytes: 0,
      refused: {
        rate: 0,
        cut: 0,
        connections: 0,
        rooms: 0,
        heldBytes: 0,
        auth: 0,
        authTimeout: 0,
        origin: 0,
      },
    });

    await kit.signaling({ url: server.url, role: 'caller', room: 'a' }).s.connect();
    await kit.signaling({ url: server.url, role: 'caller', room: 'b' }).s.connect();
    await kit.socket(server.url); // connected, not joined
    const busy = (await (await fetch(`${server.url}/healthz`)).json()) as Record<string, unknown>;
    expect(busy).toMatchObject({ status: 'ok', rooms: 2, clients: 3 });
    expect(busy['uptimeSec']).toBeGreaterThanOrEqual(0);
    expect((await fetch(`${server.url}/nothing-here`)).status).toBe(404);
  });

  it('serves extra routes through httpHandler', async () => {
    const server = await kit.server({
      httpHandler: (req, res) => {
        if (req.url !== '/hello') return false;
        res.end('hi');
        return true;
      },
    });
    expect(await (await fetch(`${server.url}/hello`)).text()).toBe('hi');
    expect((await fetch(`${server.url}/other`)).status).toBe(404);
  });

  it('rejects a busy port with ListenError PORT_IN_USE', async () => {
    const first = await kit.server();
    const error = await startSignalServer({ host: '127.0.0.1', port: first.port }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ListenError);
    expect(error).toMatchObject({ code: 'PORT_IN_USE', host: '127.0.0.1', port: first.port });
    expect((error as Error).message).toBe(
      `port ${first.port} on 127.0.0.1 is already in use; stop the other server or pass --port 0 for a free port`,
    );
    // The first server is unharmed.
    expect((await fetch(`${first.url}/healthz`)).status).toBe(200);
  });

  it('warns about a non-loopback address without a token, not otherwise', async () => {
    const open = await kit.server({ host: '0.0.0.0' });
    expect(open.url).toBe(`http://127.0.0.1:${open.port}`);
    expect(open.warnings).toHaveLength(1);
    expect(open.warnings[0]).toMatch(/without a token: anyone who can reach this port can join a room/);
    const locked = await kit.server({ host: '0.0.0.0', token: 't' });
    expect(locked.warnings).toEqual([]);
    const local = await kit.server({ host: '127.0.0.1' });
    expect(local.warnings).toEqual([]);
  });

  it('rejects invalid options with TypeError', async () => {
    await expect(startSignalServer({ port: 70000 })).rejects.toBeInstanceOf(TypeError);
    await expect(startSignalServer({ port: 0, maxSdpBytes: 0 })).rejects.toBeInstanceOf(TypeError);
    await expect(startSignalServer({ port: 0, token: '' })).rejects.toBeInstanceOf(TypeError);
  });

  it('honours maxSdpBytes', async () => {
    const server = await kit.server({ maxSdpBytes: 1000 });
    const raw = await kit.socket(server.url);
    await emitWithAck(raw, { type: 'join', room: 'x', role: 'caller' });
    expect(await emitWithAck(raw, { type: 'offer', sdp: fakeSdp('small', 900) })).toEqual({
      ok: true,
      delivered: false,
    });
    expect(await emitWithAck(raw, { type: 'offer', sdp: fakeSdp('big', 1100) })).toMatchObject({
      ok: false,
      error: { code: 'TOO_LARGE', message: 'sdp is over the limit of 1000 bytes' },
    });
  });

  it('close() is idempotent and concurrent-safe, and disconnects clients', async () => {
    const server = await kit.server();
    const caller = kit.signaling({ url: server.url, role: 'caller' });
    await caller.s.connect();
    const keepAlive = await fetch(`${server.url}/healthz`); // leaves a keep-alive connection open
    expect(keepAlive.ok).toBe(true);
    const closes = [server.close(), server.close()];
    expect(closes[0]).toBe(closes[1]);
    await Promise.all(closes);
    await server.close();
    await waitEvent(caller.events, 'lost');
    await expect(fetch(`${server.url}/healthz`)).rejects.toThrow();
  });
});
