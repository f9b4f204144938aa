import { spawn, type ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { FfmpegError } from '../../src/errors.js';
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { FfmpegProcess } from '../../src/capture/ffmpeg-process.js';
import { FrameReader } from '../../src/capture/frame-reader.js';
import { compileForChild, pidAlive, testFfmpeg, waitUntil } from '../helpers/media.js';
import { ffmpegDescendants } from '../helpers/procs.js';

const opened: FfmpegProcess[] = [];
const children: ChildProcess[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((p) => p.stop()));
  for (const c of children.splice(0)) {
    if (c.exitCode === null && c.signalCode === null) {
      c.kill('SIGKILL');
      await new Promise((r) => c.once('exit', r));
    }
  }
});

function ffmpeg(args: string[], extra: Partial<ConstructorParameters<typeof FfmpegProcess>[0]> = {}) {
  return testFfmpeg().then((ffmpegPath) => {
    const p = new FfmpegProcess({ ffmpegPath, args, ...extra });
    opened.push(p);
    return p;
  });
}

const TESTSRC = ['-hide_banner', '-re', '-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=10'];

describe('FfmpegProcess', () => {
  it('resolves start() on the first output byte and stops politely with q', { timeout: 15_000 }, async () => {
    let bytes = 0;
    const p = await ffmpeg([...TESTSRC, '-f', 'rawvideo', '-pix_fmt', 'yuv420p', 'pipe:1'], {
      onOutput: (c) => (bytes += c.length),
    });
    const exits: unknown[] = [];
    p.on('exit', (code, signal) => exits.push([code, signal]));
    await p.start();
    expect(bytes).toBeGreaterThan(0);
    // the OS's view: a live ffmpeg child of this process with that pid
    expect(ffmpegDescendants().map((c) => c.pid)).toEqual([p.pid]);
    // concurrent stops share one promise
    await Promise.all([p.stop(), p.stop()]);
    // `q` makes ffmpeg finish normally: exit code 0, no signal
    expect(exits).toEqual([[0, null]]);
    expect(ffmpegDescendants()).toEqual([]);
    expect(pidAlive(p.pid!)).toBe(false);
    await p.stop();
  });

  it('rejects start() with the stderr tail when ffmpeg exits first', { timeout: 15_000 }, async () => {
    const p = await ffmpeg(['-hide_banner', '-i', '/nonexistent/input.mp4', '-f', 'null', '-']);
    const err = await p.start().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FfmpegError);
    expect((err as FfmpegError).message).toMatch(/exited before producing output \(code 1/);
    expect((err as FfmpegError).message).toMatch(/No such file or directory/);
    expect((err as FfmpegError).details.stderr?.join('\n')).toMatch(/nonexistent\/input\.mp4/);
  });

  it('rejects start() when the binary cannot be spawned', { timeout: 15_000 }, async () => {
    const p = new FfmpegProcess({ ffmpegPath: '/nonexistent/ffmpeg', args: [] });
    opened.push(p);
    await expect(p.start()).rejects.toThrow(/could not be started .*ENOENT/);
  });

  it(
    'resolves a recorder-style start after the grace period and finalizes on end of stdin',
    { timeout: 15_000 },
    async () => {
      const p = await ffmpeg(
        [
          '-hide_banner',
          '-f',
          'rawvideo',
          '-pix_fmt',
          'gray',
          '-s',
          '16x16',
          '-i',
          'pipe:0',
          '-f',
          'null',
          '-',
        ],
        { readyOn: 'running', graceMs: 200, stopWith: 'end' },
      );
      await p.start();
      p.stdin.write(Buffer.alloc(256 * 3));
      const exit = new Promise((r) => p.once('exit', (code) => r(code)));
      await p.stop();
      expect(await exit).toBe(0);
    },
  );

  it('escalates to SIGTERM when ffmpeg ignores q', { timeout: 15_000 }, async () => {
    // -nostdin: ffmpeg does not read q; with stopTimeoutMs 300 the SIGTERM follows
    const p = await ffmpeg(['-nostdin', ...TESTSRC, '-f', 'null', '-'], {
      readyOn: 'running',
      stopTimeoutMs: 300,
    });
    await p.start();
    const exit = new Promise<[number | null, string | null]>((r) => p.once('exit', (c, s) => r([c, s])));
    const t0 = Date.now();
    await p.stop();
    const [code, signal] = await exit;
    expect(Date.now() - t0).toBeGreaterThanOrEqual(280);
    // ffmpeg catches SIGTERM and exits with 255
    expect(signal === 'SIGTERM' || code === 255).toBe(true);
  });

  it(
    'the ffmpeg of a capture does not outlive a SIGKILLed node (EPIPE on stdout)',
    { timeout: 20_000 },
    async () => {
      const script = await compileForChild('test/capture/fixtures/capture-then-wait.ts');
      const child = spawn(process.execPath, [script, await testFfmpeg()], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      children.push(child);
      const line = await new Promise<string>((resolve, reject) => {
        child.stdout.setEncoding('utf8');
        child.stdout.once('data', (d: string) => resolve(d));
        child.once('exit', (code) => reject(new Error(`fixture exited early with ${code}`)));
      });
      expect(JSON.parse(line)).toMatchObject({ capturing: true });
      // The fixture's ffmpeg, as the OS sees it: its one ffmpeg child.
      const ffmpegs = ffmpegDescendants(child.pid);
      expect(ffmpegs).toHaveLength(1);
      const ffmpegPid = ffmpegs[0]!.pid;
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      // ffmpeg is now an orphan: its next write to the closed pipe fails and it exits
      expect(await waitUntil(() => !pidAlive(ffmpegPid), 5000)).toBe(true);
    },
  );
  it(
    'readInto: every byte of output lands in the sink, before exit; no FIFO or descriptor left behind',
    { timeout: 15_000 },
    async () => {
      const fifos = (): string[] => readdirSync(tmpdir()).filter((f) => f.startsWith('rtc-peer-fifo-'));
      const fds = (): number => readdirSync('/proc/self/fd').length;
      const fifosBefore = fifos();
      const fdsBefore = fds();
      // 25 frames of 160x120 I420, each frame's bytes all equal to its number (lavfi's color source, its
      // luma stepped by a per-frame expression would be fragile: judge by size and count instead)
      const frameSize = (160 * 120 * 3) / 2;
      const reader = new FrameReader({ frameSize, maxQueued: 100 });
      let committed = 0;
      let bytesAtExit = -1;
      const p = await ffmpeg(
        ['-hide_banner', '-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=25', '-frames:v', '25'].concat([
          '-f',
          'rawvideo',
          '-pix_fmt',
          'yuv420p',
          'pipe:1',
        ]),
        {
          readInto: {
            writable: () => reader.writable(),
            commit: (n) => {
              committed += n;
              reader.commit(n);
            },
          },
        },
      );
      p.on('exit', () => (bytesAtExit = committed));
      await p.start();
      expect(() => p.stdout).toThrow(/read into readInto/);
      await p.waitForExit();
      expect(bytesAtExit).toBe(25 * frameSize);
      expect(reader.stats).toEqual({ framesRead: 25, framesDropped: 0 });
      expect(fifos()).toEqual(fifosBefore);
      await waitUntil(() => fds() <= fdsBefore, 2000);
      expect(fds()).toBeLessThanOrEqual(fdsBefore);
    },
  );
});
