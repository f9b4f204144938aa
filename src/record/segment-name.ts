/**
 * The names of a segmented recording's files: a `--record` pattern with strftime-style fields filled in
 * with each segment's start time (as ffmpeg's segment muxer does with `-strftime 1`), the check that a
 * pattern gives every segment its own name, and the matcher that finds a series' files again for
 * retention. Pure: unit-tested.
 */
import path from 'node:path';

/**
 * The fields a pattern may hold, in local time (set `TZ=UTC` for UTC names), with what each matches and
 * the smallest step between two distinct values, in seconds (how finely it tells segments apart).
 */
const FIELDS: Record<string, { regex: string; stepSec: number; format: (d: Date) => string }> = {
  Y: { regex: '\\d{4}', stepSec: 366 * 86400, format: (d) => String(d.getFullYear()).padStart(4, '0') },
  m: { regex: '\\d{2}', stepSec: 31 * 86400, format: (d) => pad2(d.getMonth() + 1) },
  d: { regex: '\\d{2}', stepSec: 86400, format: (d) => pad2(d.getDate()) },
  H: { regex: '\\d{2}', stepSec: 3600, format: (d) => pad2(d.getHours()) },
  M: { regex: '\\d{2}', stepSec: 60, format: (d) => pad2(d.getMinutes()) },
  S: { regex: '\\d{2}', stepSec: 1, format: (d) => pad2(d.getSeconds()) },
  /** Milliseconds (not strftime's; ffmpeg has none, MediaMTX has `%f` for microseconds). */
  L: { regex: '\\d{3}', stepSec: 0.001, format: (d) => String(d.getMilliseconds()).padStart(3, '0') },
  /** Seconds since the epoch. */
  s: { regex: '\\d+', stepSec: 1, format: (d) => String(Math.floor(d.getTime() / 1000)) },
};

/** The fields {@link formatSegmentName} knows, for messages. */
export const SEGMENT_NAME_FIELDS = '%Y %m %d %H %M %S %L (milliseconds) %s (epoch seconds) %%';

/** What a pattern without any field gets before its extension: `cam.webm` -> `cam-20261201-221500.webm`. */
export const DEFAULT_SEGMENT_SUFFIX = '-%Y%m%d-%H%M%S';

const pad2 = (n: number): string => String(n).padStart(2, '0');

/** The pattern's parts: literal text and field letters, in order. @throws TypeError on an unknown field. */
function tokens(pattern: string): ({ text: string } | { field: string })[] {
  const out: ({ text: string } | { field: string })[] = [];
  let text = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c !== '%') {
      text += c;
      continue;
    }
    const f = pattern[++i];
    if (f === '%') {
      text += '%';
      continue;
    }
    if (f === undefined || !(f in FIELDS))
      throw new TypeError(
        `recording name ${JSON.stringify(pattern)}: unknown field %${f ?? ''} (known: ${SEGMENT_NAME_FIELDS})`,
      );
    if (text) out.push({ text });
    text = '';
    out.push({ field: f });
  }
  if (text) out.push({ text });
  return out;
}

/**
 * The pattern a segmented recording to `file` uses: `file` itself when it has strftime fields, else `file`
 * with {@link DEFAULT_SEGMENT_SUFFIX} before its extension. Checks it: fields only in the file name (not in
 * directories), known fields only, and fine enough that two segments `segmentSec` apart never share a name.
 *
 * @throws TypeError saying what is wrong and what to write instead.
 * @example
 * segmentPattern('rec/cam.webm', 600); // 'rec/cam-%Y%m%d-%H%M%S.webm'
 * segmentPattern('rec/cam-%H.webm', 600); // TypeError: two segments 600 s apart would share a name
 */
export function segmentPattern(file: string, segmentSec: number): string {
  const dir = path.dirname(file);
  const base = path.basename(file);
  if (dir.includes('%'))
    throw new TypeError(
      `recording name ${JSON.stringify(file)}: time fields go in the file name, not in its directory (${dir})`,
    );
  const ext = path.extname(base);
  const named = base.includes('%')
    ? base
    : `${base.slice(0, base.length - ext.length)}${DEFAULT_SEGMENT_SUFFIX}${ext}`;
  const fields = tokens(named).flatMap((t) => ('field' in t ? [t.field] : []));
  const finest = Math.min(...fields.map((f) => FIELDS[f]?.stepSec ?? Infinity));
  if (!(finest <= segmentSec))
    throw new TypeError(
      `recording name ${JSON.stringify(file)}: two segments ${segmentSec} s apart would share a name; ` +
        `add finer time fields, e.g. ${JSON.stringify(path.join(dir, `${base.slice(0, base.length - ext.length).replace(/%.*$/, '')}%Y%m%d-%H%M%S${ext}`))}`,
    );
  return path.join(dir, named);
}

/**
 * The name of the segment that starts at `start` (local time).
 *
 * @example
 * formatSegmentName('cam-%Y%m%d-%H%M%S.webm', new Date(2026, 11, 1, 22, 15, 0)); // 'cam-20261201-221500.webm'
 */
export function formatSegmentName(pattern: string, start: Date): string {
  const dir = path.dirname(pattern);
  const base = tokens(path.basename(pattern))
    .map((t) => ('text' in t ? t.text : (FIELDS[t.field]?.format(start) ?? '')))
    .join('');
  return path.join(dir, base);
}

/**
 * A matcher for the file names (base names, in the pattern's directory) of a series' segments: the pattern
 * with each field a run of digits, and the `-N` a name that was taken gets (see `RecordingSeries`). What
 * retention may delete, and nothing else.
 */
export function segmentNameMatcher(pattern: string): RegExp {
  const parts = tokens(path.basename(pattern));
  const ext = path.extname(path.basename(pattern));
  const source = parts
    .map((t) => ('field' in t ? (FIELDS[t.field]?.regex ?? '') : escapeRegex(t.text)))
    .join('');
  // the extension is the last text part: allow `-N` just before it
  const withSuffix =
    ext && source.endsWith(escapeRegex(ext))
      ? `${source.slice(0, source.length - escapeRegex(ext).length)}(?:-\\d+)?${escapeRegex(ext)}`
      : `${source}(?:-\\d+)?`;
  return new RegExp(`^${withSuffix}$`);
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
