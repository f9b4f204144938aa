/**
 * Calls through an impaired link in the network lab (test/net/lab.ts): random loss, rate caps, a blackout,
 * all on the answerer's router (its `down` is the media's way in, its `up` the way back for the receiver's
 * reports and retransmission requests). Judged by the decoded recording (test/net/flow.ts: the new frames,
 * by their barcodes, on the recorder's timeline) and by the routers' own counters (nftables, tc), next to the
 * peers' JSON events.
 */
import { readdirSync } from 'node:fs';
import { expect, test } from 'vitest';
import { inspectRecording } from '../helpers/media.js';
import { describeLab, labFacts, startPeers, useLab, waitForFirstFrame, type LabCall } from './fixture.js';
import { describeFlow, fpsBetween, longestFreezeSec, lowestFps, readFlow, type Flow } from './flow.js';

const lab = useLab();

/** Waits for both peers to end by themselves, and reads the recording's flow. */
async function finish(
  call: LabCall,
  peers: Awaited<ReturnType<typeof startPeers>>,
): Promise<{ flow: Flow; rec: Awaited<ReturnType<typeof inspectRecording>> }> {
  expect((await peers.caller.exited).code).toBe(0);
  expect((await peers.answerer.exited).code).toBe(0);
  const rec = await inspectRecording(peers.file);
  // One valid file: finalized (the container states its duration), decodes without errors, and it is the
  // only one (a second call would have recorded to NAME-2.webm).
  expect(rec.containerDurationSec).not.toBeNull();
  expect(rec.decodeErrors).toEqual([]);
  expect(readdirSync(call.dir)).toEqual([peers.file.split('/').at(-1)]);
  const flow = readFlow(rec);
  expect(flow.monotonic, describeFlow(flow)).toBe(true);
  return { flow, rec };
}

/** The call's steady part on the file's timeline: after the first second (ramp-up), to the end. */
const steady = (flow: Flow): [number, number] => [flow.startSec + 1, flow.endSec];

