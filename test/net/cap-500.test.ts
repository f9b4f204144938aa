/**
 * A rate cap in the network lab (tc tbf on the answerer's router, the media's way in), judged by the decoded
 * recording (test/net/flow.ts) and tc's own counters. The 250 kbit/s cap, where the sender scales its picture
 * down, is in cap-250.test.ts.
 *
 * Quarantined in test/net/pending/ from 2026-12-02 to 12-04, after it failed inside full suite runs (5.0 /
 * 3.0 / 15.3 fps per 5 s with a 0.8 s freeze, 1 run in 2). Back since the recorder's hold
 * (src/record/video-timeline.ts, `burstHoldMs`): the frames a stalled link releases at once were dropped from
 * the recording (at most 4 slots ahead), which is what this test reads; with the hold they are placed.
 * 2026-12-04, alone: 6 of 6 runs, 28.2-30.0 fps per 5 s, longest freeze 0.10-0.13 s.
 */
import { expect, test } from 'vitest';
import { describeLab, finishCall, startPeers, useLab, waitForFirstFrame } from './fixture.js';
import { describeFlow, fpsBetween, longestFreezeSec, type Flow } from './flow.js';

const lab = useLab();

/** The call's steady part on the file's timeline: after the first second (ramp-up), to the end. */
const steady = (flow: Flow): [number, number] => [flow.startSec + 1, flow.endSec];

describeLab('rate caps in the network lab', () => {
  test('a 500 kbit/s cap: no freeze over 500 ms, one valid recording', async () => {
    const call = await lab.start();
    call.lab.answerer.setRate({ down: 500 });
    const peers = await startPeers(call, { room: 'cap500', durationSec: 12 });
    await waitForFirstFrame(call, peers);
    const { flow } = await finishCall(call, peers);
    const [from, to] = steady(flow);
    console.log(`500 kbit/s: ${describeFlow(flow)}`);
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
});
