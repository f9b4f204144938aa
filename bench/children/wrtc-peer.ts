/**
 * The raw `@roamhq/wrtc` floor: one side of a call with nothing of rtc-peer on the media path but the
 * barcode functions. `send` generates a moving pattern in process (no ffmpeg), stamps the barcode and feeds
 * an `RTCVideoSource`; `recv` reads the barcode off every frame of an `RTCVideoSink`. Signaling is JSON lines:
 * descriptions and candidates go out on stdout and come in on stdin (the bench passes them across).
 *
 * Usage: node wrtc-peer.mjs send|recv WIDTH HEIGHT FPS
 * stdin:  {"event":"sdp","sdp":{...}} {"event":"candidate","candidate":{...}} {"event":"mark"} {"event":"end"}
 * stdout: {"event":"sdp"|"candidate"|"first-frame"|"mark"|"result", ...}
 */
import { createInterface } from 'node:readline';
import wrtc from '@roamhq/wrtc';
import { readBarcode, writeBarcode } from '../../src/capture/barcode.js';

const [role, w, h, rate] = process.argv.slice(2);
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

const pc = new wrtc.RTCPeerConnection({ iceServers: [] });
pc.onicecandidate = (e) => {
  if (e.candidate?.candidate) out('candidate', { candidate: e.candidate.toJSON() });
};

let timer: NodeJS.Timeout | undefined;
let framesSent = 0;
const latencies: number[] = [];
let framesReceived = 0;
let resolution = '';
let sink: { stop(): void; onframe: unknown } | undefined;

if (role === 'send') {
  const source = new wrtc.nonstandard.RTCVideoSource();
  const track = source.createTrack();
  pc.addTrack(track, new wrtc.MediaStream([track]));
  startPattern(source);
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
      if (code) latencies.push((now - code.timestampMs) >>> 0);
    };
  };
}

/**
 * A pattern that moves like ffmpeg's testsrc: a wide base picture (gradients and colour bars) scrolled by a
 * few pixels per frame, so the encoder has motion to code, and the barcode on top.
 */
function startPattern(source: InstanceType<typeof wrtc.nonstandard.RTCVideoSource>): void {
  const baseW = width * 2;
  const cw = width / 2;
  const ch = height / 2;
  const baseY = new Uint8Array(baseW * height);
  const baseU = new Uint8Array((baseW / 2) * ch);
  const baseV = new Uint8Array((baseW / 2) * ch);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < baseW; x++) {
      const bar = Math.floor((x / baseW) * 16);
      baseY[y * baseW + x] = y < height / 2 ? (x * 3 + y) & 0xff : 40 + ((bar * 37) % 180);
    }
  }
  for (let y = 0; y < ch; y++) {
    for (let x = 0; x < baseW / 2; x++) {
      baseU[y * (baseW / 2) + x] = (x * 2 + 64) & 0xff;
      baseV[y * (baseW / 2) + x] = (y * 3 + 128) & 0xff;
    }
  }
  const data = new Uint8ClampedArray(width * height * 1.5);
  const t0 = performance.now();
  const tick = (): void => {
    const shift = (framesSent * 4) % width;
    for (let y = 0; y < height; y++) {
      data.set(baseY.subarray(y * baseW + shift, y * baseW + shift + width), y * width);
    }
    const cs = shift / 2;
    for (let y = 0; y < ch; y++) {
      const row = y * (baseW / 2) + Math.floor(cs);
      data.set(baseU.subarray(row, row + cw), width * height + y * cw);
      data.set(baseV.subarray(row, row + cw), width * height + cw * ch + y * cw);
    }
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
      out('sdp', { sdp: { type: 'offer', sdp: pc.localDescription?.sdp } });
      break;
    }
    case 'sdp':
      if (!m.sdp) return;
      await pc.setRemoteDescription(m.sdp);
      if (m.sdp.type === 'offer') {
        await pc.setLocalDescription(await pc.createAnswer());
        out('sdp', { sdp: { type: 'answer', sdp: pc.localDescription?.sdp } });
      }
      break;
    case 'candidate':
      if (m.candidate) await pc.addIceCandidate(m.candidate);
      break;
    case 'mark':
      out('mark', { framesReceived, framesSent, resolution });
      break;
    case 'end':
      clearTimeout(timer);
      sink?.stop();
      pc.close();
      out('result', { framesReceived, framesSent, resolution, latencies });
      // An explicit exit: wrtc can crash in its native teardown when the event loop drains by itself.
      setTimeout(() => process.exit(0), 50);
      break;
  }
}

createInterface({ input: process.stdin }).on('line', (line) => {
  if (!line.startsWith('{')) return;
  onMessage(JSON.parse(line) as Parameters<typeof onMessage>[0]).catch((error: unknown) => {
    process.stderr.write(`wrtc-peer ${role}: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
});
