/**
 * A network change mid-call (issue 12; docs/network-lab.md, "address change"): the caller, behind a home
 * router, moves to another address on its LAN and loses the old one, as a device does when it changes
 * networks. rtc-peer sees its addresses change (it polls them), reconnects its signaling from the new address
 * and restarts ICE on the same peer connection; the answerer applies the restart offer to the same call.
 * The same when the answerer moves: its signaling reconnects from its new address and the caller restarts
 * the call of the viewer that rejoined. One `ice-restart` on each side, one call, one recording, and the
 * picture back within 3 s.
 */
import { readdirSync } from 'node:fs';
import { expect, test } from 'vitest';
import { inspectRecording } from '../helpers/media.js';
import { describeLab, startPeers, useLab, waitForFirstFrame } from './fixture.js';
import { describeFlow, fpsBetween, readFlow } from './flow.js';

const lab = useLab();

describeLab('an address change mid-call, in the network lab', () => {
  // The caller moves: it restarts ICE itself. The answerer moves: its signaling reconnects from the new
  // address, and the caller restarts the call of the viewer that rejoined (docs/protocol.md, "ICE restart").
  test.each(['caller', 'answerer'] as const)(
    "the %s's address changes mid-call: ICE restarts, the picture is back within 3 s, same call",
    async (side) => {
      // Behind a NAT, so that the router's connection tracking witnesses the new address.
      const call = await lab.start(
        side === 'caller' ? { callerNat: 'port-preserving' } : { answererNat: 'port-preserving' },
      );
      const peers = await startPeers(call, { room: `move-${side}`, durationSec: 14 });
      await waitForFirstFrame(call, peers);
      await new Promise((r) => setTimeout(r, 3000));
      const moved = Date.now();
      const newIp = call.lab[side].changeAddress();
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
      // frames captured after the move (by their stamps) arrive within 3 s of it
      const back = flow.frames.find((f) => f.ptsSec > movedOnTimeline && f.stampMs >= moved % 2 ** 32);
      const backSec = (back?.ptsSec ?? Infinity) - movedOnTimeline;
      console.log(`${side} moved: picture back ${backSec.toFixed(2)} s after the move`);
      expect(backSec, describeFlow(flow, 1)).toBeLessThan(3);
      expect(fpsBetween(flow, movedOnTimeline + 3, flow.endSec), describeFlow(flow, 1)).toBeGreaterThan(25);
      // the router's witness: the media now comes from the new address
      expect(call.lab[side].mappings()).toMatch(new RegExp(`src=${newIp.replace(/\./g, '\\.')} `));
    },
    60_000,
  );
});
