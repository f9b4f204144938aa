import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { RecordingSummary } from '../../src/record/types.js';
import { compileForChild, inspectRecording, pidAlive, testFfmpeg, waitUntil } from '../helpers/media.js';
import { ffmpegDescendants } from '../helpers/procs.js';

/** The recording ffmpeg of the fixture `child`, as the OS sees it: its one ffmpeg child. */
function recorderPid(child: ChildProcess): number {
  const ffmpegs = ffmpegDescendants(child.pid);
  expect(ffmpegs).toHaveLength(1);
  return ffmpegs[0]!.pid;
}

const children: ChildProcess[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const c of children.splice(0)) {
    if (c.exitCode === null && c.signalCode === null) {
      c.kill('SIGKILL');
      await new Promise((r) => c.once('exit', r));
    }
  }
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

describe('SIGINT during a recording', () => {
  it(
    'Ctrl-C (SIGINT to the process group) finalizes a file that decodes to the end',
    { timeout: 30_000 },
    async () => {
      const dir = await mkdtemp(path.join(tmpdir(), 'rtc-peer-sigint-'));
      dirs.push(dir);
      const file = path.join(dir, 'call.webm');
      const ffmpegPath = await testFfmpeg();
      const script = await compileForChild('test/record/fixtures/record-until-sigint.ts');
      // detached: its own process group, as a terminal's foreground job
      const child = spawn(process.execPath, [script, file, ffmpegPath], {
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
      });
      children.push(child);
      let out = '';
      let err = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
      child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
      const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
      expect(await waitUntil(() => out.includes('"recording":true'), 10_000)).toBe(true);
      const ffmpegPid = recorderPid(child);
      await new Promise((r) => setTimeout(r, 2500));
      const t0 = Date.now();
      process.kill(-child.pid!, 'SIGINT');
      expect(await exited).toBe(0);
      expect(err).toBe('');
      expect(Date.now() - t0).toBeLessThan(5000);
      expect(pidAlive(ffmpegPid)).toBe(false);

      const { summary, written } = JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as {
        summary: RecordingSummary;
        written: number;
      };
      const info = await inspectRecording(file, ffmpegPath);
      expect(info).toMatchObject({ codec: 'vp8', width: 320, height: 240, exitCode: 0, decodeErrors: [] });
      // finalized: the header has the duration, and decoding runs to the last frame written
      expect(info.containerDurationSec).not.toBeNull();
      expect(Math.abs((info.containerDurationSec ?? 0) - summary.durationSec)).toBeLessThan(0.1);
      expect(summary.durationSec).toBeGreaterThan(2.5);
      expect(info.frames).toBe(summary.frames);
      const ids = info.barcodes.map((b) => b?.frameId ?? -1);
      expect(ids.at(-1)).toBe(written - 1);
      expect(ids.every((v, i) => v >= 0 && (i === 0 || v >= (ids[i - 1] ?? 0)))).toBe(true);
    },
  );

  it(
    'a SIGKILLed node: the recording ffmpeg sees EOF on stdin, finalizes what it has and exits',
    { timeout: 30_000 },
    async () => {
      const dir = await mkdtemp(path.join(tmpdir(), 'rtc-peer-sigkill-'));
      dirs.push(dir);
      const file = path.join(dir, 'call.webm');
      const ffmpegPath = await testFfmpeg();
      const script = await compileForChild('test/record/fixtures/record-until-sigint.ts');
      const child = spawn(process.execPath, [script, file, ffmpegPath], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      children.push(child);
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
      expect(await waitUntil(() => out.includes('"recording":true'), 10_000)).toBe(true);
      const ffmpegPid = recorderPid(child);
      await new Promise((r) => setTimeout(r, 1000));
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      expect(await waitUntil(() => !pidAlive(ffmpegPid), 10_000)).toBe(true);
      const info = await inspectRecording(file, ffmpegPath);
      expect(info).toMatchObject({ width: 320, height: 240, exitCode: 0, decodeErrors: [] });
      expect(info.containerDurationSec).toBeGreaterThan(0.5);
    },
  );
});
