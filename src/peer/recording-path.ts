import { existsSync } from 'node:fs';
import path from 'node:path';

/**
 * The file for call number `index` when recording to `base`: call 1 uses `base` itself, call N uses
 * `name-N.ext` (`out.webm`, `out-2.webm`, `out-3.webm`, ...). Without `force`, a later call skips numbers
 * whose file already exists rather than overwrite it (the first path is checked up front, before any call).
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
