/**
 * Sound end to end with real processes: `rtc-peer call` sends the test pattern with its beep each second,
 * `rtc-peer answer --record` records; the recording's Opus track is decoded and its beeps matched with the
 * flashes in the picture. Also sound-only and picture-only calls, and a missing microphone.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { killAll, startCli, startSignalCli, type CliEvent } from '../helpers/cli.js';
import { decodeAudio, findBeepOnsets, inspectRecording } from '../helpers/media.js';

const NO_STUN = ['--stun', 'none'];

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'rtc-peer-e2e-audio-'));
});
afterEach(async () => {
  await killAll();
  rmSync(dir, { recursive: true, force: true });
});

/** Onsets (pts, s) of runs of flashed frames. */
function flashOnsets(flashes: boolean[], pts: number[]): number[] {
  return flashes.flatMap((f, i) => (f && (i === 0 || !flashes[i - 1]) ? [pts[i] ?? -1] : []));
}

/** Starts an answerer recording to `file` and a caller with `callerArgs`, in `room`; waits for both to end. */
async function call(
  url: string,
  room: string,
  file: string,
  callerArgs: string[],
): Promise<{ caller: CliEvent; answerer: CliEvent; callerStats: CliEvent[]; answererStats: CliEvent[] }> {
  const answerer = startCli([
    'answer',
    '--signal',
    url,
    '--room',
    room,
    '--record',
    file,
    '--once',
    ...NO_STUN,
  ]);
  await answerer.waitFor('waiting');
  const caller = startCli(['call', '--signal', url, '--room', room, '--once', ...NO_STUN, ...callerArgs]);
  const callerEnd = await caller.waitFor('call-ended', 20_000);
  const answererEnd = await answerer.waitFor('call-ended', 20_000);
  // the exit-0 discipline: sinks (sound and picture) stopped before the peer connection closed
  expect((await caller.exited).code).toBe(0);
  expect((await answerer.exited).code).toBe(0);
  return {
    caller: callerEnd,
    answerer: answererEnd,
    callerStats: caller.events.filter((e) => e.event === 'stats'),
    answererStats: answerer.events.filter((e) => e.event === 'stats'),
  };
}

describe('sound end to end', () => {
  test('the test pattern beeps each second; the recording has Opus in sync with the flashes', async () => {
    const { url } = await startSignalCli();
    const file = path.join(dir, 'av.webm');
    const ended = await call(url, 'av', file, ['--duration', '4', '--size', '320x240']);

    // live figures and summaries show the sound
    const lastCallerStats = ended.callerStats.at(-1)?.audio as {
      packetsSent: number;
      levelSent: number | null;
    };
    expect(lastCallerStats.packetsSent).toBeGreaterThan(50);
    const lastAnswererStats = ended.answererStats.at(-1)?.audio as {
      packetsReceived: number;
      lossPercent: number;
    };
    expect(lastAnswererStats.packetsReceived).toBeGreaterThan(50);
    expect(lastAnswererStats.lossPercent).toBe(0);
    // The level each second is the peak since the last one: every second has a beep, both ways.
    // (Math.min() of no samples is Infinity: there must be samples, one a second of the 4 s call; 3 seen.)
    const peaks = (stats: CliEvent[], key: 'levelSent' | 'levelReceived'): number[] =>
      stats.slice(1).map((e) => Number((e.audio as Record<string, unknown> | undefined)?.[key] ?? 0));
    const sent = peaks(ended.callerStats, 'levelSent');
    const heard = peaks(ended.answererStats, 'levelReceived');
    expect(sent.length).toBeGreaterThanOrEqual(2);
    expect(heard.length).toBeGreaterThanOrEqual(2);
    expect(Math.min(...sent)).toBeGreaterThan(0.1);
    expect(Math.min(...heard)).toBeGreaterThan(0.05);
    const audioEnd = ended.answerer.audio as { packetsReceived: number; chunksReceived: number };
    expect(audioEnd.packetsReceived).toBeGreaterThan(100);
    expect(audioEnd.chunksReceived).toBeGreaterThan(300);
    const recording = ended.answerer.recording as { audio: { durationSec: number; channels: number } };
    expect(recording.audio.durationSec).toBeGreaterThan(3.5);

    const video = await inspectRecording(file);
    const audio = await decodeAudio(file);
    expect(video).toMatchObject({ codec: 'vp8', width: 320, height: 240, decodeErrors: [] });
    expect(audio?.codec).toBe('opus');
    expect(audio?.decodeErrors).toEqual([]);
    // the Opus track lasts as long as the video, within 10 %
    const ratio = (audio?.durationSec ?? 0) / video.decodedDurationSec;
    expect(ratio).toBeGreaterThan(0.9);
    expect(ratio).toBeLessThan(1.1);

    // beeps every second (energy on the decoded PCM), 4 s of call: 3 or 4 of them
    const beeps = findBeepOnsets(audio?.samples ?? new Int16Array(0));
    expect(beeps.length).toBeGreaterThanOrEqual(3);
    expect(beeps.length).toBeLessThanOrEqual(5);
    // at the expected times: one per second after the first (the recording places media by arrival, so
    // both sound and picture carry the network's and the decoders' jitter, a few tens of ms)
    beeps.forEach((b, k) => expect(Math.abs(b - (beeps[0] ?? 0) - k)).toBeLessThan(0.15));
    // each beep has its flash within 100 ms
    const flashes = flashOnsets(video.flashes, video.ptsSec);
    const offsets = beeps.map((b) => Math.min(...flashes.map((f) => Math.abs(f - b))));
    for (const o of offsets) expect(o).toBeLessThan(0.1);
  }, 60_000);

  test('sound only (--no-video) and picture only (--no-audio) calls both record fine', async () => {
    const { url } = await startSignalCli();
    const audioOnly = path.join(dir, 'audio-only.webm');
    const videoOnly = path.join(dir, 'video-only.webm');
    const [a, v] = await Promise.all([
      call(url, 'a-only', audioOnly, ['--duration', '3', '--no-video']),
      call(url, 'v-only', videoOnly, ['--duration', '3', '--no-audio', '--size', '320x240']),
    ]);

    expect(a.answerer.framesReceived).toBe(0);
    const audio = await decodeAudio(audioOnly);
    expect(audio?.codec).toBe('opus');
    expect(audio?.durationSec).toBeGreaterThan(2.7);
    expect(audio?.durationSec).toBeLessThan(3.6);
    expect(findBeepOnsets(audio?.samples ?? new Int16Array(0)).length).toBeGreaterThanOrEqual(2);
    await expect(inspectRecording(audioOnly)).rejects.toThrow(/no video stream/);

    expect(v.answerer.audio).toBeNull();
    expect(await decodeAudio(videoOnly)).toBeNull();
    const video = await inspectRecording(videoOnly);
    expect(video.codec).toBe('vp8');
    expect(video.decodedDurationSec).toBeGreaterThan(2.7);
    expect(video.decodedDurationSec).toBeLessThan(3.3);
  }, 60_000);

  test('a missing microphone: exit 4 with a message naming it', async () => {
    const caller = startCli(['call', '--signal', 'http://127.0.0.1:9', '--audio-device', 'hw:9,0', '--json']);
    const { code } = await caller.exited;
    expect(code).toBe(4);
    expect(caller.stderr()).toMatch(/microphone hw:9,0 \(ALSA\) not found/);
    expect(caller.stderr()).toMatch(/--no-audio/);
  }, 20_000);
});
