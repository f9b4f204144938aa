/**
 * Child processes of the benchmarks: the rtc-peer CLI and the bench's own helper scripts (bench/children,
 * transpiled to plain JavaScript first so that no TypeScript loader runs, or is measured, in them). Every
 * child prints JSON lines on stdout; each line is stamped with the bench's wall clock when it arrives.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';

/** The repository root. */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** The built CLI (`npm run bench` builds it first). */
export const CLI = path.join(ROOT, 'dist/cli.js');
/** Where transpiled helper scripts go: inside the repo so that they resolve its node_modules. */
const BUILD_DIR = path.join(ROOT, 'node_modules/.cache/rtc-peer-bench');

/** One JSON line from a child, with the bench's `Date.now()` when it arrived. */
export type ChildEvent = { event: string; at: number } & Record<string, unknown>;

/**
 * Transpiles bench/children/NAME.ts to JavaScript (types stripped, nothing bundled) and returns its path.
 * Imports of `../../src/X.js` are pointed at the build in dist/, so the child runs the same compiled code as
 * the CLI.
 */
export function compileChild(name: string): string {
  return transpileTo(path.join(ROOT, 'bench/children', `${name}.ts`), path.join(BUILD_DIR, `${name}.mjs`));
}

/**
 * Transpiles one file; `../../src/X.js` imports point at dist/, `../lib/X.js` imports (pure bench helpers)
 * are transpiled beside it.
 */
