/**
 * The data channel (issue 17): round-trip latency and throughput over loopback, raw @roamhq/wrtc (two node
 * processes, the library rtc-peer's calls use) beside Chromium (two browsers), each running the same probe
 * (bench/lib/data-probe.ts) on a reliable, ordered channel; descriptions and candidates passed across by the
 * bench. And rtc-peer itself as a script drives it: `rtc-peer call --data` and `rtc-peer answer --data`
 * through `rtc-peer signal`, the same plan as lines on their standard input and output (the bench measures
 * at the caller's pipes and echoes at the answerer's). One row per setup and message size.
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
import { Child, ROOT, compileChild, startCli, startSignal } from '../lib/child.js';
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
  setup: 'raw wrtc' | 'chromium' | 'rtc-peer CLI';
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

/** The lines of a child's standard output, one at a time (they queue until read). */
function lines(child: Child): () => Promise<string> {
  const queued: string[] = [];
  let waiting: ((line: string) => void) | undefined;
  let partial = '';
  child.proc.stdout?.on('data', (chunk: string) => {
    const parts = (partial + chunk).split('\n');
    partial = parts.pop() ?? '';
    for (const line of parts) {
      if (waiting) {
        const w = waiting;
        waiting = undefined;
        w(line);
      } else queued.push(line);
    }
  });
  return () => {
    const next = queued.shift();
    if (next !== undefined) return Promise.resolve(next);
    return new Promise((resolve) => (waiting = resolve));
  };
}

/** Writes `line` to a child's standard input, waiting while its pipe is full. */
async function writeLine(child: Child, line: string): Promise<void> {
  const stdin = child.proc.stdin;
  if (stdin && !stdin.write(`${line}\n`)) await new Promise((resolve) => stdin.once('drain', resolve));
}

/**
 * rtc-peer: `call --data` (sound only, to keep the media small) and `answer --data` in one room of their
 * own `rtc-peer signal`, in plain mode (standard output carries only the data lines). The bench writes the
 * probe's messages as lines to the caller's standard input and reads its output; at the answerer it echoes
 * the pings and counts each run, in order, as the probe's `echo` does.
 */
export async function runRtcPeerData(plan: DataPlan): Promise<DataResult> {
  const signal = await startSignal({ name: 'data-signal' });
  const common = ['--signal', signal.url, '--room', 'data-bench', '--stun', 'none', '--data', '--once'];
  const answerer = startCli('data-answer', ['answer', ...common]);
  const caller = startCli('data-call', ['call', ...common, '--no-video']);
  try {
    const fromAnswerer = lines(answerer);
    // The echoing side, at the answerer's pipes.
    void (async () => {
      let run = 0;
      let got = 0;
      let ok = true;
      for (;;) {
        const text = await fromAnswerer();
        if (text.startsWith('p ') || text === 'warm-up') {
          await writeLine(answerer, text);
          continue;
        }
        const current = plan.runs[run];
        if (!text.startsWith('t ') || current === undefined) continue;
        if (Number(text.slice(2, text.indexOf(' ', 2))) !== got || text.length !== current.size) ok = false;
        if (++got === current.count) {
          await writeLine(answerer, `done ${got} ${ok ? 'ok' : 'bad'}`);
          [run, got, ok] = [run + 1, 0, true];
        }
      }
    })();
    const next = lines(caller);
    const expectLine = async (want: string, what: string): Promise<string> => {
      let timer: NodeJS.Timeout | undefined;
      const line = await Promise.race([
        next(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () =>
              reject(
                new Error(
                  `rtc-peer data: no ${what} within ${TIMEOUT_MS / 1000} s (${caller.stderr.slice(-300)})`,
                ),
              ),
            TIMEOUT_MS,
          );
        }),
      ]).finally(() => clearTimeout(timer));
      if (!line.startsWith(want)) throw new Error(`rtc-peer data: ${what}: got ${line.slice(0, 40)}`);
      return line;
    };
    // Held until the channel opens, then echoed: the call is up.
    await writeLine(caller, 'warm-up');
    await expectLine('warm-up', 'echo of the first line');
    const rttMs: number[] = [];
    for (let i = 0; i < plan.pings; i++) {
      const t0 = performance.now();
      await writeLine(caller, `p ${i}`);
      await expectLine(`p ${i}`, `echo of ping ${i}`);
      rttMs.push(performance.now() - t0);
    }
    const runs: DataProbeResult['runs'] = [];
    for (const run of plan.runs) {
      const pad = 'x'.repeat(run.size);
      const t0 = performance.now();
      for (let i = 0; i < run.count; i++) {
        const head = `t ${i} `;
        await writeLine(caller, head + pad.slice(head.length));
      }
      const done = await expectLine('done ', `the end of the ${run.size} B run`);
      runs.push({
        size: run.size,
        count: run.count,
        seconds: (performance.now() - t0) / 1000,
        intact: done === `done ${run.count} ok`,
      });
    }
    caller.proc.stdin?.end();
    await caller.stop('SIGINT', 10_000);
    const [c, a] = [await caller.exited, await answerer.exited];
    if (c.code !== 0 || a.code !== 0)
      throw new Error(`rtc-peer data: exit codes: call ${String(c.code)}, answer ${String(a.code)}`);
    return summarize('rtc-peer CLI', { rttMs, runs });
  } finally {
    await Promise.all([caller.stop('SIGKILL'), answerer.stop('SIGKILL'), signal.child.stop('SIGTERM', 3000)]);
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
