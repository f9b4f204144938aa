/**
 * Free space where a recording is written, and how much of it a recording leaves alone: a segment is ended
 * (finalized while there is still room for its cues and duration) when less than the reserve is free, and
 * the next one starts once twice the reserve is free again.
 */
import { statfs } from 'node:fs/promises';

/** Seconds of the recording's bitrate kept free on its disk. */
export const DISK_RESERVE_SEC = 5;
/** The least space kept free, bytes: enough for an ffmpeg to finalize a file (cues, header). */
export const DISK_RESERVE_MIN_BYTES = 1024 * 1024;

/** The reserve for a recording of `bitsPerSecond`: {@link DISK_RESERVE_SEC} of it, at least 1 MiB. */
export function diskReserveBytes(bitsPerSecond: number): number {
  return Math.max(DISK_RESERVE_MIN_BYTES, Math.ceil((bitsPerSecond / 8) * DISK_RESERVE_SEC));
}

/** Bytes an unprivileged writer may still use on the filesystem of `dir`; undefined when it cannot be told. */
export async function freeBytes(dir: string): Promise<number | undefined> {
  try {
    const s = await statfs(dir);
    return s.bavail * s.bsize;
  } catch {
    return undefined;
  }
}

/** Whether an ffmpeg's last output says its disk is full. */
export function saysDiskFull(stderr: readonly string[]): boolean {
  return stderr.some((line) => /No space left on device|ENOSPC|Disk quota exceeded/i.test(line));
}
