/**
 * A WHIP publisher watched by the real CLI: `rtc-peer signal` and `rtc-peer answer --room lab --record` as
 * separate processes (today's answerer, the original protocol), and a WHIP client publishing rtc-peer's test
 * pattern into /whip/lab. The recording is decoded and judged against what was sent, as for a Socket.IO call.
 */
import wrtc from '@roamhq/wrtc';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { VideoCapture } from '../../src/capture/video-capture.js';
import { WhipSignaling } from '../../src/signal/whip/whip-signaling.js';
import { killAll, startCli, startSignalCli } from '../helpers/cli.js';
import { testFfmpeg } from '../helpers/media.js';
import { side } from '../helpers/negotiated-call.js';
import { expectPatternRecording } from '../helpers/pattern-recording.js';
import { waitFor } from '../helpers/signal-server.js';

let dir: string;
const cleanups: Array<() => unknown> = [];
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'rtc-peer-whip-e2e-'));
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  await killAll();
  rmSync(dir, { recursive: true, force: true });
});

describe('WHIP into a room watched by rtc-peer answer', () => {
  test("the answerer records the WHIP publisher's test pattern; the DELETE ends its call; it exits 0", async () => {
    const { url } = await startSignalCli();
    const file = path.join(dir, 'whip.webm');
    const answerer = startCli([
      'answer',
      '--signal',
      url,
      '--room',
      'lab',
      '--record',
      file,
      '--once',
      '--stun',
      'none',
    ]);
    await answerer.waitFor('joined');
    const from = Date.now();
    const capture = new VideoCapture({ source: { kind: 'test-pattern' }, ffmpegPath: await testFfmpeg() });
    const source = new wrtc.nonstandard.RTCVideoSource();
    capture.on('frame', (frame) => source.onFrame(frame as unknown as Parameters<typeof source.onFrame>[0]));
    await capture.start();
    const track = source.createTrack();
    cleanups.push(async () => (track.stop(), await capture.stop()));
    const publisher = side(new WhipSignaling({ url: `${url}/whip/lab` }), cleanups, track);
    await publisher.negotiator.start();
    const pc = publisher.calls[0]!.pc;
    await waitFor('connected', () => (pc.connectionState === 'connected' ? true : undefined), 10_000);
    await new Promise((r) => setTimeout(r, 4000));
    publisher.negotiator.close();
    await publisher.signaling.close(); // the DELETE: the bridge says bye in the room
    const ended = await answerer.waitFor('call-ended', 10_000);
    const to = Date.now();
    expect(ended.reason).toBe('peer-hangup');
    expect((await answerer.exited).code).toBe(0);
    const { distinct, sentSpan } = await expectPatternRecording(file, {
      durationSec: 4,
      sentBetween: { from, to },
      receiver: ended,
    });
    console.log('WHIP publisher recorded by rtc-peer answer:', { distinct, sentSpan });
  }, 40_000);
});
