/**
 * The data channel (issue 17): round-trip latency and throughput over loopback, raw @roamhq/wrtc (two node
 * processes, the library rtc-peer's calls use) beside Chromium (two browsers), each running the same probe
 * (bench/lib/data-probe.ts) on a reliable, ordered channel; descriptions and candidates passed across by the
 * bench. One row per setup and message size.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import ts from 'typescript';
import { PAGE_SIGNALING } from '../browser/page.js';
import { CHROMIUM_ARGS } from '../../test/helpers/browser.js';
import { systemCommand } from '../../test/system/find-command.js';
import { Child, ROOT, compileChild } from '../lib/child.js';
import type { DataProbeResult, ThroughputRun } from '../lib/data-probe.js';
import { percentiles, type Percentiles } from '../lib/stats.js';

/** What to measure. */
export interface DataPlan {
  /** Round trips, one at a time. */
  pings: number;
  /** Throughput runs, one per message size. */
  runs: ThroughputRun[];
}

/** One setup's figures. */
export interface DataResult {
  setup: 'raw wrtc' | 'chromium';
  rttMs?: Percentiles;
  runs: {
    size: number;
    count: number;
    seconds: number;
    messagesPerSec: number;
    mbPerSec: number;
    /** Every message arrived once, in order. */
    intact: boolean;
  }[];
}

function summarize(setup: DataResult['setup'], r: DataProbeResult): DataResult {
  return {
    setup,
    rttMs: percentiles(r.rttMs),
    runs: r.runs.map((run) => ({
      ...run,
      messagesPerSec: run.count / run.seconds,
      mbPerSec: (run.count * run.size) / 1e6 / run.seconds,
    })),
  };
}

const TIMEOUT_MS = 120_000;

/** Raw wrtc: `measure` and `echo` in two node processes. */
export async function runWrtcData(plan: DataPlan): Promise<DataResult> {
  const script = compileChild('data-peer');
  const measurer = new Child('data-measure', script, ['measure', JSON.stringify(plan)]);
  const echoer = new Child('data-echo', script, ['echo', JSON.stringify(plan)]);
  const relay = (from: Child, to: Child): void => {
    let seen = 0;
    from.proc.stdout?.on('data', () => {
      for (; seen < from.events.length; seen++) {
        const e = from.events[seen];
        if (e && (e.event === 'sdp' || e.event === 'candidate')) to.send(e);
      }
    });
  };
  relay(measurer, echoer);
  relay(echoer, measurer);
  try {
    const result = await Promise.race([
      measurer.waitFor('result', TIMEOUT_MS),
      measurer.waitFor('error', TIMEOUT_MS).then((e) => {
        throw new Error(`wrtc data probe: ${String(e.message)}`);
      }),
    ]);
    return summarize('raw wrtc', result as unknown as DataProbeResult);
  } finally {
    for (const c of [measurer, echoer]) c.send({ event: 'end' });
    await Promise.all([measurer.stop('SIGTERM', 3000), echoer.stop('SIGTERM', 3000)]);
  }
}

const PAGE_HTML = `<!doctype html><html><head><meta charset="utf-8"><title>data bench</title></head>
<body><script type="module" src="/page.js"></script></body></html>`;

/** The page: the probe's `measure` or `echo` on a channel of its own connection; signaling via the bench. */
const PAGE_SCRIPT = `
import { measure, echo } from '/data-probe.js';
const q = new URLSearchParams(location.search);
const plan = JSON.parse(q.get('plan'));
${PAGE_SIGNALING}
if (q.get('role') === 'measure') {
  const channel = pc.createDataChannel('rtc-peer', { ordered: true });
  channel.onopen = () => measure(channel, plan.pings, plan.runs).then(
    (r) => (window.benchResult = r),
    (e) => (window.benchError = String(e)),
  );
  window.benchStart = async () => {
    await pc.setLocalDescription(await pc.createOffer());
    window.benchSignal(JSON.stringify({ event: 'sdp', sdp: pc.localDescription.toJSON() }));
  };
} else {
  pc.ondatachannel = (e) => echo(e.channel, plan.runs);
}
`;

/** Chromium: `measure` and `echo` pages in two browsers. */
export async function runChromiumData(plan: DataPlan): Promise<DataResult> {
  const probe = ts.transpileModule(readFileSync(path.join(ROOT, 'bench/lib/data-probe.ts'), 'utf8'), {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
  }).outputText;
  const server = createServer((req, res) => {
    const p = (req.url ?? '/').split('?')[0];
    const body =
      p === '/' ? PAGE_HTML : p === '/page.js' ? PAGE_SCRIPT : p === '/data-probe.js' ? probe : undefined;
    if (body === undefined) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': p === '/' ? 'text/html' : 'text/javascript' });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://localhost:${(server.address() as AddressInfo).port}`;
  const browsers: Browser[] = [];
  const errors: string[] = [];
  try {
    const launch = (): Promise<Browser> =>
      chromium.launch({ executablePath: systemCommand('chromium'), args: CHROMIUM_ARGS, headless: true });
    browsers.push(await launch(), await launch());
    const open = async (b: Browser, role: string): Promise<Page> => {
      const page = await b.newPage();
      page.on('pageerror', (e) => errors.push(`${role}: ${e.message}`));
      return page;
    };
    const [measurer, echoer] = [await open(browsers[0]!, 'measure'), await open(browsers[1]!, 'echo')];
    const deliver = (to: Page) => (json: string) => {
      to.evaluate(
        (m) => (window as unknown as { benchReceive(m: string): Promise<void> }).benchReceive(m),
        json,
      ).catch((e: unknown) => errors.push(`deliver: ${String(e)}`));
    };
    await measurer.exposeFunction('benchSignal', deliver(echoer));
    await echoer.exposeFunction('benchSignal', deliver(measurer));
    const q = `plan=${encodeURIComponent(JSON.stringify(plan))}`;
    await echoer.goto(`${origin}/?role=echo&${q}`);
    await measurer.goto(`${origin}/?role=measure&${q}`);
    await measurer.waitForFunction(() => 'benchStart' in window, undefined, { timeout: 10_000 });
    await measurer.evaluate(() => (window as unknown as { benchStart(): Promise<void> }).benchStart());
    await measurer
      .waitForFunction(() => 'benchResult' in window || 'benchError' in window, undefined, {
        timeout: TIMEOUT_MS,
        polling: 200,
      })
      .catch((e: unknown) => {
        throw new Error(`chromium data probe: no result (${errors.join('; ') || String(e)})`);
      });
    const { result, error } = await measurer.evaluate(() => {
      const w = window as unknown as { benchResult?: DataProbeResult; benchError?: string };
      return { result: w.benchResult, error: w.benchError };
    });
    if (result === undefined) throw new Error(`chromium data probe: ${error ?? 'no result'}`);
    return summarize('chromium', result);
  } finally {
    await Promise.all(browsers.map((b) => b.close().catch(() => undefined)));
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
