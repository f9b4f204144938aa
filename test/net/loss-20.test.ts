/**
 * Issue 13's 20 % loss: at least 15 fps recorded, sustained for 30 s, no freeze over 1 s. Three things had to
 * change for it (docs/network-lab.md, "20 % loss"): video without RTX (the negotiator's default: a
 * retransmission fills its gap on the media SSRC, so the receiver's reports do not count repaired loss and
 * libwebrtc's loss-based estimate does not collapse), a start bitrate (the estimate does not start low and stay
 * there), and the recorder's hold of the frames a late packet releases at once (`burstHoldMs`: they go back
 * into the stall's slots instead of being dropped). Alone on a quiet machine (2026-12-04), the same test with
 * the hold: 931 new frames in 33 s, 27.0-28.6 fps per 5 s, lowest 2 s window 26.5 fps; without it (the
 * recorder's `burstHoldMs: 0`): 724 and 673 frames, lowest 2 s windows 17.0 and 14.0 fps (the second failed).
 */
import { expect, test } from 'vitest';
import { describeLab, labFacts, startPeers, useLab, waitForFirstFrame } from './fixture.js';
import { describeFlow, longestFreezeSec, lowestFps, readFlow } from './flow.js';
import { inspectRecording } from '../helpers/media.js';

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
