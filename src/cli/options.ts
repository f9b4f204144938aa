/**
 * Turning command-line strings into typed options. Pure: no I/O, so it is unit-tested directly.
 */
import type { AudioSource, CaptureSource } from '../capture/index.js';
import { audioSourceFromDevice, sourceFromDevice } from '../capture/index.js';

/** `640x480` -> `{ width: 640, height: 480 }`; TypeError naming the option otherwise. */
export function parseSize(value: string): { width: number; height: number } {
  const m = /^(\d{2,5})x(\d{2,5})$/.exec(value);
  const width = Number(m?.[1]);
  const height = Number(m?.[2]);
  if (!m || width % 2 !== 0 || height % 2 !== 0) {
    throw new TypeError(
      `--size ${JSON.stringify(value)} is not WIDTHxHEIGHT with even numbers, e.g. 1280x720`,
    );
  }
  return { width, height };
}

/** A positive number for `--fps` / `--duration`; TypeError naming the option otherwise. */
export function parsePositive(option: string, value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) {
    throw new TypeError(`${option} ${JSON.stringify(value)} is not a positive number`);
  }
  return n;
}

/** A whole number >= 1 for `--max-viewers`; TypeError naming the option otherwise. */
export function parsePositiveInteger(option: string, value: string): number {
  const n = Number(value);
  if (!/^\s*\d+\s*$/.test(value) || !Number.isSafeInteger(n) || n < 1) {
    throw new TypeError(`${option} ${JSON.stringify(value)} is not a positive whole number (1, 2, ...)`);
  }
  return n;
}

/**
 * An `http://` or `https://` URL for `--whip` / `--whep`; TypeError naming the option, with an example, otherwise.
 */
export function parseHttpUrl(option: string, value: string, example: string): string {
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:'))
    throw new TypeError(
      `${option} ${JSON.stringify(value)} is not an http:// or https:// URL, e.g. ${example}`,
    );
  return value;
}

/** A TCP port for `--port`: 0-65535, 0 picking a free one; TypeError naming the option otherwise. */
export function parsePort(option: string, value: string): number {
  const port = Number(value);
  if (!/^\s*\d+\s*$/.test(value) || port > 65535) {
    throw new TypeError(
      `${option} ${JSON.stringify(value)} is not a port number (0-65535; 0 picks a free port)`,
    );
  }
  return port;
}

const DURATION_UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };
const SIZE_UNITS: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
  tib: 2 ** 40,
};

/**
 * A duration for `--record-segment` / `--record-keep`: a number with `s`, `m`, `h`, `d` or `w` (`10s`, `10m`,
 * `1h`, `7d`, `1.5h`), or plain seconds. Returns seconds; TypeError naming the option otherwise.
 */
export function parseDuration(option: string, value: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$/i.exec(value);
  const sec = m ? Number(m[1]) * (DURATION_UNITS[(m[2] || 's').toLowerCase()] ?? NaN) : NaN;
  if (!(sec > 0))
    throw new TypeError(
      `${option} ${JSON.stringify(value)} is not a duration: a number with s, m, h, d or w, e.g. 10m, 1h, 7d`,
    );
  return sec;
}

/**
 * A size for `--record-keep`: a number with B, KB, MB, GB, TB (powers of 1000) or KiB ... TiB; bytes.
 * Undefined when `value` is not written as a size at all.
 */
export function parseByteSize(option: string, value: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]i?b|b)\s*$/i.exec(value);
  if (!m) return undefined;
  const bytes = Number(m[1]) * (SIZE_UNITS[(m[2] ?? '').toLowerCase()] ?? NaN);
  if (!(bytes >= 1))
    throw new TypeError(`${option} ${JSON.stringify(value)} is not a size of at least 1 byte`);
  return Math.round(bytes);
}

/**
 * `--record-keep`: an age (`7d`), a total size (`50GB`), or both with a comma (`7d,50GB`). TypeError naming
 * the option otherwise.
 */
