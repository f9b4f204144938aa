/**
 * The one lookup for the system binaries the tests use (chromium, turnserver, ...): an environment override
 * (`RTC_PEER_CHROMIUM=/path`), else PATH, else the sbin directories a non-root PATH often lacks.
 */
import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';
import { SYSTEM_PACKAGES, type SystemCommand, type SystemPackage } from './packages.js';

/** Searched after PATH: Debian puts some daemons and tools there (nft, ip), and a user's PATH may lack them. */
export const EXTRA_DIRS = ['/usr/local/sbin', '/usr/sbin', '/sbin'] as const;

/** Where to look and how to test a file; the defaults are the real environment and file system. */
export interface FindOptions {
  /** Environment for PATH and the overrides. Default: `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** True when `file` is an executable regular file. Default: a real `stat` + `access(X_OK)`. */
  isExecutable?: (file: string) => boolean;
}

/** A command found, or why it was not. */
export type FindResult =
  | { found: true; path: string; via: 'env' | 'PATH' | 'sbin' }
  | { found: false; reason: string; misconfigured: boolean };

/** The environment variable that overrides a command's path: `redis-server` -> `RTC_PEER_REDIS_SERVER`. */
export function overrideVar(command: string): string {
  return `RTC_PEER_${command.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;
}

/** True when `file` is an executable regular file. */
export function isExecutableFile(file: string): boolean {
  try {
    if (!statSync(file).isFile()) return false;
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Finds `command`. A set override is the only candidate (a typo is an error, not a silent fallback to another
 * binary); otherwise the first executable `command` in PATH, then in {@link EXTRA_DIRS}.
 *
 * @example
 * const r = findCommand('turnserver'); // { found: true, path: '/usr/bin/turnserver', via: 'PATH' }
 */
export function findCommand(command: string, options: FindOptions = {}): FindResult {
  const env = options.env ?? process.env;
  const isExecutable = options.isExecutable ?? isExecutableFile;
  const name = overrideVar(command);
  const override = env[name];
  if (override) {
    return isExecutable(override)
      ? { found: true, path: override, via: 'env' }
      : { found: false, reason: `${name}=${override} is not an executable file`, misconfigured: true };
  }
  const dirs = (env.PATH ?? '').split(path.delimiter).filter((d) => d !== '');
  for (const dir of dirs) {
    const file = path.join(dir, command);
    if (isExecutable(file)) return { found: true, path: file, via: 'PATH' };
  }
  for (const dir of EXTRA_DIRS) {
    const file = path.join(dir, command);
    if (isExecutable(file)) return { found: true, path: file, via: 'sbin' };
  }
  return {
    found: false,
    reason: `no ${command} on PATH or in ${EXTRA_DIRS.join(', ')}, and ${name} is not set`,
    misconfigured: false,
  };
}

/** The listed package that provides `command`. */
export function packageOf(command: string): SystemPackage | undefined {
  return SYSTEM_PACKAGES.find((p) => (p.provides as readonly string[]).includes(command));
}

/**
 * The path of a binary the tests need, from {@link findCommand}. Throws (a test never skips for a missing
 * package) with the package to install and how; `npm test` installs it before any test runs, so this fires
 * only when a test runs outside it, or the override is wrong.
 *
 * @example
 * chromium.launch({ executablePath: systemCommand('chromium') });
 */
export function systemCommand(command: SystemCommand, options: FindOptions = {}): string {
  const result = findCommand(command, options);
  if (result.found) return result.path;
  const pkg = packageOf(command);
  const install = pkg
    ? `; it comes with Debian's ${pkg.name} (${pkg.usedBy}), which npm test installs when run as root, ` +
      `else: sudo apt-get install -y ${pkg.name}`
    : '';
  throw new Error(`${command} not found: ${result.reason}${install}`);
}
