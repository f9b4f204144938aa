/**
 * A 250 kbit/s cap in the network lab (tc tbf on the answerer's router), "still a picture", judged by the
 * decoded recording (test/net/flow.ts): with `--degradation-preference maintain-framerate` the caller sends
 * 320x240 from the link's first estimate on (src/peer/send-resolution.ts), as libwebrtc would ask of a source
 * that listened; with `maintain-resolution` (the default for now) it keeps 640x480.
 *
 * Quarantined in test/net/pending/ until 2026-12-04 (docs/network-lab.md, "Rate caps"): the sender kept
 * 640x480, libwebrtc dropped frames, and run after the 500 kbit/s cap it failed 3 of 6 (45-47 new frames in
 * 9.5 s, lowest 2 s windows 2.0-2.5 fps against the 3 asked). With the scaling, 2026-12-04, 11 of 11 runs,
 * each after the 500 kbit/s one (4 of them beside two busy loops): 121-236 new frames in 9.7-9.8 s, lowest
 * 2 s windows 5.5-12.0 fps, longest freeze 0.43-0.97 s (at the start); with maintain-resolution, 3 of 3:
 * 31-44 new frames in 5.6-5.7 s.
 */
import { expect, test } from 'vitest';
import type { CliEvent } from '../helpers/cli.js';
import { describeLab, finishCall, startPeers, useLab, waitForFirstFrame } from './fixture.js';
import { describeFlow, longestFreezeSec, lowestFps, type Flow } from './flow.js';

const lab = useLab();

/** The call's steady part on the file's timeline: after the first second (ramp-up), to the end. */
const steady = (flow: Flow): [number, number] => [flow.startSec + 1, flow.endSec];

/** What the caller's sender did: the link's estimate each second (kbit/s), and the sizes it switched to. */
function senderTimeline(events: CliEvent[]): string {
  return events
    .filter((e) => e.event === 'send-size' || (e.event === 'stats' && e.availableOutgoingKbps != null))
    .map((e) =>
      e.event === 'send-size' ? `${String(e.width)}x${String(e.height)}` : String(e.availableOutgoingKbps),
    )
    .join(' ');
}

const switches = (events: CliEvent[]): string[] =>
  events.filter((e) => e.event === 'send-size').map((e) => `${String(e.width)}x${String(e.height)}`);

describeLab('a 250 kbit/s cap in the network lab', () => {
  test('a 250 kbit/s cap: still a picture', async () => {
    const call = await lab.start();
    call.lab.answerer.setRate({ down: 250 });
    const peers = await startPeers(call, {
      room: 'cap250',
      durationSec: 10,
      extra: ['--degradation-preference', 'maintain-framerate'],
    });
    await waitForFirstFrame(call, peers);
    const { flow } = await finishCall(call, peers);
    const [from, to] = steady(flow);
    const sender = senderTimeline(peers.caller.events);
    console.log(
      `250 kbit/s: ${describeFlow(flow)}; lowest 2 s window ${lowestFps(flow, 2, from, to).toFixed(1)} fps; sender: ${sender}`,
    );
    // New frames all along: at least a few a second in every 2 s, none of the call's picture lost for
    // long, and readable barcodes (a picture, not mush).
    expect(lowestFps(flow, 2, from, to), describeFlow(flow)).toBeGreaterThanOrEqual(3);
    expect(longestFreezeSec(flow, from, to), describeFlow(flow)).toBeLessThan(1.5);
    expect(flow.unreadable, describeFlow(flow)).toBe(0);
    expect(call.lab.answerer.shaped().down?.rateKbit).toBe(250);
    // The sender went to libwebrtc's size for the estimate (below 300 kbit/s of video: 320x240), once.
    expect(switches(peers.caller.events)[0], sender).toBe('320x240');
  }, 60_000);

  test('maintain-resolution: the full size all along, the frame rate gives', async () => {
    const call = await lab.start();
    call.lab.answerer.setRate({ down: 250 });
    const peers = await startPeers(call, {
      room: 'cap250full',
      durationSec: 6,
      extra: ['--degradation-preference', 'maintain-resolution'],
    });
    await waitForFirstFrame(call, peers);
    const { flow } = await finishCall(call, peers);
    const sent = peers.caller.events
      .filter((e) => e.event === 'stats' && typeof e.sendResolution === 'string')
      .map((e) => e.sendResolution);
    console.log(
      `250 kbit/s, maintain-resolution: ${describeFlow(flow)}; sender: ${senderTimeline(peers.caller.events)}`,
    );
    expect(switches(peers.caller.events)).toEqual([]);
    expect(sent.length).toBeGreaterThan(2);
    expect(new Set(sent)).toEqual(new Set(['640x480']));
    expect(flow.frames.length, describeFlow(flow)).toBeGreaterThan(0);
  }, 60_000);
});
