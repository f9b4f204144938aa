/**
 * Retention of a segmented recording (`--record-keep 7d`, `--record-keep 50GB`): which of a series' files
 * to delete, oldest first, to stay within an age and a total size. The choice is pure (unit-tested); the
 * listing reads the pattern's directory and takes only the names the pattern makes (`segmentNameMatcher`),
 * so nothing else there is ever deleted, and files of earlier runs count as well.
 */
import { readdir, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { segmentNameMatcher } from './segment-name.js';

/** How much of a segmented recording to keep. At least one of the two. */
export interface RetentionLimits {
  /** Delete segments finished (last written) longer ago than this, seconds. Default: no limit. */
  maxAgeSec?: number;
  /** Delete the oldest segments while all of them together are larger than this, bytes. Default: no limit. */
  maxBytes?: number;
}

/** One file of a series, as the listing finds it. */
export interface SegmentFile {
  path: string;
  size: number;
  /** Its last write (a finished segment's end), ms since the epoch. */
  mtimeMs: number;
}

/**
 * The files to delete, oldest (by last write, then name) first: those older than `maxAgeSec`, then as many
 * more of the oldest as it takes for the rest to fit in `maxBytes`. Files in `keep` (the segment being
 * written, and the next one) are never chosen, but their size counts.
 */
export function pickDeletions(
  files: readonly SegmentFile[],
  limits: RetentionLimits,
  nowMs: number,
  keep: ReadonlySet<string> = new Set(),
): SegmentFile[] {
  const sorted = [...files].sort((a, b) => a.mtimeMs - b.mtimeMs || (a.path < b.path ? -1 : 1));
  let total = sorted.reduce((n, f) => n + f.size, 0);
  const out: SegmentFile[] = [];
  for (const f of sorted) {
    if (keep.has(f.path)) continue;
    const tooOld = limits.maxAgeSec !== undefined && nowMs - f.mtimeMs > limits.maxAgeSec * 1000;
    const tooBig = limits.maxBytes !== undefined && total > limits.maxBytes;
    if (!tooOld && !tooBig) continue;
    out.push(f);
    total -= f.size;
  }
  return out;
}

/** The files in `pattern`'s directory whose names the pattern makes. */
export async function listSegmentFiles(pattern: string): Promise<SegmentFile[]> {
  const dir = path.dirname(pattern);
  const matcher = segmentNameMatcher(pattern);
  const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => matcher.test(n));
  const files = await Promise.all(
    names.map(async (name) => {
      const p = path.join(dir, name);
      const s = await stat(p).catch(() => undefined);
      return s?.isFile() ? { path: p, size: s.size, mtimeMs: s.mtimeMs } : undefined;
    }),
  );
  return files.filter((f): f is SegmentFile => f !== undefined);
}

/**
 * Applies `limits` to the files of `pattern`: deletes what {@link pickDeletions} picks and returns the
 * paths deleted (a file that vanished meanwhile is skipped).
 */
export async function applyRetention(
  pattern: string,
  limits: RetentionLimits,
  keep: ReadonlySet<string>,
  nowMs: number = Date.now(),
): Promise<string[]> {
  const doomed = pickDeletions(await listSegmentFiles(pattern), limits, nowMs, keep);
  const deleted: string[] = [];
  for (const f of doomed) {
    try {
      await unlink(f.path);
      deleted.push(f.path);
    } catch {
      // gone already, or not ours to delete: left alone
    }
  }
  return deleted;
}
