/**
 * QUARANTINED (not in the suite: vitest.config.ts excludes test/net/pending/; `RTC_PEER_PENDING=1` runs it):
 * a 250 kbit/s cap, "still a picture". 2026-12-04: it passed alone 10 of 10 runs (5 with a 600 kbit/s start
 * bitrate), and failed 3 of 6 when run right after the 500 kbit/s cap (in one file, as it was): 45-47 new
 * frames in 9.5 s (5.6-6.0 then 3.0-4.0 fps per 5 s), lowest 2 s windows 2.0-2.5 fps against the 3 asked;
 * the passing runs had 63-87 frames, lowest windows 4.0-4.5 fps. What limits it (docs/network-lab.md, "Rate
 * caps"): libwebrtc M106 keeps 640x480 and drops frames (`qualityLimitationReason: bandwidth`, no resolution
 * change in 30 s, its quality scaler never acting); the call's Opus takes about
 * 50 of the 250 kbit/s; and the 1 Mbit/s start overshoots the link at first. Raw wrtc (video only, 300 kbit/s
 * start) gets 11.8-13.2 then 7.0-8.8 fps per 5 s there. Back in test/net/ when the sender lowers its
 * resolution on such a link (e.g. `scaleResolutionDownBy`, refused by wrtc's setParameters after
 * negotiation with InvalidStateError here, or a smaller capture).
 */
import { expect, test } from 'vitest';
import { describeLab, finishCall, startPeers, useLab, waitForFirstFrame } from '../fixture.js';
import { describeFlow, longestFreezeSec, lowestFps, type Flow } from '../flow.js';

const lab = useLab();

/** The call's steady part on the file's timeline: after the first second (ramp-up), to the end. */
const steady = (flow: Flow): [number, number] => [flow.startSec + 1, flow.endSec];

describeLab('a 250 kbit/s cap in the network lab', () => {
  test('a 250 kbit/s cap: still a picture', async () => {
    const call = await lab.start();
    call.lab.answerer.setRate({ down: 250 });
    const peers = await startPeers(call, { room: 'cap250', durationSec: 10 });
    await waitForFirstFrame(call, peers);
    const { flow } = await finishCall(call, peers);
    const [from, to] = steady(flow);
    console.log(
      `250 kbit/s: ${describeFlow(flow)}; lowest 2 s window ${lowestFps(flow, 2, from, to).toFixed(1)} fps`,
    );
    // New frames all along: at least a few a second in every 2 s, none of the call's picture lost for
    // long, and readable barcodes (a picture, not mush).
    expect(lowestFps(flow, 2, from, to), describeFlow(flow)).toBeGreaterThanOrEqual(3);
    expect(longestFreezeSec(flow, from, to), describeFlow(flow)).toBeLessThan(1.5);
    expect(flow.unreadable, describeFlow(flow)).toBe(0);
    expect(call.lab.answerer.shaped().down?.rateKbit).toBe(250);
  }, 60_000);
});
