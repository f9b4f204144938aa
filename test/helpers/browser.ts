/**
 * Test helpers for the browser page: Debian's headless Chromium through playwright-core with fake camera and
 * microphone, a page opener that collects the page's errors, and readers for the page's live state and for
 * the barcode in the video it shows. A missing browser fails the tests (in CI and elsewhere): they never skip.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { readBarcode, type BarcodePayload } from '../../src/capture/barcode.js';
import { systemCommand } from '../system/find-command.js';

/**
 * Chromium flags: no sandbox (containers), fake media devices granted without a prompt (the fake camera at
 * 30 fps, as the pages ask; its default is 20), nothing phoning home.
 */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--use-fake-device-for-media-stream=fps=30',
  '--use-fake-ui-for-media-stream',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/** Where screenshots and other artifacts go (gitignored). */
export const ARTIFACTS_DIR = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../test-artifacts',
);

/**
 * Launches headless Chromium: Debian's `chromium` (test/system/packages.ts; `RTC_PEER_CHROMIUM` points
 * elsewhere), with `home` as its HOME (its NSS database of trusted CAs). Throws (never skips) when the browser is missing: the interop tests are part of the suite, in CI
 * and on a developer machine alike.
 */
export async function launchBrowser(options: { home?: string } = {}): Promise<Browser> {
  return chromium.launch({
    executablePath: systemCommand('chromium'),
    args: CHROMIUM_ARGS,
    headless: true,
    timeout: 20_000,
    // Chromium on Linux trusts the CAs of $HOME/.pki/nssdb: a test's own HOME trusts a test CA (certs.ts).
    ...(options.home !== undefined ? { env: { ...process.env, HOME: options.home } } : {}),
  });
}

/** A page of the rtc-peer web UI, with what went wrong in it. */
export interface OpenedPage {
  page: Page;
  /** Uncaught exceptions and console errors, as text. */
  errors: string[];
}

