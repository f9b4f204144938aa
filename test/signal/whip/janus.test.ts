/**
 * rtc-peer's WHIP client against a real SFU it did not write: Janus 1.1 (VideoRoom) behind meetecho's
 * simple-whip-server, in a network namespace (test/helpers/janus.ts). The witness is Janus's own recording of
 * the publisher, converted by janus-pp-rec and decoded: the frames it holds carry the barcodes rtc-peer's test
 * pattern stamped (frame id and capture time), checked against what was sent. A second publish to the same
 * endpoint after the first ended proves the DELETE (simple-whip-server refuses a second publisher with 403
 * while the first session lives, as the test shows too); an ICE restart by PATCH keeps the same recording
 * going.
 */
import wrtc from '@roamhq/wrtc';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { VideoCapture } from '../../../src/capture/video-capture.js';
import { SignalError } from '../../../src/errors.js';
import { WhipSignaling } from '../../../src/signal/whip/whip-signaling.js';
import { startJanusLab, type JanusLab } from '../../helpers/janus.js';
import { inspectRecording, testFfmpeg } from '../../helpers/media.js';
import { side, ufragOf } from '../../helpers/negotiated-call.js';
import { processesWithArg } from '../../helpers/procs.js';
import { waitFor } from '../../helpers/signal-server.js';
import { SessionDescriptions } from '../../../src/peer/descriptions.js';

let lab: JanusLab;
let labDir: string;
beforeAll(async () => {
  lab = await startJanusLab();
  labDir = path.dirname(lab.recordingsDir);
}, 30_000);
afterAll(async () => {
  await lab?.stop();
  // Nothing of the lab is left: no process holds its files.
  expect(processesWithArg(labDir)).toEqual([]);
}, 15_000);

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** The test pattern at 640x480@30, captured by ffmpeg as `rtc-peer call` does, into a wrtc track. */
async function testPattern(): Promise<{ track: MediaStreamTrack; sent: Map<number, number> }> {
  const capture = new VideoCapture({ source: { kind: 'test-pattern' }, ffmpegPath: await testFfmpeg() });
  const source = new wrtc.nonstandard.RTCVideoSource();
  const sent = new Map<number, number>(); // frame id -> Date.now() when it was handed to the encoder
  capture.on('frame', (frame, id) => {
    source.onFrame(frame as unknown as Parameters<typeof source.onFrame>[0]);
    sent.set(id, Date.now());
  });
  await capture.start();
  const track = source.createTrack();
  cleanups.push(async () => {
    track.stop();
    await capture.stop();
  });
  return { track, sent };
}

/** Publishes `track` to `url` for `seconds` after ICE connects; resolves when the session was DELETEd. */
async function publish(
  url: string,
  track: MediaStreamTrack,
  seconds: number,
  during?: (s: ReturnType<typeof side<WhipSignaling>>) => Promise<void>,
) {
  const publisher = side(new WhipSignaling({ url }), [], track);
  try {
    await publisher.negotiator.start();
    const pc = publisher.calls[0]!.pc;
    await waitFor(
      'ICE connected to Janus',
      () => (pc.connectionState === 'connected' ? true : undefined),
      10_000,
    );
    const connectedAt = Date.now();
    await during?.(publisher);
    await new Promise((r) => setTimeout(r, seconds * 1000 - (Date.now() - connectedAt)));
    // What libwebrtc put on the wire, for the comparison with what Janus kept.
    let framesSent = 0;
    (await pc.getStats()).forEach((r: { type: string; kind?: string; framesSent?: number }) => {
      if (r.type === 'outbound-rtp' && r.kind === 'video') framesSent = r.framesSent ?? 0;
    });
    return { connectedAt, endedAt: Date.now(), framesSent, publisher };
  } finally {
    // The session is DELETEd first, while the connection still runs: Janus ends it because it is told to.
    publisher.negotiator.close();
    await publisher.signaling.close();
    for (const c of publisher.calls) c.close();
  }
}

