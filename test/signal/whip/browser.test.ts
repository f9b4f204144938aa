/**
 * A third-party WHIP/WHEP client against `rtc-peer signal`'s endpoints: medooze's `whip-whep` (npm) in
 * headless Chromium, on a page of another origin (so CORS is exercised: the server allows that origin only).
 * Both ways: Chromium publishes its fake camera into a room whose viewer is rtc-peer (negotiator + wrtc), and
 * Chromium watches a room whose camera is rtc-peer, reading back the barcodes rtc-peer drew into its frames.
 * Chromium's own getStats() counters are the witness next to what rtc-peer received.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RoomSignaling } from '../../../src/signal/room-signaling.js';
import { launchBrowser, readRemoteBarcode } from '../../helpers/browser.js';
import { ROOT } from '../../helpers/dist.js';
import { camera, flowing, side } from '../../helpers/negotiated-call.js';
import { SignalTestKit, waitFor } from '../../helpers/signal-server.js';

const PAGE = `<!doctype html>
<html><body><video id="remote" autoplay muted playsinline></video>
<script type="module">
import { WHIPClient } from '/whip.js';
import { WHEPClient } from '/whep.js';
window.publish = async (url) => {
  const stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480, frameRate: 30 } });
  const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
  for (const track of stream.getTracks()) pc.addTransceiver(track, { direction: 'sendonly' });
  window.pc = pc;
  window.client = new WHIPClient();
  await window.client.publish(pc, url);
};
window.watch = async (url) => {
  const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
  pc.addTransceiver('video', { direction: 'recvonly' });
  pc.ontrack = (e) => (document.getElementById('remote').srcObject = new MediaStream([e.track]));
  window.pc = pc;
  window.client = new WHEPClient();
  await window.client.view(pc, url);
};
window.stats = async () => {
  const out = { framesSent: 0, framesDecoded: 0, state: window.pc.connectionState };
  (await window.pc.getStats()).forEach((s) => {
    if (s.type === 'outbound-rtp' && s.kind === 'video') out.framesSent = s.framesSent;
    if (s.type === 'inbound-rtp' && s.kind === 'video') out.framesDecoded = s.framesDecoded;
  });
  return out;
};
window.ready = true;
</script></body></html>`;

let browser: Browser;
let pages: Server;
let origin: string;
beforeAll(async () => {
  browser = await launchBrowser();
  // The page's own origin, http://localhost:PORT (a secure context for getUserMedia), other than the server's.
  const dir = path.join(ROOT, 'node_modules', 'whip-whep');
  pages = createServer((req, res) => {
    const file = req.url === '/whip.js' || req.url === '/whep.js' ? path.join(dir, req.url) : undefined;
    res.writeHead(200, { 'content-type': file ? 'text/javascript' : 'text/html' });
    res.end(file ? readFileSync(file) : PAGE);
  });
  await new Promise<void>((r) => pages.listen(0, '127.0.0.1', r));
  origin = `http://localhost:${(pages.address() as AddressInfo).port}`;
}, 30_000);
afterAll(async () => {
  await browser?.close();
  pages?.closeAllConnections();
  await new Promise((r) => pages?.close(r));
});

const kit = new SignalTestKit();
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  await kit.closeAll();
});

async function page(): Promise<{ page: Page; errors: string[] }> {
  const context = await browser.newContext();
  cleanups.push(() => context.close());
  const p = await context.newPage();
  const errors: string[] = [];
  p.on('pageerror', (e) => errors.push(e.message));
  await p.goto(origin);
  await p.waitForFunction(() => (window as unknown as { ready?: boolean }).ready === true);
  return { page: p, errors };
}

type Counters = { framesSent: number; framesDecoded: number; state: string };
const counters = (p: Page): Promise<Counters> =>
  p.evaluate(() => (window as unknown as { stats(): Promise<Counters> }).stats());

describe('medooze whip-whep in Chromium against rtc-peer signal', { timeout: 60_000 }, () => {
  it("Chromium publishes over WHIP into a room; rtc-peer, the room's viewer, receives its frames", async () => {
    const server = await kit.server({ allowOrigin: [origin] });
    const viewer = side(new RoomSignaling({ url: server.url, role: 'answerer', room: 'obs' }), cleanups);
    await viewer.negotiator.start();
    const { page: p, errors } = await page();
    await p.evaluate(
      (url) => (window as unknown as { publish(u: string): Promise<void> }).publish(url),
      `${server.url}/whip/obs`,
    );
    await flowing(viewer.calls, 60, 15_000);
    const sent = await counters(p);
    const received = viewer.calls[0]!.frames;
    // What Chromium says it sent, and what rtc-peer decoded, agree (read one after the other: a few frames apart).
    expect(sent.state).toBe('connected');
    expect(received).toBeGreaterThan(sent.framesSent * 0.8);
    expect(received).toBeLessThanOrEqual(sent.framesSent + 5);
    // Chromium's WHIP client stops: its DELETE ends the call at the viewer.
    await p.evaluate(() => (window as unknown as { client: { stop(): Promise<void> } }).client.stop());
    await waitFor('the call ended', () => (viewer.ended.length > 0 ? true : undefined));
    expect(viewer.ended.map(([, r]) => r)).toEqual(['peer-hangup']);
    expect(errors).toEqual([]);
  });

  it('Chromium watches over WHEP a room whose camera is rtc-peer, and shows its frames (barcodes read back)', async () => {
    const server = await kit.server({ allowOrigin: [origin] });
    const cam = side(
      new RoomSignaling({ url: server.url, role: 'caller', room: 'cam' }),
      cleanups,
      camera(cleanups, 640, 480),
    );
    await cam.negotiator.start();
    const { page: p, errors } = await page();
    await p.evaluate(
      (url) => (window as unknown as { watch(u: string): Promise<void> }).watch(url),
      `${server.url}/whep/cam`,
    );
    const deadline = performance.now() + 15_000;
    let decoded = 0;
    while (performance.now() < deadline && decoded < 60) {
      decoded = (await counters(p)).framesDecoded;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(decoded).toBeGreaterThanOrEqual(60);
    // What the page shows is rtc-peer's camera: its barcodes, counting up.
    const first = await readRemoteBarcode(p);
    await new Promise((r) => setTimeout(r, 500));
    const second = await readRemoteBarcode(p);
    expect(first).not.toBeNull();
    expect(second!.frameId - first!.frameId).toBeGreaterThan(5);
    expect(cam.negotiator.calls).toHaveLength(1);
    await p.evaluate(() => (window as unknown as { client: { stop(): Promise<void> } }).client.stop());
    await waitFor("the camera's call ended", () => (cam.ended.length > 0 ? true : undefined));
    expect(cam.ended.map(([, r]) => r)).toEqual(['peer-hangup']);
    expect(errors).toEqual([]);
  });
});
