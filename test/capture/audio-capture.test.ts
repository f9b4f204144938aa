import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AudioCapture, type AudioChunk } from '../../src/capture/audio-capture.js';
import { DeviceError, FfmpegError } from '../../src/errors.js';
import { testFfmpeg } from '../helpers/media.js';
import { describeProcs, ffmpegDescendants } from '../helpers/procs.js';

const captures: AudioCapture[] = [];
const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(captures.splice(0).map((c) => c.stop()));
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
  // Judged by the OS, not by the module's own list of children: no ffmpeg of this process outlives a test.
  const left = ffmpegDescendants();
  expect(left, describeProcs(left)).toEqual([]);
});

async function capture(
  options: Partial<ConstructorParameters<typeof AudioCapture>[0]> = {},
): Promise<AudioCapture> {
  const c = new AudioCapture({ source: { kind: 'test-tone' }, ffmpegPath: await testFfmpeg(), ...options });
  captures.push(c);
  return c;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function rms(samples: Int16Array): number {
  let sum = 0;
  for (const s of samples) sum += s * s;
  return Math.sqrt(sum / samples.length);
}

async function makeFile(args: string[], name: string): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'rtc-peer-audio-'));
  dirs.push(dir);
  const file = path.join(dir, name);
  const ffmpeg = await testFfmpeg();
  await new Promise<void>((resolve, reject) =>
    execFile(ffmpeg, ['-hide_banner', '-loglevel', 'error', ...args, '-y', file], (err) =>
      err ? reject(err) : resolve(),
    ),
  );
  return file;
}

describe('AudioCapture', () => {
  it(
    'test tone: exact 10 ms chunks paced in real time, beeping on the whole seconds of the clock',
    { timeout: 20_000 },
    async () => {
      const c = await capture();
      const chunks: { chunk: AudioChunk; at: number }[] = [];
      c.on('data', (chunk) => chunks.push({ chunk, at: Date.now() }));
      await c.start();
      const t0 = performance.now();
      // 2.2 s hold at least one whole beep (100 ms after a whole second, with a silent chunk before it)
      await sleep(2200);
      const elapsed = performance.now() - t0;
      const n = chunks.length;
      await c.stop();
      await c.stop();
      for (const { chunk } of chunks) {
        expect(chunk).toMatchObject({
          sampleRate: 48_000,
          channelCount: 1,
          numberOfFrames: 480,
          bitsPerSample: 16,
        });
        expect(chunk.samples.length).toBe(480);
      }
      // real time: ~100 chunks a second (the first came before t0)
      expect(n).toBeGreaterThanOrEqual(Math.floor((elapsed / 10) * 0.9));
      expect(n).toBeLessThanOrEqual(Math.ceil((elapsed / 10) * 1.1) + 5);
      // Beeps: runs of 10 loud chunks (100 ms) between silent ones, starting on a whole second of the clock
      // (sent at most a few ms late; more on a loaded machine).
      const loud = chunks.map(({ chunk }) => rms(chunk.samples) > 2000);
      const silent = chunks.map(({ chunk }) => rms(chunk.samples) === 0);
      expect(silent.filter(Boolean).length).toBeGreaterThan(n * 0.8);
      const onsets = loud.flatMap((l, i) => (l && i > 0 && !loud[i - 1] ? [i] : []));
      expect(onsets.filter((i) => i + 12 <= chunks.length).length).toBeGreaterThanOrEqual(1);
      for (const i of onsets) {
        // Every beep is 9 to 11 loud chunks; only one cut short by the end of the capture may be shorter.
        const run = loud.slice(i).findIndex((l) => !l);
        const length = run === -1 ? chunks.length - i : run;
        expect(length).toBeLessThanOrEqual(11);
        expect(length >= 9 || i + length === chunks.length, `beep of ${length} chunks at ${i}`).toBe(true);
        // the chunk holding a beep's start is due up to 10 ms before the whole second
        expect(((chunks[i]?.at ?? 0) + 15) % 1000).toBeLessThan(115);
      }
      // The figures it reports are what its listener got (the evidence above is the wall clock and the sound).
      expect(c.stats.chunksSent).toBe(chunks.length);
      expect(c.stats.chunksDropped).toBe(0);
      expect(ffmpegDescendants()).toEqual([]);
    },
  );

  it('a missing ALSA device: DeviceError naming it, no child left', { timeout: 15_000 }, async () => {
    const c = await capture({ source: { kind: 'alsa', device: 'hw:9,0' } });
    const err = await c.start().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(DeviceError);
    expect((err as DeviceError).code).toBe('DEVICE_NOT_FOUND');
    expect((err as DeviceError).message).toMatch(/microphone hw:9,0 \(ALSA\) not found/);
    expect(ffmpegDescendants()).toEqual([]);
  });

  it(
    "a file's own audio, stereo, not looped: all of it, then 'ended' without error",
    { timeout: 15_000 },
    async () => {
      // 0.505 s: the end is not on a chunk boundary
      const file = await makeFile(
        [
          '-f',
          'lavfi',
          '-i',
          'testsrc=d=0.505:s=160x120',
          '-f',
          'lavfi',
          '-i',
          'sine=d=0.505:r=48000',
          '-shortest',
        ],
        'av.mkv',
      );
      const c = await capture({ source: { kind: 'file', path: file, loop: false }, channels: 2 });
      const chunks: AudioChunk[] = [];
      c.on('data', (chunk) => chunks.push(chunk));
      const ended = new Promise<Error | undefined>((resolve) => c.on('ended', resolve));
      await c.start();
      expect(await ended).toBeUndefined();
      for (const chunk of chunks) expect(chunk.samples.length).toBe(960);
      // 50.5 chunks of sound, the last one padded (a codec may add a few ms of priming)
      expect(chunks.length).toBeGreaterThanOrEqual(51);
      expect(chunks.length).toBeLessThanOrEqual(54);
      expect(rms(chunks[10]?.samples ?? new Int16Array(1))).toBeGreaterThan(1000);
    },
  );

  it('a file without sound: NO_AUDIO_STREAM naming the file', { timeout: 15_000 }, async () => {
    const file = await makeFile(['-f', 'lavfi', '-i', 'testsrc=d=0.3:s=160x120'], 'video-only.mkv');
    const c = await capture({ source: { kind: 'file', path: file } });
    const err = await c.start().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(FfmpegError);
    expect((err as FfmpegError).code).toBe('NO_AUDIO_STREAM');
    expect((err as FfmpegError).message).toContain(file);
    expect((err as FfmpegError).details.path).toBe(file);
  });
});
