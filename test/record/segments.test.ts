import { execFileSync } from 'node:child_process';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { afterEach, describe, expect, it } from 'vitest';
import { Recorder } from '../../src/record/recorder.js';
import type { RecordingPause, RecordingSummary } from '../../src/record/types.js';
import { decodeAudio, inspectRecording, syntheticFrame, testFfmpeg } from '../helpers/media.js';
import { describeProcs, ffmpegDescendants } from '../helpers/procs.js';

const dirs: string[] = [];
const mounts: string[] = [];
const recorders: Recorder[] = [];
afterEach(async () => {
  await Promise.all(recorders.splice(0).map((r) => r.stop().catch(() => undefined)));
  // unmounted even when the test failed
  for (const m of mounts.splice(0)) execFileSync('umount', ['-l', m]);
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
  const left = ffmpegDescendants();
  expect(left, describeProcs(left)).toEqual([]);
});

async function tempDir(): Promise<string> {
  const d = await mkdtemp(path.join(tmpdir(), 'rtc-peer-segments-'));
  dirs.push(d);
  return d;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A 10 ms chunk of a 440 Hz tone at 48 kHz, continuing the phase of chunk `n - 1`. */
function tone(n: number): { samples: Int16Array; sampleRate: number; channelCount: number } {
  const samples = new Int16Array(480);
  for (let i = 0; i < 480; i++)
    samples[i] = Math.round(6000 * Math.sin((2 * Math.PI * 440 * (n * 480 + i)) / 48_000));
  return { samples, sampleRate: 48_000, channelCount: 1 };
}

/**
 * Feeds `r` in real time for `seconds`: a 320x240 frame every 1/30 s carrying its id in a barcode, and a
 * 10 ms chunk of tone every 10 ms. `during(elapsedSec)` runs on every tick.
 * Returns the frames written.
 */
async function feed(r: Recorder, seconds: number, during?: (elapsedSec: number) => void): Promise<number> {
  r.expectTrack('video');
  r.expectTrack('audio');
  const t0 = performance.now();
  let frames = 0;
  let chunks = 0;
  for (;;) {
    const elapsed = performance.now() - t0;
    if (elapsed >= seconds * 1000) return frames;
    // stamped with when they were due, as a steady network would bring them: a stall of this loop on a
    // busy machine must not look like a burst of frames faster than 30 fps (which the recorder drops)
    for (; chunks * 10 <= elapsed; chunks++) r.writeAudio(tone(chunks), t0 + chunks * 10);
    for (; (frames * 1000) / 30 <= elapsed; frames++)
      r.writeFrame(syntheticFrame(320, 240, frames), t0 + (frames * 1000) / 30);
    during?.(elapsed / 1000);
    await sleep(5);
  }
}

/** Frame ids of a decoded file, in order, each once (a repeated slot shows the same id again). */
function distinctIds(ids: (number | undefined)[]): number[] {
  return ids.filter((v, i): v is number => v !== undefined && v !== ids[i - 1]);
}

describe('Recorder with segments', () => {
  it(
    'cuts 2 s segments: each file complete and 60 frames long, ids continue across files with no gap or repeat, sound continuous',
    { timeout: 40_000 },
    async () => {
      const dir = await tempDir();
      const finished: RecordingSummary[] = [];
      const r = new Recorder({
        path: path.join(dir, 'seg-%H%M%S-%L.webm'),
        ffmpegPath: await testFfmpeg(),
        segmentSec: 2,
        // the first file's ffmpeg starts with the first frame (no spare for it: its size is not known
        // before); on a loaded machine that can take longer than the default 8 frames. The later files are
        // spawned ahead and need no such margin.
        maxQueuedFrames: 30,
      });
      recorders.push(r);
      r.on('recording', (s) => finished.push(s));
      const sent = await feed(r, 7.1);
      const summary = await r.stop();

      const names = (await readdir(dir)).sort();
      expect(names).toHaveLength(4);
      // names sort by time, and the events came in that order
      expect(finished.map((s) => path.basename(s.path))).toEqual(names);
      const perFile = JSON.stringify(finished.map((s) => ({ frames: s.frames, dropped: s.dropped })));
      expect(summary, perFile).toMatchObject({ segments: 4, dropped: 0 });
      expect(summary.frames).toBe(finished.reduce((n, s) => n + s.frames, 0));

      const all: number[] = [];
      for (const [i, s] of finished.entries()) {
        const info = await inspectRecording(s.path);
        const audio = await decodeAudio(s.path);
        const facts = `${path.basename(s.path)}: ${JSON.stringify({ frames: info.frames, summary: s })}`;
        expect(info, facts).toMatchObject({ codec: 'vp8', exitCode: 0, decodeErrors: [] });
        expect(info.containerDurationSec, facts).not.toBeNull();
        expect(audio, facts).toMatchObject({ codec: 'opus', decodeErrors: [] });
        // every segment but the last is exactly 2 s of slots; what the event says is what the file holds
        expect(info.frames, facts).toBe(s.frames);
        if (i < finished.length - 1) expect(info.frames, facts).toBe(60);
        // within one frame of its slots, video and sound alike
        expect(Math.abs(info.decodedDurationSec - s.frames / 30), facts).toBeLessThan(1 / 30);
        expect(Math.abs((audio?.durationSec ?? 0) - s.frames / 30), facts).toBeLessThan(1 / 30);
        // the first frame of each file is a new one, not the last of the file before shown again
        const ids = distinctIds(info.barcodes.map((b) => b?.frameId));
        expect(ids.length, facts).toBeGreaterThan(0);
        if (all.length > 0) expect(ids[0], facts).toBe((all.at(-1) ?? -2) + 1);
        all.push(...ids);
      }
      // every frame sent is in exactly one file, in order
      expect(all).toEqual(Array.from({ length: sent }, (_, i) => i));
    },
  );

  it(
    'retention by size deletes the oldest segments of the pattern, and nothing else in the directory',
    { timeout: 40_000 },
    async () => {
      const dir = await tempDir();
      // an older run's segments, and a file of the user's that the pattern does not make (this run's 1 s
      // segments of 320x240 are ~30 kB each)
      const old = ['cam-000001.webm', 'cam-000002.webm'];
      for (const name of old) await writeFile(path.join(dir, name), Buffer.alloc(40_000));
      await writeFile(path.join(dir, 'notes.webm'), Buffer.alloc(500_000));
      const deleted: string[] = [];
      const finished: RecordingSummary[] = [];
      const r = new Recorder({
        path: path.join(dir, 'cam-%H%M%S.webm'),
        ffmpegPath: await testFfmpeg(),
        segmentSec: 1,
        keep: { maxBytes: 70_000 },
      });
      recorders.push(r);
      r.on('deleted', (paths) => deleted.push(...paths));
      r.on('recording', (s) => finished.push(s));
      await feed(r, 4.2);
      await r.stop();
      const left = (await readdir(dir)).sort();
      // the two old ones went first (oldest by last write), the user's file stays
      expect(deleted.slice(0, 2).map((p) => path.basename(p))).toEqual(old);
      expect(left).toContain('notes.webm');
      const ours = left.filter((n) => n !== 'notes.webm');
      const sizes = await Promise.all(ours.map(async (n) => (await stat(path.join(dir, n))).size));
      // then some of this run's own, the oldest: what is left is the newest, within the limit
      expect(deleted.length).toBeGreaterThan(2);
      expect(ours).toEqual(finished.slice(-ours.length).map((s) => path.basename(s.path)));
      expect(sizes.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(70_000);
      expect(ours.length + deleted.length - old.length).toBe(finished.length);
    },
  );
});

describe('Recorder on a disk that fills', () => {
  it(
    'a full disk ends the segment cleanly and pauses; freeing space resumes into a new file; nothing corrupt',
    { timeout: 60_000 },
    async () => {
      const dir = await tempDir();
      const mnt = path.join(dir, 'small');
      execFileSync('mkdir', [mnt]);
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', mnt]);
      mounts.push(mnt);
      const filler = path.join(mnt, 'filler.bin');
      const pauses: RecordingPause[] = [];
      const resumed: string[] = [];
      const errors: Error[] = [];
      const finished: RecordingSummary[] = [];
      const r = new Recorder({
        path: path.join(mnt, 'cam-%H%M%S-%L.webm'),
        ffmpegPath: await testFfmpeg(),
        segmentSec: 2,
        diskReserveBytes: 1024 * 1024,
      });
      recorders.push(r);
      r.on('paused', (p) => pauses.push(p));
      r.on('resumed', (p) => resumed.push(p));
      r.on('error', (e) => errors.push(e));
      r.on('recording', (s) => finished.push(s));
      let filled = false;
      let freed = false;
      await feed(r, 9, (t) => {
        // at 2.5 s, something else takes the disk down to ~0.5 MB free; at 5.5 s it gives the space back. The
        // recorder checks once a second from its start: the fill falls between two checks (at 3 s it fell on
        // one, and the pause came with the check before or after it, a second apart)
        if (t >= 2.5 && !filled) {
          filled = true;
          const free = Number(execFileSync('df', ['--output=avail', '-B1', mnt]).toString().split('\n')[1]);
          execFileSync('fallocate', ['-l', String(free - 512 * 1024), filler]);
        }
        if (t >= 5.5 && !freed) {
          freed = true;
          execFileSync('rm', [filler]);
        }
      });
      const summary = await r.stop();
      expect(errors).toEqual([]);
      expect(pauses).toHaveLength(1);
      expect(pauses[0]?.message).toMatch(
        /MB free on the disk of .*less than the 1\.0 MB kept free.*ended cleanly.*call goes on.*resumes/,
      );
      expect(resumed).toHaveLength(1);
      // before the fill: a whole segment and the one cut at the pause; after: the resumed ones
      const files = (await readdir(mnt)).sort();
      expect(files.length).toBeGreaterThanOrEqual(4);
      expect(finished.map((s) => path.basename(s.path))).toEqual(files);
      expect(finished.some((s) => s.path === resumed[0])).toBe(true);
      for (const s of finished) {
        const info = await inspectRecording(s.path);
        expect(info, s.path).toMatchObject({ exitCode: 0, decodeErrors: [], frames: s.frames });
        expect(info.containerDurationSec, s.path).not.toBeNull();
      }
      // the pause cut the second segment (2-4 s) short: at the first check after the fill, between 2.5 and 3.5 s
      const cut = finished[1];
      const seen = `frames per file ${finished.map((f) => f.frames).join(', ')}; ${pauses[0]?.message}`;
      expect(cut?.frames, seen).toBeGreaterThan(10);
      expect(cut?.frames, seen).toBeLessThan(50);
      expect(summary.segments).toBe(finished.length);
    },
  );
});
