/**
 * One side of the data bench with raw `@roamhq/wrtc` (the same library and channel options rtc-peer's calls
 * use): `measure` opens the channel, offers, and once it is open runs bench/lib/data-probe.ts's round trips
 * and throughput runs; `echo` answers and echoes. Signaling is JSON lines: descriptions and candidates out on
 * stdout, in on stdin (the bench passes them across).
 *
 * Usage: node data-peer.mjs measure|echo PLAN   (PLAN: {"pings":N,"runs":[{"size":S,"count":C},...]})
 * stdout: {"event":"sdp"|"candidate"|"result", ...}
 */
import { createInterface } from 'node:readline';
import wrtc from '@roamhq/wrtc';
import { echo, measure, type ThroughputRun } from '../lib/data-probe.js';

const [role, planJson] = process.argv.slice(2);
const plan = JSON.parse(planJson ?? '{}') as { pings: number; runs: ThroughputRun[] };
if (role !== 'measure' && role !== 'echo') {
  process.stderr.write('usage: data-peer measure|echo PLAN\n');
  process.exit(2);
}
const out = (event: string, fields: Record<string, unknown> = {}): void => {
  process.stdout.write(`${JSON.stringify({ event, ...fields })}\n`);
};

const pc = new wrtc.RTCPeerConnection({ iceServers: [] }) as unknown as RTCPeerConnection;
pc.onicecandidate = (e) => {
  if (e.candidate?.candidate) out('candidate', { candidate: e.candidate.toJSON() });
};

if (role === 'measure') {
  const channel = pc.createDataChannel('rtc-peer', { ordered: true });
  channel.onopen = () => {
    measure(channel, plan.pings, plan.runs).then(
      (result) => out('result', { ...result }),
      (error: unknown) => out('error', { message: String(error) }),
    );
  };
  void (async () => {
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    // What we set, not pc.localDescription (issue 18, src/peer/descriptions.ts); the candidates follow it.
    out('sdp', { sdp: { type: 'offer', sdp: offer.sdp } });
  })();
} else {
  pc.ondatachannel = (e) => echo(e.channel, plan.runs);
}

createInterface({ input: process.stdin }).on('line', (line) => {
  const m = JSON.parse(line) as {
    event: string;
    sdp?: RTCSessionDescriptionInit;
    candidate?: RTCIceCandidateInit;
  };
  void (async () => {
    if (m.event === 'sdp' && m.sdp) {
      await pc.setRemoteDescription(m.sdp);
      if (m.sdp.type === 'offer') {
        const answer = await pc.createAnswer();
        await pc.setLocalDescription(answer);
        out('sdp', { sdp: { type: 'answer', sdp: answer.sdp } });
      }
    } else if (m.event === 'candidate' && m.candidate) await pc.addIceCandidate(m.candidate);
    else if (m.event === 'end') {
      pc.close();
      // An explicit exit: wrtc can crash in its teardown when the event loop drains (README, exit codes).
      process.exit(0);
    }
  })();
});
