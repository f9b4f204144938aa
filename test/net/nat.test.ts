/**
 * Calls through the lab's NATs (test/net/lab.ts): each peer on a LAN of its own behind a router, coturn and
 * the signaling server in the middle. Judged by the recording (decoded, its barcodes against what was sent),
 * by coturn's log and by the routers' own connection-tracking tables, next to the route the peers report.
 */
import { expect, test } from 'vitest';
import { expectPatternRecording } from '../helpers/pattern-recording.js';
import { waitForTurnLog } from '../helpers/turn-server.js';
import { describeLab, routes, startPeers, useLab, waitForFirstFrame } from './fixture.js';

const lab = useLab();

/** conntrack's line for a flow `src:sport -> dst:dport` of the router, with its reply tuple. */
const flowRe = (src: string, dst: string): RegExp =>
  new RegExp(
    `src=${src} dst=${dst} sport=(\\d+) dport=(\\d+) src=${dst} dst=([\\d.]+) sport=\\d+ dport=(\\d+) \\[ASSURED\\]`,
  );

describeLab('NAT traversal in the network lab', () => {
  test('both peers behind port-preserving NATs, STUN only: the call runs on server-reflexive candidates', async () => {
    const call = await lab.start({ callerNat: 'port-preserving', answererNat: 'port-preserving' });
    const { caller: c, answerer: a } = call.lab;
    const peers = await startPeers(call, { room: 'srflx', durationSec: 4, ice: ['--stun', call.stunUrl] });
    await waitForFirstFrame(call, peers);
    expect((await peers.caller.exited).code).toBe(0);
    expect((await peers.answerer.exited).code).toBe(0);
    const sentBetween = { from: peers.from, to: Date.now() };

    // Each side's part of the selected pair is the srflx candidate STUN gave it. libwebrtc names a pair's
    // local candidate by its socket (host) until a check's response shows the address the NAT mapped it to
    // (Connection::MaybeUpdateLocalCandidate), so the first samples may say host (CI saw host, then srflx
    // four times): from the first srflx on, and within 2 s, every sample says srflx.
    for (const peer of [peers.caller, peers.answerer]) {
      const seen = routes(peer.events);
      const facts = JSON.stringify(seen);
      expect(seen.length, facts).toBeGreaterThanOrEqual(3);
      const settled = seen.indexOf('srflx');
      expect(settled, facts).toBeGreaterThanOrEqual(0);
      expect(settled, facts).toBeLessThanOrEqual(2);
      expect(new Set(seen.slice(0, settled)), facts).toEqual(new Set(settled > 0 ? ['host'] : []));
      expect(new Set(seen.slice(settled)), facts).toEqual(new Set(['srflx']));
    }
    // The routers' side of it: the media flowed between the two NATs' public addresses, each peer's port
    // kept by its NAT (the mapping STUN saw is the one the other peer reached), and the reply came back.
    const callerFlow = flowRe(c.ip, a.publicIp).exec(c.mappings());
    const answererFlow = flowRe(a.ip, c.publicIp).exec(a.mappings());
    expect(callerFlow, c.mappings()).not.toBeNull();
    expect(answererFlow, a.mappings()).not.toBeNull();
    expect(callerFlow?.[3]).toBe(c.publicIp);
    expect(callerFlow?.[4]).toBe(callerFlow?.[1]); // port preserved
    expect(answererFlow?.[4]).toBe(answererFlow?.[1]);
    expect(callerFlow?.[2]).toBe(answererFlow?.[1]); // each reached the other's mapped port
    // coturn answered both NATs' outer addresses, never a LAN address.
    const log = call.turn.log();
    const endpoints = [...log.matchAll(/New UDP endpoint: local addr \S+, remote addr ([\d.]+):\d+/g)].map(
      (m) => m[1],
    );
    expect(new Set(endpoints)).toEqual(new Set([c.publicIp, a.publicIp]));
    expect(log).toMatch(/incoming packet BINDING processed, success/);

    const ended = peers.answerer.events.find((e) => e.event === 'call-ended');
    await expectPatternRecording(peers.file, { durationSec: 4, sentBetween, receiver: ended });
  }, 60_000);

  test('both peers behind symmetric NATs, with TURN: the call runs through the relay', async () => {
    const call = await lab.start({ callerNat: 'symmetric', answererNat: 'symmetric' });
    const ice = ['--stun', call.stunUrl, ...call.turnArgs];
    const peers = await startPeers(call, { room: 'relay', durationSec: 4, ice });
    await waitForFirstFrame(call, peers);
    expect((await peers.caller.exited).code).toBe(0);
    expect((await peers.answerer.exited).code).toBe(0);
    const sentBetween = { from: peers.from, to: Date.now() };

    // A symmetric NAT gives each destination a port of its own: the srflx port STUN saw is not the one the
    // other peer would be reached on, so only a relayed pair works; the side that sends to the other's relay
    // address (which lets any port of an allowed address in) may report its own host candidate.
    const all = [...routes(peers.caller.events), ...routes(peers.answerer.events)];
    expect(all, JSON.stringify(all)).toContain('relay');
    expect(all, JSON.stringify(all)).not.toContain('srflx');
    // coturn's side: allocations, and the media relayed through them (logged when each session ends): the end
    // of every session the call used. Not of every allocation: the caller's spare offer (for a next viewer,
    // never taken) gathers a relay candidate too, and in one full-suite run coturn never logged that one's
    // release after the caller exited (it holds it for its lifetime, 600 s) while both of the call's ended at
    // once (the closing note of 2026-12-02).
    const turnLog = await waitForTurnLog(
      call.turn,
      'the end of every session the call used',
      (l) => l.permitted.length >= 1 && l.permitted.every((s) => l.peerBytes.has(s)),
    );
    const unreleased = turnLog.allocated.filter((s) => !turnLog.peerBytes.has(s));
    if (unreleased.length > 0) console.log(`coturn: allocations not released: ${unreleased.join(', ')}`);
    // Between a relay address and the peers, either way: the media goes through one of the two allocations
    // (the caller sends to the answerer's relay address, or through its own to the answerer's mapping).
    const relayed = [...turnLog.peerBytes.values()].reduce((sum, b) => sum + b.sent + b.received, 0);
    // 4 s of 640x480 VP8 at several hundred kbit/s: far more than STUN's few bytes
    expect(relayed, JSON.stringify([...turnLog.peerBytes])).toBeGreaterThan(150_000);

    const ended = peers.answerer.events.find((e) => e.event === 'call-ended');
    await expectPatternRecording(peers.file, { durationSec: 4, sentBetween, receiver: ended });
  }, 60_000);
});
