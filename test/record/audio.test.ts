import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { afterEach, describe, expect, it } from 'vitest';
import { writeFlash } from '../../src/capture/test-beep.js';
import { Recorder } from '../../src/record/recorder.js';
import {
  decodeAudio,
  DECODE_RATE,
  findBeepOnsets,
  inspectRecording,
  syntheticFrame,
  testFfmpeg,
} from '../helpers/media.js';
import { ffmpegDescendants } from '../helpers/procs.js';

const dirs: string[] = [];
const recorders: Recorder[] = [];
afterEach(async () => {
  await Promise.all(recorders.splice(0).map((r) => r.stop().catch(() => undefined)));
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function recorder(name: string, extra: Partial<ConstructorParameters<typeof Recorder>[0]> = {}) {
  const dir = await mkdtemp(path.join(tmpdir(), 'rtc-peer-record-audio-'));
  dirs.push(dir);
  const file = path.join(dir, name);
  const r = new Recorder({ path: file, ffmpegPath: await testFfmpeg(), maxQueuedFrames: 200, ...extra });
  recorders.push(r);
  return { r, file };
}

/** A 10 ms chunk of a 1 kHz tone (or silence) at `rate`. */
function chunk(
  rate: number,
  loud: boolean,
): { samples: Int16Array; sampleRate: number; channelCount: number } {
  const n = rate / 100;
  const samples = new Int16Array(n);
  if (loud)
    for (let i = 0; i < n; i++) samples[i] = Math.round(8000 * Math.sin((2 * Math.PI * 1000 * i) / rate));
  return { samples, sampleRate: rate, channelCount: 1 };
}

function rmsBetween(samples: Int16Array, fromSec: number, toSec: number): number {
  let sum = 0;
  const a = Math.round(fromSec * DECODE_RATE);
  const b = Math.round(toSec * DECODE_RATE);
  for (let i = a; i < b; i++) sum += (samples[i] ?? 0) ** 2;
  return Math.sqrt(sum / Math.max(1, b - a));
}

/** Onsets (pts) of flashed frames that follow an unflashed one. */
function flashOnsets(flashes: boolean[], pts: number[]): number[] {
  return flashes.flatMap((f, i) => (f && !flashes[i - 1] && i > 0 ? [pts[i] ?? -1] : []));
}

describe('Recorder with audio', () => {
  it(
    'Opus next to VP8 on one clock: durations match, beeps land on their flashed frames, 16 kHz resampled',
    { timeout: 20_000 },
    async () => {
      const { r, file } = await recorder('av.webm');
      r.expectTrack('video');
      r.expectTrack('audio');
      // A synthetic 2 s timeline of arrivals: frames every 33.3 ms from T, sound from T + 50 ms (the first
      // chunks at 16 kHz, as NetEq gives them), a beep and a flash at 0.5 s and 1.5 s.
      const T = performance.now();
      const events: { at: number; write: () => void }[] = [];
      for (let k = 0; k < 60; k++) {
        const at = (k * 1000) / 30;
        events.push({
          at,
          write: () => {
            const f = syntheticFrame(320, 240, k);
            writeFlash(f.data, 320, 240, at % 1000 >= 500 && at % 1000 < 600);
            r.writeFrame(f, T + at);
          },
        });
      }
      for (let j = 0; j < 195; j++) {
        const at = 50 + j * 10;
        events.push({
          at,
          write: () =>
            r.writeAudio(chunk(j < 5 ? 16_000 : 48_000, at % 1000 >= 500 && at % 1000 < 600), T + at),
        });
      }
      events.sort((a, b) => a.at - b.at);
      for (const e of events) e.write();
      const summary = await r.stop();
      expect(summary).toMatchObject({ frames: 60, width: 320, height: 240 });
      expect(summary.audio).toMatchObject({ sampleRate: 48_000, channels: 1, droppedChunks: 0 });
      expect(summary.audio?.durationSec).toBeCloseTo(2, 2);
      expect(summary.audio?.silenceSec).toBeCloseTo(0.05, 2);

      const video = await inspectRecording(file);
      const audio = await decodeAudio(file);
      expect(video).toMatchObject({ codec: 'vp8', frames: 60, exitCode: 0, decodeErrors: [] });
      expect(audio).toMatchObject({ codec: 'opus', channels: 1, decodeErrors: [] });
      expect(Math.abs((audio?.durationSec ?? 0) - video.decodedDurationSec)).toBeLessThan(0.05);
      const beeps = findBeepOnsets(audio?.samples ?? new Int16Array(0));
      const flashes = flashOnsets(video.flashes, video.ptsSec);
      // (the muxer may shift both streams by the Opus encoder's few ms of priming)
      expect(flashes).toHaveLength(2);
      expect(flashes[0]).toBeGreaterThanOrEqual(0.5);
      expect(flashes[0]).toBeLessThan(0.53);
      expect((flashes[1] ?? 0) - (flashes[0] ?? 0)).toBeCloseTo(1, 2);
      expect(beeps).toHaveLength(2);
      beeps.forEach((b, i) => expect(Math.abs(b - (flashes[i] ?? 0))).toBeLessThan(0.02));
      expect(ffmpegDescendants()).toEqual([]);
    },
  );

  it(
    'audio only: an Opus file; sound that stopped for 0.5 s gets 0.5 s of silence in its place',
    { timeout: 20_000 },
    async () => {
      const { r, file } = await recorder('audio-only.mkv');
      r.expectTrack('audio');
      const T = performance.now();
      for (let j = 0; j < 200; j++) {
        if (j >= 100 && j < 150) continue; // nothing arrives from 1.0 to 1.5 s
        r.writeAudio(chunk(48_000, true), T + j * 10);
      }
      const summary = await r.stop();
      expect(summary).toMatchObject({ frames: 0, width: 0, height: 0 });
      expect(summary.audio?.durationSec).toBeCloseTo(2, 2);
      expect(summary.audio?.silenceSec).toBeCloseTo(0.5, 2);
      expect(summary.durationSec).toBeCloseTo(2, 2);
      const audio = await decodeAudio(file);
      expect(audio?.codec).toBe('opus');
      expect(audio?.durationSec).toBeGreaterThan(1.95);
      expect(audio?.durationSec).toBeLessThan(2.1);
      const s = audio?.samples ?? new Int16Array(0);
      expect(rmsBetween(s, 0.1, 0.9)).toBeGreaterThan(3000);
      expect(rmsBetween(s, 1.05, 1.45)).toBeLessThan(100);
      expect(rmsBetween(s, 1.6, 1.9)).toBeGreaterThan(3000);
    },
  );

  it(
    'a burst of late chunks (node stalled) is not a gap: no silence, nothing dropped',
    { timeout: 20_000 },
    async () => {
      const { r } = await recorder('burst.webm');
      r.expectTrack('audio');
      const T = performance.now();
      for (let j = 0; j < 100; j++) {
        // chunks 40-59 all arrive at 600 ms, as after a 200 ms stall
        const at = j >= 40 && j < 60 ? 600 : j * 10;
        r.writeAudio(chunk(48_000, true), T + at);
      }
      const summary = await r.stop();
      expect(summary.audio?.silenceSec).toBe(0);
      expect(summary.audio?.droppedChunks).toBe(0);
      expect(summary.audio?.durationSec).toBeCloseTo(1, 2);
    },
  );

  it(
    'video expected but never comes: after waitForTracksMs the sound is recorded alone',
    { timeout: 20_000 },
    async () => {
      const { r, file } = await recorder('no-video.webm', { waitForTracksMs: 300 });
      r.expectTrack('video');
      r.expectTrack('audio');
      const t0 = performance.now();
      while (performance.now() - t0 < 800) {
        r.writeAudio(chunk(48_000, true));
        await new Promise((res) => setTimeout(res, 10));
      }
      // a frame after the file started without video is not recorded
      r.writeFrame(syntheticFrame(320, 240, 0));
      const summary = await r.stop();
      expect(summary.frames).toBe(0);
      expect(summary.audio?.durationSec).toBeGreaterThan(0.7);
      expect((await decodeAudio(file))?.codec).toBe('opus');
    },
  );
});

describe('Recorder with audio, in real time', () => {
  it(
    'opening the audio input does not stall the video: no frame dropped (regression: ffmpeg probed ~1 s of PCM)',
    { timeout: 20_000 },
    async () => {
      const { r } = await recorder('realtime.webm', { maxQueuedFrames: 8 });
      r.expectTrack('video');
      r.expectTrack('audio');
      const t0 = performance.now();
      let frames = 0;
      let chunks = 0;
      while (performance.now() - t0 < 1500) {
        const elapsed = performance.now() - t0;
        for (; chunks * 10 <= elapsed; chunks++) r.writeAudio(chunk(48_000, false));
        for (; frames * (1000 / 30) <= elapsed; frames++) r.writeFrame(syntheticFrame(320, 240, frames));
        await new Promise((res) => setTimeout(res, 5));
      }
      const summary = await r.stop();
      expect(summary.dropped).toBe(0);
      expect(r.stats.framesWritten).toBe(frames);
      expect(summary.audio?.droppedChunks).toBe(0);
    },
  );
});
