/**
 * The check that runs before any test: what is missing -> install (root on Debian) or one line saying what to
 * run. The decisions are pure and tested as such; the runner is tested with a stand-in apt-get (a test must
 * not install system packages on a shared machine), and the real script and the real vitest are run as a
 * user who is not root (nobody, through setpriv, when this suite runs as root) with PATH stripped, so that
 * the packages this machine has look missing.
 */
import { spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import {
  aptCommands,
  ensureSystemPackages,
  installCommandLine,
  parseOsRelease,
  plan,
  readHost,
  survey,
  SystemPackagesError,
  type Host,
  type Survey,
} from './ensure-packages.js';
import type { FindResult } from './find-command.js';
import { SYSTEM_PACKAGES, type SystemPackage } from './packages.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const DEBIAN_ROOT: Host = {
  isRoot: true,
  aptGet: '/usr/bin/apt-get',
  system: 'Debian GNU/Linux 12 (bookworm)',
};
const DEBIAN_USER: Host = { ...DEBIAN_ROOT, isRoot: false, sudo: '/usr/bin/sudo' };
const MACOS: Host = { isRoot: false, sudo: '/usr/bin/sudo', system: 'darwin' };

const missing = (command: string): FindResult => ({
  found: false,
  reason: `no ${command}`,
  misconfigured: false,
});
const allMissing: Survey = survey(SYSTEM_PACKAGES, missing);

describe('survey', () => {
  it('lists the packages with a command or file not found, and wrong overrides apart', () => {
    const list: SystemPackage[] = [
      { name: 'iproute2', provides: ['ip', 'tc'], usedBy: 'netns' },
      { name: 'janus', provides: ['janus', '/usr/lib/janus/plugins/libjanus_echotest.so'], usedBy: 'WHIP' },
      { name: 'chromium', provides: ['chromium'], usedBy: 'browser' },
    ];
    const find = (command: string): FindResult =>
      command === 'ip' || command === 'janus'
        ? { found: true, path: `/usr/bin/${command}`, via: 'PATH' }
        : command === 'chromium'
          ? { found: false, reason: 'RTC_PEER_CHROMIUM=/x is not an executable file', misconfigured: true }
          : missing(command);
    const result = survey(list, find, () => false);
    expect(result.missing).toEqual([
      { pkg: list[0], absent: ['tc'] },
      { pkg: list[1], absent: ['/usr/lib/janus/plugins/libjanus_echotest.so'] },
    ]);
    expect(result.misconfigured).toEqual(['RTC_PEER_CHROMIUM=/x is not an executable file']);
  });
});