/** Janus's recording of a publish, decoded, checked against what was sent; returns its figures. */
async function expectJanusRecording(
  index: number,
  sent: Map<number, number>,
  window: { connectedAt: number; endedAt: number; framesSent: number },
) {
  await waitFor(
    `recording ${index + 1}`,
    () => (lab.videoRecordings().length > index ? true : undefined),
    10_000,
  );
  // Janus closes the file when the publisher's handle goes (the DELETE); its log says so.
  await waitFor(
    'the recording closed',
    () => ((lab.logs().janus.match(/Closed video recording/g)?.length ?? 0) > index ? true : undefined),
    10_000,
  );
  const webm = lab.convert(lab.videoRecordings()[index]!);
  const rec = await inspectRecording(webm);
  const ids = rec.barcodes.filter((b) => b !== null).map((b) => b.frameId);
  const distinctIds = [...new Set(ids)];
  const gaps = distinctIds.flatMap((id, i) =>
    i > 0 && id - distinctIds[i - 1]! > 1 ? [`${distinctIds[i - 1]}-${id}`] : [],
  );
  const figures = {
    frames: rec.frames,
    withIds: ids.length,
    distinct: new Set(ids).size,
    first: ids[0],
    last: ids.at(-1),
    gaps,
  };
  expect(rec.codec).toBe('vp8');
  expect([rec.width, rec.height]).toEqual([640, 480]);
  expect(rec.decodeErrors).toEqual([]);
  // Every frame decoded is one rtc-peer sent, in order. (The decoder's constant frame rate repeats a frame
  // where the recording's timing has a gap: repeats are not new frames.)
  expect(ids.length, JSON.stringify(figures)).toBe(rec.frames);
  for (let i = 1; i < ids.length; i++) expect(ids[i]).toBeGreaterThanOrEqual(ids[i - 1]!);
  for (const id of ids) expect(sent.has(id)).toBe(true);
  // It covers the publish: from within a second of ICE connecting to the end, by the capture clock.
  const firstSent = sent.get(ids[0]!)!;
  const lastSent = sent.get(ids.at(-1)!)!;
  expect(firstSent - window.connectedAt).toBeLessThan(1000);
  expect(window.endedAt - lastSent).toBeLessThan(1000);
  // The capture ran at 30 fps over that span (by its clock)...
  const span = ids.at(-1)! - ids[0]! + 1;
  expect(span / ((lastSent - firstSent) / 1000)).toBeGreaterThan(27);
  // ...and every frame the encoder put on the wire is in Janus's file. (The encoder itself skips frames while
  // its bitrate ramps up, as libwebrtc does at the start of a call, up to one in three for the first second
  // or two: those were never sent, and are not Janus's to keep.)
  // (The count is read just before the DELETE: the few frames sent while it travels are in the file too.)
  expect(figures.distinct, JSON.stringify(figures)).toBeLessThanOrEqual(window.framesSent + 5);
  expect(figures.distinct, JSON.stringify(figures)).toBeGreaterThanOrEqual(window.framesSent * 0.97);
  return { ...figures, framesSent: window.framesSent };
}

describe('WHIP into Janus', { timeout: 60_000 }, () => {
  it('publishes the test pattern; Janus records every frame, read back by frame id; a second publish after the DELETE', async () => {
    const url = await lab.createEndpoint('cam');
    const { track, sent } = await testPattern();
    const first = await publish(url, track, 4);
    const one = await expectJanusRecording(0, sent, first);
    // simple-whip-server ended the session on our DELETE, not on seeing the connection close.
    expect(lab.logs().whip).toMatch(/\[cam\] Terminating WHIP session/);
    expect(lab.logs().whip).not.toMatch(/\[cam\] PeerConnection detected as closed/);
    console.log('Janus recording 1:', one);

    // The endpoint is free again only because the first session was DELETEd: a second publisher is taken.
    const second = await publish(url, track, 3);
    const two = await expectJanusRecording(1, sent, second);
    expect(two.first).toBeGreaterThan(one.last!);
    console.log('Janus recording 2:', two);
  });

  it('while a session lives, the endpoint refuses another publisher: 403 with its text, named', async () => {
    const url = await lab.createEndpoint('busy');
    const { track } = await testPattern();
    const publisher = side(new WhipSignaling({ url }), cleanups, track);
    await publisher.negotiator.start();
    const intruder = new WhipSignaling({ url, connectTimeoutMs: 2000 });
    cleanups.push(() => intruder.close());
    const pc = new wrtc.RTCPeerConnection() as unknown as RTCPeerConnection;
    cleanups.push(() => pc.close());
    pc.addTransceiver('video', { direction: 'sendonly' });
    const offer = await pc.createOffer();
    const error = await intruder.send({ type: 'offer', sdp: offer.sdp! }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SignalError);
    expect((error as SignalError).message).toBe(
      `POST of the WHIP offer to ${url} answered 403 Forbidden: Endpoint ID already in use; the token is not allowed here: check --token and the URL`,
    );
    expect((error as SignalError).status).toBe(403);
  });

  it('an ICE restart by PATCH (If-Match: *) keeps the same session and recording', async () => {
    const url = await lab.createEndpoint('restart');
    const { track, sent } = await testPattern();
    const before = lab.videoRecordings().length;
    const run = await publish(url, track, 5, async (publisher) => {
      const pc = publisher.calls[0]!.pc;
      const ufrag = ufragOf(SessionDescriptions.of(pc).remote);
      await new Promise((r) => setTimeout(r, 1000));
      publisher.negotiator.restartAll('test');
      await waitFor(
        "Janus's new credentials",
        () => (ufragOf(SessionDescriptions.of(pc).remote) !== ufrag ? true : undefined),
        10_000,
      );
      expect(publisher.signaling.sessionUrl).toMatch(/\/whip\/resource\/restart$/);
    });
    expect(lab.logs().whip).toMatch(/\[restart\] Performing ICE restart/);
    const figures = await expectJanusRecording(before, sent, run);
    expect(lab.videoRecordings()).toHaveLength(before + 1);
    console.log('Janus recording across an ICE restart:', figures);
  });
});
