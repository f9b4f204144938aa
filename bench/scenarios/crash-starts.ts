/**
 * Native crashes per thousand call starts (issue 18): test/helpers/call-starts.ts's loop (a fresh answerer
 * and a fresh caller per start, both the real CLI, both must exit 0), on loopback and across the network lab's
 * namespaces (test/net/lab.ts: caller and answerer each behind a router of its own, the signaling server in
 * the middle), where the issue saw `rtc-peer call` die of SIGSEGV right after joining.
 *
 * `npm run bench -- --only crashes` runs this row alone; `RTC_PEER_BENCH_STARTS=N` sets the starts per setup.
 * Core files land in the run's directory when the shell allowed them (`ulimit -c unlimited` before the
 * bench, with the default `core_pattern`); the JSON names them, and the directory is kept when there are
 * any.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describeBadStarts, runCallStarts, type CallStartsResult } from '../../test/helpers/call-starts.js';
import { createLab, labUnavailable } from '../../test/net/lab.js';
import { startCli } from '../lib/child.js';

/** One setup's run. */
export interface CrashStartsResult {
  setup: 'loopback' | 'network lab';
  starts: number;
  /** Processes that died of a signal or with 128+N. */
  crashes: number;
  /** Crashes per 1000 starts, and the 95 % upper bound of that rate (3/n with none seen: the rule of three). */
  perThousand: number;
  upperPerThousand: number;
  /** Starts that did not end with two clean exits for another reason (a process hung, a non-zero code). */
  otherFailures: number;
  /** What those starts and crashes were, one line each. */
  details: string;
  cores: string[];
  /** Where the core files are, when there are any (kept). */
  dir?: string;
  startsPerMinute: number;
}

/** Upper bound of a Poisson rate at 95 %, per 1000, for `k` events in `n` trials (k <= 3; else normal). */
function upperPerThousand(k: number, n: number): number {
  // The 95 % one-sided upper limits of a Poisson mean for 0..3 events.
  const limits = [3.0, 4.74, 6.3, 7.75];
  const mean = k < limits.length ? (limits[k] ?? 0) : k + 1.645 * Math.sqrt(k);
  return (mean / n) * 1000;
}

function summarize(setup: CrashStartsResult['setup'], r: CallStartsResult, dir: string): CrashStartsResult {
  const crashes = r.crashes.length;
  const other = r.bad.filter((b) => !b.ends.some((e) => r.crashes.includes(e))).length;
  return {
    setup,
    starts: r.starts,
    crashes,
    perThousand: (crashes / r.starts) * 1000,
    upperPerThousand: upperPerThousand(crashes, r.starts),
    otherFailures: other,
    details: describeBadStarts(r.bad),
    cores: r.cores,
    ...(r.cores.length > 0 ? { dir } : {}),
    startsPerMinute: r.starts / (r.elapsedMs / 60_000),
  };
}

/** Runs `starts` call starts on loopback, then in the network lab (when it can run here). */
export async function runCrashStarts(starts: number, report: (r: CrashStartsResult) => void): Promise<void> {
  const progress = (setup: string) => (index: number) => {
    if ((index + 1) % 50 === 0) process.stderr.write(` [${setup} ${index + 1}/${starts}]`);
  };
  {
    const dir = mkdtempSync(path.join(tmpdir(), 'rtc-peer-bench-starts-'));
    const signal = startCli('signal', ['signal', '--host', '127.0.0.1', '--port', '0', '--json']);
    try {
      const url = String((await signal.waitFor('listening', 15_000)).url);
      const r = await runCallStarts({ url, starts, dir, parallel: 3, onStart: progress('loopback') });
      report(summarize('loopback', r, dir));
      if (r.cores.length === 0) rmSync(dir, { recursive: true, force: true });
    } finally {
      await signal.stop();
    }
  }
  const why = labUnavailable();
  if (why !== undefined) {
    process.stderr.write(` (network lab skipped: ${why})`);
    return;
  }
  const lab = await createLab({});
  const dir = mkdtempSync(path.join(tmpdir(), 'rtc-peer-bench-starts-'));
  const signal = startCli('signal', ['signal', '--host', lab.middle.ip, '--port', '0', '--open', '--json'], {
    netns: lab.middle.ns,
  });
  try {
    const url = String((await signal.waitFor('listening', 15_000)).url);
    const r = await runCallStarts({
      url,
      starts,
      dir,
      parallel: 3,
      netns: { caller: lab.caller.ns, answerer: lab.answerer.ns },
      onStart: progress('lab'),
    });
    report(summarize('network lab', r, dir));
    if (r.cores.length === 0) rmSync(dir, { recursive: true, force: true });
  } finally {
    await signal.stop();
    await lab.close();
  }
}
