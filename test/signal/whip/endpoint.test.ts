/**
 * The signaling server's WHIP/WHEP endpoints against what clients send, right or wrong, over real HTTP: auth,
 * media types, bounded bodies, malformed SDP, the room's rules as status codes, PATCH and DELETE of live and
 * dead sessions, CORS for allowed origins only, sessions reaped when their client or room peer goes. The
 * room peer is a RoomSignaling that answers with a scripted SDP (no media here: endpoint-media.test.ts has
 * the calls). The server's own counters (`stats()`: its Socket.IO clients, each bridge being one) show what is
 * left; a health check after each test shows it did not fall over.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { RoomSignaling } from '../../../src/signal/room-signaling.js';
import type { SignalingEvent } from '../../../src/signal/signaling.js';
import type { SignalServer, SignalServerOptions } from '../../../src/signal/server.js';
import { SignalTestKit, waitFor } from '../../helpers/signal-server.js';
import { parseIceServerLinks } from '../../../src/signal/whip/link-header.js';
import { opensslTurnCredential } from '../../helpers/turn-server.js';
import { FAKE_OFFER, fakeAnswer } from './fake-sdp.js';

const OFFER = FAKE_OFFER;
const ANSWER = fakeAnswer('active');

const kit = new SignalTestKit();
const members: RoomSignaling[] = [];
let current: SignalServer | undefined;
afterEach(async () => {
  // Whatever a test sent, the server still answers.
  if (current) expect((await fetch(`${current.url}/healthz`)).status).toBe(200);
  current = undefined;
  await Promise.all(members.splice(0).map((m) => m.close()));
  await kit.closeAll();
});

async function server(options: SignalServerOptions = {}): Promise<SignalServer> {
  current = await kit.server({ whip: { answerTimeoutMs: 1500, candidateWaitMs: 300 }, ...options });
  return current;
}

/** A room member that answers every offer with ANSWER, one candidate and the end of them; records its events. */
async function answeringViewer(
  url: string,
  room: string,
  options: { token?: string; role?: 'answerer' | 'caller' } = {},
) {
  const role = options.role ?? 'answerer';
  const m = new RoomSignaling({ url, room, role, ...(options.token ? { token: options.token } : {}) });
  members.push(m);
  const events: SignalingEvent[] = [];
  m.on('signal', (e) => {
    events.push(e);
    if (e.type !== 'offer') return;
    void (async () => {
      await m.send({ type: 'answer', sdp: ANSWER, to: e.from });
      await m.send({
        type: 'candidate',
        candidate: {
          candidate: 'candidate:1 1 udp 2122260223 10.1.2.3 50000 typ host',
          sdpMid: '0',
          sdpMLineIndex: 0,
        },
        to: e.from,
      });
      await m.send({
        type: 'candidate',
        candidate: { candidate: '', sdpMid: '0', sdpMLineIndex: 0, usernameFragment: 'answ' },
        to: e.from,
      });
    })();
  });
  await m.connect();
  return { m, events };
}

const sdpPost = (url: string, body = OFFER, headers: Record<string, string> = {}) =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/sdp', ...headers }, body });

