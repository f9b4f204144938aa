/**
 * A link that goes down for good, in the network lab: the call must end by itself (not hang on a connection
 * that will never come back), as `ice-failed` on the side that lost its network, once the connection has been
 * down with no packet for 10 s (src/peer/peer.ts, ICE_DOWN_TIMEOUT_MS); the recording is finalized and the
 * process exits 0 (`--once`).
 *
 * The answerer's router drops everything both ways, its signaling too, so no server tells the answerer that
 * the caller is gone: only its own watchdog can end the call.
 */
import { expect, test } from 'vitest';
import { describeLab, startPeers, useLab, waitForFirstFrame } from './fixture.js';
import { inspectRecording } from '../helpers/media.js';

const lab = useLab();

describeLab('a link down for good', () => {
  test('the answerer ends the call as ice-failed, 10 s after the connection went down; the file is finalized; exit 0', async () => {
    const call = await lab.start();
    const peers = await startPeers(call, { room: 'down', durationSec: 120 });
    await waitForFirstFrame(call, peers);
    await new Promise((r) => setTimeout(r, 2000));
    call.lab.answerer.setBlackout(true);
    const downAt = Date.now();
    const ended = await peers.answerer.waitFor('call-ended', 40_000);
    const endedAfterSec = (Date.now() - downAt) / 1000;
    expect(ended.reason).toBe('ice-failed');
    // libwebrtc calls the connection disconnected a few seconds into the silence; 10 s after that, it is over.
    expect(endedAfterSec).toBeGreaterThan(10);
    expect(endedAfterSec).toBeLessThan(30);
    expect((await peers.answerer.exited).code).toBe(0);
    const rec = await inspectRecording(peers.file);
    expect(rec.containerDurationSec).not.toBeNull();
    expect(rec.decodeErrors).toEqual([]);
    // The ~2 s of picture before the link went down, with the frozen tail up to the end of the call.
    expect(rec.frames).toBeGreaterThan(30);
    await peers.caller.kill('SIGTERM');
    expect((await peers.caller.exited).code).toBe(0);
  }, 90_000);
});