describe('plan', () => {
  it('does nothing when everything is there', () => {
    expect(plan({ missing: [], misconfigured: [] }, DEBIAN_USER)).toEqual({ kind: 'ready' });
  });

  it('installs, as root on Debian, the missing packages in the order of the list', () => {
    expect(plan(allMissing, DEBIAN_ROOT)).toEqual({
      kind: 'install',
      aptGet: '/usr/bin/apt-get',
      packages: [
        'chromium',
        'coturn',
        'iproute2',
        'nftables',
        'conntrack',
        'janus',
        'janus-tools',
        'redis-server',
        'haproxy',
        'openssl',
        'libnss3-tools',
      ],
    });
    expect(aptCommands('/usr/bin/apt-get', ['chromium', 'coturn'])).toEqual([
      ['/usr/bin/apt-get', '-qq', '-o', 'DPkg::Lock::Timeout=300', 'update'],
      [
        ...['/usr/bin/apt-get', '-qq', '-o', 'DPkg::Lock::Timeout=300', 'install', '-y'],
        ...['--no-install-recommends', 'chromium', 'coturn'],
      ],
    ]);
  });

  it('stops a user who is not root with the exact command, sudo when there is one', () => {
    expect(plan(allMissing, DEBIAN_USER)).toEqual({
      kind: 'stop',
      message:
        'rtc-peer tests: missing Debian packages chromium (browser interop tests and bench), coturn (TURN ' +
        "relay tests), iproute2 (the network lab and the STUN test's NAT), nftables (the network lab's NATs " +
        "and loss, the STUN test's NAT), conntrack (the network lab's NAT mappings), janus (the WHIP tests " +
        "against a real SFU), janus-tools (the WHIP tests, to convert Janus's recordings), redis-server " +
        '(several signaling servers sharing rooms), haproxy (clients failing over behind a load balancer), ' +
        'openssl (the TLS tests, which make their certificates), libnss3-tools (the TLS browser test: ' +
        'Chromium trusts the test CA through an NSS database of its own); ' +
        'run: sudo apt-get update && sudo apt-get install -y --no-install-recommends chromium coturn ' +
        'iproute2 nftables conntrack janus janus-tools redis-server haproxy openssl libnss3-tools',
    });
    expect(installCommandLine(['coturn'], { isRoot: false })).toBe(
      '(as root) apt-get update && apt-get install -y --no-install-recommends coturn',
    );
  });

  it('names the commands and their overrides where there is no apt-get', () => {
    expect(plan(allMissing, MACOS)).toEqual({
      kind: 'stop',
      message:
        "rtc-peer tests: missing chromium (Debian's chromium: browser interop tests and bench), turnserver " +
        "(Debian's coturn: TURN relay tests), ip, tc (Debian's iproute2: the network lab and the STUN test's " +
        "NAT), nft (Debian's nftables: the network lab's NATs and loss, the STUN test's NAT), conntrack " +
        "(Debian's conntrack: the network lab's NAT mappings), janus (Debian's janus: the WHIP tests against " +
        "a real SFU), janus-pp-rec (Debian's janus-tools: the WHIP tests, to convert Janus's recordings), " +
        "redis-server (Debian's redis-server: several signaling servers sharing rooms), haproxy (Debian's " +
        "haproxy: clients failing over behind a load balancer), openssl (Debian's openssl: the TLS tests, " +
        "which make their certificates), certutil (Debian's libnss3-tools: the TLS browser test: Chromium " +
        'trusts the test CA through an NSS database of its own); darwin has no apt-get to install them, so ' +
        'install them yourself and put them on PATH, or set RTC_PEER_CHROMIUM, RTC_PEER_TURNSERVER, ' +
        'RTC_PEER_IP, RTC_PEER_TC, RTC_PEER_NFT, RTC_PEER_CONNTRACK, RTC_PEER_JANUS, RTC_PEER_JANUS_PP_REC, ' +
        'RTC_PEER_REDIS_SERVER, RTC_PEER_HAPROXY, RTC_PEER_OPENSSL, RTC_PEER_CERTUTIL to their paths',
    });
  });

  it('stops on a wrong override even as root: installing would not fix it', () => {
    const found: Survey = {
      ...allMissing,
      misconfigured: ['RTC_PEER_CHROMIUM=/x is not an executable file'],
    };
    expect(plan(found, DEBIAN_ROOT)).toEqual({
      kind: 'stop',
      message: 'rtc-peer tests: RTC_PEER_CHROMIUM=/x is not an executable file: fix or unset it',
    });
  });
});

describe('readHost', () => {
  it('reads /etc/os-release fields, quoted or not', () => {
    expect(parseOsRelease('PRETTY_NAME="Ubuntu 24.04 LTS"\nID=ubuntu\nID_LIKE=debian\n# comment\n')).toEqual({
      PRETTY_NAME: 'Ubuntu 24.04 LTS',
      ID: 'ubuntu',
      ID_LIKE: 'debian',
    });
  });
});

describe('ensureSystemPackages with a stand-in apt-get', () => {
  const dirs: string[] = [];
  afterEach(async () => {
    await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
  });

  /** A directory with bin/ (the PATH) and an apt-get script that logs its arguments and runs `body`. */
  async function fakeApt(body: string): Promise<{ dir: string; aptGet: string; log: string }> {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'rtc-peer-apt-'));
    dirs.push(dir);
    const aptGet = path.join(dir, 'apt-get');
    const log = path.join(dir, 'log');
    await writeFile(
      aptGet,
      `#!/bin/sh\necho "$DEBIAN_FRONTEND $*" >> ${log}\nmkdir -p ${dir}/bin\n${body}\n`,
      'utf8',
    );
    await chmod(aptGet, 0o755);
    return { dir, aptGet, log };
  }
  const list: SystemPackage[] = [{ name: 'fakepkg', provides: ['fakecmd'], usedBy: 'this test' }];

  it('updates once, installs quietly with one line of output, and checks the command is there', async () => {
    const apt = await fakeApt(
      `case "$*" in *install*) printf '#!/bin/sh\\n' > ${'$(dirname "$0")'}/bin/fakecmd; ` +
        `chmod +x ${'$(dirname "$0")'}/bin/fakecmd; echo "Setting up fakepkg";; esac`,
    );
    const written: string[] = [];
    await ensureSystemPackages({
      list,
      env: { PATH: path.join(apt.dir, 'bin') },
      host: { isRoot: true, aptGet: apt.aptGet, system: 'test' },
      write: (text) => written.push(text),
    });
    expect(written.join('')).toMatch(
      /^rtc-peer tests: installing Debian packages fakepkg \(apt-get, as root\)\.\.\. done in \d+ s\n$/,
    );
    expect((await readFile(apt.log, 'utf8')).split('\n')).toEqual([
      'noninteractive -qq -o DPkg::Lock::Timeout=300 update',
      'noninteractive -qq -o DPkg::Lock::Timeout=300 install -y --no-install-recommends fakepkg',
      '',
    ]);
  });

  it("shows apt-get's whole output when it fails", async () => {
    const apt = await fakeApt(
      'case "$*" in *install*) echo "E: Unable to locate package fakepkg" >&2; exit 100;; esac',
    );
    const written: string[] = [];
    const error = await ensureSystemPackages({
      list,
      env: { PATH: path.join(apt.dir, 'bin') },
      host: { isRoot: true, aptGet: apt.aptGet, system: 'test' },
      write: (text) => written.push(text),
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SystemPackagesError);
    expect((error as Error).message).toBe(
      `rtc-peer tests: \`${apt.aptGet} -qq -o DPkg::Lock::Timeout=300 install -y --no-install-recommends ` +
        'fakepkg` exited with 100; its output:\nE: Unable to locate package fakepkg',
    );
    expect(written.join('')).toMatch(/\.\.\. failed\n$/);
  });

  it('fails when the package installed but its command is still not there', async () => {
    const apt = await fakeApt('true');
    const error = await ensureSystemPackages({
      list,
      env: { PATH: path.join(apt.dir, 'bin') },
      host: { isRoot: true, aptGet: apt.aptGet, system: 'test' },
      write: () => undefined,
    }).catch((e: unknown) => e);
    expect((error as Error).message).toBe(
      'rtc-peer tests: apt-get installed fakepkg, but still missing: fakecmd (fakepkg)',
    );
  });
});

