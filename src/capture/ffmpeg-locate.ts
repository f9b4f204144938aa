import { execFile } from 'node:child_process';
import { accessSync, constants as fsConstants } from 'node:fs';
import { access, chmod, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { FfmpegNotFoundError } from '../errors.js';
import { logger } from '../util/log.js';

const log = logger('ffmpeg');
const require = createRequire(import.meta.url);

/** Where the ffmpeg binary came from, in the order they are tried. */
export type FfmpegSource = 'option' | 'env' | 'ffmpeg-static' | '@ffmpeg-installer/ffmpeg' | 'PATH';

/** A working ffmpeg binary: its path, where it was found, and the first line of `ffmpeg -version`. */
export interface FfmpegLocation {
  /** Absolute (or PATH-resolved) path of the binary. */
  path: string;
  /** Which candidate it was. */
  source: FfmpegSource;
  /** First line of `ffmpeg -version`, e.g. `ffmpeg version 6.1.1 Copyright (c) ...`. */
  version: string;
}

/** Options of {@link locateFfmpeg}. */
export interface LocateFfmpegOptions {
  /** A path given by the user (`--ffmpeg PATH`). When set, it is the only candidate. Default: none. */
  explicit?: string;
  /** Environment to read `RTC_PEER_FFMPEG` and `PATH` from. Default: `process.env`. */
  env?: NodeJS.ProcessEnv;
  /**
   * Loads an ffmpeg package by name, as `require` does (and throws as it does when the package is absent).
   * Default: Node's `require`. A seam for tests: the lookup on a machine without the packages. Results are
   * not cached when it is given.
   */
  requirePackage?: (name: string) => unknown;
}

interface Candidate {
  source: FfmpegSource;
  /** Resolved path, or why there is none (e.g. the package is not installed). */
  path?: string;
  missing?: string;
}

const cache = new Map<string, Promise<FfmpegLocation>>();

/**
 * Finds a working ffmpeg. Order: `explicit` (`--ffmpeg`) or else `RTC_PEER_FFMPEG` — a path the user named is
 * the only one tried, so a typo is an error rather than a silent fallback — then `ffmpeg-static` (not a
 * dependency: used when the user installed it beside rtc-peer), `@ffmpeg-installer/ffmpeg` (the dependency,
 * shipped in the registry), and `ffmpeg` on `PATH`. Every candidate must exist, be executable (a package
 * binary whose postinstall `chmod` did not run is made executable when we own it) and run `-version`.
 * Results are cached per explicit path / environment value.
 *
 * @throws FfmpegNotFoundError listing every candidate with why it failed.
 * @example
 * const ffmpeg = await locateFfmpeg({ explicit: opts.ffmpeg });
 * log('using %s (%s): %s', ffmpeg.path, ffmpeg.source, ffmpeg.version);
 */
export function locateFfmpeg(options: LocateFfmpegOptions = {}): Promise<FfmpegLocation> {
  const env = options.env ?? process.env;
  if (options.requirePackage) return search(options.explicit, env, options.requirePackage);
  const key = `${options.explicit ?? ''}\0${env.RTC_PEER_FFMPEG ?? ''}\0${env.PATH ?? ''}`;
  let found = cache.get(key);
  if (!found) {
    found = search(options.explicit, env, require);
    cache.set(key, found);
    // A failure is not cached: the user may install ffmpeg and retry in the same process.
    found.catch(() => cache.delete(key));
  }
  return found;
}

async function search(
  explicit: string | undefined,
  env: NodeJS.ProcessEnv,
  requirePackage: (name: string) => unknown,
): Promise<FfmpegLocation> {
  const tried: string[] = [];
  for (const candidate of candidates(explicit, env, requirePackage)) {
    const label = `${candidate.source}${candidate.path ? ` (${candidate.path})` : ''}`;
    if (!candidate.path) {
      tried.push(`${label}: ${candidate.missing ?? 'not available'}`);
      continue;
    }
    try {
      const version = await check(candidate.path);
      log('using ffmpeg %s from %s: %s', candidate.path, candidate.source, version);
      return { path: candidate.path, source: candidate.source, version };
    } catch (err) {
      tried.push(`${label}: ${(err as Error).message}`);
    }
  }
  throw new FfmpegNotFoundError(tried);
}

function* candidates(
  explicit: string | undefined,
  env: NodeJS.ProcessEnv,
  requirePackage: (name: string) => unknown,
): Generator<Candidate> {
  if (explicit !== undefined) {
    yield { source: 'option', path: path.resolve(explicit) };
    return;
  }
  if (env.RTC_PEER_FFMPEG) {
    yield { source: 'env', path: path.resolve(env.RTC_PEER_FFMPEG) };
    return;
  }
  yield fromPackage('ffmpeg-static', requirePackage, (m) => (typeof m === 'string' ? m : null));
  yield fromPackage(
    '@ffmpeg-installer/ffmpeg',
    requirePackage,
    (m) => (m as { path?: string } | null)?.path ?? null,
  );
  yield fromPath(env);
}

function fromPackage(
  name: 'ffmpeg-static' | '@ffmpeg-installer/ffmpeg',
  requirePackage: (name: string) => unknown,
  pick: (m: unknown) => string | null,
): Candidate {
  try {
    const binary = pick(requirePackage(name));
    return binary ? { source: name, path: binary } : { source: name, missing: 'no binary for this platform' };
  } catch (err) {
    const e = err as NodeJS.ErrnoException | string;
    // @ffmpeg-installer throws a plain string when its platform package is absent.
    if (typeof e === 'string') return { source: name, missing: e };
    if (e.code === 'MODULE_NOT_FOUND') return { source: name, missing: 'package not installed' };
    return { source: name, missing: e.message };
  }
}

function fromPath(env: NodeJS.ProcessEnv): Candidate {
  const exe = process.platform === 'win32' ? 'ffmpeg.exe' : 'ffmpeg';
  const dirs = (env.PATH ?? '').split(path.delimiter).filter(Boolean);
  // The first PATH entry that has the file wins, as a shell would pick it; check() then validates it.
  for (const dir of dirs) {
    const file = path.join(dir, exe);
    try {
      accessSync(file, fsConstants.F_OK);
      return { source: 'PATH', path: file };
    } catch {
      // not in this directory
    }
  }
  return { source: 'PATH', missing: `no ${exe} in any of ${dirs.length} PATH directories` };
}

/** Exists, is a file, is executable (fixing a missing postinstall chmod if we can), and runs `-version`. */
async function check(file: string): Promise<string> {
  let info;
  try {
    info = await stat(file);
  } catch {
    throw new Error('does not exist');
  }
  if (!info.isFile()) throw new Error('is not a file');
  if (process.platform !== 'win32') {
    try {
      await access(file, fsConstants.X_OK);
    } catch {
      try {
        // Packages ship the binary with a postinstall chmod that may not have run (--ignore-scripts).
        await chmod(file, info.mode | 0o111);
        log('made %s executable', file);
      } catch (err) {
        throw new Error(
          `is not executable and chmod failed (${(err as NodeJS.ErrnoException).code ?? err})`,
          {
            cause: err,
          },
        );
      }
    }
  }
  return new Promise((resolve, reject) => {
    execFile(file, ['-version'], { timeout: 10_000, windowsHide: true }, (err, stdout) => {
      const first = stdout.split(/\r?\n/, 1)[0]?.trim() ?? '';
      if (err) reject(new Error(`\`-version\` failed: ${err.message.split('\n', 1)[0]}`));
      else if (!first.startsWith('ffmpeg version'))
        reject(new Error(`\`-version\` printed "${first}", not ffmpeg`));
      else resolve(first);
    });
  });
}