export function parseKeep(option: string, value: string): { maxAgeSec?: number; maxBytes?: number } {
  const keep: { maxAgeSec?: number; maxBytes?: number } = {};
  for (const part of value.split(',')) {
    const bytes = parseByteSize(option, part);
    if (bytes !== undefined) {
      if (keep.maxBytes !== undefined) throw new TypeError(`${option} ${JSON.stringify(value)}: two sizes`);
      keep.maxBytes = bytes;
      continue;
    }
    if (keep.maxAgeSec !== undefined) throw new TypeError(`${option} ${JSON.stringify(value)}: two ages`);
    try {
      keep.maxAgeSec = parseDuration(option, part);
    } catch {
      throw new TypeError(
        `${option} ${JSON.stringify(value)} is not an age (7d, 12h), a size (50GB, 500MiB) or both (7d,50GB)`,
      );
    }
  }
  return keep;
}

/** Source-related flags, as given. */
export interface SourceFlags {
  device?: string;
  inputFormat?: string;
  input?: string;
  loop?: boolean;
  testPattern?: boolean;
}

/**
 * Picks the capture source from the flags: `--device`, `--input` or `--test-pattern` (at most one). With none,
 * `fallback` decides: the caller sends the test pattern, the answerer receives only.
 */
export function sourceFromFlags(
  flags: SourceFlags,
  fallback: 'test-pattern' | 'none',
  platform: NodeJS.Platform = process.platform,
): CaptureSource | undefined {
  const given = [flags.device, flags.input, flags.testPattern ? 'yes' : undefined].filter(
    (v) => v !== undefined,
  );
  if (given.length > 1) {
    throw new TypeError('give at most one of --device, --input and --test-pattern');
  }
  if (flags.inputFormat !== undefined && flags.device === undefined) {
    throw new TypeError('--input-format applies to --device only');
  }
  if (flags.device !== undefined) {
    const { device, inputFormat } = flags;
    const given = `--device ${JSON.stringify(device)}${inputFormat === undefined ? '' : ` --input-format ${JSON.stringify(inputFormat)}`}`;
    return naming(given, () => sourceFromDevice(device, platform, inputFormat));
  }
  if (flags.input !== undefined) return { kind: 'file', path: flags.input, loop: flags.loop ?? true };
  if (flags.testPattern || fallback === 'test-pattern') return { kind: 'test-pattern' };
  return undefined;
}

/** Sound-related flags, as given (`--no-audio` makes `audio` false, `--no-video` makes `video` false). */
export interface AudioFlags {
  audioDevice?: string;
  audio?: boolean;
  video?: boolean;
}

/**
 * What to send, sound and picture, from the flags. Sound: `--audio-device` when given; otherwise the test
 * tone with the test pattern and a file's own sound with `--input`; a camera alone sends no sound (name the
 * microphone with `--audio-device`); `--no-audio` turns sound off. `--no-video` keeps the sound of the
 * source that would have been sent (the test tone by default) and drops its picture.
 *
 * @throws TypeError on contradicting flags.
 */
export function mediaFromFlags(
  flags: SourceFlags & AudioFlags,
  fallback: 'test-pattern' | 'none',
  platform: NodeJS.Platform = process.platform,
): { video?: CaptureSource; audio?: AudioSource } {
  if (flags.audio === false && flags.audioDevice !== undefined)
    throw new TypeError('--no-audio and --audio-device contradict each other: give one of them');
  if (flags.video === false && flags.device !== undefined)
    throw new TypeError('--no-video and --device contradict each other: give one of them');
  const source = sourceFromFlags(flags, fallback, platform);
  let audio: AudioSource | undefined;
  if (flags.audio === false) audio = undefined;
  else if (flags.audioDevice !== undefined) {
    const device = flags.audioDevice;
    audio = naming(`--audio-device ${JSON.stringify(device)}`, () => audioSourceFromDevice(device, platform));
  } else if (source?.kind === 'test-pattern') audio = { kind: 'test-tone' };
  else if (source?.kind === 'file') audio = { kind: 'file', path: source.path, loop: source.loop ?? true };
  const video = flags.video === false ? undefined : source;
  return { ...(video ? { video } : {}), ...(audio ? { audio } : {}) };
}

/** Runs `parse`; a TypeError it throws (the capture's words) is thrown again naming the flags it came from. */
function naming<T>(flags: string, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (!(error instanceof TypeError)) throw error;
    throw new TypeError(`${flags}: ${error.message.replace(/^capture: /, '')}`, { cause: error });
  }
}
