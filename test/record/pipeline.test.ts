import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import wrtc from '@roamhq/wrtc';
import { afterEach, describe, expect, it } from 'vitest';
import { VideoCapture } from '../../src/capture/video-capture.js';
import { Recorder } from '../../src/record/recorder.js';
import { checkRecordingPath } from '../../src/record/recording-path.js';
import { inspectRecording, testFfmpeg } from '../helpers/media.js';
import { connectLoopbackPair, type LoopbackPair } from '../helpers/wrtc-pair.js';

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  // reverse order: sink and capture before the peer connections, the recorder last
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('test pattern -> VideoCapture -> RTCVideoSource -> wrtc pair -> RTCVideoSink -> Recorder', () => {
  it(
    'records a WebM with the expected frames, duration, size and increasing frame ids',
    { timeout: 30_000 },
    async () => {
      const ffmpegPath = await testFfmpeg();
      const dir = await mkdtemp(path.join(tmpdir(), 'rtc-peer-pipeline-'));
      cleanups.push(() => rm(dir, { recursive: true, force: true }));
      const file = path.join(dir, 'call.webm');
      await checkRecordingPath(file, false);

      const recorder = new Recorder({ path: file, ffmpegPath });
      cleanups.push(() => recorder.stop().catch(() => undefined));
      const source = new wrtc.nonstandard.RTCVideoSource();
      const track = source.createTrack();
      cleanups.push(() => track.stop());
      const pair: LoopbackPair = await connectLoopbackPair(track as unknown as MediaStreamTrack);
      cleanups.push(() => pair.close());

      const sink = new wrtc.nonstandard.RTCVideoSink(pair.remoteTrack as never);
      cleanups.push(() => sink.stop());
      let received = 0;
      let firstArrival = 0;
      sink.onframe = ({ frame }: { frame: { width: number; height: number; data: Uint8Array } }) => {
        if (received++ === 0) firstArrival = performance.now();
        recorder.writeFrame(frame);
      };

      const capture = new VideoCapture({
        source: { kind: 'test-pattern' },
        ffmpegPath,
        width: 640,
        height: 480,
        fps: 30,
      });
      cleanups.push(() => capture.stop());
      capture.on('frame', (frame) =>
        source.onFrame(frame as unknown as { width: number; height: number; data: Uint8Array }),
      );
      await capture.start();

      await new Promise((r) => setTimeout(r, 4000));
      await capture.stop();
      sink.stop();
      const expectedSec = (performance.now() - firstArrival) / 1000;
      const summary = await recorder.stop();
      const sent = capture.stats.framesCaptured;

      expect(pair.candidateErrors).toEqual([]);
      expect(received).toBeGreaterThan(0);
      expect(summary).toMatchObject({ path: file, width: 640, height: 480 });
      const info = await inspectRecording(file, ffmpegPath);
      expect(info).toMatchObject({ codec: 'vp8', width: 640, height: 480, exitCode: 0, decodeErrors: [] });
      // duration: the time frames were arriving, within 10%
      expect(Math.abs((info.containerDurationSec ?? 0) - expectedSec)).toBeLessThan(expectedSec * 0.1);
      expect(Math.abs(info.decodedDurationSec - expectedSec)).toBeLessThan(expectedSec * 0.1);
      // frame count: 30 fps over that time, within 10%
      expect(Math.abs(info.frames - expectedSec * 30)).toBeLessThan(expectedSec * 30 * 0.1);
      // content: the ids stamped at the source read back after VP8 in wrtc and VP8 in the file, in order
      const ids = info.barcodes.filter((b) => b !== null).map((b) => b.frameId);
      expect(ids.length).toBeGreaterThan(info.frames * 0.9);
      expect(ids.every((v, i) => i === 0 || v >= (ids[i - 1] ?? 0))).toBe(true);
      const distinct = new Set(ids).size;
      // most of what was sent arrived and was recorded (wrtc may drop some under CPU load)
      expect(distinct).toBeGreaterThan(sent * 0.6);
      console.log(
        `pipeline: sent ${sent}, received ${received}, file ${info.frames} frames / ${info.containerDurationSec} s ` +
          `(expected ${expectedSec.toFixed(2)} s), ${distinct} distinct ids, recorder ${JSON.stringify(recorder.stats)}`,
      );
    },
  );
});
