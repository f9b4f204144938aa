/**
 * `rtc-peer call --whip URL`, the real CLI, publishing into a real SFU it did not write: Janus 1.1 (VideoRoom)
 * behind meetecho's simple-whip-server, in a network namespace (test/helpers/janus.ts). The witness is Janus's
 * own recording of the publisher, converted by janus-pp-rec and decoded: every frame carries the barcode
 * rtc-peer's test pattern stamped (frame id, the sender's clock), checked against the CLI's own figures and
 * the test's clock. A second publish to the same endpoint after the first process ended proves the DELETE:
 * simple-whip-server refuses a second publisher (403) while a session lives.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killAll, startCli } from '../helpers/cli.js';
import { startJanusLab, type JanusLab } from '../helpers/janus.js';
import { inspectRecording } from '../helpers/media.js';
import { processesWithArg } from '../helpers/procs.js';
import { waitFor } from '../helpers/signal-server.js';

let lab: JanusLab;
let labDir: string;
beforeAll(async () => {
  lab = await startJanusLab();
  labDir = path.dirname(lab.recordingsDir);
}, 30_000);
afterAll(async () => {
  await killAll();
  await lab?.stop();
  expect(processesWithArg(labDir)).toEqual([]);
}, 15_000);

/** `Date.now()` as the barcode carries it (modulo 2^32 ms), and the distance between two such stamps. */
const stampOf = (ms: number): number => ms % 2 ** 32;
const stampDiff = (a: number, b: number): number => (((b - a) % 2 ** 32) + 2 ** 32) % 2 ** 32;

/** Publishes the test pattern with `rtc-peer call --whip URL --duration S --once`; its events and window. */
async function publish(url: string, seconds: number) {
  const from = Date.now();
  const caller = startCli(['call', '--whip', url, '--stun', 'none', '--duration', String(seconds), '--once']);
  const session = await caller.waitFor('session', 15_000);
  const { code } = await caller.exited;
  const to = Date.now();
  expect(code, caller.stderr()).toBe(0);
  const ended = caller.events.find((e) => e.event === 'call-ended')!;
  expect(ended).toMatchObject({ reason: 'hangup', remote: 'server' });
  return { from, to, session: String(session.session), framesSent: Number(ended.framesSent) };
}

/** Janus's recording number `index`, decoded and judged by its barcodes against the publish. */
async function expectJanusRecording(
  index: number,
  run: Awaited<ReturnType<typeof publish>>,
  seconds: number,
) {
  await waitFor(
    'the recording closed',
    () => ((lab.logs().janus.match(/Closed video recording/g)?.length ?? 0) > index ? true : undefined),
    10_000,
  );
  const rec = await inspectRecording(lab.convert(lab.videoRecordings()[index]!));
  const codes = rec.barcodes.filter((b) => b !== null);
  const ids = codes.map((b) => b.frameId);
  const distinct = new Set(ids).size;
  const figures = { frames: rec.frames, distinct, first: ids[0], last: ids.at(-1), sent: run.framesSent };
  expect(rec.codec).toBe('vp8');
  expect([rec.width, rec.height]).toEqual([640, 480]);
  expect(rec.decodeErrors).toEqual([]);
  // Every decoded frame is one rtc-peer's test pattern drew, in order, captured during this publish.
  expect(ids.length, JSON.stringify(figures)).toBe(rec.frames);
  for (let i = 1; i < ids.length; i++) expect(ids[i]).toBeGreaterThanOrEqual(ids[i - 1]!);
  for (const c of codes)
    expect(stampDiff(stampOf(run.from), c.timestampMs)).toBeLessThanOrEqual(run.to - run.from);
  // About --duration of it, at 30 fps by the sender's clock.
  const first = codes[0]!;
  const last = codes.at(-1)!;
  const spanSec = stampDiff(first.timestampMs, last.timestampMs) / 1000;
  expect(spanSec, JSON.stringify(figures)).toBeGreaterThan(seconds - 1);
  expect(spanSec, JSON.stringify(figures)).toBeLessThan(seconds + 1);
  expect((last.frameId - first.frameId + 1) / spanSec).toBeGreaterThan(27);
  // What the CLI says its encoder put on the wire is what Janus kept (give or take the frames in flight
  // while the DELETE travelled).
  expect(distinct, JSON.stringify(figures)).toBeLessThanOrEqual(run.framesSent + 5);
  expect(distinct, JSON.stringify(figures)).toBeGreaterThanOrEqual(run.framesSent * 0.95);
  return figures;
}

describe('rtc-peer call --whip into Janus', { timeout: 60_000 }, () => {
  it('publishes; Janus records every frame sent, read back by frame id; a second publish after the first process ended', async () => {
    const url = await lab.createEndpoint('cli');
    const before = lab.videoRecordings().length;
    const first = await publish(url, 4);
    expect(first.session).toMatch(/\/whip\/resource\/cli$/);
    const one = await expectJanusRecording(before, first, 4);
    // simple-whip-server ended the session on our DELETE, not on seeing the connection go.
    expect(lab.logs().whip).toMatch(/\[cli\] Terminating WHIP session/);
    expect(lab.logs().whip).not.toMatch(/\[cli\] PeerConnection detected as closed/);
    console.log('Janus recording of call --whip:', one);

    const second = await publish(url, 3);
    const two = await expectJanusRecording(before + 1, second, 3);
    expect(lab.videoRecordings()).toHaveLength(before + 2);
    console.log('Janus recording of a second call --whip:', two);
  });
});
