import { chmod, copyFile, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FfmpegNotFoundError } from '../../src/errors.js';
import { locateFfmpeg } from '../../src/capture/ffmpeg-locate.js';
import { testFfmpeg } from '../helpers/media.js';

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(path.join(tmpdir(), 'rtc-peer-locate-'));
  dirs.push(d);
  return d;
}
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

describe('locateFfmpeg', () => {
  it('finds the packaged ffmpeg and reports its version line', { timeout: 15_000 }, async () => {
    const found = await locateFfmpeg({ env: { PATH: '' } });
    expect(found.source).toBe('@ffmpeg-installer/ffmpeg');
    expect(found.version).toMatch(/^ffmpeg version /);
    // cached: the same promise result for the same inputs
    expect(await locateFfmpeg({ env: { PATH: '' } })).toBe(found);
  });

  it(
    'uses an explicit path, and RTC_PEER_FFMPEG when no explicit path is given',
    { timeout: 15_000 },
    async () => {
      const real = await testFfmpeg();
      expect(await locateFfmpeg({ explicit: real, env: {} })).toMatchObject({ path: real, source: 'option' });
      expect(await locateFfmpeg({ env: { RTC_PEER_FFMPEG: real } })).toMatchObject({
        path: real,
        source: 'env',
      });
    },
  );

  it('makes a binary executable when its postinstall chmod did not run', { timeout: 20_000 }, async () => {
    const dir = await tempDir();
    const copy = path.join(dir, 'ffmpeg');
    await copyFile(await testFfmpeg(), copy);
    await chmod(copy, 0o644);
    expect(await locateFfmpeg({ explicit: copy })).toMatchObject({ path: copy, source: 'option' });
  });

  it('lists every try with why it failed when nothing works', { timeout: 15_000 }, async () => {
    const dir = await tempDir();
    const fake = path.join(dir, 'ffmpeg');
    await writeFile(fake, '#!/bin/sh\necho "not ffmpeg"\n', { mode: 0o755 });
    // an explicit path that does not exist is the only candidate: no silent fallback
    const explicit = await locateFfmpeg({ explicit: path.join(dir, 'nope') }).catch((e: unknown) => e);
    expect(explicit).toBeInstanceOf(FfmpegNotFoundError);
    expect((explicit as FfmpegNotFoundError).tried).toEqual([
      `option (${path.join(dir, 'nope')}): does not exist`,
    ]);
    expect((explicit as Error).message).toMatch(/Install ffmpeg .* or point RTC_PEER_FFMPEG at one\.$/);

    const env = await locateFfmpeg({ env: { RTC_PEER_FFMPEG: fake } }).catch((e: unknown) => e);
    expect((env as FfmpegNotFoundError).tried[0]).toMatch(
      /^env \(.*\): `-version` printed "not ffmpeg", not ffmpeg$/,
    );

    const dirAsBinary = await locateFfmpeg({ explicit: dir }).catch((e: unknown) => e);
    expect((dirAsBinary as FfmpegNotFoundError).tried[0]).toMatch(/is not a file/);
  });

  it('the packages come before PATH', { timeout: 15_000 }, async () => {
    // A PATH with a fake ffmpeg: the package candidates come first and win.
    const dir = await tempDir();
    await writeFile(path.join(dir, 'ffmpeg'), '#!/bin/sh\nexit 1\n', { mode: 0o755 });
    const found = await locateFfmpeg({ env: { PATH: dir } });
    expect(found.source).toBe('@ffmpeg-installer/ffmpeg');
  });

  it(
    'without the packages it falls through to PATH, naming each try when that fails too',
    { timeout: 15_000 },
    async () => {
      // As on a machine where neither package installed: ffmpeg-static absent, @ffmpeg-installer without a
      // binary for this platform (it throws a string then).
      const noPackages = (name: string): unknown => {
        if (name === 'ffmpeg-static')
          throw Object.assign(new Error(`Cannot find module '${name}'`), { code: 'MODULE_NOT_FOUND' });
        throw 'Unsupported platform/architecture: linux-x64';
      };
      const empty = await tempDir();
      const good = await tempDir();
      await symlink(await testFfmpeg(), path.join(good, 'ffmpeg'));
      // The first PATH directory that has one wins (an empty one is skipped).
      const found = await locateFfmpeg({
        env: { PATH: [empty, good].join(path.delimiter) },
        requirePackage: noPackages,
      });
      expect(found).toMatchObject({ source: 'PATH', path: path.join(good, 'ffmpeg') });
      expect(found.version).toMatch(/^ffmpeg version /);

      const bad = await tempDir();
      await writeFile(path.join(bad, 'ffmpeg'), '#!/bin/sh\nexit 1\n', { mode: 0o755 });
      const err = await locateFfmpeg({
        env: { PATH: [bad, good].join(path.delimiter) },
        requirePackage: noPackages,
      }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(FfmpegNotFoundError);
      expect((err as FfmpegNotFoundError).tried).toEqual([
        'ffmpeg-static: package not installed',
        '@ffmpeg-installer/ffmpeg: Unsupported platform/architecture: linux-x64',
        expect.stringMatching(new RegExp(`^PATH \\(${path.join(bad, 'ffmpeg')}\\): \`-version\` failed`)),
      ]);
      const none = await locateFfmpeg({ env: { PATH: empty }, requirePackage: noPackages }).catch(
        (e: unknown) => e,
      );
      expect((none as FfmpegNotFoundError).tried.at(-1)).toBe('PATH: no ffmpeg in any of 1 PATH directories');
    },
  );
});
