/**
 * PENDING (not in the suite: vitest.config.ts excludes test/net/pending/): lands with the product change of
 * docs/network-lab.md, "20 % loss": rtc-peer negotiates video without RTX, so that a retransmitted packet
 * fills its gap on the media SSRC and the receiver's reports count it as received. Today the reports count
 * every packet lost on the way as lost, 20 % is past libwebrtc's loss-based threshold (10 %), its bandwidth
 * estimate falls by ~10 % a second to ~100 kbit/s, the encoder drops frames, and after ~20 s the call runs at
 * 2-5 fps: this test fails (measured: 29.5 29.8 25.4 11.2 4.6 3.2 fps per 5 s). Since 2026-12-02 the CLI runs
 * on the negotiator, which negotiates without RTX. Rerun alone then (load 10-13): still failing, 2 of 2 (lowest
 * 2 s window 13.5 fps with 16-22 fps per 5 s; and once 1.4-5.6 fps from the start), for two other reasons found
 * with the lab experiment (docs/network-lab.md, "20 % loss"): the recorder's video timeline drops the bursts
 * NACK repairs release (200 of 895 frames received), and the sender's estimate can start low and stay low.
 */
import { expect, test } from 'vitest';
import { describeLab, labFacts, startPeers, useLab, waitForFirstFrame } from '../fixture.js';
import { describeFlow, longestFreezeSec, lowestFps, readFlow } from '../flow.js';
import { inspectRecording } from '../../helpers/media.js';

const lab = useLab();

describeLab('20 % loss in the network lab', () => {
  test('20 % random loss each way: at least 15 fps sustained for 30 s, no freeze over 1 s', async () => {
    const call = await lab.start();
    call.lab.answerer.setLoss({ down: 20, up: 20 });
    const peers = await startPeers(call, { room: 'loss20', durationSec: 33 });
    await waitForFirstFrame(call, peers);
    expect((await peers.caller.exited).code).toBe(0);
    expect((await peers.answerer.exited).code).toBe(0);
    const rec = await inspectRecording(peers.file);
    expect(rec.containerDurationSec).not.toBeNull();
    expect(rec.decodeErrors).toEqual([]);
    const flow = readFlow(rec);
    expect(flow.monotonic).toBe(true);
    // 30 s after the first two (the start, before the bandwidth estimate has seen any loss, is not the test)
    const from = flow.startSec + 2;
    const to = from + 30;
    expect(flow.endSec, describeFlow(flow)).toBeGreaterThanOrEqual(to);
    expect(lowestFps(flow, 2, from, to), describeFlow(flow)).toBeGreaterThanOrEqual(15);
    expect(longestFreezeSec(flow, from, to), describeFlow(flow)).toBeLessThan(1);
    // nftables' witness: a fifth of what crossed the link either way was dropped.
    const n = call.lab.answerer.counters();
    expect(n.downLost / n.downPackets, labFacts(call)).toBeGreaterThan(0.18);
    expect(n.downLost / n.downPackets, labFacts(call)).toBeLessThan(0.22);
    expect(n.upLost / n.upPackets, labFacts(call)).toBeGreaterThan(0.15);
  }, 90_000);
});
