/**
 * The Chromium reference page, served by the bench's tiny HTTP server (see scenarios/chromium.ts). One page
 * per browser: `?role=send` draws a moving pattern with the barcode into a canvas and sends its
 * `captureStream`; `?role=recv` plays the remote track in a <video> and reads the barcode off every rendered
 * frame (`requestVideoFrameCallback`, `drawImage` of the barcode band, `getImageData`, luma from RGB).
 * The barcode code is src/capture/barcode.ts itself, transpiled and served as /barcode.js (same layout),
 * with the src/capture/luma.ts it imports as /luma.js.
 * Signaling goes through the bench: `window.benchSignal(json)` out, `window.benchReceive(json)` in.
 */

/** The page's HTML. */
export const PAGE_HTML = `<!doctype html>
<html><head><meta charset="utf-8"><title>rtc-peer bench</title>
<style>body{margin:0;background:#000}canvas,video{display:block}</style></head>
<body><script type="module" src="/page.js"></script></body></html>
`;

/**
 * A bench page's peer connection, `pc`, and its signaling through the bench: candidates and descriptions out
 * with `window.benchSignal(json)`, in with `window.benchReceive(json)` (an offer is answered). Shared by the
 * pages of the media and the data benches.
 */
export const PAGE_SIGNALING = `const pc = new RTCPeerConnection({ iceServers: [] });
pc.onicecandidate = (e) => {
  if (e.candidate && e.candidate.candidate)
    window.benchSignal(JSON.stringify({ event: 'candidate', candidate: e.candidate.toJSON() }));
};
window.benchReceive = async (json) => {
  const m = JSON.parse(json);
  if (m.event === 'sdp') {
    await pc.setRemoteDescription(m.sdp);
    if (m.sdp.type === 'offer') {
      await pc.setLocalDescription(await pc.createAnswer());
      window.benchSignal(JSON.stringify({ event: 'sdp', sdp: pc.localDescription.toJSON() }));
    }
  } else if (m.event === 'candidate') {
    await pc.addIceCandidate(m.candidate);
  }
};`;

/** The page's script (an ES module). */
export const PAGE_SCRIPT = `
import { readBarcode, writeBarcode } from '/barcode.js';

const q = new URLSearchParams(location.search);
const role = q.get('role');
const W = Number(q.get('w'));
const H = Number(q.get('h'));
const FPS = Number(q.get('fps'));
const state = { framesSent: 0, framesReceived: 0, resolution: '', latencies: [], firstFrame: false };
window.benchState = state;

${PAGE_SIGNALING}

if (role === 'send') {
  const canvas = document.createElement('canvas');
  canvas.width = W;
  canvas.height = H;
  document.body.append(canvas);
  const ctx = canvas.getContext('2d');
  // A wide base picture (gradient and colour bars), scrolled a few pixels per frame: motion to encode.
  const base = document.createElement('canvas');
  base.width = W * 2;
  base.height = H;
  const b = base.getContext('2d');
  const grad = b.createLinearGradient(0, 0, W * 2, H);
  for (let i = 0; i <= 8; i++) grad.addColorStop(i / 8, i % 2 ? '#20c0ff' : '#ff4080');
  b.fillStyle = grad;
  b.fillRect(0, 0, W * 2, H / 2);
  for (let i = 0; i < 16; i++) {
    b.fillStyle = 'hsl(' + i * 23 + ',80%,' + (30 + (i % 3) * 20) + '%)';
    b.fillRect((i * W * 2) / 16, H / 2, (W * 2) / 16, H / 2);
  }
  const bandH = Math.min(H, Math.ceil((2 * H) / 20) + 1);
  const y = new Uint8Array(W * H);
  const img = ctx.createImageData(W, bandH);
  const stream = canvas.captureStream(FPS);
  const track = stream.getVideoTracks()[0];
  pc.addTrack(track, stream);
  const t0 = performance.now();
  const draw = () => {
    ctx.drawImage(base, -((state.framesSent * 4) % W), 0);
    writeBarcode(y, W, H, { frameId: state.framesSent, timestampMs: Date.now() % 2 ** 32 });
    const d = img.data;
    for (let i = 0, n = W * bandH; i < n; i++) {
      const v = y[i];
      d[4 * i] = v;
      d[4 * i + 1] = v;
      d[4 * i + 2] = v;
      d[4 * i + 3] = 255;
    }
    ctx.putImageData(img, 0, 0);
    state.framesSent++;
    setTimeout(draw, Math.max(0, t0 + (state.framesSent * 1000) / FPS - performance.now()));
  };
  draw();
  window.benchStart = async () => {
    await pc.setLocalDescription(await pc.createOffer());
    window.benchSignal(JSON.stringify({ event: 'sdp', sdp: pc.localDescription.toJSON() }));
  };
} else {
  const video = document.createElement('video');
  video.muted = true;
  video.autoplay = true;
  video.playsInline = true;
  document.body.append(video);
  const band = document.createElement('canvas');
  const bctx = band.getContext('2d', { willReadFrequently: true });
  let y = new Uint8Array(0);
  const onFrame = (_now, meta) => {
    const t = Date.now();
    const w = meta.width;
    const h = meta.height;
    state.framesReceived++;
    state.firstFrame = true;
    state.resolution = w + 'x' + h;
    const bandH = Math.min(h, Math.ceil((2 * h) / 20) + 1);
    if (band.width !== w || band.height !== bandH) {
      band.width = w;
      band.height = bandH;
      y = new Uint8Array(w * h);
    }
    bctx.drawImage(video, 0, 0, w, bandH, 0, 0, w, bandH);
    const d = bctx.getImageData(0, 0, w, bandH).data;
    for (let i = 0, n = w * bandH; i < n; i++) y[i] = (77 * d[4 * i] + 150 * d[4 * i + 1] + 29 * d[4 * i + 2]) >> 8;
    const code = readBarcode(y, w, h);
    if (code) state.latencies.push((t - code.timestampMs) >>> 0);
    video.requestVideoFrameCallback(onFrame);
  };
  pc.ontrack = (e) => {
    if (e.track.kind !== 'video') return;
    video.srcObject = e.streams[0] || new MediaStream([e.track]);
    video.play().catch((err) => console.error('play failed: ' + err));
    video.requestVideoFrameCallback(onFrame);
  };
}
`;
