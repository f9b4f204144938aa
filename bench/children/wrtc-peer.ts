/**
 * The raw `@roamhq/wrtc` floor: one side of a call with nothing of rtc-peer on the media path but the
 * barcode functions. `send` plays rtc-peer's test pattern from memory (rendered once by ffmpeg before the
 * call, so no ffmpeg runs while anything is measured), stamps the barcode and feeds an `RTCVideoSource`; `recv` reads the barcode off every frame of an `RTCVideoSink`. Signaling is JSON lines:
 * descriptions and candidates go out on stdout and come in on stdin (the bench passes them across).
 *
 * Usage: node wrtc-peer.mjs send|recv WIDTH HEIGHT FPS [CONFIG]
 * CONFIG (JSON, optional): `{"iceServers":[...],"iceTransportPolicy":"all","tuning":{...}}`: ICE servers
 * (default none) and the SDP changes of bench/lib/sdp-tuning.ts, applied to the remote description (the
 * sender's codec settings come from the answer it applies).
 * stdin:  {"event":"sdp","sdp":{...}} {"event":"candidate","candidate":{...}} {"event":"mark"} {"event":"stats"}
 *         {"event":"end"}
 * stdout: {"event":"sdp"|"candidate"|"state"|"first-frame"|"mark"|"stats"|"result", ...}
 */
import { execFileSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import wrtc from '@roamhq/wrtc';
import { readBarcode, writeBarcode } from '../../src/capture/barcode.js';
import { buildCaptureArgs } from '../../src/capture/capture-args.js';
import { locateFfmpeg } from '../../src/capture/ffmpeg-locate.js';
import { tuneSdp, type SdpTuning } from '../lib/sdp-tuning.js';

/** Frames of the pattern held in memory and replayed in a loop (1 s: 41 MB of RSS at 720p, counted). */
const LOOP_FRAMES = 30;

const [role, w, h, rate, configJson] = process.argv.slice(2);
const config = JSON.parse(configJson ?? '{}') as {
  iceServers?: RTCIceServer[];
  iceTransportPolicy?: 'all' | 'relay';
  tuning?: SdpTuning;
};
const width = Number(w);
const height = Number(h);
const fps = Number(rate);
if ((role !== 'send' && role !== 'recv') || !(width > 0) || !(height > 0) || !(fps > 0)) {
  process.stderr.write('usage: wrtc-peer send|recv WIDTH HEIGHT FPS\n');
  process.exit(2);
}

const out = (event: string, fields: Record<string, unknown> = {}): void => {
  process.stdout.write(`${JSON.stringify({ event, ...fields })}\n`);
};

const pc = new wrtc.RTCPeerConnection({
  iceServers: config.iceServers ?? [],
  iceTransportPolicy: config.iceTransportPolicy ?? 'all',
});
pc.onicecandidate = (e) => {
  if (e.candidate?.candidate) out('candidate', { candidate: e.candidate.toJSON() });
};
const t0 = performance.now();
const report = (): void =>
  out('state', {
    ms: Math.round(performance.now() - t0),
    connection: pc.connectionState,
    ice: pc.iceConnectionState,
    gathering: pc.iceGatheringState,
  });
pc.onconnectionstatechange = report;
pc.oniceconnectionstatechange = report;
pc.onicegatheringstatechange = report;

let timer: NodeJS.Timeout | undefined;
let framesSent = 0;
const latencies: number[] = [];
/** When each latency sample was taken, ms since this process started (for latency per minute). */
const latencyAt: number[] = [];
let framesReceived = 0;
let resolution = '';
/** Each received frame: ms since this process started, and the frame id read from its barcode (-1: none). */
const arrivals: number[] = [];
const ids: number[] = [];
let sink: { stop(): void; onframe: unknown } | undefined;

if (role === 'send') {
  const source = new wrtc.nonstandard.RTCVideoSource();
  const track = source.createTrack();
  pc.addTrack(track, new wrtc.MediaStream([track]));
  void renderPattern().then((frames) => startPattern(source, frames));
} else {
  pc.ontrack = (e) => {
    if (e.track.kind !== 'video') return;
    const s = new wrtc.nonstandard.RTCVideoSink(e.track);
    sink = s;
    s.onframe = ({ frame }: { frame: { width: number; height: number; data: Uint8Array } }) => {
      const now = Date.now();
      if (framesReceived === 0) out('first-frame', { width: frame.width, height: frame.height });
      framesReceived++;
      resolution = `${frame.width}x${frame.height}`;
      const code = readBarcode(frame.data, frame.width, frame.height);
      if (code) {
        latencies.push((now - code.timestampMs) >>> 0);
        latencyAt.push(Math.round(performance.now() - t0));
      }
      arrivals.push(Math.round(performance.now() - t0));
      ids.push(code?.frameId ?? -1);
    };
  };
}

/**
 * The same picture as `rtc-peer call`'s test pattern: its exact ffmpeg source (buildCaptureArgs), rendered
 * once as fast as ffmpeg can, LOOP_FRAMES frames kept in memory.
 */
async function renderPattern(): Promise<Uint8Array[]> {
  const ffmpegPath = (await locateFfmpeg()).path;
  const args = buildCaptureArgs({ source: { kind: 'test-pattern' }, width, height, fps, ffmpegPath }).filter(
    (a) => a !== '-re',
  );
  args.splice(args.length - 1, 0, '-frames:v', String(LOOP_FRAMES));
  const raw = execFileSync(ffmpegPath, args, {
    maxBuffer: 1024 * 1024 * 1024,
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const size = width * height * 1.5;
  const frames: Uint8Array[] = [];
  for (let off = 0; off + size <= raw.length; off += size) frames.push(raw.subarray(off, off + size));
  if (frames.length === 0) throw new Error(`ffmpeg rendered no frames: ${args.join(' ')}`);
  return frames;
}

/** Replays the rendered frames at `fps`, stamping the barcode into each, paced on the ideal schedule. */
function startPattern(
  source: InstanceType<typeof wrtc.nonstandard.RTCVideoSource>,
  frames: Uint8Array[],
): void {
  const data = new Uint8ClampedArray(width * height * 1.5);
  const t0 = performance.now();
  const tick = (): void => {
    data.set(frames[framesSent % frames.length] as Uint8Array);
    writeBarcode(data, width, height, { frameId: framesSent, timestampMs: Date.now() % 2 ** 32 });
    source.onFrame({ width, height, data } as unknown as Parameters<typeof source.onFrame>[0]);
    framesSent++;
    // Paced on the ideal schedule, so timer jitter does not accumulate into a lower rate.
    timer = setTimeout(tick, Math.max(0, t0 + (framesSent * 1000) / fps - performance.now()));
  };
  tick();
}

async function onMessage(m: {
  event: string;
  sdp?: RTCSessionDescriptionInit;
  candidate?: RTCIceCandidateInit;
}): Promise<void> {
  switch (m.event) {
    case 'start': {
      const offer = await pc.createOffer();
      await pc.setLocalDescription(offer);
      // What we set, not pc.localDescription: that getter crashes while gathering changes it (issue 18,
      // src/peer/descriptions.ts). The candidates follow it.
      out('sdp', { sdp: { type: 'offer', sdp: offer.sdp } });
      break;
    }
    case 'sdp':
      if (!m.sdp) return;
      await pc.setRemoteDescription(
        config.tuning ? { type: m.sdp.type, sdp: tuneSdp(m.sdp.sdp ?? '', config.tuning) } : m.sdp,
      );
      if (m.sdp.type === 'offer') {
        const answer = await pc.createAnswer();
        await pc.setLocalDescription(answer);
        out('sdp', { sdp: { type: 'answer', sdp: answer.sdp } });
      }
      break;
    case 'candidate':
      if (m.candidate) await pc.addIceCandidate(m.candidate);
      break;
    case 'mark':
      out('mark', { framesReceived, framesSent, resolution });
      break;
    case 'stats':
      out('stats', { ms: Math.round(performance.now() - t0), ...(await statsSummary()) });
      break;
    case 'end':
      clearTimeout(timer);
      sink?.stop();
      pc.close();
      out('result', { framesReceived, framesSent, resolution, latencies, latencyAt, arrivals, ids });
      // An explicit exit: wrtc can crash in its native teardown when the event loop drains by itself.
      setTimeout(() => process.exit(0), 50);
      break;
  }
}

/**
 * What libwebrtc says of the call: the selected pair's candidate types and bandwidth estimate, the video
 * sender's and receiver's counters (NACK, PLI, retransmissions, FEC, quality limitation).
 */
async function statsSummary(): Promise<Record<string, unknown>> {
  const entries = [...((await pc.getStats()) as unknown as Map<string, Record<string, unknown>>).values()];
  const byId = new Map(entries.map((e) => [e.id as string, e]));
  const pick = (e: Record<string, unknown> | undefined, keys: string[]): Record<string, unknown> =>
    Object.fromEntries(keys.filter((k) => e?.[k] !== undefined).map((k) => [k, e?.[k]]));
  const transport = entries.find((e) => e.type === 'transport');
  const pair =
    byId.get(transport?.selectedCandidatePairId as string) ??
    entries.find((e) => e.type === 'candidate-pair' && e.nominated === true && e.state === 'succeeded');
  return {
    local: byId.get(pair?.localCandidateId as string)?.candidateType,
    remote: byId.get(pair?.remoteCandidateId as string)?.candidateType,
    pair: pick(pair, ['availableOutgoingBitrate', 'currentRoundTripTime', 'packetsSent', 'packetsReceived']),
    out: pick(
      entries.find((e) => e.type === 'outbound-rtp' && e.kind === 'video'),
      [
        'framesEncoded',
        'framesSent',
        'frameWidth',
        'frameHeight',
        'framesPerSecond',
        'targetBitrate',
        'bytesSent',
        'packetsSent',
        'retransmittedPacketsSent',
        'nackCount',
        'pliCount',
        'firCount',
        'keyFramesEncoded',
        'qualityLimitationReason',
        'qualityLimitationResolutionChanges',
      ],
    ),
    in: pick(
      entries.find((e) => e.type === 'inbound-rtp' && e.kind === 'video'),
      [
        'framesReceived',
        'framesDecoded',
        'framesDropped',
        'keyFramesDecoded',
        'frameWidth',
        'frameHeight',
        'packetsReceived',
        'packetsLost',
        'nackCount',
        'pliCount',
        'firCount',
        'fecPacketsReceived',
        'fecPacketsDiscarded',
        'bytesReceived',
        'jitterBufferDelay',
        'jitterBufferEmittedCount',
        'freezeCount',
        'totalFreezesDuration',
      ],
    ),
  };
}

createInterface({ input: process.stdin }).on('line', (line) => {
  if (!line.startsWith('{')) return;
  onMessage(JSON.parse(line) as Parameters<typeof onMessage>[0]).catch((error: unknown) => {
    process.stderr.write(`wrtc-peer ${role}: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
});
