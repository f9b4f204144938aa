/**
 * One peer's recordings: the files of its calls, and each call's recorder with the same rule for overwriting.
 * Recorded for real (ffmpeg), frames fed as a call's receive bridge feeds them: through a track.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { RecordingSeries } from '../../src/record/recording-series.js';
import type { ReceivedTrackEvents } from '../../src/record/types.js';
import { TypedEmitter } from '../../src/util/typed-emitter.js';
import { inspectRecording, syntheticFrame, testFfmpeg } from '../helpers/media.js';
import { ffmpegDescendants } from '../helpers/procs.js';

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
  expect(ffmpegDescendants()).toEqual([]);
});

async function tempDir(): Promise<string> {
  const d = await mkdtemp(path.join(tmpdir(), 'rtc-peer-series-'));
  dirs.push(d);
  return d;
}

/** A remote video track as the receive bridge makes it. */
class FakeTrack extends TypedEmitter<ReceivedTrackEvents> {
  readonly kind = 'video' as const;
}

/** Records `count` frames at 30 fps through a track to `recorder`; returns its summary. */
async function record(series: RecordingSeries, index: number, count: number) {
  const recorder = series.recorderFor(index, await testFfmpeg());
  const track = new FakeTrack();
  recorder.addTrack(track);
  for (let id = 0; id < count; id++) {
    track.emit('frame', syntheticFrame(160, 120, id), performance.now());
    await new Promise((r) => setTimeout(r, 33));
  }
  return recorder.stop();
}

describe('RecordingSeries', () => {
  test('call N records to NAME-N; without force, numbers whose file exists are skipped', async () => {
    const dir = await tempDir();
    const series = new RecordingSeries({ path: path.join(dir, 'rec.webm') });
    await series.check();
    await writeFile(path.join(dir, 'rec-2.webm'), 'keep');
    expect(series.pathFor(1)).toBe(path.join(dir, 'rec.webm'));
    expect(series.pathFor(2)).toBe(path.join(dir, 'rec-3.webm'));
    expect(await readFile(path.join(dir, 'rec-2.webm'), 'utf8')).toBe('keep');
  });

  test('firstNumber continues an earlier series (a restarted peer): it skips existing files even with force', async () => {
    const dir = await tempDir();
    const base = path.join(dir, 'rec.webm');
    await writeFile(base, 'crashed run, call 1');
    await writeFile(path.join(dir, 'rec-3.webm'), 'older');
    for (const force of [false, true]) {
      const series = new RecordingSeries({ path: base, force, firstNumber: 2 });
      await series.check();
      expect(series.pathFor(1)).toBe(path.join(dir, 'rec-2.webm'));
      expect(series.pathFor(2)).toBe(path.join(dir, 'rec-4.webm'));
    }
    expect(await readFile(base, 'utf8')).toBe('crashed run, call 1');
    expect(() => new RecordingSeries({ path: base, firstNumber: 0 })).toThrow(TypeError);
    expect(() => new RecordingSeries({ path: base, firstNumber: 1.5 })).toThrow(/firstNumber/);
  });

  test('with force, call 2 overwrites NAME-2: its recorder is given force too (regression: it was not)', async () => {
    const dir = await tempDir();
    const first = path.join(dir, 'rec.webm');
    const second = path.join(dir, 'rec-2.webm');
    await writeFile(first, 'old 1');
    await writeFile(second, 'old 2');
    const series = new RecordingSeries({ path: first, force: true });
    await series.check();
    expect(series.pathFor(2)).toBe(second);
    const summary = await record(series, 2, 15);
    expect(summary.path).toBe(second);
    expect(summary.frames).toBeGreaterThanOrEqual(15);
    const file = await inspectRecording(second);
    expect(file.frames).toBe(summary.frames);
    expect(file.barcodes.filter((b) => b !== null).map((b) => b.frameId)).toContain(14);
  });

  test('a file that exists, or a name that is not .webm/.mkv, is refused before any call', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'taken.webm');
    await writeFile(file, 'precious');
    await expect(new RecordingSeries({ path: file }).check()).rejects.toMatchObject({
      code: 'RECORDING_EXISTS',
      path: file,
    });
    expect(() => new RecordingSeries({ path: path.join(dir, 'x.mp4') })).toThrow(TypeError);
    expect(await readFile(file, 'utf8')).toBe('precious');
  });
});
