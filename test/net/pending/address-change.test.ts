/**
 * PENDING (not in the suite: vitest.config.ts excludes test/net/pending/): lands with protocol v2's ICE
 * restart (issue 12; docs/network-lab.md, "address change"). What it needs: when the selected pair stops
 * working (ICE `disconnected`, or the OS reports the local address gone), the caller restarts ICE on the same
 * peer connection: `restartIce()`, a new offer with new ufrag/pwd sent through the signaling server and
 * answered, candidates of the new address gathered and exchanged; tracks, encoder and recorder carry on. An
 * `ice-restart` event `{call, reason}` on both sides; `call-ended` only at the end, once, with the same call
 * number; one recording. Today the caller's old address is gone, ICE goes `disconnected`, and after 10 s the
 * call ends with `ice-failed`: this test fails.
 */
import { readdirSync } from 'node:fs';
import { expect, test } from 'vitest';
import { inspectRecording } from '../../helpers/media.js';
import { describeLab, startPeers, useLab, waitForFirstFrame } from '../fixture.js';
import { describeFlow, fpsBetween, readFlow } from '../flow.js';

const lab = useLab();

describeLab('an address change mid-call, in the network lab', () => {
  test("the caller's address changes mid-call: ICE restarts, the picture is back within 5 s, same call", async () => {
    const call = await lab.start();
    const peers = await startPeers(call, { room: 'move', durationSec: 14 });
    await waitForFirstFrame(call, peers);
    await new Promise((r) => setTimeout(r, 3000));
    const moved = Date.now();
    const newIp = call.lab.caller.changeAddress();
    expect((await peers.caller.exited).code).toBe(0);
    expect((await peers.answerer.exited).code).toBe(0);
    for (const peer of [peers.caller, peers.answerer]) {
      expect(peer.events.filter((e) => e.event === 'ice-restart').map((e) => e.call)).toEqual([1]);
      expect(peer.events.filter((e) => e.event === 'call-ended').map((e) => e.call)).toEqual([1]);
    }
    expect(readdirSync(call.dir)).toHaveLength(1);
    const flow = readFlow(await inspectRecording(peers.file));
    const first = flow.frames[0];
    expect(first).toBeDefined();
    const firstWall = moved - ((((moved - (first?.stampMs ?? 0)) % 2 ** 32) + 2 ** 32) % 2 ** 32);
    const movedOnTimeline = flow.startSec + (moved - firstWall) / 1000;
    // frames captured after the move (by their stamps) arrive within 5 s of it
    const back = flow.frames.find((f) => f.ptsSec > movedOnTimeline && f.stampMs >= moved % 2 ** 32);
    expect((back?.ptsSec ?? Infinity) - movedOnTimeline, describeFlow(flow, 1)).toBeLessThan(5);
    expect(fpsBetween(flow, movedOnTimeline + 5, flow.endSec), describeFlow(flow, 1)).toBeGreaterThan(25);
    // the router's witness: the media now comes from the new address
    expect(call.lab.caller.mappings()).toMatch(new RegExp(`src=${newIp.replace(/\./g, '\\.')} `));
  }, 60_000);
});
