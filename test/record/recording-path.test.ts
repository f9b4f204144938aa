import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { RecordingPathError } from '../../src/errors.js';
import { checkRecordingPath, recordingFormat, recordingPathFor } from '../../src/record/recording-path.js';

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function tempDir(): Promise<string> {
  const d = await mkdtemp(path.join(tmpdir(), 'rtc-peer-record-path-'));
  dirs.push(d);
  return d;
}

describe('recordingPathFor', () => {
  const none = (): boolean => false;

  test('call 1 records to the path given, later calls get a numbered suffix', () => {
    expect(recordingPathFor('out/rec.webm', 1, false, none)).toBe('out/rec.webm');
    expect(recordingPathFor('out/rec.webm', 2, false, none)).toBe('out/rec-2.webm');
    expect(recordingPathFor('rec.mkv', 3, false, none)).toBe('rec-3.mkv');
    expect(recordingPathFor('noext', 2, false, none)).toBe('noext-2');
  });

  test('skips numbers whose file exists instead of overwriting, unless forced', () => {
    const existing = new Set(['rec-2.webm', 'rec-3.webm']);
    const exists = (p: string): boolean => existing.has(p);
    expect(recordingPathFor('rec.webm', 2, false, exists)).toBe('rec-4.webm');
    expect(recordingPathFor('rec.webm', 2, true, exists)).toBe('rec-2.webm');
  });
});

describe('recordingFormat', () => {
  test('by extension, or as given; anything else is a TypeError', () => {
    expect(recordingFormat('a/b.webm')).toBe('webm');
    expect(recordingFormat('B.MKV')).toBe('mkv');
    expect(recordingFormat('x.mp4', 'mkv')).toBe('mkv');
    expect(() => recordingFormat('x.mp4')).toThrow(TypeError);
    expect(() => recordingFormat('x.mp4')).toThrow(/use a .webm or .mkv name/);
  });
});

describe('checkRecordingPath', () => {
  test('refuses an existing file without force, accepts it with force', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'call.webm');
    await writeFile(file, 'old');
    const err = await checkRecordingPath(file, false).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RecordingPathError);
    expect((err as RecordingPathError).code).toBe('RECORDING_EXISTS');
    expect((err as RecordingPathError).path).toBe(file);
    // What to do in rtc-peer's flags (--force) is the command line's hint, not the message.
    expect((err as Error).message).toBe(`recording file ${file} already exists.`);
    await expect(checkRecordingPath(file, true)).resolves.toBeUndefined();
    // the probe does not touch an existing file
    expect((await stat(file)).size).toBe(3);
  });

  test('refuses paths that cannot be written, and leaves nothing behind on success', async () => {
    const dir = await tempDir();
    await expect(checkRecordingPath(path.join(dir, 'missing', 'x.webm'), false)).rejects.toThrow(
      /^cannot record to .*x\.webm: directory .*missing does not exist\. Create it first\.$/,
    );
    await mkdir(path.join(dir, 'sub'));
    await expect(checkRecordingPath(path.join(dir, 'sub'), true)).rejects.toThrow(/it is a directory/);
    // /proc refuses new files even for root
    const err = await checkRecordingPath('/proc/rtc-peer-test.webm', false).catch((e: unknown) => e);
    expect((err as RecordingPathError).code).toBe('RECORDING_UNWRITABLE');
    expect((err as Error).message).toMatch(
      /^cannot record to \/proc\/rtc-peer-test\.webm: directory \/proc is not writable \(\w+\)/,
    );
    const ok = path.join(dir, 'new.webm');
    await checkRecordingPath(ok, false);
    await expect(stat(ok)).rejects.toThrow(/ENOENT/);
  });
});
