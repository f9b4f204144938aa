/**
 * `rtc-peer signal`'s WHIP and WHEP endpoints with rtc-peer's own WHIP/WHEP clients and room members, all
 * real (@roamhq/wrtc peer connections, the server on a free port): a WHIP publisher watched by a room viewer,
 * a WHEP viewer of a room's camera, frames judged by their barcodes; what the client sent, read by a
 * recording proxy in between (one aggregated PATCH, the ICE restart's `If-Match: *`, the DELETE); the session
 * gone from the server afterwards.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { RoomSignaling } from '../../../src/signal/room-signaling.js';
import { signRoomToken } from '../../../src/signal/room-token.js';
import { FAKE_OFFER } from './fake-sdp.js';
import { WhepSignaling } from '../../../src/signal/whip/whep-signaling.js';
import { WhipSignaling } from '../../../src/signal/whip/whip-signaling.js';
import { httpRecorder, type HttpRecorder } from '../../helpers/http-recorder.js';
import { camera, flowing, side, ufragOf } from '../../helpers/negotiated-call.js';
import { SignalTestKit, waitFor } from '../../helpers/signal-server.js';
import { SessionDescriptions } from '../../../src/peer/descriptions.js';

const kit = new SignalTestKit();
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  await kit.closeAll();
});

async function proxied(url: string): Promise<HttpRecorder> {
  const proxy = await httpRecorder(url);
  cleanups.push(() => proxy.close());
  return proxy;
}

/** The ids a call received are consecutive runs of what the camera sent: nothing invented, in order. */
function expectCameraIds(ids: number[]): void {
  expect(ids.length).toBeGreaterThan(10);
  for (let i = 1; i < ids.length; i++) expect(ids[i]).toBeGreaterThan(ids[i - 1]!);
}