/** Opens `url` in a fresh context (its own camera permission and storage) and collects its errors. */
export async function openPage(browser: Browser, url: string): Promise<OpenedPage> {
  const context = await browser.newContext({ viewport: { width: 1100, height: 640 } });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(`uncaught: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`console: ${message.text()}`);
  });
  await page.goto(url);
  return { page, errors };
}

/** The page's `window.rtcPeer` state (see src/web/page-script.ts). */
export interface PageState {
  role: 'caller' | 'answerer';
  room: string;
  state: string;
  calls: number;
  log: string[];
  stats: {
    inbound: {
      width: number;
      height: number;
      fps: number;
      kbps: number | null;
      framesDecoded: number;
      packetsLost: number;
    } | null;
    outbound: {
      width: number;
      height: number;
      fps: number;
      kbps: number | null;
      framesSent: number;
      packetsLost: number | null;
    } | null;
    audioIn: { kbps: number | null; packetsReceived: number; totalAudioEnergy: number } | null;
    audioOut: { kbps: number | null; packetsSent: number } | null;
    rttMs: number | null;
  } | null;
  /** A caller's viewers: each one's id, connection state and figures. */
  viewers: { id: string; state: string; stats: PageState['stats'] }[];
}

/** Reads the page's live state. */
export function pageState(page: Page): Promise<PageState> {
  return page.evaluate(() => {
    const s = (window as unknown as { rtcPeer: PageState & { pc?: unknown } }).rtcPeer;
    return {
      role: s.role,
      room: s.room,
      state: s.state,
      calls: s.calls,
      log: s.log,
      stats: s.stats,
      viewers: s.viewers,
    };
  });
}

/** Polls the page state until `check` passes, or fails after `ms` with the last state and the page's log. */
export async function waitForPage(
  page: Page,
  what: string,
  check: (s: PageState) => boolean,
  ms = 15_000,
): Promise<PageState> {
  const deadline = performance.now() + ms;
  let last: PageState | undefined;
  for (;;) {
    last = await pageState(page);
    if (check(last)) return last;
    if (performance.now() > deadline) {
      throw new Error(
        `timed out after ${ms} ms waiting for the page to ${what}; state ${last.state}, ` +
          `stats ${JSON.stringify(last.stats)}\npage log:\n${last.log.join('\n')}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** What the page's remote `<video>` element shows now. */
export interface VideoElementInfo {
  width: number;
  height: number;
  paused: boolean;
  currentTime: number;
  /** `getVideoPlaybackQuality().totalVideoFrames`: frames the element has presented. */
  totalFrames: number;
}

/** Reads the remote video element. */
export function remoteVideo(page: Page): Promise<VideoElementInfo> {
  return page.evaluate(() => {
    const v = document.getElementById('remote') as HTMLVideoElement;
    return {
      width: v.videoWidth,
      height: v.videoHeight,
      paused: v.paused,
      currentTime: v.currentTime,
      totalFrames: v.getVideoPlaybackQuality().totalVideoFrames,
    };
  });
}

/**
 * Draws the current frame of the remote video at its own size, converts it to luma (BT.601, as the encoder
 * would) and reads the barcode the test pattern stamped into its top band. Null when none can be read.
 */
export async function readRemoteBarcode(page: Page): Promise<BarcodePayload | null> {
  const frame = await page.evaluate(() => {
    const v = document.getElementById('remote') as HTMLVideoElement;
    const canvas = document.createElement('canvas');
    canvas.width = v.videoWidth;
    canvas.height = v.videoHeight;
    const ctx = canvas.getContext('2d');
    if (!ctx || canvas.width === 0) return null;
    ctx.drawImage(v, 0, 0);
    // The barcode is in the top tenth of the frame: only that band crosses over.
    const band = Math.min(canvas.height, Math.ceil(canvas.height / 8));
    const rgba = ctx.getImageData(0, 0, canvas.width, band).data;
    const luma = new Array<number>(canvas.width * band);
    for (let i = 0, p = 0; p < luma.length; i += 4, p++) {
      luma[p] = Math.round(16 + (65.481 * rgba[i]! + 128.553 * rgba[i + 1]! + 24.966 * rgba[i + 2]!) / 255);
    }
    return { width: canvas.width, height: canvas.height, luma };
  });
  if (frame === null) return null;
  const plane = new Uint8Array(frame.width * frame.height);
  plane.set(frame.luma);
  return readBarcode(plane, frame.width, frame.height);
}

/**
 * Chromium's own counters of the page's peer connection, straight from `getStats()` (not the page's figures
 * derived from them), with the page's clock in ms.
 */
export async function chromiumCounters(
  page: Page,
): Promise<{ at: number; framesSent: number; bytesReceived: number; rttMs: number | null }> {
  return page.evaluate(async () => {
    const pc = (window as unknown as { rtcPeer: { pc: RTCPeerConnection } }).rtcPeer.pc;
    const report = await pc.getStats();
    let framesSent = 0;
    let bytesReceived = 0;
    let rttMs: number | null = null;
    let pairId: string | undefined;
    report.forEach((s: Record<string, unknown>) => {
      if (s.type === 'outbound-rtp' && s.kind === 'video') framesSent = Number(s.framesSent ?? 0);
      if (s.type === 'inbound-rtp' && s.kind === 'video') bytesReceived = Number(s.bytesReceived ?? 0);
      if (s.type === 'transport') pairId = s.selectedCandidatePairId as string | undefined;
    });
    report.forEach((s: Record<string, unknown>) => {
      if (s.id === pairId && typeof s.currentRoundTripTime === 'number')
        rttMs = s.currentRoundTripTime * 1000;
    });
    return { at: performance.now(), framesSent, bytesReceived, rttMs };
  });
}

/** Saves a PNG screenshot of the page to test-artifacts/NAME.png and returns it and its path. */
export async function screenshot(page: Page, name: string): Promise<{ file: string; png: Buffer }> {
  await mkdir(ARTIFACTS_DIR, { recursive: true });
  const file = path.join(ARTIFACTS_DIR, `${name}.png`);
  const png = await page.screenshot({ path: file });
  return { file, png };
}
