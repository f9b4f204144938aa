/**
 * Calls through an impaired link in the network lab (test/net/lab.ts): random loss (the rate caps and the
 * blackouts wait in test/net/pending/),
 * all on the answerer's router (its `down` is the media's way in, its `up` the way back for the receiver's
 * reports and retransmission requests). Judged by the decoded recording (test/net/flow.ts: the new frames,
 * by their barcodes, on the recorder's timeline) and by the routers' own counters (nftables, tc), next to the
 * peers' JSON events.
 */
import { expect, test } from 'vitest';
import { describeLab, finishCall, labFacts, startPeers, useLab, waitForFirstFrame } from './fixture.js';
import { describeFlow, fpsBetween, type Flow } from './flow.js';

const lab = useLab();

/** The call's steady part on the file's timeline: after the first second (ramp-up), to the end. */
const steady = (flow: Flow): [number, number] => [flow.startSec + 1, flow.endSec];

describeLab('impaired links in the network lab', () => {
  test('5 % random loss each way: at least 28 fps received', async () => {
    const call = await lab.start();
    call.lab.answerer.setLoss({ down: 5, up: 5 });
    const peers = await startPeers(call, { room: 'loss5', durationSec: 10 });
    await waitForFirstFrame(call, peers);
    const { flow } = await finishCall(call, peers);
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
});
