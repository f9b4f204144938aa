/**
 * A child process for test/peer/descriptions.test.ts (issue 18): peer connections whose local description is
 * read over and over while libwebrtc gathers candidates into it and while an ICE restart replaces it, the
 * moments rtc-peer's negotiator used to read it at.
 *
 *   node --import tsx test/peer/description-reads.ts native|kept CONNECTIONS
 *
 * `native` reads `pc.localDescription` (wrtc's getter: crashes, SIGSEGV in webrtc::SdpSerialize); `kept` reads
 * what SessionDescriptions kept. Prints `ok CONNECTIONS READS` and exits 0 when it lived.
 */
import wrtc from '@roamhq/wrtc';
import { SessionDescriptions } from '../../src/peer/descriptions.js';

const mode = process.argv[2];
const connections = Number(process.argv[3] ?? 100);
if (mode !== 'native' && mode !== 'kept')
  throw new Error('usage: description-reads.ts native|kept CONNECTIONS');

let reads = 0;
const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
for (let i = 0; i < connections; i++) {
  const pc = new wrtc.RTCPeerConnection({ iceServers: [] }) as unknown as RTCPeerConnection;
  const kept = SessionDescriptions.of(pc);
  const read = (): number =>
    // eslint-disable-next-line no-restricted-syntax -- the point: the getter, read during gathering
    mode === 'native' ? (pc.localDescription?.sdp.length ?? 0) : kept.localWithCandidates(false).length;
  pc.addTransceiver('video');
  pc.addTransceiver('audio');
  pc.createDataChannel('reads');
  const set = kept.setLocal(await pc.createOffer());
  await set;
  // Gathering runs now: read for 50 ms, a turn of the loop each time (candidate events come in between).
  for (const until = performance.now() + 50; performance.now() < until; reads++) {
    read();
    await tick();
  }
  // An ICE restart: a new description replaces the one being read.
  const restart = kept.setLocal(await pc.createOffer({ iceRestart: true }));
  for (let k = 0; k < 20; k++, reads++) {
    if (kept.local !== undefined) read();
    await tick();
  }
  await restart;
  pc.close();
}
console.log(`ok ${connections} ${reads}`);
// An explicit exit: wrtc can crash in its native teardown when the event loop drains by itself.
process.exit(0);
