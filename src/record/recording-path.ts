/**
 * Where recordings go: the file of each call (`out.webm`, `out-2.webm`, ...), its container by extension, and
 * the check, before any call, that it can be written.
 */
import { existsSync } from 'node:fs';
import { open, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { RecordingPathError } from '../errors.js';

/**
 * The container of a recording file: `format` when given, else its extension (`.webm`, `.mkv`).
 *
 * @throws TypeError for any other name.
 */
export function recordingFormat(file: string, format?: 'webm' | 'mkv'): 'webm' | 'mkv' {
  if (format) return format;
  const ext = path.extname(file).toLowerCase();
  if (ext === '.webm') return 'webm';
  if (ext === '.mkv') return 'mkv';
  throw new TypeError(
    `recorder: cannot tell the format of "${file}": use a .webm or .mkv name, or pass format`,
  );
}

/**
 * The file for call number `index` when recording to `base`: call 1 uses `base` itself, call N uses
 * `name-N.ext` (`out.webm`, `out-2.webm`, `out-3.webm`, ...). Without `force`, a later call skips numbers
 * whose file already exists rather than overwrite it (the first path is checked up front, before any call);
 * with `force`, call N overwrites `name-N.ext`.
 */
export function recordingPathFor(
  base: string,
  index: number,
  force: boolean,
  exists: (p: string) => boolean = existsSync,
): string {
  if (index <= 1) return base;
  const ext = path.extname(base);
  const stem = base.slice(0, base.length - ext.length);
  for (let n = index; ; n++) {
    const candidate = `${stem}-${n}${ext}`;
    if (force || !exists(candidate)) return candidate;
  }
}

/**
 * Checks, before any call starts, that `file` can be recorded to: it must not exist unless `force`, and its
 * directory must exist and be writable.
 *
 * @throws RecordingPathError `RECORDING_EXISTS` (pass `force` to overwrite it) or `RECORDING_UNWRITABLE`.
 */
export async function checkRecordingPath(file: string, force: boolean): Promise<void> {
  const existing = await stat(file).catch(() => undefined);
  if (existing?.isDirectory())
    throw new RecordingPathError(
      'RECORDING_UNWRITABLE',
      `cannot record to ${file}: it is a directory. Give a file name such as ${path.join(file, 'call.webm')}.`,
      file,
    );
  if (existing && !force)
    throw new RecordingPathError('RECORDING_EXISTS', `recording file ${file} already exists.`, file);
  const dir = path.dirname(path.resolve(file));
  const dirInfo = await stat(dir).catch(() => undefined);
  if (!dirInfo?.isDirectory())
    throw new RecordingPathError(
      'RECORDING_UNWRITABLE',
      `cannot record to ${file}: directory ${dir} does not exist. Create it first.`,
      file,
    );
  // A real probe rather than access(W_OK), which says yes to root even on read-only or virtual filesystems.
  try {
    if (existing) await (await open(file, 'r+')).close();
    else {
      await (await open(file, 'wx')).close();
      await unlink(file);
    }
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new RecordingPathError(
      'RECORDING_UNWRITABLE',
      `cannot record to ${file}: ${existing ? 'the file' : `directory ${dir}`} is not writable (${code}). Choose another path or fix its permissions.`,
      file,
      { cause: err },
    );
  }
}
