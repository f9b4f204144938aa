/**
 * (Quarantined from 2026-12-02 to 12-04: in one run of about a dozen the caller's new offer after the timeout
 * never came. That is the moment the negotiator used to read wrtc's local description right after setting
 * it, while candidates gathered: the SIGSEGV found for issue 18 (src/peer/descriptions.ts). Since the fix,
 * the waits below also say whether the process had exited.)
 *
 * A call whose ICE cannot connect (docs/network-lab.md, "a call whose ICE does not connect"): both peers
 * behind the lab's symmetric NATs with STUN only. `--ice-timeout` (PeerOptions `iceTimeoutMs`) ends the call
 * that long after its offer and answer, on both sides, with reason `ice-timeout`, what ICE tried (`ice`: the
 * candidate types each side had, whether STUN answered and TURN allocated) and a warning that says what to
 * do; then the caller offers again and the answerer takes that call.
 */
import { expect, test } from 'vitest';
import { startCli } from '../helpers/cli.js';
import { describeLab, peerFlags, useLab } from './fixture.js';

const lab = useLab();

describeLab('a call whose ICE cannot connect, in the network lab', () => {
  test('both behind symmetric NATs, STUN only: the call ends with a reason within the ICE timeout, and the caller offers again', async () => {
    const call = await lab.start({ callerNat: 'symmetric', answererNat: 'symmetric' });
    const ice = ['--stun', call.stunUrl, '--ice-timeout', '6'];
    const answerer = startCli(['answer', ...peerFlags(call, 'nopath', ice)], { netns: call.lab.answerer.ns });
    await answerer.waitFor('joined');
    const caller = startCli(['call', ...peerFlags(call, 'nopath', ice)], { netns: call.lab.caller.ns });
    const answered = await answerer.waitFor('answer-sent', 15_000);
    const ended = await answerer.waitFor('call-ended', 15_000);
    const callerEnded = await caller.waitFor('call-ended', 15_000);
    // bounded: the timeout, give or take a second
    expect(Number(ended.t) - Number(answered.t)).toBeGreaterThan(5);
    expect(Number(ended.t) - Number(answered.t)).toBeLessThan(8);
    for (const e of [ended, callerEnded]) {
      expect(e.reason).toBe('ice-timeout');
      const ice = e.ice as {
        local: Record<string, number>;
        remote: Record<string, number>;
        stun: string;
        turn: string;
      };
      // what was tried: each side gathered host and srflx candidates (STUN answered through the NAT) and had
      // the other's; no relay, since no TURN server was given
      expect(ice.local.host).toBeGreaterThan(0);
      expect(ice.local.srflx).toBeGreaterThan(0);
      expect(ice.remote.srflx).toBeGreaterThan(0);
      expect(ice.local.relay ?? 0).toBe(0);
      expect(ice.stun).toBe('answered');
      expect(ice.turn).toBe('none');
    }
    const warning = answerer.events.find((e) => e.event === 'warning');
    expect(String(warning?.message)).toMatch(/no network path after 6 s/);
    expect(String(warning?.message)).toMatch(/add a TURN server \(--turn\)/);
    // nobody saw a frame, and then: the caller re-offers, the answerer takes call 2
    expect(answerer.events.filter((e) => e.event === 'first-frame')).toEqual([]);
    // (the caller's held offer for a next viewer went long before: the new one is addressed, for a later call)
    const again = await caller.waitFor(
      'offer-sent',
      10_000,
      (e) => e.held === false && Number(e.call) > Number(callerEnded.call),
    );
    console.log(
      `caller: call ${String(callerEnded.call)} ended at ${String(callerEnded.t)} s, offer of call ` +
        `${String(again.call)} sent at ${String(again.t)} s`,
    );
    await answerer.waitFor('offer-received', 10_000, (e) => e.call === 2);
    // coturn's witness that STUN did answer both NATs
    expect(call.turn.log()).toMatch(/incoming packet BINDING processed, success/);
    caller.child.kill('SIGINT');
    answerer.child.kill('SIGINT');
    expect((await caller.exited).code).toBe(0);
    expect((await answerer.exited).code).toBe(0);
  }, 60_000);
});