describe('WHIP and WHEP endpoints of the signaling server', { timeout: 40_000 }, () => {
  it("a WHIP publisher is the room's caller: the waiting viewer gets its frames; candidates in one PATCH; restart; DELETE", async () => {
    const server = await kit.server();
    const proxy = await proxied(server.url);
    const viewer = side(new RoomSignaling({ url: server.url, role: 'answerer', room: 'lab' }), cleanups);
    await viewer.negotiator.start();
    const publisher = side(new WhipSignaling({ url: `${proxy.url}/whip/lab` }), cleanups, camera(cleanups));
    await publisher.negotiator.start();
    await flowing(viewer.calls, 30);
    expect(publisher.signaling.sessionUrl).toMatch(new RegExp(`^${proxy.url}/whip/lab/[A-Za-z0-9_-]{22}$`));

    // The POST: an SDP offer without candidates (sent before gathering), 201 with the answer and its candidates.
    const [post, ...rest] = proxy.exchanges;
    expect(post).toMatchObject({ method: 'POST', path: '/whip/lab', status: 201 });
    expect(post!.headers['content-type']).toBe('application/sdp');
    expect(post!.body).not.toContain('a=candidate');
    expect(post!.responseHeaders['accept-patch']).toBe('application/trickle-ice-sdpfrag');
    expect(post!.responseBody).toMatch(/a=candidate:.*typ host/);
    // Every candidate gathered after the POST went in one PATCH, with the session's ETag and the end.
    await waitFor('the PATCH', () => (rest.length > 0 || proxy.exchanges.length > 1 ? true : undefined));
    const patches = proxy.exchanges.filter((e) => e.method === 'PATCH');
    expect(patches, JSON.stringify(patches.map((p) => p.body))).toHaveLength(1);
    expect(patches[0]!.headers['if-match']).toBe(post!.responseHeaders.etag);
    expect(patches[0]!.headers['content-type']).toBe('application/trickle-ice-sdpfrag');
    expect(patches[0]!.body).toMatch(/^a=group:BUNDLE 0\r\nm=video .*\r\na=mid:0\r\na=ice-ufrag:/);
    expect(patches[0]!.body).toMatch(/a=candidate:.*typ host[\s\S]*a=end-of-candidates\r\n$/);
    expect(patches[0]!.status).toBe(204);

    // An ICE restart: PATCH with If-Match: *, the new credentials; 200 with the viewer's new ones. Same calls.
    const viewerCall = viewer.calls[0]!;
    const before = ufragOf(SessionDescriptions.of(viewerCall.pc).remote);
    const framesBefore = viewerCall.frames;
    publisher.negotiator.restartAll('test');
    await waitFor('new credentials at the viewer', () =>
      ufragOf(SessionDescriptions.of(viewerCall.pc).remote) !== before ? true : undefined,
    );
    await flowing(viewer.calls, framesBefore + 30);
    const restart = proxy.exchanges.find((e) => e.method === 'PATCH' && e.headers['if-match'] === '*');
    expect(restart).toMatchObject({ status: 200 });
    expect(restart!.body).toContain(
      `a=ice-ufrag:${ufragOf(SessionDescriptions.of(publisher.calls[0]!.pc).local)}`,
    );
    expect(restart!.responseBody).toContain(
      `a=ice-ufrag:${ufragOf(SessionDescriptions.of(viewerCall.pc).local)}`,
    );
    expect(restart!.responseHeaders.etag).not.toBe(post!.responseHeaders.etag);
    expect(viewer.calls).toHaveLength(1);
    expect(publisher.calls).toHaveLength(1);
    expectCameraIds(viewerCall.ids);

    // The end: DELETE of the session; the viewer hears the bye; the server has only the viewer left.
    const sessionPath = new URL(publisher.signaling.sessionUrl!).pathname;
    publisher.negotiator.close();
    await publisher.signaling.close();
    expect(proxy.exchanges.filter((e) => e.method === 'DELETE')).toMatchObject([
      { path: sessionPath, status: 200 },
    ]);
    await waitFor("the viewer's call ended", () => (viewer.ended.length > 0 ? true : undefined));
    expect(viewer.ended.map(([, r]) => r)).toEqual(['peer-hangup']);
    await waitFor('one client left', () => (server.stats().clients === 1 ? true : undefined));
  });

  it('room tokens: a WHIP publisher is admitted as the caller of its room, a WHEP player as an answerer', async () => {
    const secret = 'w'.repeat(40);
    const lines: string[] = [];
    const server = await kit.server({ tokenSecret: secret, securityLog: (l) => lines.push(l) });
    const tokenFor = (room: string, role: 'caller' | 'answerer', now?: Date): Promise<string> =>
      signRoomToken(secret, { room, role, ttlSeconds: 60 }, now);
    const post = (path: string, token: string): Promise<Response> =>
      fetch(`${server.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/sdp', authorization: `Bearer ${token}` },
        body: FAKE_OFFER,
      });
    // Refusals, each before anything joins: another room or role (403), expired or forged (401).
    const wrongRoom = await post('/whip/lab', await tokenFor('other', 'caller'));
    expect(wrongRoom.status).toBe(403);
    expect(await wrongRoom.text()).toMatch(
      /^TOKEN_WRONG_ROOM: the room token is for room "other", not "lab"/,
    );
    const wrongRole = await post('/whep/lab', await tokenFor('lab', 'caller'));
    expect(wrongRole.status).toBe(403);
    expect(await wrongRole.text()).toMatch(/^TOKEN_WRONG_ROLE: the room token is for the caller role/);
    const expired = await post('/whip/lab', await tokenFor('lab', 'caller', new Date(Date.now() - 120_000)));
    expect(expired.status).toBe(401);
    expect(expired.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');
    expect(await expired.text()).toMatch(/^TOKEN_EXPIRED: the room token expired at/);
    const forged = await post(
      '/whip/lab',
      await signRoomToken('f'.repeat(40), { room: 'lab', role: 'caller', ttlSeconds: 60 }),
    );
    expect(forged.status).toBe(401);
    expect(await forged.text()).toMatch(/^TOKEN_INVALID/);
    expect(server.stats()).toMatchObject({ rooms: 0, refused: { auth: 4 } });
    expect(lines.filter((l) => /refused 127\.0\.0\.1: TOKEN_\w+ at WH[IE]P: /.test(l))).toHaveLength(4);

    // Admitted: a WHIP camera and a WHEP player with their room tokens, a socket viewer with its own.
    const viewer = side(
      new RoomSignaling({
        url: server.url,
        role: 'answerer',
        room: 'lab',
        token: await tokenFor('lab', 'answerer'),
      }),
      cleanups,
    );
    await viewer.negotiator.start();
    const publisher = side(
      new WhipSignaling({ url: `${server.url}/whip/lab`, token: await tokenFor('lab', 'caller') }),
      cleanups,
      camera(cleanups),
    );
    await publisher.negotiator.start();
    await flowing(viewer.calls, 30);
    expectCameraIds(viewer.calls[0]!.ids);
    // The WHIP publisher has one connection: a WHEP player needs a camera that serves several (a room caller).
    const cam = side(
      new RoomSignaling({
        url: server.url,
        role: 'caller',
        room: 'cam',
        token: await tokenFor('cam', 'caller'),
      }),
      cleanups,
      camera(cleanups),
    );
    await cam.negotiator.start();
    const watcher = side(
      new WhepSignaling({ url: `${server.url}/whep/cam`, token: await tokenFor('cam', 'answerer') }),
      cleanups,
    );
    await watcher.negotiator.start();
    await flowing(watcher.calls, 30);
    expectCameraIds(watcher.calls[0]!.ids);
    // The sessions end with DELETE, authorized by the same tokens.
    publisher.negotiator.close();
    await publisher.signaling.close();
    watcher.negotiator.close();
    await watcher.signaling.close();
    await waitFor('the WHIP and WHEP bridges gone', () => (server.stats().clients === 2 ? true : undefined));
    expect(server.stats().refused.auth).toBe(4);
  });

  it('a WHIP publisher first: its offer waits for the next viewer, who takes it', async () => {
    const server = await kit.server();
    const publisher = side(
      new WhipSignaling({ url: `${server.url}/whip/later` }),
      cleanups,
      camera(cleanups),
    );
    const started = publisher.negotiator.start();
    await waitFor('the bridge in the room', () => (server.stats().rooms === 1 ? true : undefined));
    const viewer = side(new RoomSignaling({ url: server.url, role: 'answerer', room: 'later' }), cleanups);
    await viewer.negotiator.start();
    await started;
    await flowing(viewer.calls, 30);
    expectCameraIds(viewer.calls[0]!.ids);
  });

  it("a WHEP viewer is one more viewer of the room's camera: it offers, the camera answers, frames flow", async () => {
    const server = await kit.server();
    const proxy = await proxied(server.url);
    const cam = side(
      new RoomSignaling({ url: server.url, role: 'caller', room: 'cam' }),
      cleanups,
      camera(cleanups),
    );
    await cam.negotiator.start();
    const watcher = side(new WhepSignaling({ url: `${proxy.url}/whep/cam` }), cleanups);
    await watcher.negotiator.start();
    await flowing(watcher.calls, 30);
    const post = proxy.exchanges[0]!;
    expect(post).toMatchObject({ method: 'POST', path: '/whep/cam', status: 201 });
    expect(post.body).toMatch(/a=recvonly/);
    expect(post.responseBody).toMatch(/a=sendonly/);
    // The camera made one call for it (answering its offer), besides the spare it holds for the next viewer.
    expect(cam.negotiator.calls).toHaveLength(1);
    expect(cam.owned[0]![1]).toMatchObject({ role: 'answerer', offers: true });

    // The viewer restarts ICE (it made the offer): the camera renegotiates the same call.
    const call = watcher.calls[0]!;
    const framesBefore = call.frames;
    const before = ufragOf(SessionDescriptions.of(call.pc).remote);
    watcher.negotiator.restartAll('test');
    await waitFor('new camera credentials', () =>
      ufragOf(SessionDescriptions.of(call.pc).remote) !== before ? true : undefined,
    );
    await flowing(watcher.calls, framesBefore + 30);
    expect(cam.negotiator.calls).toHaveLength(1);
    expectCameraIds(call.ids);

    // The camera ends that call (as for a viewer whose ICE did not come back): the session is over on the
    // server (its bridge leaves the room); the client learns it at its next request: 404.
    const sessionPath = new URL(watcher.signaling.sessionUrl!).pathname;
    cam.negotiator.end(cam.negotiator.calls[0]!);
    await waitFor('the bridge left', () => (server.stats().clients === 1 ? true : undefined));
    watcher.negotiator.close();
    await watcher.signaling.close();
    expect(proxy.exchanges.filter((e) => e.method === 'DELETE')).toMatchObject([
      { path: sessionPath, status: 404 },
    ]);
  });
});
