/**
 * PENDING (not in the suite: vitest.config.ts excludes test/net/pending/): the figure for a 10 s
 * blackout, the picture back within 3 s (test/net/impairments.test.ts holds it to 10 s meanwhile). Measured in
 * this lab: raw libwebrtc is back 0.2 s or 2.3 s after the link (the second when the receiver's keyframe
 * request goes out only with its next connectivity check), rtc-peer 1.6-6.0 s. What lands it is in
 * docs/network-lab.md, "blackout": an ICE restart by the caller when the selected pair comes back from
 * `disconnected` (protocol v2) or a keyframe request on that transition. Rerun 2026-12-02 (load ~10): 4.2 s;
 * the caller's restart 2 s into the blackout comes back around the link's return and the picture dips again
 * after it (docs/network-lab.md, "blackout", has the figures and what to try next).
 */
import { test } from 'vitest';
import { blackoutCall } from '../blackout.js';
import { describeLab, useLab } from '../fixture.js';

const lab = useLab();

describeLab('a blackout in the network lab', () => {
  test('a 10 s blackout: the picture is back within 3 s, in the same call', async () => {
    await blackoutCall(await lab.start(), 3);
  }, 60_000);
});
