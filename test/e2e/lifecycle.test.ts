/**
 * How calls end: signals, a killed caller, a signaling server that dies and comes back.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { killAll, startCli, startSignalCli } from '../helpers/cli.js';
import { inspectRecording, pidAlive, sentSpanSec } from '../helpers/media.js';
import { describeProcs, ffmpegDescendants } from '../helpers/procs.js';

const NO_STUN = ['--stun', 'none'];
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'rtc-peer-life-'));
});
afterEach(async () => {
  await killAll();
  rmSync(dir, { recursive: true, force: true });
});

describe('call lifecycle', () => {
  test('caller killed with SIGKILL mid-call: the answerer reports the hang-up within seconds and finalizes', async () => {
    const { url } = await startSignalCli();
    const file = path.join(dir, 'killed.webm');
    const answerer = startCli([
      'answer',
      '--signal',
      url,
      '--room',
      'k',
      '--record',
      file,
      '--once',
      ...NO_STUN,
    ]);
    await answerer.waitFor('joined');
    const caller = startCli(['call', '--signal', url, '--room', 'k', ...NO_STUN]);
    await answerer.waitFor('first-frame', 10_000);
    await sleep(2500);
    const killedAt = performance.now();
    caller.child.kill('SIGKILL');
    const ended = await answerer.waitFor('call-ended', 10_000);
    const detectSec = (performance.now() - killedAt) / 1000;
    expect(ended.reason).toBe('peer-vanished');
    expect(detectSec).toBeLessThan(5);
    expect((await answerer.exited).code).toBe(0);
    const rec = await inspectRecording(file);
    // Recorded from the first frame until the hang-up was detected (the recorder's timeline follows the wall
    // clock: the last frame is held to the end), finalized, and it decodes to the end.
    expect(rec.containerDurationSec).not.toBeNull();
    expect(rec.decodeErrors).toEqual([]);
    expect(rec.decodedDurationSec).toBeGreaterThan(2.2);
    // It ends where the caller's frames ended, not when the hang-up was noticed (regression: the last
    // frame was held frozen for the detection time, detectSec).
    expect(Math.abs(rec.decodedDurationSec - sentSpanSec(rec))).toBeLessThan(0.25);
    const distinct = new Set(rec.barcodes.filter((b) => b !== null).map((b) => b.frameId)).size;
    expect(distinct).toBeGreaterThan(2.2 * 30 * 0.9);
  }, 40_000);

  test('SIGINT on each process exits 0; the answerer finalizes, the caller says bye', async () => {
    const { proc: signal, url } = await startSignalCli();
    const file = path.join(dir, 'sigint.webm');
    const answerer = startCli(['answer', '--signal', url, '--room', 's', '--record', file, ...NO_STUN]);
    await answerer.waitFor('joined');
    const caller = startCli(['call', '--signal', url, '--room', 's', ...NO_STUN]);
    await answerer.waitFor('first-frame', 10_000);
    await sleep(2000);
    answerer.child.kill('SIGINT');
    const answererEnd = await answerer.waitFor('call-ended', 10_000);
    expect(answererEnd.reason).toBe('hangup');
    expect((await answerer.exited).code).toBe(0);
    // The caller hears the bye and, not being --once, waits for the next answerer; SIGTERM ends it.
    const callerEnd = await caller.waitFor('call-ended', 5_000);
    expect(callerEnd.reason).toBe('peer-hangup');
    await caller.waitFor('offer-sent', 5_000, (e) => e.call === 2);
    caller.child.kill('SIGTERM');
    expect((await caller.exited).code).toBe(0);
    signal.child.kill('SIGINT');
    expect((await signal.exited).code).toBe(0);
    const rec = await inspectRecording(file);
    expect(rec.decodedDurationSec).toBeGreaterThan(1.8);
    expect(rec.frames).toBeGreaterThan(45);
  }, 40_000);

  test('signaling server killed and restarted mid-call: media keeps flowing and both clients rejoin', async () => {
    const first = await startSignalCli();
    const port = new URL(first.url).port;
    const file = path.join(dir, 'restart.webm');
    const answerer = startCli([
      'answer',
      '--signal',
      first.url,
      '--room',
      'r',
      '--record',
      file,
      '--once',
      ...NO_STUN,
    ]);
    await answerer.waitFor('joined');
    const caller = startCli([
      'call',
      '--signal',
      first.url,
      '--room',
      'r',
      '--duration',
      '6',
      '--once',
      ...NO_STUN,
    ]);
    await answerer.waitFor('first-frame', 10_000);
    await first.proc.kill('SIGKILL');
    await answerer.waitFor('signal-lost', 5_000);
    await caller.waitFor('signal-lost', 5_000);
    await sleep(1000);
    const second = startCli(['signal', '--host', '127.0.0.1', '--port', port]);
    await second.waitForLine(/listening on/);
    await answerer.waitFor('signal-rejoined', 10_000);
    await caller.waitFor('signal-rejoined', 10_000);
    const callerEnd = await caller.waitFor('call-ended', 15_000);
    expect(callerEnd.reason).toBe('hangup');
    const answererEnd = await answerer.waitFor('call-ended', 10_000);
    // The bye went through the restarted server.
    expect(answererEnd.reason).toBe('peer-hangup');
    expect((await caller.exited).code).toBe(0);
    expect((await answerer.exited).code).toBe(0);
    const rec = await inspectRecording(file);
    expect(rec.decodedDurationSec).toBeGreaterThan(5.4);
    const ids = rec.barcodes.filter((b) => b !== null).map((b) => b.frameId);
    // No gap while the server was away: consecutive recorded frames are at most a few ids apart.
    let worstGap = 0;
    for (let i = 1; i < ids.length; i++) worstGap = Math.max(worstGap, (ids[i] ?? 0) - (ids[i - 1] ?? 0));
    expect(worstGap).toBeLessThan(10);
  }, 50_000);

  test('ffmpeg dying mid-call: the caller reports it, hangs up cleanly (bye) and exits 1', async () => {
    const { url } = await startSignalCli();
    const file = path.join(dir, 'ffmpeg-died.webm');
    const answerer = startCli([
      'answer',
      '--signal',
      url,
      '--room',
      'f',
      '--record',
      file,
      '--once',
      ...NO_STUN,
    ]);
    await answerer.waitFor('joined');
    const caller = startCli(['call', '--signal', url, '--room', 'f', ...NO_STUN]);
    await answerer.waitFor('first-frame', 10_000);
    await sleep(1000);
    // The caller's ffmpeg children, as the OS sees them: the picture's (raw video on stdout) and the
    // sound's. All of them die, as when a camera is unplugged with its microphone.
    const ffmpegs = ffmpegDescendants(caller.child.pid!);
    const picture = ffmpegs.filter((p) => p.argv.includes('rawvideo'));
    expect(picture, describeProcs(ffmpegs)).toHaveLength(1);
    for (const { pid } of ffmpegs) process.kill(pid, 'SIGKILL');
    expect((await caller.exited).code).toBe(1);
    expect(ffmpegs.filter((p) => pidAlive(p.pid))).toEqual([]);
    const warning = caller.events.find((e) => e.event === 'warning');
    expect(warning?.message).toMatch(/video source failed: .*ffmpeg/);
    expect(caller.events.find((e) => e.event === 'call-ended')?.reason).toBe('media-ended');
    const ended = await answerer.waitFor('call-ended', 5_000);
    expect(ended.reason).toBe('peer-hangup');
    expect((await answerer.exited).code).toBe(0);
    const rec = await inspectRecording(file);
    expect(rec.containerDurationSec).not.toBeNull();
    expect(rec.decodedDurationSec).toBeGreaterThan(0.8);
  }, 40_000);

  test('SIGINT while still trying to reach the signaling server: exit 0 at once', async () => {
    const caller = startCli(['call', '--signal', 'http://127.0.0.1:9', ...NO_STUN]);
    await caller.waitFor('media-started', 10_000);
    await sleep(500);
    const started = performance.now();
    caller.child.kill('SIGINT');
    expect((await caller.exited).code).toBe(0);
    expect(performance.now() - started).toBeLessThan(3000);
  }, 20_000);

  test('answerer killed and at once replaced by another: the caller ends the dead call and calls the new one', async () => {
    const { url } = await startSignalCli();
    const first = startCli(['answer', '--signal', url, '--room', 'x', '--once', ...NO_STUN]);
    await first.waitFor('joined');
    const caller = startCli(['call', '--signal', url, '--room', 'x', ...NO_STUN]);
    await first.waitFor('first-frame', 10_000);
    await first.kill('SIGKILL');
    // The replacement joins before the caller can have noticed anything from the media.
    const second = startCli(['answer', '--signal', url, '--room', 'x', '--once', ...NO_STUN]);
    const ended = await caller.waitFor('call-ended', 10_000);
    expect(ended.reason).toBe('peer-vanished');
    await second.waitFor('first-frame', 10_000);
    expect(second.events.find((e) => e.event === 'offer-received')?.call).toBe(1);
    second.child.kill('SIGINT');
    expect((await second.exited).code).toBe(0);
    caller.child.kill('SIGINT');
    expect((await caller.exited).code).toBe(0);
  }, 40_000);
});
