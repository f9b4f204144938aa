/**
 * The WHIP/WHEP client against scripted HTTP servers (real sockets on free ports): each failure a server can
 * answer with becomes one clear SignalError naming the URL, the status and the server's text, after a
 * bounded wait; busy servers are retried as `Retry-After` says; redirects, `Link` ICE servers, trickle by
 * PATCH or not, the DELETE. What the server received is the witness.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { SignalError } from '../../../src/errors.js';
import { WhepSignaling } from '../../../src/signal/whip/whep-signaling.js';
import { WhipSignaling, type WhipSignalingOptions } from '../../../src/signal/whip/whip-signaling.js';
import { freePort } from '../../helpers/ports.js';
import { waitFor } from '../../helpers/signal-server.js';
import { FAKE_OFFER, fakeAnswer } from './fake-sdp.js';

const OFFER = FAKE_OFFER;
const ANSWER = fakeAnswer('passive');

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
  at: number;
}
type Script = (req: Seen, res: ServerResponse) => void;

const servers: Server[] = [];
const clients: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

/** A scripted server: `script` answers each request; every request is kept in `seen`. */
async function scripted(script: Script): Promise<{ url: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (c: string) => (body += c));
    req.on('end', () => {
      const s: Seen = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body,
        at: performance.now(),
      };
      seen.push(s);
      script(s, res);
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

function respond(res: ServerResponse, status: number, headers: Record<string, string> = {}, body = ''): void {
  res.writeHead(status, headers);
  res.end(body);
}

const created = (
  res: ServerResponse,
  headers: Record<string, string | string[]> = {},
  body = ANSWER,
): void => {
  res.writeHead(201, { 'content-type': 'application/sdp', location: '/session/1', etag: '"e1"', ...headers });
  res.end(body);
};

function client(options: WhipSignalingOptions): WhipSignaling {
  const c = new WhipSignaling({ connectTimeoutMs: 3000, requestTimeoutMs: 2000, ...options });
  clients.push(c);
  return c;
}

/** Connects and posts the offer, as the negotiator does; resolves with connect()'s outcome. */
async function post(c: WhipSignaling | WhepSignaling, sdp = OFFER): Promise<unknown> {
  const connected = c.connect();
  const sent = c.send({ type: 'offer', sdp }).catch(() => undefined);
  try {
    return await connected;
  } catch (error) {
    return error;
  } finally {
    await sent;
  }
}

describe('WHIP client: failures are clear and bounded', { timeout: 15_000 }, () => {
  it("401: a token hint, the URL, the status and the server's text; no retry", async () => {
    const s = await scripted((_req, res) =>
      respond(res, 401, { 'www-authenticate': 'Bearer' }, 'token required'),
    );
    const error = (await post(client({ url: `${s.url}/whip/cam` }))) as SignalError;
    expect(error).toBeInstanceOf(SignalError);
    expect(error.code).toBe('UNAUTHORIZED');
    expect(error.status).toBe(401);
    expect(error.message).toBe(
      `POST of the WHIP offer to ${s.url}/whip/cam answered 401 Unauthorized: token required; the server wants a ` +
        'token: pass --token (or set RTC_PEER_TOKEN) with the one it gave you',
    );
    expect(s.seen).toHaveLength(1);
  });

  it('the token goes as a Bearer', async () => {
    const s = await scripted((_req, res) => created(res));
    expect(await post(client({ url: `${s.url}/whip/cam`, token: 's3cret' }))).toMatchObject({
      type: 'joined',
    });
    expect(s.seen[0]!.headers.authorization).toBe('Bearer s3cret');
    expect(s.seen[0]!.headers['content-type']).toBe('application/sdp');
    expect(s.seen[0]!.body).toBe(OFFER);
  });

  it('404: a wrong endpoint, said so', async () => {
    const s = await scripted((_req, res) => respond(res, 404, {}, 'no such stream'));
    const error = (await post(client({ url: `${s.url}/nope` }))) as SignalError;
    expect(error.code).toBe('NOT_FOUND');
    expect(error.message).toMatch(
      new RegExp(
        `^POST of the WHIP offer to ${s.url}/nope answered 404 Not Found: no such stream; nothing is served at this URL: check it`,
      ),
    );
  });

  it("415: the server's refusal, with its text", async () => {
    const s = await scripted(
      (_req, res) => (
        res.writeHead(415, { 'accept-post': 'application/sdp' }),
        res.end('only application/sdp')
      ),
    );
    const error = (await post(client({ url: `${s.url}/whip` }))) as SignalError;
    expect(error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    expect(error.message).toContain('answered 415 Unsupported Media Type: only application/sdp');
  });

  it('503 with Retry-After: waits as told, then the session', async () => {
    let n = 0;
    const s = await scripted((_req, res) => {
      if (n++ === 0) respond(res, 503, { 'retry-after': '1' }, 'busy');
      else created(res);
    });
    expect(await post(client({ url: `${s.url}/whip` }))).toMatchObject({ type: 'joined' });
    expect(s.seen).toHaveLength(2);
    expect(s.seen[1]!.at - s.seen[0]!.at).toBeGreaterThanOrEqual(950);
    expect(s.seen[1]!.at - s.seen[0]!.at).toBeLessThan(1500);
  });

  it('503 forever: gives up within connectTimeoutMs, saying how often it tried', async () => {
    const s = await scripted((_req, res) => respond(res, 503, { 'retry-after': '1' }, 'still busy'));
    const started = performance.now();
    const error = (await post(client({ url: `${s.url}/whip`, connectTimeoutMs: 2500 }))) as SignalError;
    expect(performance.now() - started).toBeLessThan(3500);
    expect(error.code).toBe('BUSY');
    expect(error.message).toMatch(
      /answered 503 Service Unavailable: still busy \(gave up after 3 attempts in 2\.5 s\)$/,
    );
    expect(s.seen).toHaveLength(3);
  });

  it('a server that never answers: TIMEOUT after requestTimeoutMs, not retried', async () => {
    const s = await scripted(() => undefined);
    const started = performance.now();
    const error = (await post(client({ url: `${s.url}/whip`, requestTimeoutMs: 800 }))) as SignalError;
    const waited = performance.now() - started;
    expect(error.code).toBe('TIMEOUT');
    expect(error.message).toBe(
      `POST ${s.url}/whip: no complete response within 800 ms; is the server overloaded, or is this not a WHIP/WHEP server?`,
    );
    expect(waited).toBeGreaterThanOrEqual(780);
    expect(waited).toBeLessThan(1500);
    expect(s.seen).toHaveLength(1);
  });

  it('nothing listening: UNREACHABLE after retries within the bound', async () => {
    const url = `http://127.0.0.1:${await freePort()}/whip`;
    const started = performance.now();
    const error = (await post(client({ url, connectTimeoutMs: 1500 }))) as SignalError;
    expect(performance.now() - started).toBeLessThan(2500);
    expect(error.code).toBe('UNREACHABLE');
    expect(error.message).toMatch(
      new RegExp(
        `^POST ${url}: cannot connect \\(ECONNREFUSED\\); is the server running\\? \\(gave up after \\d+ attempts in 1\\.5 s\\)$`,
      ),
    );
  });

  it('a malformed SDP answer: BAD_ANSWER, and the session it made is DELETEd', async () => {
    const s = await scripted((req, res) => {
      if (req.method === 'POST') created(res, {}, 'this is not SDP');
      else respond(res, 200);
    });
    const error = (await post(client({ url: `${s.url}/whip` }))) as SignalError;
    expect(error.code).toBe('BAD_ANSWER');
    expect(error.message).toBe(
      `POST of the WHIP offer to ${s.url}/whip answered 201, but its answer is not a usable SDP: it does not start ` +
        'with "v=0" (not an SDP description); is this a WHIP server?',
    );
    await waitFor('the DELETE', () => (s.seen.some((r) => r.method === 'DELETE') ? true : undefined));
    expect(s.seen.map((r) => `${r.method} ${r.url}`)).toEqual(['POST /whip', 'DELETE /session/1']);
  });

  it('201 without Location, or not SDP: BAD_ANSWER saying which', async () => {
    const s = await scripted((req, res) => {
      if (req.url === '/a') respond(res, 201, { 'content-type': 'application/sdp' }, ANSWER);
      else respond(res, 201, { 'content-type': 'text/html', location: '/x' }, '<html>');
    });
    expect(((await post(client({ url: `${s.url}/a` }))) as Error).message).toMatch(
      /it has no Location header/,
    );
    expect(((await post(client({ url: `${s.url}/b` }))) as Error).message).toMatch(
      /its body is text\/html, not application\/sdp/,
    );
  });
});

describe('WHIP client: what RFC 9725 asks of it', { timeout: 15_000 }, () => {
  it('follows a 307 with the same method, body and token; the session URL is relative to where it landed', async () => {
    const target = await scripted((_req, res) => created(res, { location: 'resource/7' }));
    const lb = await scripted((_req, res) => respond(res, 307, { location: `${target.url}/whip/node-2` }));
    const c = client({ url: `${lb.url}/whip`, token: 't' });
    expect(await post(c)).toMatchObject({ type: 'joined' });
    expect(target.seen[0]).toMatchObject({ method: 'POST', url: '/whip/node-2', body: OFFER });
    expect(target.seen[0]!.headers.authorization).toBe('Bearer t');
    expect(c.sessionUrl).toBe(`${target.url}/whip/resource/7`);
  });

  it('exposes the ICE servers of the Link headers, ignoring other rels', async () => {
    const s = await scripted((_req, res) =>
      created(res, {
        link: [
          '<stun:stun.example.net:3478>; rel="ice-server"',
          '<turn:turn.example.net:3478?transport=udp>; rel="ice-server"; username="u"; credential="p"; credential-type="password"',
          '<urn:ietf:params:whip:ext:example:sse>; rel="urn:ietf:params:whip:ext:example:sse"',
        ],
      }),
    );
    const c = client({ url: `${s.url}/whip` });
    await post(c);
    expect(c.iceServers).toEqual([
      { urls: ['stun:stun.example.net:3478'] },
      { urls: ['turn:turn.example.net:3478?transport=udp'], username: 'u', credential: 'p' },
    ]);
  });

  it('trickles candidates in one aggregated PATCH with the ETag when the server accepts them', async () => {
    const s = await scripted((req, res) => {
      if (req.method === 'POST') created(res, { 'accept-patch': 'application/trickle-ice-sdpfrag' });
      else respond(res, 204);
    });
    const c = client({ url: `${s.url}/whip` });
    await post(c);
    expect(c.capabilities.offerCandidates).toBe('after-offer');
    for (const n of [1, 2, 3])
      await c.send({
        type: 'candidate',
        candidate: {
          candidate: `candidate:${n} 1 udp 1 10.0.0.${n} 5000 typ host`,
          sdpMid: '0',
          sdpMLineIndex: 0,
        },
      });
    await c.send({ type: 'candidate', candidate: { candidate: '', sdpMid: '0', sdpMLineIndex: 0 } });
    await waitFor('the PATCH', () => (s.seen.length === 2 ? true : undefined));
    const patch = s.seen[1]!;
    expect(patch).toMatchObject({ method: 'PATCH', url: '/session/1' });
    expect(patch.headers['if-match']).toBe('"e1"');
    expect(patch.headers['content-type']).toBe('application/trickle-ice-sdpfrag');
    expect(patch.body).toBe(
      'a=group:BUNDLE 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:0\r\na=ice-ufrag:offr\r\na=ice-pwd:offerpassword0123456789\r\n' +
        'a=candidate:1 1 udp 1 10.0.0.1 5000 typ host\r\na=candidate:2 1 udp 1 10.0.0.2 5000 typ host\r\n' +
        'a=candidate:3 1 udp 1 10.0.0.3 5000 typ host\r\na=end-of-candidates\r\n',
    );
  });

  it('without Accept-Patch: no PATCH; the next offers carry their candidates inside', async () => {
    const s = await scripted((_req, res) => created(res));
    const c = client({ url: `${s.url}/whip` });
    await post(c);
    expect(
      await c.send({
        type: 'candidate',
        candidate: { candidate: 'candidate:1 1 udp 1 10.0.0.1 5000 typ host', sdpMid: '0' },
      }),
    ).toBe(false);
    expect(c.droppedCandidates).toBe(1);
    expect(c.capabilities.offerCandidates).toBe('in-offer');
    // A sentinel: the DELETE of close() is the next request the server sees.
    await c.close();
    expect(s.seen.map((r) => r.method)).toEqual(['POST', 'DELETE']);
  });

  it('an ICE restart the server cannot do by PATCH (405) is a new session; the old one is DELETEd', async () => {
    let n = 0;
    const s = await scripted((req, res) => {
      if (req.method === 'POST')
        created(res, { 'accept-patch': 'application/trickle-ice-sdpfrag', location: `/session/${++n}` });
      else if (req.method === 'PATCH') respond(res, 405, { allow: 'POST, DELETE' });
      else respond(res, 200);
    });
    const c = client({ url: `${s.url}/whip` });
    const answers: string[] = [];
    c.on('signal', (e) => e.type === 'answer' && answers.push(e.sdp));
    await post(c);
    const restart = OFFER.replace(/offr/g, 'rst2');
    expect(await c.send({ type: 'offer', sdp: restart, renegotiate: true })).toBe(true);
    expect(s.seen.map((r) => `${r.method} ${r.url}`)).toEqual([
      'POST /whip',
      'PATCH /session/1',
      'DELETE /session/1',
      'POST /whip',
    ]);
    expect(s.seen[1]!.headers['if-match']).toBe('*');
    expect(s.seen[1]!.body).toContain('a=ice-ufrag:rst2\r\na=ice-pwd:offerpassword0123456789');
    expect(s.seen[3]!.body).toBe(restart);
    expect(answers).toHaveLength(2);
    expect(c.sessionUrl).toBe(`${s.url}/session/2`);
  });

  it("an ICE restart by PATCH: If-Match *, the answer rebuilt from the server's fragment, its new ETag used", async () => {
    const s = await scripted((req, res) => {
      if (req.method === 'POST') return created(res, { 'accept-patch': 'application/trickle-ice-sdpfrag' });
      if (req.headers['if-match'] === '*') {
        res.writeHead(200, { 'content-type': 'application/trickle-ice-sdpfrag', etag: '"e2"' });
        return res.end(
          'a=ice-ufrag:srv2\r\na=ice-pwd:serverpassword2serverpw\r\na=candidate:9 1 udp 1 10.9.9.9 9 typ host\r\n',
        );
      }
      respond(res, 204);
    });
    const c = client({ url: `${s.url}/whip`, trickleBatchMs: 0 });
    const answers: string[] = [];
    c.on('signal', (e) => e.type === 'answer' && answers.push(e.sdp));
    await post(c);
    expect(await c.send({ type: 'offer', sdp: OFFER.replace(/offr/g, 'rst2'), renegotiate: true })).toBe(
      true,
    );
    expect(answers[1]).toContain('a=ice-ufrag:srv2');
    expect(answers[1]).toContain('a=candidate:9 1 udp 1 10.9.9.9 9 typ host');
    await c.send({
      type: 'candidate',
      candidate: { candidate: 'candidate:1 1 udp 1 10.0.0.1 5000 typ host', sdpMid: '0' },
    });
    await waitFor('the trickle PATCH', () => (s.seen.length === 3 ? true : undefined));
    expect(s.seen[2]!.headers['if-match']).toBe('"e2"');
    expect(s.seen[2]!.body).toContain('a=ice-ufrag:rst2');
  });

  it('close() DELETEs the session once, however often it is called; a WHEP client is an answerer that offers', async () => {
    const s = await scripted((req, res) => (req.method === 'POST' ? created(res) : respond(res, 200)));
    const c = new WhepSignaling({ url: `${s.url}/whep/cam` });
    clients.push(c);
    expect(c.role).toBe('answerer');
    expect(c.capabilities).toMatchObject({ answererOffers: true, holdsOffers: false });
    await post(c);
    await Promise.all([c.close(), c.close()]);
    await c.close();
    expect(s.seen.map((r) => r.method)).toEqual(['POST', 'DELETE']);
    await expect(c.send({ type: 'offer', sdp: OFFER })).rejects.toMatchObject({ code: 'CLOSED' });
  });

  it('refuses bad options at construction', () => {
    expect(() => new WhipSignaling({ url: 'not a url' })).toThrow(TypeError);
    expect(() => new WhipSignaling({ url: 'ftp://x/whip' })).toThrow(/must start with http/);
    expect(() => new WhipSignaling({ url: 'http://x/whip', token: '' })).toThrow(/token/);
  });
});

describe('WHIP client: a POST replaced before its answer', { timeout: 15_000 }, () => {
  it('a hangup abandons the POST in flight: the request is closed before its answer, and no answer comes', async () => {
    let abandoned = false;
    const s = await scripted((req, res) => {
      if (req.method !== 'POST') return respond(res, 200);
      // Answered only after the client went: what it would have got, had it waited.
      res.once('close', () => (abandoned = !res.writableEnded));
    });
    const c = client({ url: `${s.url}/whip/cam` });
    const answers: unknown[] = [];
    c.on('signal', (e) => void (e.type === 'answer' && answers.push(e)));
    const connected = c.connect().catch((e: unknown) => e);
    const sent = c.send({ type: 'offer', sdp: OFFER }).catch((e: unknown) => e);
    await waitFor('the POST', () => (s.seen.length > 0 ? true : undefined));
    // The call ends while the server is still making its session.
    await c.send({ type: 'hangup' });
    const error = (await sent) as SignalError;
    expect(error).toBeInstanceOf(SignalError);
    expect(error.code).toBe('ABANDONED');
    expect(error.message).toBe(
      `POST of the WHIP offer to ${s.url}/whip/cam abandoned: a newer offer, or the end of the call, replaced it`,
    );
    expect(((await connected) as SignalError).code).toBe('ABANDONED');
    await waitFor('the server saw the request closed', () => (abandoned ? true : undefined));
    expect(answers).toEqual([]);
    expect(c.sessionUrl).toBeUndefined();
    // Nothing is retried after it.
    await new Promise((r) => setTimeout(r, 500));
    expect(s.seen.filter((r) => r.method === 'POST')).toHaveLength(1);
  });
});
