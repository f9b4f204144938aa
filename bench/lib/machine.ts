/** Facts about the machine a bench ran on, for the JSON result. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';

/** What the JSON result says about the machine. */
export interface MachineFacts {
  cpuModel: string;
  cores: number;
  memoryGb: number;
  kernel: string;
  node: string;
  chromium?: string;
  ffmpeg?: string;
  /** 1-minute load average when the bench started (other work on the machine). */
  loadAverage: number;
  /** The commit the bench ran on, with `+dirty` when the tree had changes. */
  commit?: string;
}

function firstLine(file: string, args: string[]): string | undefined {
  try {
    return execFileSync(file, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
      .split('\n')[0]
      ?.trim();
  } catch {
    return undefined;
  }
}

/** Reads the machine facts (`chromium` and `ffmpeg` are the binaries the bench uses). */
export function machineFacts(chromiumPath: string | undefined, ffmpegPath: string): MachineFacts {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const commit = firstLine('git', ['rev-parse', '--short', 'HEAD']);
  const dirty = firstLine('git', ['status', '--porcelain']) ? '+dirty' : '';
  return {
    cpuModel: /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1] ?? os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    memoryGb: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    kernel: os.release(),
    node: process.version,
    chromium: chromiumPath === undefined ? undefined : firstLine(chromiumPath, ['--version']),
    ffmpeg: firstLine(ffmpegPath, ['-version']),
    loadAverage: os.loadavg()[0] ?? 0,
    commit: commit ? `${commit}${dirty}` : undefined,
  };
}
