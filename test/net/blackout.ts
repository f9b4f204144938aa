/**
 * The blackout scenario of the lab's tests: a call through the answerer's router, 3 s of picture, then 10 s of
 * nothing through the router either way, then the link back. Checks that the picture comes back within
 * `backWithinSec` of the link, in the same call, judged by the recording and nftables' counters.
 */
import { expect } from 'vitest';
import { finishCall, labFacts, startPeers, waitForFirstFrame, type LabCall } from './fixture.js';
import { describeFlow, fpsBetween } from './flow.js';

/** Runs the blackout call in `call`'s lab and checks it. */
export async function blackoutCall(call: LabCall, backWithinSec: number): Promise<void> {
  // 3 s before, 10 s of blackout, up to `backWithinSec` to come back, then 3 s or more at full rate.
  const peers = await startPeers(call, { room: 'blackout', durationSec: 16 + backWithinSec });
  await waitForFirstFrame(call, peers);
  await new Promise((r) => setTimeout(r, 3000));
  call.lab.answerer.setBlackout(true);
  const blackFrom = Date.now();
  await new Promise((r) => setTimeout(r, 10_000));
  call.lab.answerer.setBlackout(false);
  const blackTo = Date.now();
  const { flow } = await finishCall(call, peers);
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
  console.log(
    `10 s blackout: picture back ${((back?.ptsSec ?? Infinity) - endOnTimeline).toFixed(2)} s after the link ` +
      `(sent ${back === undefined ? '?' : (((back.stampMs - (blackTo % 2 ** 32)) % 2 ** 32) / 1000).toFixed(2)} s after it)`,
  );
  expect((back?.ptsSec ?? Infinity) - endOnTimeline, describeFlow(flow, 1)).toBeLessThan(backWithinSec);
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
  // No restart storm: the caller restarts 2 s after the drop, then backs off (4 s, 8 s, ...): at most 3 in
  // the 10 s.
  const restarts = peers.caller.events.filter((e) => e.event === 'ice-restart').length;
  console.log(`10 s blackout: ${restarts} ICE restart(s) by the caller`);
  expect(restarts).toBeLessThanOrEqual(3);
  // and from a second after it came back, the picture goes on at full rate, over 2 s at least.
  const fullFrom = (back?.ptsSec ?? Infinity) + 1;
  expect(flow.endSec - fullFrom, describeFlow(flow, 1)).toBeGreaterThan(2);
  expect(fpsBetween(flow, fullFrom, flow.endSec), describeFlow(flow, 1)).toBeGreaterThan(25);
}