describe('WHIP/WHEP endpoints: what a client sends, and what it gets', { timeout: 15_000 }, () => {
  it("201: the answer with the room peer's candidates, Location, ETag, Accept-Patch, the ICE servers as Links", async () => {
    const s = await server({
      iceServers: [
        { urls: ['stun:127.0.0.1:3478'] },
        { urls: ['turn:127.0.0.1:3478'], username: 'u', credential: 'p' },
      ],
    });
    const viewer = await answeringViewer(s.url, 'lab');
    const res = await sdpPost(`${s.url}/whip/lab`);
    expect(res.status).toBe(201);
    expect(res.headers.get('content-type')).toBe('application/sdp');
    expect(res.headers.get('location')).toMatch(/^\/whip\/lab\/[A-Za-z0-9_-]{22}$/);
    expect(res.headers.get('etag')).toMatch(/^"[A-Za-z0-9_-]+"$/);
    expect(res.headers.get('accept-patch')).toBe('application/trickle-ice-sdpfrag');
    expect(res.headers.get('link')).toBe(
      '<stun:127.0.0.1:3478>; rel="ice-server", <turn:127.0.0.1:3478>; rel="ice-server"; username="u"; credential="p"; credential-type="password"',
    );
    const answer = await res.text();
    expect(answer).toContain('a=ice-ufrag:answ');
    expect(answer).toContain('a=candidate:1 1 udp 2122260223 10.1.2.3 50000 typ host\r\na=end-of-candidates');
    // The viewer got the publisher's offer as the caller's.
    expect(viewer.events.find((e) => e.type === 'offer')).toMatchObject({ sdp: OFFER });
  });

  it('with turn: every 201 names the TURN server with fresh credentials, after the fixed ICE servers', async () => {
    const secret = 'whip-turn-test-secret-0123456789';
    const s = await server({
      iceServers: [{ urls: ['stun:127.0.0.1:3478'] }],
      turn: { urls: ['turn:127.0.0.1:3478?transport=udp'], secret, ttlSeconds: 120 },
    });
    await answeringViewer(s.url, 'lab');
    const usernames: string[] = [];
    for (let i = 0; i < 2; i++) {
      const from = Math.floor(Date.now() / 1000);
      const res = await sdpPost(`${s.url}/whip/lab`);
      expect(res.status).toBe(201);
      const links = parseIceServerLinks(res.headers.get('link'));
      expect(links[0]).toEqual({ urls: ['stun:127.0.0.1:3478'] });
      expect(links).toHaveLength(2);
      const turn = links[1]!;
      expect(turn.urls).toEqual(['turn:127.0.0.1:3478?transport=udp']);
      const [expiry, label] = (turn.username ?? '').split(':');
      expect(Number(expiry) - from).toBeGreaterThanOrEqual(120);
      expect(Number(expiry) - from).toBeLessThanOrEqual(121);
      expect(label).toMatch(/^[A-Za-z0-9_-]{16}$/);
      expect(turn.credential).toBe(opensslTurnCredential(secret, turn.username ?? ''));
      usernames.push(turn.username ?? '');
      await fetch(`${s.url}${res.headers.get('location')}`, { method: 'DELETE' });
    }
    expect(usernames[0]).not.toBe(usernames[1]);
  });

  it("401 without the server's token or with a wrong one; admitted with it", async () => {
    const s = await server({ token: 'T0ken' });
    const none = await sdpPost(`${s.url}/whip/lab`);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer');
    expect(await none.text()).toMatch(/^UNAUTHORIZED: this signaling server requires a token/);
    const wrong = await sdpPost(`${s.url}/whip/lab`, OFFER, { authorization: 'Bearer nope' });
    expect(wrong.status).toBe(401);
    expect(await wrong.text()).toMatch(/^UNAUTHORIZED: wrong token/);
    await answeringViewer(s.url, 'lab', { token: 'T0ken' });
    expect((await sdpPost(`${s.url}/whip/lab`, OFFER, { authorization: 'Bearer T0ken' })).status).toBe(201);
  });

  it('415 for a body that is not SDP, 400 for a malformed SDP or room, 405 for other methods', async () => {
    const s = await server();
    const json = await fetch(`${s.url}/whip/lab`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(json.status).toBe(415);
    expect(json.headers.get('accept-post')).toBe('application/sdp');
    expect(await json.text()).toBe(
      'the offer must be sent as Content-Type: application/sdp, not application/json\n',
    );
    const bad = await sdpPost(`${s.url}/whip/lab`, 'hello');
    expect(bad.status).toBe(400);
    expect(await bad.text()).toBe(
      'malformed SDP offer: it does not start with "v=0" (not an SDP description)\n',
    );
    const noIce = await sdpPost(`${s.url}/whep/lab`, OFFER.replace(/a=ice-.*\r\n/g, ''));
    expect(await noIce.text()).toMatch(/no ICE credentials/);
    const room = await sdpPost(`${s.url}/whip/bad%20room`);
    expect(room.status).toBe(400);
    expect(await room.text()).toMatch(/room "bad room" is invalid/);
    const get = await fetch(`${s.url}/whip/lab`);
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('OPTIONS, POST');
    expect((await fetch(`${s.url}/whip/lab/abcdef`, { method: 'GET' })).headers.get('allow')).toBe(
      'OPTIONS, PATCH, DELETE',
    );
    expect(s.stats().clients).toBe(0);
  });

  it('413 for a huge body, declared or streamed, without reading it all', async () => {
    const s = await server({ maxSdpBytes: 4096 });
    const declared = await sdpPost(`${s.url}/whip/lab`, OFFER + 'a=x:' + 'y'.repeat(8000) + '\r\n');
    expect(declared.status).toBe(413);
    expect(await declared.text()).toMatch(/over the limit of 4096 bytes/);
    // Chunked, no length said: refused once past the limit (a 10 MB stream is not swallowed).
    const big = new ReadableStream<Uint8Array>({
      start(controller) {
        const chunk = new TextEncoder().encode('a=x:' + 'y'.repeat(65536) + '\r\n');
        for (let i = 0; i < 160; i++) controller.enqueue(chunk);
        controller.close();
      },
    });
    const streamed = await fetch(`${s.url}/whip/lab`, {
      method: 'POST',
      headers: { 'content-type': 'application/sdp' },
      body: big,
      duplex: 'half',
    } as RequestInit).catch((e: unknown) => e);
    // Either the 413 arrives, or the connection is cut after it while the client still sends: never a 201.
    if (streamed instanceof Response) expect(streamed.status).toBe(413);
    else
      expect(String((streamed as Error).cause ?? streamed)).toMatch(/socket|closed|reset|EPIPE|other side/i);
  });

  it("the room's rules: 409 for a taken caller role, 503 + Retry-After for a full room or nobody to answer", async () => {
    const s = await server({ maxViewers: 1 });
    await answeringViewer(s.url, 'taken', { role: 'caller' });
    const taken = await sdpPost(`${s.url}/whip/taken`);
    expect(taken.status).toBe(409);
    expect(await taken.text()).toMatch(/^room "taken" already has a caller \(a camera publishing\)/);
    // One viewer already: a WHEP viewer is one too many.
    await answeringViewer(s.url, 'taken');
    const full = await sdpPost(`${s.url}/whep/taken`);
    expect(full.status).toBe(503);
    expect(full.headers.get('retry-after')).toBe('5');
    expect(await full.text()).toMatch(/^room "taken" is full: /);
    // Nobody in the room: the publisher's offer waits for a viewer, bounded.
    const started = performance.now();
    const lonely = await sdpPost(`${s.url}/whip/empty`);
    expect(performance.now() - started).toBeGreaterThanOrEqual(1400);
    expect(lonely.status).toBe(503);
    expect(lonely.headers.get('retry-after')).toBe('2');
    expect(await lonely.text()).toBe(
      'no viewer joined room "empty" within 1.5 s: start `rtc-peer answer --room empty` (or open the page), then publish again\n',
    );
    const noCamera = await sdpPost(`${s.url}/whep/nocam`);
    expect(noCamera.status).toBe(503);
    expect(await noCamera.text()).toMatch(/^room "nocam" has no camera \(caller\) within 1\.5 s/);
    // The bridges that gave up left: only the two members of "taken" are clients.
    await waitFor('bridges gone', () => (s.stats().clients === 2 ? true : undefined));
  });

  it('PATCH: candidates relayed (204), If-Match checked (412), bad fragments refused (415, 400), dead sessions 404', async () => {
    const s = await server();
    const viewer = await answeringViewer(s.url, 'lab');
    const res = await sdpPost(`${s.url}/whip/lab`);
    const session = `${s.url}${res.headers.get('location')}`;
    const etag = res.headers.get('etag')!;
    const patch = (body: string, headers: Record<string, string> = {}) =>
      fetch(session, {
        method: 'PATCH',
        headers: { 'content-type': 'application/trickle-ice-sdpfrag', ...headers },
        body,
      });
    const frag =
      'a=ice-ufrag:offr\r\na=ice-pwd:offerpassword0123456789\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:0\r\na=candidate:7 1 udp 1 10.7.7.7 7 typ host\r\na=end-of-candidates\r\n';
    expect((await patch(frag, { 'if-match': etag })).status).toBe(204);
    await waitFor('the candidate at the viewer', () =>
      viewer.events.some((e) => e.type === 'candidate' && e.candidate.candidate === '') ? true : undefined,
    );
    expect(
      viewer.events.filter((e) => e.type === 'candidate').map((e) => (e as { candidate: unknown }).candidate),
    ).toEqual([
      {
        candidate: 'candidate:7 1 udp 1 10.7.7.7 7 typ host',
        sdpMid: '0',
        sdpMLineIndex: 0,
        usernameFragment: 'offr',
      },
      { candidate: '', sdpMid: null, sdpMLineIndex: 0, usernameFragment: 'offr' },
    ]);
    const stale = await patch(frag, { 'if-match': '"old"' });
    expect(stale.status).toBe(412);
    expect(stale.headers.get('etag')).toBe(etag);
    const typed = await patch(frag, { 'content-type': 'application/sdp' });
    expect(typed.status).toBe(415);
    expect(typed.headers.get('accept-patch')).toBe('application/trickle-ice-sdpfrag');
    const junk = await patch('{"candidate": 1}');
    expect(junk.status).toBe(400);
    expect(await junk.text()).toMatch(
      /^malformed SDP fragment: line "\{\\"candidate\\": 1\}" is not an SDP line/,
    );
    // DELETE ends it: the viewer hears the bye; twice is 404, and so is a PATCH now.
    expect((await fetch(session, { method: 'DELETE' })).status).toBe(200);
    await waitFor('the bye at the viewer', () =>
      viewer.events.some((e) => e.type === 'peer-left') ? true : undefined,
    );
    expect(viewer.events.find((e) => e.type === 'peer-left')).toMatchObject({
      reason: 'bye',
      role: 'caller',
    });
    const again = await fetch(session, { method: 'DELETE' });
    expect(again.status).toBe(404);
    expect(await again.text()).toMatch(/^no WHIP session whip\/lab\/\S+: it ended, or never existed/);
    expect((await patch(frag)).status).toBe(404);
    expect((await fetch(`${s.url}/whep/lab/nosuchsession`, { method: 'DELETE' })).status).toBe(404);
    await waitFor('only the viewer left', () => (s.stats().clients === 1 ? true : undefined));
  });

  it('reaped: a client that gives up waiting, a room peer that hangs up or leaves; a new publisher replaces the old', async () => {
    const s = await server();
    // A publisher that gives up before anyone answers: its bridge leaves at once.
    const abort = new AbortController();
    const waiting = sdpPost(`${s.url}/whip/gone`, OFFER, {}).catch(() => undefined);
    void waiting;
    const given = fetch(`${s.url}/whip/gone2`, {
      method: 'POST',
      headers: { 'content-type': 'application/sdp' },
      body: OFFER,
      signal: abort.signal,
    }).catch(() => 'aborted');
    await waitFor('two bridges waiting', () => (s.stats().clients === 2 ? true : undefined));
    abort.abort();
    expect(await given).toBe('aborted');
    await waitFor('the abandoned bridge left', () => (s.stats().clients === 1 ? true : undefined));
    await waiting;

    // A viewer that hangs up its call: the session is over (404), its bridge gone.
    const viewer = await answeringViewer(s.url, 'hang');
    const res = await sdpPost(`${s.url}/whip/hang`);
    const session = `${s.url}${res.headers.get('location')}`;
    const offer = viewer.events.find((e) => e.type === 'offer') as { from: string };
    await viewer.m.send({ type: 'hangup', to: offer.from });
    await waitFor('the bridge gone', () => (s.stats().clients === 1 ? true : undefined));
    expect((await fetch(session, { method: 'DELETE' })).status).toBe(404);

    // A viewer that leaves: the same.
    const first = await sdpPost(`${s.url}/whip/hang`);
    expect(first.status).toBe(201);
    await viewer.m.close();
    await waitFor('no client left', () => (s.stats().clients === 0 ? true : undefined));
    expect((await fetch(`${s.url}${first.headers.get('location')}`, { method: 'DELETE' })).status).toBe(404);

    // A second publisher to the same room replaces the first (its client vanished, or moved).
    await answeringViewer(s.url, 'cam');
    const one = await sdpPost(`${s.url}/whip/cam`);
    await answeringViewer(s.url, 'cam');
    const two = await sdpPost(`${s.url}/whip/cam`);
    expect([one.status, two.status]).toEqual([201, 201]);
    expect((await fetch(`${s.url}${one.headers.get('location')}`, { method: 'DELETE' })).status).toBe(404);
    expect((await fetch(`${s.url}${two.headers.get('location')}`, { method: 'DELETE' })).status).toBe(200);
    await waitFor('only the two viewers left', () => (s.stats().clients === 2 ? true : undefined));
  });

  it('CORS only for allowed origins; none by default', async () => {
    const closed = await server();
    const preflight = (url: string, origin: string) =>
      fetch(url, {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'content-type, authorization',
        },
      });
    const refused = await preflight(`${closed.url}/whip/lab`, 'https://page.example');
    expect(refused.status).toBe(403);
    expect(refused.headers.get('access-control-allow-origin')).toBeNull();
    await kit.closeAll();
    const open = await server({ allowOrigin: ['https://page.example'] });
    const ok = await preflight(`${open.url}/whip/lab`, 'https://page.example');
    expect(ok.status).toBe(204);
    expect(ok.headers.get('access-control-allow-origin')).toBe('https://page.example');
    expect(ok.headers.get('access-control-allow-methods')).toBe('OPTIONS, POST, PATCH, DELETE');
    expect(ok.headers.get('access-control-allow-headers')).toBe('Authorization, Content-Type, If-Match');
    expect(ok.headers.get('accept-post')).toBe('application/sdp');
    expect((await preflight(`${open.url}/whip/lab`, 'https://evil.example')).status).toBe(403);
    await answeringViewer(open.url, 'lab');
    const post = await sdpPost(`${open.url}/whip/lab`, OFFER, { origin: 'https://page.example' });
    expect(post.status).toBe(201);
    expect(post.headers.get('access-control-allow-origin')).toBe('https://page.example');
    expect(post.headers.get('access-control-expose-headers')).toBe(
      'Location, ETag, Link, Accept-Patch, Retry-After',
    );
    // Without an Origin (not a page): plain OPTIONS says what the endpoint takes.
    const plain = await fetch(`${open.url}/whep/lab`, { method: 'OPTIONS' });
    expect(plain.status).toBe(204);
    expect(plain.headers.get('accept-post')).toBe('application/sdp');
  });
});
