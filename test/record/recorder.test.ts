import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { afterEach, describe, expect, it } from 'vitest';
import { FfmpegError } from '../../src/errors.js';
import { writeBarcode } from '../../src/capture/barcode.js';
import { Recorder } from '../../src/record/recorder.js';
import { inspectRecording, syntheticFrame, testFfmpeg } from '../helpers/media.js';
import { describeProcs, ffmpegDescendants } from '../helpers/procs.js';

const dirs: string[] = [];
const recorders: Recorder[] = [];
afterEach(async () => {
  // A test may have stopped a recorder's ffmpeg (SIGSTOP): let it go on so that it can finish.
  for (const { pid } of ffmpegDescendants()) process.kill(pid, 'SIGCONT');
  await Promise.all(recorders.splice(0).map((r) => r.stop().catch(() => undefined)));
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
  // Judged by the OS, not by the module's own list of children: no ffmpeg of this process outlives a test.
  const left = ffmpegDescendants();
  expect(left, describeProcs(left)).toEqual([]);
});

async function tempDir(): Promise<string> {
  const d = await mkdtemp(path.join(tmpdir(), 'rtc-peer-record-'));
  dirs.push(d);
  return d;
}

async function recorder(file: string, extra: Partial<ConstructorParameters<typeof Recorder>[0]> = {}) {
  const r = new Recorder({ path: file, ffmpegPath: await testFfmpeg(), ...extra });
  recorders.push(r);
  return r;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function increasing(ids: number[]): boolean {
  return ids.every((v, i) => i === 0 || v >= (ids[i - 1] ?? 0));
}

describe('Recorder options', () => {
  it('rejects bad options with TypeError', async () => {
    const ffmpegPath = await testFfmpeg();
    expect(() => new Recorder({ path: 'out.mp4', ffmpegPath })).toThrow(/use a .webm or .mkv name/);
    expect(() => new Recorder({ path: 'out.webm', ffmpegPath, maxQueuedFrames: 0 })).toThrow(TypeError);
    expect(() => new Recorder({ path: 'out.webm', ffmpegPath: '' })).toThrow(/ffmpegPath/);
  });
});

describe('Recorder', () => {
  it(
    'duration follows wall-clock arrival with a varying rate and a 1 s gap',
    { timeout: 20_000 },
    async () => {
      const file = path.join(await tempDir(), 'vary.webm');
      const r = await recorder(file);
      const t0 = performance.now();
      let id = 0;
      // 1 s at ~30 fps with jitter, a 1 s gap, 1 s at ~12 fps
      while (performance.now() - t0 < 1000) {
        r.writeFrame(syntheticFrame(320, 240, id++));
        await sleep(25 + (id % 3) * 10);
      }
      await sleep(1000);
      const t1 = performance.now();
      while (performance.now() - t1 < 1000) {
        r.writeFrame(syntheticFrame(320, 240, id++));
        await sleep(80);
      }
      const wallSec = (performance.now() - t0) / 1000;
      const summary = await r.stop();
      expect(summary).toMatchObject({ path: file, width: 320, height: 240, dropped: 0 });
      expect(summary.durationSec).toBeCloseTo(wallSec, 1);
      const info = await inspectRecording(file);
      expect(info).toMatchObject({ codec: 'vp8', width: 320, height: 240, exitCode: 0, decodeErrors: [] });
      expect(info.containerDurationSec).not.toBeNull();
      expect(Math.abs((info.containerDurationSec ?? 0) - wallSec)).toBeLessThan(wallSec * 0.05);
      expect(Math.abs(info.decodedDurationSec - wallSec)).toBeLessThan(wallSec * 0.05);
      expect(info.frames).toBe(summary.frames);
      const ids = info.barcodes.map((b) => b?.frameId ?? -1);
      expect(ids.filter((v) => v < 0)).toEqual([]);
      expect(increasing(ids)).toBe(true);
      // every frame written shows up; repeats fill the gap
      expect(new Set(ids).size).toBe(id);
      expect(r.stats.framesWritten).toBe(id);
      // the gap: ~1 s of the same frame id, starting ~1 s in
      const counts = new Map<number, number>();
      for (const v of ids) counts.set(v, (counts.get(v) ?? 0) + 1);
      expect(Math.max(...counts.values())).toBeGreaterThanOrEqual(27);
    },
  );

  it(
    'frames that arrive in bursts (a busy CPU) are spread over the next slots, not dropped',
    { timeout: 20_000 },
    async () => {
      const file = path.join(await tempDir(), 'bursts.webm');
      const r = await recorder(file);
      const t0 = performance.now();
      let id = 0;
      // 30 fps on average, but three frames at once every 100 ms, for 2 s.
      while (performance.now() - t0 < 2000) {
        for (let i = 0; i < 3; i++) r.writeFrame(syntheticFrame(320, 240, id++));
        await sleep(100);
      }
      const wallSec = (performance.now() - t0) / 1000;
      const summary = await r.stop();
      expect(summary.dropped).toBe(0);
      const info = await inspectRecording(file);
      const ids = info.barcodes.map((b) => b?.frameId ?? -1);
      expect(increasing(ids)).toBe(true);
      expect(new Set(ids).size).toBe(id);
      expect(Math.abs(info.decodedDurationSec - wallSec)).toBeLessThan(wallSec * 0.1);
    },
  );

  it(
    'a resolution change mid-recording yields one playable file of the first size',
    { timeout: 20_000 },
    async () => {
      const file = path.join(await tempDir(), 'resize.webm');
      const r = await recorder(file);
      const sizes: [number, number][] = [
        [640, 480],
        [320, 240],
        [960, 720],
        [640, 480],
      ];
      let id = 0;
      for (const [w, h] of sizes) {
        for (let i = 0; i < 15; i++) {
          r.writeFrame(syntheticFrame(w, h, id++));
          await sleep(33);
        }
      }
      const summary = await r.stop();
      expect(summary).toMatchObject({ width: 640, height: 480 });
      expect(r.stats.resized).toBe(30);
      const info = await inspectRecording(file);
      expect(info).toMatchObject({ width: 640, height: 480, exitCode: 0, decodeErrors: [] });
      expect(info.containerDurationSec).toBeGreaterThan(1.8);
      const ids = info.barcodes.map((b) => b?.frameId ?? -1);
      // barcodes survive the scaling: frames from every size read back, in order
      expect(ids.filter((v) => v < 0).length).toBeLessThanOrEqual(2);
      expect(increasing(ids.filter((v) => v >= 0))).toBe(true);
      expect(ids).toContain(20);
      expect(ids).toContain(40);
    },
  );

  it(
    'stop({ endAtMs }) ends the file at the last frame, not when the hang-up was noticed',
    { timeout: 20_000 },
    async () => {
      const file = path.join(await tempDir(), 'ended-by-peer.webm');
      const r = await recorder(file);
      const t0 = performance.now();
      let id = 0;
      let lastAt = t0;
      while (performance.now() - t0 < 1000) {
        lastAt = performance.now();
        r.writeFrame(syntheticFrame(320, 240, id++), lastAt);
        await sleep(33);
      }
      // The other side's bye (or its silence) is noticed 1.5 s later.
      await sleep(1500);
      const summary = await r.stop({ endAtMs: lastAt });
      const mediaSec = (lastAt - t0) / 1000 + 1 / 30;
      const info = await inspectRecording(file);
      expect(info.decodeErrors).toEqual([]);
      // Regression: the last frame was held until stop(), 1.5 s of frozen picture.
      expect(Math.abs(info.decodedDurationSec - mediaSec)).toBeLessThan(0.1);
      expect(Math.abs(summary.durationSec - mediaSec)).toBeLessThan(0.1);
      expect(new Set(info.barcodes.map((b) => b?.frameId)).size).toBe(id);
    },
  );

  it('writes Matroska for .mkv', { timeout: 15_000 }, async () => {
    const file = path.join(await tempDir(), 'call.mkv');
    const r = await recorder(file);
    for (let i = 0; i < 10; i++) {
      r.writeFrame(syntheticFrame(320, 240, i));
      await sleep(33);
    }
    await r.stop();
    const info = await inspectRecording(file);
    expect(info.format).toMatch(/matroska/);
    expect(info.codec).toBe('vp8');
    expect(info.frames).toBeGreaterThanOrEqual(9);
  });

  it(
    'a stalled ffmpeg: the queue stays bounded, drops are counted, the file still finalizes',
    { timeout: 20_000 },
    async () => {
      const file = path.join(await tempDir(), 'stall.webm');
      const r = await recorder(file, { maxQueuedFrames: 8 });
      r.writeFrame(syntheticFrame(640, 480, 0));
      await sleep(500);
      // The recorder's ffmpeg, as the OS sees it: the one child of this process.
      const children = ffmpegDescendants();
      expect(children).toHaveLength(1);
      const pid = children[0]?.pid;
      process.kill(pid!, 'SIGSTOP');
      const before = process.memoryUsage().arrayBuffers;
      let id = 1;
      const t0 = performance.now();
      // one input frame, restamped: the only allocations left are the recorder's own
      const frame = syntheticFrame(640, 480, 1);
      while (performance.now() - t0 < 1500) {
        writeBarcode(frame.data, 640, 480, { frameId: id++, timestampMs: 0 });
        r.writeFrame(frame);
        await sleep(33);
      }
      const during = process.memoryUsage().arrayBuffers;
      process.kill(pid!, 'SIGCONT');
      const summary = await r.stop();
      // 8 queued + 3 in flight at most; the rest dropped and counted
      expect(summary.dropped).toBeGreaterThanOrEqual(id - 1 - 12);
      expect(r.stats.framesWritten + r.stats.framesDropped).toBe(id);
      // each frame is 460 KB: a growing queue would hold ~20 MB here
      expect(during - before).toBeLessThan(12 * 460_800);
      const info = await inspectRecording(file);
      expect(info).toMatchObject({ exitCode: 0, decodeErrors: [] });
      expect(Math.abs(info.decodedDurationSec - summary.durationSec)).toBeLessThan(0.1);
    },
  );

  it(
    'ffmpeg dying mid-recording is an error event, and stop() rejects with it',
    { timeout: 15_000 },
    async () => {
      const file = path.join(await tempDir(), 'dies.webm');
      const r = await recorder(file);
      const errored = new Promise<Error>((resolve) => r.once('error', resolve));
      r.writeFrame(syntheticFrame(320, 240, 0));
      await sleep(400);
      const children = ffmpegDescendants();
      expect(children).toHaveLength(1);
      process.kill(children[0]!.pid, 'SIGKILL');
      const err = await errored;
      expect(err).toBeInstanceOf(FfmpegError);
      expect(err.message).toMatch(
        /recorder: ffmpeg writing .*dies\.webm exited \(code null, signal SIGKILL\)/,
      );
      r.writeFrame(syntheticFrame(320, 240, 1)); // ignored
      await expect(r.stop()).rejects.toBe(err);
    },
  );

  it(
    'an existing file without force: ffmpeg refuses, reported as an error',
    { timeout: 15_000 },
    async () => {
      const file = path.join(await tempDir(), 'exists.webm');
      await writeFile(file, 'keep me');
      const r = await recorder(file);
      const errored = new Promise<Error>((resolve) => r.once('error', resolve));
      r.writeFrame(syntheticFrame(320, 240, 0));
      expect((await errored).message).toMatch(/already exists/);
      await expect(r.stop()).rejects.toThrow(FfmpegError);
      expect((await stat(file)).size).toBe(7);
    },
  );

  it('stop() before any frame writes nothing and is idempotent', async () => {
    const file = path.join(await tempDir(), 'none.webm');
    const r = await recorder(file);
    const [a, b] = await Promise.all([r.stop(), r.stop()]);
    expect(a).toBe(b);
    expect(a).toMatchObject({ frames: 0, durationSec: 0 });
    await expect(stat(file)).rejects.toThrow(/ENOENT/);
  });
});
