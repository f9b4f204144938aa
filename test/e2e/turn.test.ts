/**
 * ICE through a real TURN server (coturn on loopback): `--ice-transport-policy relay` with `--turn`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { killAll, startCli, startSignalCli, type CliEvent } from '../helpers/cli.js';
import { inspectRecording } from '../helpers/media.js';
import { startTurnServer, type TurnServer } from '../helpers/turn-server.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

let dir: string;
let turn: TurnServer | undefined;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'rtc-peer-turn-'));
});
afterEach(async () => {
  await killAll();
  await turn?.stop();
  turn = undefined;
  rmSync(dir, { recursive: true, force: true });
});

describe('TURN', () => {
  test('relay only: the call goes through the TURN server and records', async () => {
    turn = await startTurnServer();
    const ice = ['--stun', 'none', '--turn', turn.url, '--turn-user', turn.user, '--turn-pass', turn.pass];
    const relay = [...ice, '--ice-transport-policy', 'relay'];
    const { url } = await startSignalCli();
    const file = path.join(dir, 'relayed.webm');
    const answerer = startCli([
      'answer',
      '--signal',
      url,
      '--room',
      't',
      '--record',
      file,
      '--once',
      ...relay,
    ]);
    await answerer.waitFor('joined');
    const caller = startCli(['call', '--signal', url, '--room', 't', '--duration', '3', '--once', ...relay]);
    await answerer.waitFor('first-frame', 10_000);
    // Both sides' selected candidate pair is a relayed one.
    const relayed = (e: CliEvent): boolean => e.route === 'relay';
    await answerer.waitFor('stats', 5_000, relayed);
    await caller.waitFor('stats', 5_000, relayed);
    expect((await caller.exited).code).toBe(0);
    expect((await answerer.exited).code).toBe(0);
    const rec = await inspectRecording(file);
    expect(rec.decodeErrors).toEqual([]);
    expect(rec.decodedDurationSec).toBeGreaterThan(2.5);
    expect(new Set(rec.barcodes.filter((b) => b !== null).map((b) => b.frameId)).size).toBeGreaterThan(60);
  }, 40_000);

  test('relay only with a wrong TURN password: no path, no media', async () => {
    turn = await startTurnServer();
    const relay = ['--stun', 'none', '--turn', turn.url, '--turn-user', turn.user, '--turn-pass', 'wrong'];
    relay.push('--ice-transport-policy', 'relay');
    const { url } = await startSignalCli();
    const answerer = startCli(['answer', '--signal', url, '--room', 'w', '--once', ...relay]);
    await answerer.waitFor('joined');
    const caller = startCli(['call', '--signal', url, '--room', 'w', ...relay]);
    await answerer.waitFor('answer-sent', 10_000);
    await sleep(4000);
    expect(answerer.events.some((e) => e.event === 'first-frame' || e.event === 'connected')).toBe(false);
    caller.child.kill('SIGINT');
    answerer.child.kill('SIGINT');
    expect((await caller.exited).code).toBe(0);
    expect((await answerer.exited).code).toBe(0);
  }, 40_000);
});
