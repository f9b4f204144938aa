/**
 * Turning command-line strings into typed options. Pure: no I/O, so it is unit-tested directly.
 */
import type { CaptureSource } from '../capture/index.js';
import { sourceFromDevice } from '../capture/index.js';

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
  if (flags.device !== undefined) return sourceFromDevice(flags.device, platform, flags.inputFormat);
  if (flags.input !== undefined) return { kind: 'file', path: flags.input, loop: flags.loop ?? true };
  if (flags.testPattern || fallback === 'test-pattern') return { kind: 'test-pattern' };
  return undefined;
}
