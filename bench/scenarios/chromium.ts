/**
 * The browser reference: Chromium -> Chromium, two separate browser processes (Debian chromium through
 * playwright-core), the pages of bench/browser/page.ts served from http://localhost by a tiny server here.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser, type Page } from 'playwright-core';
import { PAGE_HTML, PAGE_SCRIPT } from '../browser/page.js';
import { browserModuleSource } from '../lib/child.js';
import { CpuWindow, processTree } from '../lib/proc.js';
import { percentiles, sleep } from '../lib/stats.js';
import type { MediaResult } from '../lib/types.js';
import { CHROMIUM_ARGS } from '../../test/helpers/browser.js';
import { systemCommand } from '../../test/system/find-command.js';

/** Serves the page, its script and the barcode module (with the luma module it imports) on a free loopback port. */
async function startPageServer(): Promise<{ server: Server; origin: string }> {
  const barcode = browserModuleSource('barcode');
  const luma = browserModuleSource('luma');
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const body =
      path === '/'
        ? PAGE_HTML
        : path === '/page.js'
          ? PAGE_SCRIPT
          : path === '/barcode.js'
            ? barcode
            : path === '/luma.js'
              ? luma
              : undefined;
    if (path === '/favicon.ico') {
      res.writeHead(204).end();
      return;
    }
    if (body === undefined) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, {
      'content-type': path === '/' ? 'text/html' : 'text/javascript',
      'cache-control': 'no-store',
    });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  // http://localhost is a secure context (required by some WebRTC paths), unlike http://127.0.0.1 in some versions.
  return { server, origin: `http://localhost:${(server.address() as AddressInfo).port}` };
}

/** Options of {@link runChromium}. */
export interface ChromiumOptions {
  width: number;
  height: number;
  fps: number;
  /** Seconds after the first frame before the window starts. */
  rampSec: number;
  /** Seconds of the measured window. */
  windowSec: number;
}

interface PageState {
  framesSent: number;
  framesReceived: number;
  resolution: string;
  latencies: number[];
  firstFrame: boolean;
}

/** One Chromium -> Chromium call: steady window, CPU and RSS of every browser process. */
export async function runChromium(o: ChromiumOptions): Promise<MediaResult> {
  const { server, origin } = await startPageServer();
  const browsers: Browser[] = [];
  const errors: string[] = [];
  try {
    const launch = (): Promise<Browser> =>
      // Debian's chromium with the same flags as the browser tests (one list in test/helpers/browser.ts).
      chromium.launch({
        executablePath: systemCommand('chromium'),
        args: CHROMIUM_ARGS,
        headless: true,
        timeout: 30_000,
      });
    browsers.push(await launch(), await launch());
    const [sendBrowser, recvBrowser] = browsers as [Browser, Browser];
    const q = `w=${o.width}&h=${o.height}&fps=${o.fps}`;
    const open = async (b: Browser, role: string): Promise<Page> => {
      const page = await b.newPage({ viewport: { width: o.width + 20, height: o.height + 20 } });
      page.on('pageerror', (e) => errors.push(`${role}: ${e.message}`));
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(`${role}: ${m.text()}`);
      });
      return page;
    };
    const sender = await open(sendBrowser, 'send');
    const receiver = await open(recvBrowser, 'recv');
    // The trivial exchange: each page's messages are handed to the other page.
    const deliver = (to: Page) => (json: string) => {
      to.evaluate(
        (m) => (window as unknown as { benchReceive(m: string): Promise<void> }).benchReceive(m),
        json,
      ).catch((e: unknown) => errors.push(`deliver: ${String(e)}`));
    };
    await sender.exposeFunction('benchSignal', deliver(receiver));
    await receiver.exposeFunction('benchSignal', deliver(sender));
    await receiver.goto(`${origin}/?role=recv&${q}`);
    await sender.goto(`${origin}/?role=send&${q}`);
    await sender.waitForFunction(() => 'benchStart' in window, undefined, { timeout: 10_000 });
    await sender.evaluate(() => (window as unknown as { benchStart(): Promise<void> }).benchStart());
    const readState = (): Promise<PageState> =>
      receiver.evaluate(() => {
        const s = (window as unknown as { benchState: PageState }).benchState;
        return { ...s, latencies: [] };
      });
    await receiver
      .waitForFunction(
        () => (window as unknown as { benchState: PageState }).benchState.firstFrame,
        undefined,
        {
          timeout: 20_000,
        },
      )
      .catch((e: unknown) => {
        throw new Error(`chromium: no frame received (${errors.join('; ') || String(e)})`);
      });
    await sleep(o.rampSec * 1000);
    // Every chromium process of both browsers: the browsers are children of this process.
    const roots = (): number[] =>
      [...processTree([process.pid])]
        .filter(([pid, comm]) => pid !== process.pid && comm.includes('chrom'))
        .map(([pid]) => pid);
    const cpu = new CpuWindow(roots);
    const before = await readState();
    cpu.start();
    const t0 = performance.now();
    await sleep(o.windowSec * 1000);
    const usage = cpu.stop();
    const after = await readState();
    const dt = (performance.now() - t0) / 1000;
    const latencies = await receiver.evaluate(
      () => (window as unknown as { benchState: PageState }).benchState.latencies,
    );
    return {
      setup: 'chromium',
      size: `${o.width}x${o.height}`,
      fps: o.fps,
      latencyMs: percentiles(latencies),
      fpsReceived: (after.framesReceived - before.framesReceived) / dt,
      resolution: after.resolution,
      cpuCores: usage.cores,
      peakRssMb: usage.peakRssMb,
      pssMb: usage.pssMb,
      processes: usage.processes,
      note: `canvas captureStream, rendered frames${errors.length ? `; page errors: ${errors.slice(0, 3).join('; ')}` : ''}`,
    };
  } finally {
    await Promise.all(browsers.map((b) => b.close().catch(() => undefined)));
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
