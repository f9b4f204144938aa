import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ListenError, SignalError } from '../../src/errors.js';
import { SignalClient, startSignalServer } from '../../src/signal/index.js';
import { SignalTestKit, emitWithAck, fakeSdp, waitFor } from '../helpers/signal-server.js';

const kit = new SignalTestKit();
afterEach(() => kit.closeAll());

/** A port that was free a moment ago and has nothing listening now. */
async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

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

    const noToken = kit.client(server.url, 'caller');
    const refused = await noToken.client.connect().catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(SignalError);
    expect(refused).toMatchObject({ code: 'UNAUTHORIZED', url: server.url });
    expect((refused as Error).message).toMatch(/requires a token; pass --token/);

    const wrong = kit.client(server.url, 'caller', { token: 'nope' });
    await expect(wrong.client.connect()).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    expect(server.stats().clients).toBe(0);

    const right = kit.client(server.url, 'caller', { token: 's3cret' });
    expect(await right.client.connect()).toEqual({ peerPresent: false });
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

    const a = kit.client(server.url, 'caller', { room: 'a' });
    const b = kit.client(server.url, 'caller', { room: 'b' });
    await a.client.connect();
    await b.client.connect();
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
    const caller = kit.client(server.url, 'caller');
    await caller.client.connect();
    const keepAlive = await fetch(`${server.url}/healthz`); // leaves a keep-alive connection open
    expect(keepAlive.ok).toBe(true);
    const closes = [server.close(), server.close()];
    expect(closes[0]).toBe(closes[1]);
    await Promise.all(closes);
    await server.close();
    await caller.rec.wait('disconnected');
    await expect(fetch(`${server.url}/healthz`)).rejects.toThrow();
  });
});

describe('signal client', { timeout: 15_000 }, () => {
  it('rejects UNREACHABLE after its bounded retries, naming the URL and what to do', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const client = new SignalClient({ url, role: 'caller', connectTimeoutMs: 1200 });
    const started = performance.now();
    try {
      const error = await client.connect().catch((e: unknown) => e);
      const elapsed = performance.now() - started;
      expect(error).toBeInstanceOf(SignalError);
      expect(error).toMatchObject({ code: 'UNREACHABLE', url });
      expect((error as Error).message).toMatch(
        new RegExp(`signaling server ${url} is unreachable \\(\\d+ attempts`),
      );
      expect((error as Error).message).toMatch(/start it with `rtc-peer signal` or check --signal/);
      expect(elapsed).toBeGreaterThan(1100);
      expect(elapsed).toBeLessThan(3000);
    } finally {
      await client.close();
    }
  });

  it('throws TypeError on invalid options', () => {
    const url = 'http://127.0.0.1:1';
    expect(() => new SignalClient({ url: 'not a url', role: 'caller' })).toThrow(TypeError);
    expect(() => new SignalClient({ url: 'ftp://x', role: 'caller' })).toThrow(TypeError);
    expect(() => new SignalClient({ url, role: 'boss' as 'caller' })).toThrow(/role must be/);
    expect(() => new SignalClient({ url, role: 'caller', room: 'no spaces' })).toThrow(
      /room "no spaces" is invalid/,
    );
    expect(() => new SignalClient({ url, role: 'caller', room: '' })).toThrow(TypeError);
    expect(() => new SignalClient({ url, role: 'caller', connectTimeoutMs: 0 })).toThrow(TypeError);
    expect(() => new SignalClient({ url, role: 'caller', token: '' })).toThrow(TypeError);
    expect(new SignalClient({ url, role: 'answerer' })).toMatchObject({ room: 'default', role: 'answerer' });
  });

  it('refuses sends before connect, in the wrong role, and after close', async () => {
    const server = await kit.server();
    const { client } = kit.client(server.url, 'answerer');
    await expect(client.sendAnswer('x')).rejects.toMatchObject({ code: 'NOT_JOINED' });
    await client.connect();
    await expect(client.sendOffer(fakeSdp('x'))).rejects.toMatchObject({ code: 'WRONG_ROLE' });
    await Promise.all([client.close(), client.close()]);
    await expect(client.sendAnswer('x')).rejects.toMatchObject({ code: 'CLOSED' });
    await expect(client.connect()).rejects.toMatchObject({ code: 'CLOSED' });
    await waitFor('no clients', () => (server.stats().clients === 0 ? true : undefined));
  });

  it('close() during a pending connect rejects it with CLOSED', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const client = new SignalClient({ url, role: 'caller', connectTimeoutMs: 5000 });
    const pending = client.connect();
    await client.close();
    await expect(pending).rejects.toMatchObject({ code: 'CLOSED' });
  });
});