function transpileTo(file: string, out: string): string {
  const source = readFileSync(file, 'utf8');
  const { outputText } = ts.transpileModule(source, {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
  });
  const distUrl = pathToFileURL(path.join(ROOT, 'dist')).href;
  const js = outputText
    .replace(/(['"])(?:\.\.\/)+src\//g, `$1${distUrl}/`)
    .replace(/(['"])\.\.\/lib\/([\w-]+)\.js\1/g, (_m, q: string, lib: string) => {
      transpileTo(path.join(ROOT, 'bench/lib', `${lib}.ts`), path.join(BUILD_DIR, 'lib', `${lib}.mjs`));
      return `${q}${path.dirname(out) === BUILD_DIR ? './lib' : '.'}/${lib}.mjs${q}`;
    });
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, js);
  return out;
}

/**
 * A module of src/capture/ as browser JavaScript (types stripped): the barcode (`barcode`) and the luma helpers
 * it imports (`luma`, which it finds beside it as `./luma.js`), served to the benchmark's pages so that they
 * draw and read the very barcode rtc-peer does.
 */
export function browserModuleSource(name: 'barcode' | 'luma'): string {
  const source = readFileSync(path.join(ROOT, `src/capture/${name}.ts`), 'utf8');
  return ts.transpileModule(source, {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
  }).outputText;
}

/** A running child with its JSON events. */
export class Child {
  readonly proc: ChildProcess;
  readonly events: ChildEvent[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly name: string;
  #stderr = '';
  #stdout = '';
  readonly #listeners = new Set<() => void>();

  /**
   * Spawns `node script ...args`. `nofile` raises the open-file limit first (through `sh -c 'ulimit -n'`,
   * up to the hard limit when the process may not go beyond it; the shell then `exec`s node, so the pid is
   * node's).
   */
  constructor(
    name: string,
    script: string,
    args: string[],
    options: { nofile?: number; netns?: string } = {},
  ) {
    this.name = name;
    const argv = [script, ...args];
    // In a network namespace of the lab (test/net/lab.ts): `ip netns exec` execs node, so the pid is node's.
    this.proc = options.netns
      ? spawn('ip', ['netns', 'exec', options.netns, process.execPath, ...argv], {
          stdio: ['pipe', 'pipe', 'pipe'],
        })
      : options.nofile
        ? spawn(
            'sh',
            [
              '-c',
              `ulimit -n ${options.nofile} 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec "$0" "$@"`,
              process.execPath,
              ...argv,
            ],
            {
              // stdin: commands for bench children; stdout: JSON lines; stderr: kept for error messages.
              stdio: ['pipe', 'pipe', 'pipe'],
            },
          )
        : spawn(process.execPath, argv, { stdio: ['pipe', 'pipe', 'pipe'] });
    let partial = '';
    this.proc.stdout?.setEncoding('utf8');
    this.proc.stdout?.on('data', (chunk: string) => {
      const at = Date.now();
      this.#stdout += chunk.length < 10_000 ? chunk : '';
      partial += chunk;
      const lines = partial.split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        if (!line.startsWith('{')) continue;
        try {
          this.events.push({ ...(JSON.parse(line) as Record<string, unknown>), at } as ChildEvent);
        } catch {
          // not a JSON line
        }
      }
      this.#notify();
    });
    this.proc.stderr?.setEncoding('utf8');
    this.proc.stderr?.on('data', (chunk: string) => {
      this.#stderr = (this.#stderr + chunk).slice(-8000);
      if (process.env.BENCH_VERBOSE) process.stderr.write(`[${name}] ${chunk}`);
    });
    this.proc.stdin?.on('error', () => undefined); // a child that exited does not read its stdin
    this.exited = new Promise((resolve) =>
      this.proc.on('exit', (code, signal) => {
        resolve({ code, signal });
        this.#notify();
      }),
    );
  }

  /** The child's pid. */
  get pid(): number {
    return this.proc.pid ?? -1;
  }

  /** Whether it is still running. */
  get running(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** The end of its stderr, for error messages. */
  get stderr(): string {
    return this.#stderr;
  }

  /** Sends one JSON line on its stdin. */
  send(message: Record<string, unknown>): void {
    this.proc.stdin?.write(`${JSON.stringify(message)}\n`);
  }

  /** The first event (already seen or future) named `name` that passes `filter`. */
  waitFor(
    name: string,
    timeoutMs: number,
    filter: (e: ChildEvent) => boolean = () => true,
  ): Promise<ChildEvent> {
    return this.#waitUntil(
      () => this.events.find((e) => e.event === name && filter(e)),
      timeoutMs,
      `"${name}"`,
    );
  }

  /** The first stdout match of `re` (for non-JSON output, such as `listening on URL`). */
  waitForLine(re: RegExp, timeoutMs: number): Promise<RegExpExecArray> {
    return this.#waitUntil(() => re.exec(this.#stdout) ?? undefined, timeoutMs, String(re));
  }

  #waitUntil<T>(check: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const done = (): boolean => {
        const value = check();
        if (value !== undefined) {
          cleanup();
          resolve(value);
          return true;
        }
        if (!this.running) {
          cleanup();
          reject(new Error(`${this.name} exited before ${what}; stderr:\n${this.#stderr.slice(-2000)}`));
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(
          new Error(`${this.name}: no ${what} within ${timeoutMs} ms; stderr:\n${this.#stderr.slice(-2000)}`),
        );
      }, timeoutMs);
      const listener = (): void => void done();
      const cleanup = (): void => {
        clearTimeout(timer);
        this.#listeners.delete(listener);
      };
      this.#listeners.add(listener);
      done();
    });
  }

  #notify(): void {
    for (const l of [...this.#listeners]) l();
  }

  /** Asks it to stop with `signal`, then SIGKILL after `graceMs`; resolves once it has exited. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 5000): Promise<void> {
    if (!this.running) return;
    this.proc.kill(signal);
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}

/** Starts `rtc-peer ARGS` (the built CLI). */
export function startCli(
  name: string,
  args: string[],
  options: { nofile?: number; netns?: string } = {},
): Child {
  return new Child(name, CLI, args, options);
}

/** Starts `rtc-peer signal` on a free loopback port and resolves with it and its URL. */
export async function startSignal(
  options: { nofile?: number; redis?: string; name?: string; args?: string[] } = {},
): Promise<{ child: Child; url: string }> {
  const redis = options.redis === undefined ? [] : ['--redis', options.redis];
  const child = startCli(
    options.name ?? 'signal',
    ['signal', '--host', '127.0.0.1', '--port', '0', '--json', ...redis, ...(options.args ?? [])],
    options,
  );
  const listening = await child.waitFor('listening', 15_000);
  return { child, url: String(listening.url) };
}
