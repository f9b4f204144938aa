/**
 * The lookup of the system binaries: overrides, PATH, the sbin directories, and what a missing one says.
 * A fake file system (a set of executable paths) for the rules; the real one for the binaries of this suite.
 */
import { describe, expect, it } from 'vitest';
import { EXTRA_DIRS, findCommand, overrideVar, systemCommand } from './find-command.js';
import { SYSTEM_PACKAGES } from './packages.js';

const fakeFs =
  (...executables: string[]) =>
  (file: string): boolean =>
    executables.includes(file);

describe('findCommand', () => {
  it('takes the first PATH directory that has it, then the sbin directories', () => {
    const isExecutable = fakeFs('/opt/b/nft', '/usr/bin/nft', '/usr/sbin/nft', '/sbin/ip');
    expect(findCommand('nft', { env: { PATH: '/opt/a:/opt/b:/usr/bin' }, isExecutable })).toEqual({
      found: true,
      path: '/opt/b/nft',
      via: 'PATH',
    });
    // A PATH without sbin (a normal user's) still finds root's tools.
    expect(findCommand('ip', { env: { PATH: '/usr/bin' }, isExecutable })).toEqual({
      found: true,
      path: '/sbin/ip',
      via: 'sbin',
    });
    expect(EXTRA_DIRS).toEqual(['/usr/local/sbin', '/usr/sbin', '/sbin']);
  });

  it('uses an override when set, and never falls back when the override is wrong', () => {
    const isExecutable = fakeFs('/usr/bin/chromium', '/opt/chrome/chrome');
    const env = { PATH: '/usr/bin', RTC_PEER_CHROMIUM: '/opt/chrome/chrome' };
    expect(findCommand('chromium', { env, isExecutable })).toEqual({
      found: true,
      path: '/opt/chrome/chrome',
      via: 'env',
    });
    const wrong = { PATH: '/usr/bin', RTC_PEER_CHROMIUM: '/opt/chrome/typo' };
    expect(findCommand('chromium', { env: wrong, isExecutable })).toEqual({
      found: false,
      reason: 'RTC_PEER_CHROMIUM=/opt/chrome/typo is not an executable file',
      misconfigured: true,
    });
  });

  it('says where it looked when the command is nowhere', () => {
    expect(findCommand('turnserver', { env: { PATH: '/usr/bin' }, isExecutable: fakeFs() })).toEqual({
      found: false,
      reason:
        'no turnserver on PATH or in /usr/local/sbin, /usr/sbin, /sbin, and RTC_PEER_TURNSERVER is not set',
      misconfigured: false,
    });
  });

  it('names the override after the command', () => {
    expect(overrideVar('chromium')).toBe('RTC_PEER_CHROMIUM');
    expect(overrideVar('redis-server')).toBe('RTC_PEER_REDIS_SERVER');
    expect(overrideVar('janus-pp-rec')).toBe('RTC_PEER_JANUS_PP_REC');
  });

  it('finds, on this machine, every command the suite lists (npm test installed them)', () => {
    for (const pkg of SYSTEM_PACKAGES) {
      for (const command of pkg.provides) {
        const found = findCommand(command);
        expect(found, `${command} of ${pkg.name}`).toMatchObject({ found: true });
      }
    }
  });
});

describe('systemCommand', () => {
  it('returns the path, or throws naming the package and the command that installs it', () => {
    const isExecutable = fakeFs('/usr/bin/turnserver');
    expect(systemCommand('turnserver', { env: { PATH: '/usr/bin' }, isExecutable })).toBe(
      '/usr/bin/turnserver',
    );
    expect(() => systemCommand('chromium', { env: { PATH: '/usr/bin' }, isExecutable })).toThrow(
      'chromium not found: no chromium on PATH or in /usr/local/sbin, /usr/sbin, /sbin, and RTC_PEER_CHROMIUM ' +
        "is not set; it comes with Debian's chromium (browser interop tests and bench), which npm test " +
        'installs when run as root, else: sudo apt-get install -y chromium',
    );
  });
});
