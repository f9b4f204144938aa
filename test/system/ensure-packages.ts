/**
 * Installs the Debian packages of packages.ts that are missing, before any test runs: as root on
 * Debian/Ubuntu with `apt-get update` then `apt-get install -y --no-install-recommends` (one line of output,
 * apt's own only when it fails); otherwise one line says exactly what to run, and the run stops (exit 1).
 *
 * Run by `npm test` (pretest) and `npm run bench` as `tsx test/system/ensure-packages.ts`, and again as
 * vitest's globalSetup, so that `npx vitest run FILE` checks too. `--no-install-recommends`: the list names
 * everything the suite uses, so a recommended extra is never what makes a test pass.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { findCommand, isExecutableFile, overrideVar, type FindResult } from './find-command.js';
import { SYSTEM_PACKAGES, type SystemPackage } from './packages.js';

/** What the machine is, as far as installing goes. */
export interface Host {
  /** Running as root (uid 0). */
  isRoot: boolean;
  /** apt-get, when this is Debian or a derivative (Ubuntu) that has it. */
  aptGet?: string;
  /** sudo, when it is installed. */
  sudo?: string;
  /** The system's name for messages (`PRETTY_NAME` of /etc/os-release, else the platform). */
  system: string;
}

/** Which listed packages are missing (with the commands or files not found) and which overrides are wrong. */
export interface Survey {
  missing: Array<{ pkg: SystemPackage; absent: string[] }>;
  /** Overrides that point at no executable, e.g. `RTC_PEER_CHROMIUM=/nope is not an executable file`. */
  misconfigured: string[];
}

/** What to do about a {@link Survey}. */
export type Plan =
  | { kind: 'ready' }
  | { kind: 'install'; aptGet: string; packages: string[] }
  | { kind: 'stop'; message: string };

/** A failure to stop the run with; its message is the one line to print. */
export class SystemPackagesError extends Error {
  override name = 'SystemPackagesError';
}

const PREFIX = 'rtc-peer tests';

/** Checks every package: a command by {@link findCommand}, an absolute path by existence. */
export function survey(
  list: readonly SystemPackage[],
  find: (command: string) => FindResult,
  fileExists: (file: string) => boolean = existsSync,
): Survey {
  const result: Survey = { missing: [], misconfigured: [] };
  for (const pkg of list) {
    const absent: string[] = [];
    for (const item of pkg.provides) {
      if (path.isAbsolute(item)) {
        if (!fileExists(item)) absent.push(item);
        continue;
      }
      const found = find(item);
      if (found.found) continue;
      if (found.misconfigured) result.misconfigured.push(found.reason);
      else absent.push(item);
    }
    if (absent.length > 0) result.missing.push({ pkg, absent });
  }
  return result;
}

/** The command line a person should run to install `packages`, for the one-line message. */
export function installCommandLine(packages: readonly string[], host: Pick<Host, 'isRoot' | 'sudo'>): string {
  const line = `apt-get update && apt-get install -y --no-install-recommends ${packages.join(' ')}`;
  if (host.isRoot) return line;
  return host.sudo ? line.replace(/apt-get/g, 'sudo apt-get') : `(as root) ${line}`;
}

/** Decides: nothing to do, install (root on Debian), or stop with one line saying what to run. */
export function plan(found: Survey, host: Host): Plan {
  if (found.misconfigured.length > 0) {
    return { kind: 'stop', message: `${PREFIX}: ${found.misconfigured.join('; ')}: fix or unset it` };
  }
  if (found.missing.length === 0) return { kind: 'ready' };
  const packages = found.missing.map((m) => m.pkg.name);
  if (host.aptGet && host.isRoot) return { kind: 'install', aptGet: host.aptGet, packages };
  if (host.aptGet) {
    const what = found.missing.map((m) => `${m.pkg.name} (${m.pkg.usedBy})`).join(', ');
    return {
      kind: 'stop',
      message: `${PREFIX}: missing Debian packages ${what}; run: ${installCommandLine(packages, host)}`,
    };
  }
  const what = found.missing
    .map((m) => `${m.absent.join(', ')} (Debian's ${m.pkg.name}: ${m.pkg.usedBy})`)
    .join(', ');
  const vars = found.missing.flatMap((m) => m.absent.filter((a) => !path.isAbsolute(a)).map(overrideVar));
  return {
    kind: 'stop',
    message:
      `${PREFIX}: missing ${what}; ${host.system} has no apt-get to install them, so install them yourself ` +
      `and put them on PATH${vars.length > 0 ? `, or set ${vars.join(', ')} to their paths` : ''}`,
  };
}

/** The apt-get runs of an install: the package lists once, then the packages. */
export function aptCommands(aptGet: string, packages: readonly string[]): string[][] {
  // Wait for a dpkg lock held by another install on a shared machine instead of failing at once.
  const quiet = ['-qq', '-o', 'DPkg::Lock::Timeout=300'];
  return [
    [aptGet, ...quiet, 'update'],
    [aptGet, ...quiet, 'install', '-y', '--no-install-recommends', ...packages],
  ];
}

