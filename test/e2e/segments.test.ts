/**
 * `rtc-peer answer --record NAME-%H%M%S.webm --record-segment 3s` for a real call, three processes on
 * loopback: every segment decoded and judged by the frame ids drawn into the caller's pictures.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { killAll, startCli, startSignalCli } from '../helpers/cli.js';
import { decodeAudio, inspectRecording } from '../helpers/media.js';

const NO_STUN = ['--stun', 'none'];

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'rtc-peer-e2e-segments-'));
});
afterEach(async () => {
  await killAll();
  rmSync(dir, { recursive: true, force: true });
});

describe('answer --record-segment', () => {
  test('a 13 s call in 3 s segments: each file whole, 90 frames, on time; ids go on across files, none in two', async () => {
    const { proc: signal, url } = await startSignalCli();
    const answerer = startCli([
      'answer',
      ...['--signal', url, '--room', 'seg', '--once', ...NO_STUN],
      ...['--record', path.join(dir, 'cam-%H%M%S-%L.webm'), '--record-segment', '3s'],
    ]);
    await answerer.waitFor('joined');
    const caller = startCli([
      'call',
      '--signal',
      url,
      '--room',
      'seg',
      '--duration',
      '13',
      '--once',
      ...NO_STUN,
    ]);
    const ended = await answerer.waitFor('call-ended', 40_000);
    expect((await caller.exited).code).toBe(0);
    expect((await answerer.exited).code).toBe(0);
    signal.child.kill('SIGINT');
    expect((await signal.exited).code).toBe(0);

    const segments = answerer.events.filter((e) => e.event === 'segment');
    const names = readdirSync(dir).sort();
    // 13 s of call (plus connecting) in 3 s files: 4 to 6 of them, the events in the order of the names
    expect(names.length).toBeGreaterThanOrEqual(4);
    expect(segments.map((e) => path.basename(String(e.path)))).toEqual(names);
    const recording = ended.recording as { segments: number; frames: number };
    expect(recording.segments).toBe(names.length);
    expect(recording.frames).toBe(segments.reduce((n, e) => n + Number(e.frames), 0));

    const owner = new Map<number, number>();
    let previousLast = -1;
    let worstInside = 1;
    const boundaryGaps: number[] = [];
    for (const [i, e] of segments.entries()) {
      const file = String(e.path);
      const info = await inspectRecording(file);
      const audio = await decodeAudio(file);
      const facts = `${path.basename(file)}: ${JSON.stringify({ event: e, frames: info.frames })}`;
      expect(info, facts).toMatchObject({
        codec: 'vp8',
        exitCode: 0,
        decodeErrors: [],
        width: 640,
        height: 480,
      });
      expect(info.containerDurationSec, facts).not.toBeNull();
      expect(info.frames, facts).toBe(e.frames);
      // whole segments are exactly 3 s of the 30 fps timeline; picture and sound within a frame of it
      if (i < segments.length - 1) expect(info.frames, facts).toBe(90);
      expect(Math.abs(info.decodedDurationSec - info.frames / 30), facts).toBeLessThan(1 / 30);
      expect(audio, facts).toMatchObject({ codec: 'opus', decodeErrors: [] });
      expect(Math.abs((audio?.durationSec ?? 0) - info.frames / 30), facts).toBeLessThan(1 / 30);
      const ids = info.barcodes.filter((b) => b !== null).map((b) => b.frameId);
      expect(ids.length, facts).toBeGreaterThan(info.frames * 0.9);
      for (const [j, id] of ids.entries()) {
        // a frame is in one file only
        expect(owner.get(id) ?? i, `frame ${id} in ${facts}`).toBe(i);
        owner.set(id, i);
        if (j > 0) worstInside = Math.max(worstInside, id - (ids[j - 1] ?? id));
      }
      // ids only go forward, within a file and from one file to the next
      expect(
        [...ids].sort((a, b) => a - b),
        facts,
      ).toEqual(ids);
      if (previousLast >= 0) boundaryGaps.push((ids[0] ?? 0) - previousLast);
      previousLast = ids.at(-1) ?? previousLast;
    }
    // across a cut the ids go on as they do inside a file: nothing lost at the boundary (the sender's
    // encoder and the receiver's decoder skip a frame now and then anywhere, the cut adds nothing)
    for (const gap of boundaryGaps) {
      expect(gap).toBeGreaterThanOrEqual(1);
      expect(gap, JSON.stringify({ boundaryGaps, worstInside })).toBeLessThanOrEqual(worstInside);
    }
  }, 60_000);
});
