/**
 * Nothing a test file starts outlives it (vitest `setupFiles`: runs in every test file's process).
 *
 * Each file's process puts a mark in its environment before its tests run; every process it starts after that
 * (ffmpeg, the CLI, Chromium, coturn, Redis, Janus, a process inside a network namespace through `ip netns
 * exec`) inherits the mark, and so do their children, even once they are orphans that no one's descendant list
 * shows. After the file's own `afterAll` hooks (this file's hook is registered first, and vitest runs
 * `afterAll` hooks in reverse), any process still carrying the mark is a leak: it is killed, so that it cannot
 * take CPU from the files after it, and the file fails, naming it.
 *
 * The witness is the OS (`/proc/PID/environ`), not the program's bookkeeping. A process that clears its
 * environment escapes the check; none of the suite's do.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { afterAll } from 'vitest';

const MARK_NAME = 'RTC_PEER_TEST_FILE_MARK';
const mark = `${process.pid}-${Date.now()}`;
process.env[MARK_NAME] = mark;
const needle = `${MARK_NAME}=${mark}\0`;

/** How long the file's processes get to finish exiting after its last hook (a SIGTERM'd ffmpeg writing its trailer). */
const GRACE_MS = 5_000;

interface Marked {
  pid: number;
  argv: string;
}

function markedProcesses(): Marked[] {
  const out: Marked[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    if (pid === process.pid) continue;
    try {
      // A zombie's environ reads empty: dead already, only not reaped.
      if (!readFileSync(`/proc/${pid}/environ`, 'latin1').includes(needle)) continue;
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
      out.push({ pid, argv: argv.length > 300 ? `${argv.slice(0, 300)}…` : argv });
    } catch {
      // exited meanwhile, or not ours to read
    }
  }
  return out;
}

afterAll(async () => {
  const deadline = Date.now() + GRACE_MS;
  let left = markedProcesses();
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    left = markedProcesses();
  }
  if (left.length === 0) return;
  for (const p of left) {
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      // gone by now
    }
  }
  throw new Error(
    `${left.length} process(es) this test file started were still running ${GRACE_MS / 1000} s after its ` +
      `last hook (killed now; each must end with the test that started it):\n` +
      left.map((p) => `  pid ${p.pid}: ${p.argv}`).join('\n'),
  );
}, GRACE_MS + 5_000);