/** Reads `KEY=value` lines of /etc/os-release (values may be quoted). */
export function parseOsRelease(text: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (m?.[1] !== undefined && m[2] !== undefined) fields[m[1]] = m[2].replace(/^(["'])(.*)\1$/, '$2');
  }
  return fields;
}

/** Looks at this machine. */
export function readHost(env: NodeJS.ProcessEnv = process.env): Host {
  let release: Record<string, string> = {};
  try {
    release = parseOsRelease(readFileSync('/etc/os-release', 'utf8'));
  } catch {
    // not Linux, or no os-release: not Debian
  }
  const ids = [release['ID'] ?? '', ...(release['ID_LIKE'] ?? '').split(/\s+/)];
  const debianLike = ids.some((id) => id === 'debian' || id === 'ubuntu');
  const apt = findCommand('apt-get', { env });
  const aptGet = apt.found ? apt.path : isExecutableFile('/usr/bin/apt-get') ? '/usr/bin/apt-get' : undefined;
  const sudo = findCommand('sudo', { env });
  return {
    // RTC_PEER_PACKAGES_AS_USER=1: decide as a user who is not root would (the test of that message, where
    // the repository is somewhere no other user can read, e.g. a clone in root's home).
    isRoot: process.getuid?.() === 0 && env['RTC_PEER_PACKAGES_AS_USER'] !== '1',
    aptGet: debianLike ? aptGet : undefined,
    sudo: sudo.found ? sudo.path : undefined,
    system: release['PRETTY_NAME'] ?? process.platform,
  };
}

/** Runs one apt-get, keeping the last 64 KiB of its output for the error. */
function run(argv: string[]): Promise<{ code: number; output: string }> {
  const [file, ...args] = argv as [string, ...string[]];
  return new Promise((resolve) => {
    // stdin: none (never prompt); stdout and stderr: kept, shown only on failure
    const child = spawn(file, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      // NEEDRESTART_MODE: Ubuntu's needrestart would otherwise ask which services to restart.
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive', NEEDRESTART_MODE: 'a' },
    });
    let output = '';
    const keep = (chunk: Buffer): void => {
      output = (output + chunk.toString('utf8')).slice(-65_536);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.once('error', (error) => resolve({ code: -1, output: `${output}${error.message}\n` }));
    child.once('close', (code, signal) => resolve({ code: code ?? (signal ? 128 : -1), output }));
  });
}

/** Options of {@link ensureSystemPackages}; the defaults are this machine. */
export interface EnsureOptions {
  /** The packages. Default: {@link SYSTEM_PACKAGES}. */
  list?: readonly SystemPackage[];
  /** Environment for PATH and overrides. Default: `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** The machine. Default: {@link readHost}. */
  host?: Host;
  /** Where the progress line goes. Default: stdout. */
  write?: (text: string) => void;
}

/**
 * Makes sure every listed package is there: returns at once when it is, installs what is missing as root on
 * Debian/Ubuntu, and otherwise throws a {@link SystemPackagesError} whose message is one line saying what to
 * run.
 */
export async function ensureSystemPackages(options: EnsureOptions = {}): Promise<void> {
  const list = options.list ?? SYSTEM_PACKAGES;
  const env = options.env ?? process.env;
  const write = options.write ?? ((text: string) => void process.stdout.write(text));
  const find = (command: string): FindResult => findCommand(command, { env });
  const decision = plan(survey(list, find), options.host ?? readHost(env));
  if (decision.kind === 'ready') return;
  if (decision.kind === 'stop') throw new SystemPackagesError(decision.message);

  const started = performance.now();
  write(`${PREFIX}: installing Debian packages ${decision.packages.join(' ')} (apt-get, as root)...`);
  for (const argv of aptCommands(decision.aptGet, decision.packages)) {
    const { code, output } = await run(argv);
    if (code !== 0) {
      write(' failed\n');
      throw new SystemPackagesError(
        `${PREFIX}: \`${argv.join(' ')}\` exited with ${code}; its output:\n${output.trimEnd()}`,
      );
    }
  }
  write(` done in ${Math.round((performance.now() - started) / 1000)} s\n`);
  const after = survey(list, find);
  if (after.missing.length > 0 || after.misconfigured.length > 0) {
    const absent = after.missing.map((m) => `${m.absent.join(', ')} (${m.pkg.name})`);
    throw new SystemPackagesError(
      `${PREFIX}: apt-get installed ${decision.packages.join(' ')}, but still missing: ` +
        [...absent, ...after.misconfigured].join('; '),
    );
  }
}

/** vitest globalSetup: the same check before any test file loads (for `npx vitest run FILE` too). */
export default async function setup(): Promise<void> {
  try {
    await ensureSystemPackages();
  } catch (error) {
    // The message is the whole story: no stack trace under it.
    if (error instanceof SystemPackagesError) error.stack = error.message;
    throw error;
  }
}

const invokedDirectly =
  process.argv[1] !== undefined && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href;
if (invokedDirectly) {
  ensureSystemPackages().then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    },
  );
}
