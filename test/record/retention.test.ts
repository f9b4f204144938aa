import { describe, expect, it } from 'vitest';
import { pickDeletions, type SegmentFile } from '../../src/record/retention.js';
import { diskReserveBytes, saysDiskFull } from '../../src/record/disk-space.js';

const HOUR = 3_600_000;
const now = 1_000 * HOUR;
/** A file of `mb` MB last written `hoursAgo` ago. */
const file = (name: string, mb: number, hoursAgo: number): SegmentFile => ({
  path: name,
  size: mb * 1e6,
  mtimeMs: now - hoursAgo * HOUR,
});

describe('pickDeletions', () => {
  const files = [file('c', 10, 1), file('a', 10, 30), file('b', 10, 20), file('d', 10, 0)];

  it('by age: what was last written longer ago than the limit, oldest first', () => {
    expect(pickDeletions(files, { maxAgeSec: 24 * 3600 }, now).map((f) => f.path)).toEqual(['a']);
    expect(pickDeletions(files, { maxAgeSec: 3600 / 2 }, now).map((f) => f.path)).toEqual(['a', 'b', 'c']);
  });

  it('by size: the oldest until the rest fit; the open files count but stay', () => {
    expect(pickDeletions(files, { maxBytes: 25e6 }, now).map((f) => f.path)).toEqual(['a', 'b']);
    expect(pickDeletions(files, { maxBytes: 40e6 }, now)).toEqual([]);
    // the newest is being written: never picked, even when it alone is over the limit
    expect(pickDeletions(files, { maxBytes: 5e6 }, now, new Set(['d'])).map((f) => f.path)).toEqual([
      'a',
      'b',
      'c',
    ]);
  });

  it('both limits: either one deletes', () => {
    const pick = (maxAgeSec: number, maxBytes: number): string[] =>
      pickDeletions(files, { maxAgeSec, maxBytes }, now).map((f) => f.path);
    expect(pick(25 * 3600, 30e6)).toEqual(['a']);
    expect(pick(25 * 3600, 15e6)).toEqual(['a', 'b', 'c']);
    expect(pick(1800, 100e6)).toEqual(['a', 'b', 'c']);
  });

  it('a week of hourly segments with 7d: the 169th and older go', () => {
    const week = Array.from({ length: 200 }, (_, i) => file(`s${String(i).padStart(3, '0')}`, 1, i));
    const doomed = pickDeletions(week, { maxAgeSec: 7 * 86_400 }, now);
    expect(doomed).toHaveLength(200 - 169);
    expect(doomed[0]?.path).toBe('s199');
  });
});

describe('disk space', () => {
  it('keeps 5 s of the bitrate free, at least 1 MiB', () => {
    expect(diskReserveBytes(1_000_000)).toBe(1024 * 1024);
    expect(diskReserveBytes(8_000_000)).toBe(5_000_000);
  });

  it("tells a full disk from ffmpeg's last words", () => {
    expect(saysDiskFull(['av_interleaved_write_frame(): No space left on device'])).toBe(true);
    expect(saysDiskFull(['Conversion failed!'])).toBe(false);
  });
});