/** Whether a user who is neither owner nor in the group can reach `dir` (every directory up to / searchable). */
function othersCanRead(dir: string): boolean {
  for (let d = dir; ; d = path.dirname(d)) {
    if ((statSync(d).mode & 0o001) === 0) return false;
    if (d === path.dirname(d)) return true;
  }
}

/** Runs node with `args` in the repository as a user who is not root, with PATH stripped. */
function runWithoutPackages(
  args: string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = { PATH: '/nonexistent', HOME: os.tmpdir(), NO_COLOR: '1' };
  // As root, drop to nobody: as root the script would install (this machine has the packages; the point is
  // what a user who is not root sees). Where nobody cannot reach the repository (a clone in root's home,
  // mode 700: a fresh machine's first clone, seen there), stay root and have the script decide as a user
  // would instead.
  const asNobody = process.getuid?.() === 0 && othersCanRead(ROOT);
  if (process.getuid?.() === 0 && !asNobody) env['RTC_PEER_PACKAGES_AS_USER'] = '1';
  const [file, argv] = asNobody
    ? [
        '/usr/bin/setpriv',
        ['--reuid=65534', '--regid=65534', '--clear-groups', '--', process.execPath, ...args],
      ]
    : [process.execPath, args];
  return new Promise((resolve, reject) => {
    // stdin: none; stdout, stderr: read for the assertions
    const child = spawn(file, argv, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('on a machine that lacks the packages, for a user who is not root', () => {
  const expected = readHost().aptGet
    ? 'rtc-peer tests: missing Debian packages chromium (browser interop tests and bench), coturn (TURN relay ' +
      "tests), janus (the WHIP tests against a real SFU), janus-tools (the WHIP tests, to convert Janus's " +
      'recordings), redis-server (several signaling servers sharing rooms), openssl (the TLS tests, which ' +
      'make their certificates), libnss3-tools (the TLS browser test: Chromium trusts the test CA through ' +
      'an NSS database of its own); run: (as root) apt-get update && apt-get install -y ' +
      '--no-install-recommends chromium coturn janus janus-tools redis-server openssl libnss3-tools'
    : undefined;

  it('the script prints one line with the command to run and exits 1', { timeout: 30_000 }, async () => {
    const run = await runWithoutPackages(['--import', 'tsx', 'test/system/ensure-packages.ts']);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    const lines = run.stderr.split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[1]).toBe('');
    if (expected) expect(lines[0]).toBe(expected);
    else
      expect(lines[0]).toMatch(
        /^rtc-peer tests: missing chromium .* RTC_PEER_CHROMIUM, RTC_PEER_TURNSERVER, RTC_PEER_REDIS_SERVER/,
      );
  });

  it('vitest stops before running any test file', { timeout: 60_000 }, async () => {
    // The runner config loader: nobody cannot write vite's temporary config bundle into node_modules.
    const run = await runWithoutPackages([
      'node_modules/vitest/vitest.mjs',
      'run',
      '--configLoader',
      'runner',
      'test/system/find-command.test.ts',
    ]);
    const output = run.stdout + run.stderr;
    expect(run.code).toBe(1);
    expect(output).toContain(expected ?? 'rtc-peer tests: missing chromium');
    // find-command.test.ts did not run: no test passed or failed.
    expect(output).not.toMatch(/Tests\s+\d+ (passed|failed)/);
    expect(output).not.toContain('findCommand');
  });
});