describeLab('impaired links in the network lab', () => {
  test('5 % random loss each way: at least 28 fps received', async () => {
    const call = await lab.start();
    call.lab.answerer.setLoss({ down: 5, up: 5 });
    const peers = await startPeers(call, { room: 'loss5', durationSec: 10 });
    await waitForFirstFrame(call, peers);
    const { flow } = await finish(call, peers);
    const [from, to] = steady(flow);
    expect(to - from, describeFlow(flow)).toBeGreaterThan(8);
    expect(fpsBetween(flow, from, to), describeFlow(flow)).toBeGreaterThanOrEqual(28);
    // nftables' witness that the link did lose 5 % of what crossed it (thousands of packets: within ±1.5 %).
    const n = call.lab.answerer.counters();
    expect(n.downPackets, labFacts(call)).toBeGreaterThan(2000);
    expect(n.downLost / n.downPackets, labFacts(call)).toBeGreaterThan(0.035);
    expect(n.downLost / n.downPackets, labFacts(call)).toBeLessThan(0.065);
    expect(n.upLost / n.upPackets, labFacts(call)).toBeGreaterThan(0.02);
  }, 60_000);

  test('a 500 kbit/s cap: no freeze over 500 ms, one valid recording', async () => {
    const call = await lab.start();
    call.lab.answerer.setRate({ down: 500 });
    const peers = await startPeers(call, { room: 'cap500', durationSec: 12 });
    await waitForFirstFrame(call, peers);
    const { flow } = await finish(call, peers);
    const [from, to] = steady(flow);
    expect(longestFreezeSec(flow, from, to), describeFlow(flow)).toBeLessThan(0.5);
    // Frame rate or resolution may give: the picture moves on.
    expect(fpsBetween(flow, from, to), describeFlow(flow)).toBeGreaterThan(10);
    // tc's witness: the cap held, and the call used it (media and sound together, over the whole call).
    const down = call.lab.answerer.shaped().down;
    expect(down?.rateKbit).toBe(500);
    const kbit = ((down?.bytes ?? 0) * 8) / 1000 / (flow.endSec - flow.startSec + 1);
    expect(kbit, JSON.stringify(down)).toBeLessThan(520);
    expect(kbit, JSON.stringify(down)).toBeGreaterThan(250);
  }, 60_000);

  test('a 250 kbit/s cap: still a picture', async () => {
    const call = await lab.start();
    call.lab.answerer.setRate({ down: 250 });
    const peers = await startPeers(call, { room: 'cap250', durationSec: 10 });
    await waitForFirstFrame(call, peers);
    const { flow } = await finish(call, peers);
    const [from, to] = steady(flow);
    // New frames all along: at least a few a second in every 2 s, none of the call's picture lost for
    // long, and readable barcodes (a picture, not mush).
    expect(lowestFps(flow, 2, from, to), describeFlow(flow)).toBeGreaterThanOrEqual(3);
    expect(longestFreezeSec(flow, from, to), describeFlow(flow)).toBeLessThan(1.5);
    expect(flow.unreadable, describeFlow(flow)).toBe(0);
    expect(call.lab.answerer.shaped().down?.rateKbit).toBe(250);
  }, 60_000);

  test('a 10 s blackout: the picture is back within 3 s, in the same call', async () => {
    const call = await lab.start();
    const peers = await startPeers(call, { room: 'blackout', durationSec: 18 });
    await waitForFirstFrame(call, peers);
    await new Promise((r) => setTimeout(r, 3000));
    call.lab.answerer.setBlackout(true);
    const blackFrom = Date.now();
    await new Promise((r) => setTimeout(r, 10_000));
    call.lab.answerer.setBlackout(false);
    const blackTo = Date.now();
    const { flow } = await finish(call, peers);
    // nftables' witness: the blackout dropped what was sent meanwhile, both ways.
    const n = call.lab.answerer.counters();
    expect(n.downBlackedOut, labFacts(call)).toBeGreaterThan(100);
    expect(n.upBlackedOut, labFacts(call)).toBeGreaterThan(10);
    // The file's timeline is the answerer's clock from its first frame; that frame's stamp is the sender's
    // clock (the same machine's) a few ms before it arrived. So the blackout's end on the timeline is:
    const first = flow.frames[0];
    expect(first).toBeDefined();
    const firstWall = blackTo - ((((blackTo - (first?.stampMs ?? 0)) % 2 ** 32) + 2 ** 32) % 2 ** 32);
    const endOnTimeline = flow.startSec + (blackTo - firstWall) / 1000;
    const startOnTimeline = endOnTimeline - (blackTo - blackFrom) / 1000;
    const back = flow.frames.find((f) => f.ptsSec > endOnTimeline);
    expect(back, describeFlow(flow, 1)).toBeDefined();
    expect((back?.ptsSec ?? Infinity) - endOnTimeline, describeFlow(flow, 1)).toBeLessThan(3);
    // Nothing came through the blackout.
    expect(fpsBetween(flow, startOnTimeline + 0.5, endOnTimeline - 0.5), describeFlow(flow, 1)).toBe(0);
    // The same call: one call on each side, never ended before the caller's --duration, no new offer.
    for (const peer of [peers.caller, peers.answerer]) {
      const ended = peer.events.filter((e) => e.event === 'call-ended');
      expect(ended.map((e) => [e.call, e.reason])).toEqual([
        [1, peer === peers.caller ? 'hangup' : 'peer-hangup'],
      ]);
    }
    expect(peers.caller.events.filter((e) => e.event === 'offer-sent')).toHaveLength(1);
    // and the picture goes on at full rate after it
    expect(fpsBetween(flow, endOnTimeline + 3, flow.endSec), describeFlow(flow, 1)).toBeGreaterThan(25);
  }, 60_000);
});
