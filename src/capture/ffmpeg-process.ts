import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { closeSync } from 'node:fs';
import { Socket, type OnReadOpts, type SocketConstructorOpts } from 'node:net';
import type { Readable, Writable } from 'node:stream';
import { FfmpegError } from '../errors.js';
import { withDefaults } from '../util/defaults.js';
import { logger } from '../util/log.js';
import { TypedEmitter } from '../util/typed-emitter.js';
import { openOutputFifo } from './output-fifo.js';

/**
 * Memory that ffmpeg's stdout is read into, with no copy and no allocation per read (a {@link FrameReader}
 * is one): `writable()` gives where the next bytes go, `commit(n)` says how many were written there.
 */
export interface OutputSink {
  writable(): Uint8Array;
  commit(bytes: number): void;
}

/** Options of {@link FfmpegProcess}. */
export interface FfmpegProcessOptions {
  /** The ffmpeg binary (see `locateFfmpeg`). Required. */
  ffmpegPath: string;
  /** Arguments, as an array (never a shell string). Required. */
  args: string[];
  /** Name in log lines and error messages, e.g. `capture` or `recorder`. Default: `ffmpeg`. */
  name?: string;
  /**
   * When `start()` resolves. `'output'`: on the first stdout byte (a capture). `'running'`: once ffmpeg has
   * stayed alive for `graceMs` (a recorder, whose output is a file). Default: `'output'`.
   */
  readyOn?: 'output' | 'running';
  /** Grace period for `readyOn: 'running'`, in ms. Default: 300. */
  graceMs?: number;
  /**
   * How `stop()` asks ffmpeg to finish: `'q'` writes `q` on stdin (a capture), `'end'` closes stdin so ffmpeg
   * drains its input and finalizes the file (a recorder). Default: `'q'`.
   */
  stopWith?: 'q' | 'end';
  /** Time to wait for a polite exit before SIGTERM, then again before SIGKILL, in ms. Default: 5000. */
  stopTimeoutMs?: number;
  /** How many stderr lines to keep for error messages. Default: 50. */
  stderrLines?: number;
  /**
   * Receives every stdout chunk from the very first (attached at spawn, so none is missed before `start()`
   * resolves). Default: none (read `stdout` yourself).
   */
  onOutput?: ((chunk: Buffer) => void) | undefined;
  /**
   * Reads stdout straight into this sink instead (a capture's frames): through a FIFO read with `onread`
   * where there are FIFOs (see output-fifo.ts), else from the stdout pipe with a copy. `stdout` is then not
   * available. Default: none.
   */
  readInto?: OutputSink | undefined;
  /**
   * Open a fourth pipe, fd 3, that ffmpeg reads as the input `pipe:3` (the recorder's audio next to the
   * video on stdin). `stop()` with `stopWith: 'end'` ends it too. Default: false.
   */
  inputPipe3?: boolean;
}

/** Defaults of {@link FfmpegProcessOptions}, in one place. */
export const FFMPEG_PROCESS_DEFAULTS = {
  name: 'ffmpeg',
  readyOn: 'output',
  graceMs: 300,
  stopWith: 'q',
  stopTimeoutMs: 5000,
  stderrLines: 50,
  inputPipe3: false,
} as const;

/** Events of {@link FfmpegProcess}. `exit` fires once, whether ffmpeg was stopped or died on its own. */
export type FfmpegProcessEvents = {
  exit: [code: number | null, signal: NodeJS.Signals | null, stderrTail: string[]];
};

/** How long the output may stay open after ffmpeg exited before it is closed anyway. */
const OUTPUT_EOF_WAIT_MS = 2000;

/** Every live ffmpeg child of this node process; killed synchronously when node exits. */
const liveChildren = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // 'exit' handlers must be synchronous: kill() is. A hard death of node (SIGKILL, crash) skips this; then
  // ffmpeg gets EPIPE on stdout (capture) or EOF on stdin (recorder) and exits by itself (tested).
  process.on('exit', () => {
    for (const child of liveChildren) {
      try {
        child.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
  });
}

/**
 * One ffmpeg child process: spawned with an argument array, its stderr tail kept for error messages,
 * stopped by escalation (`q` or end of stdin, then SIGTERM, then SIGKILL) and never outliving node.
 *
 * "Failed to start" rejects `start()` with an {@link FfmpegError} carrying the stderr tail; "died later" is
 * the `exit` event.
 *
 * @example
 * const ff = new FfmpegProcess({ ffmpegPath, args: ['-f', 'lavfi', '-i', 'testsrc', '-f', 'rawvideo', 'pipe:1'] });
 * ff.on('exit', (code, signal, tail) => log('ffmpeg exited %s %s\n%s', code, signal, tail.join('\n')));
 * await ff.start();
 * ff.stdout.on('data', onBytes);
 * await ff.stop();
 */
export class FfmpegProcess extends TypedEmitter<FfmpegProcessEvents> {
  readonly #options: Required<Omit<FfmpegProcessOptions, 'onOutput' | 'readInto'>> &
    Pick<FfmpegProcessOptions, 'onOutput' | 'readInto'>;
  readonly #log;
  #child: ChildProcess | undefined;
  readonly #tail: string[] = [];
  #partialLine = '';
  #startPromise: Promise<void> | undefined;
  #stopPromise: Promise<void> | undefined;
  #exitPromise: Promise<void> | undefined;
  #exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  /** Called on the first byte of output (then cleared). */
  #onFirstOutput: (() => void) | undefined;

  constructor(options: FfmpegProcessOptions) {
    super();
    if (!options.ffmpegPath) throw new TypeError('FfmpegProcess: ffmpegPath is required');
    if (!Array.isArray(options.args)) throw new TypeError('FfmpegProcess: args must be an array of strings');
    this.#options = withDefaults(options, FFMPEG_PROCESS_DEFAULTS);
    this.#log = logger(this.#options.name);
  }

  /** The child's pid once spawned. */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** ffmpeg's stdout (the raw frames of a capture). Throws before `start()`. */
  get stdout(): Readable {
    if (this.#options.readInto) throw new Error(`${this.#options.name}: stdout is read into readInto`);
    if (!this.#child?.stdout) throw new Error(`${this.#options.name}: not started`);
    return this.#child.stdout;
  }

  /** ffmpeg's stdin (the raw frames of a recorder). Throws before `start()`. */
  get stdin(): Writable {
    if (!this.#child?.stdin) throw new Error(`${this.#options.name}: not started`);
    return this.#child.stdin;
  }

  /** The pipe ffmpeg reads as `pipe:3` (with `inputPipe3`). Throws before `start()` or without the option. */
  get pipe3(): Writable {
    const pipe = this.#child?.stdio[3];
    if (!pipe || !('write' in pipe)) throw new Error(`${this.#options.name}: no input pipe on fd 3`);
    return pipe as Writable;
  }

  /** The last stderr lines (at most `stderrLines`). */
  get stderrTail(): string[] {
    return this.#partialLine ? [...this.#tail, this.#partialLine] : [...this.#tail];
  }

  /** True once the child has exited. */
  get exited(): boolean {
    return this.#exitInfo !== undefined;
  }

  /**
   * Spawns ffmpeg. Resolves on the first stdout byte (`readyOn: 'output'`) or once it has run for `graceMs`
   * (`readyOn: 'running'`); rejects with an {@link FfmpegError} (with the stderr tail) if it exits or
   * cannot be spawned first. Calling it again returns the same promise.
   */
  start(): Promise<void> {
    this.#startPromise ??= this.#spawnChild();
    return this.#startPromise;
  }

  #spawnChild(): Promise<void> {
    const { ffmpegPath, args, name, readInto } = this.#options;
    this.#log('spawn %s %s', ffmpegPath, args.join(' '));
    const fifo = readInto ? openOutputFifo() : undefined;
    // stdin: a pipe, for `q` (capture) or the raw frames (recorder); stdout: a pipe, the raw frames
    // (capture: with readInto, the write end of a FIFO) or nothing (recorder); stderr: a pipe, kept as a tail
    // for error messages; fd 3 (with inputPipe3): a pipe ffmpeg reads as `pipe:3`, the recorder's audio.
    const stdio: StdioOptions = ['pipe', fifo ? fifo.writeFd : 'pipe', 'pipe'];
    if (this.#options.inputPipe3) stdio.push('pipe');
    let child: ChildProcess;
    try {
      child = spawn(ffmpegPath, args, {
        stdio,
        // Own process group on POSIX: a terminal's Ctrl-C reaches node only, which then stops ffmpeg in order
        // (a recorder first gets its queued frames, then finalizes the file).
        detached: process.platform !== 'win32',
        windowsHide: true,
      });
    } finally {
      // The child has its copy; with ours closed, the read end sees EOF when the child's closes.
      if (fifo) closeSync(fifo.writeFd);
    }
    this.#child = child;
    installExitHook();
    liveChildren.add(child);

    const outputSeen = (): void => {
      const first = this.#onFirstOutput;
      this.#onFirstOutput = undefined;
      first?.();
    };
    let output: Socket | undefined;
    if (fifo && readInto) {
      // `onread` works on a Socket made from an fd (Node >= 12), though @types/node lists it for connect() only.
      const options: SocketConstructorOpts & { onread: OnReadOpts } = {
        fd: fifo.readFd,
        readable: true,
        writable: false,
        onread: {
          // A view as Uint8Array: the frames are Uint8ClampedArray, which onread does not take.
          buffer: () => {
            const room = readInto.writable();
            return new Uint8Array(room.buffer, room.byteOffset, room.length);
          },
          callback: (bytes: number) => {
            readInto.commit(bytes);
            outputSeen();
            return true; // keep reading
          },
        },
      };
      output = new Socket(options);
      output.on('error', (err) => this.#log('output: %s', err.message));
    } else {
      const stdout = child.stdout!;
      if (readInto)
        stdout.on('data', (chunk: Buffer) => {
          for (let offset = 0; offset < chunk.length;) {
            const room = readInto.writable();
            const n = Math.min(room.length, chunk.length - offset);
            room.set(chunk.subarray(offset, offset + n));
            readInto.commit(n);
            offset += n;
          }
        });
      else if (this.#options.onOutput) stdout.on('data', this.#options.onOutput);
      stdout.once('data', outputSeen);
      stdout.on('error', (err) => this.#log('stdout: %s', err.message));
    }
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (text: string) => this.#onStderr(text));
    // EPIPE on stdin when ffmpeg exits first is expected; the exit event reports the real cause.
    child.stdin!.on('error', (err) => this.#log('stdin: %s', err.message));
    child.stdio[3]?.on('error', (err) => this.#log('pipe 3: %s', err.message));
    // As with a stdout pipe, 'exit' comes after the last byte of output: the FIFO's EOF, which the child's
    // exit brings (bounded, should anything else still hold its write end).
    const outputClosed = output
      ? new Promise<void>((resolve) => output.once('close', () => resolve()))
      : Promise.resolve();
    const closeOutput = (): void => {
      setTimeout(() => output?.destroy(), OUTPUT_EOF_WAIT_MS).unref();
    };

    let spawnError: Error | undefined;
    this.#exitPromise = new Promise<void>((resolve) => {
      child.once('error', (err) => {
        // spawn failed (ENOENT, EACCES): no 'exit' will follow.
        spawnError = err;
        output?.destroy();
        if (!this.#exitInfo) this.#onExit(null, null, resolve);
      });
      child.once('close', (code, signal) => {
        closeOutput();
        void outputClosed.then(() => this.#onExit(code, signal, resolve));
      });
    });

    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const done = (err?: Error): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.#onFirstOutput = undefined;
        if (err) reject(err);
        else resolve();
      };
      const onData = (): void => done();
      const timer =
        this.#options.readyOn === 'running' ? setTimeout(() => done(), this.#options.graceMs) : undefined;
      if (this.#options.readyOn === 'output') this.#onFirstOutput = onData;
      void this.#exitPromise?.then(() => {
        const { code, signal } = this.#exitInfo ?? { code: null, signal: null };
        const tail = this.stderrTail;
        const why = spawnError
          ? `could not be started (${spawnError.message})`
          : `exited before producing output (code ${code}, signal ${signal})`;
        done(
          new FfmpegError(
            'FFMPEG_START_FAILED',
            `${name}: ffmpeg ${why}${tail.length ? lastOutput(tail) : ''}`,
            { exitCode: code, signal, stderr: tail },
            { cause: spawnError },
          ),
        );
      });
    });
  }

  #onStderr(text: string): void {
    const lines = (this.#partialLine + text).split(/\r\n|\r|\n/);
    this.#partialLine = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.trim()) continue;
      this.#log('stderr: %s', line);
      this.#tail.push(line);
      if (this.#tail.length > this.#options.stderrLines) this.#tail.shift();
    }
  }

  #onExit(code: number | null, signal: NodeJS.Signals | null, resolve: () => void): void {
    if (this.#exitInfo) return;
    this.#exitInfo = { code, signal };
    if (this.#child) liveChildren.delete(this.#child);
    if (this.#partialLine.trim()) {
      this.#tail.push(this.#partialLine);
      this.#partialLine = '';
      if (this.#tail.length > this.#options.stderrLines) this.#tail.shift();
    }
    this.#log('exited: code %s signal %s', code, signal);
    resolve();
    this.emit('exit', code, signal, this.stderrTail);
  }

  /** Resolves when the child has exited (immediately if it never started). */
  waitForExit(): Promise<void> {
    return this.#exitPromise ?? Promise.resolve();
  }

  /**
   * Stops ffmpeg: `q` on stdin or end of stdin (per `stopWith`), then SIGTERM after `stopTimeoutMs`, then
   * SIGKILL after another `stopTimeoutMs`. Idempotent; concurrent callers share one promise. Resolves once
   * the child has exited.
   */
  stop(): Promise<void> {
    this.#stopPromise ??= this.#escalate();
    return this.#stopPromise;
  }

  async #escalate(): Promise<void> {
    const child = this.#child;
    if (!child || this.#exitInfo) return;
    const exited = this.waitForExit();
    const stdin = child.stdin;
    if (stdin && !stdin.destroyed) {
      if (this.#options.stopWith === 'q') stdin.end('q');
      else stdin.end();
    }
    const pipe3 = child.stdio[3];
    if (pipe3 && 'end' in pipe3 && !pipe3.destroyed) (pipe3 as Writable).end();
    for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
      let timer: NodeJS.Timeout | undefined;
      const timedOut = await Promise.race([
        exited.then(() => false),
        new Promise<boolean>((r) => (timer = setTimeout(() => r(true), this.#options.stopTimeoutMs))),
      ]);
      clearTimeout(timer);
      if (!timedOut) return;
      this.#log('no exit after %d ms, sending %s', this.#options.stopTimeoutMs, signal);
      child.kill(signal);
    }
    await exited;
  }
}

/** `; its last output:` and ffmpeg's last stderr lines (at most 10), one per indented line, for a message. */
export function lastOutput(stderr: readonly string[]): string {
  return `; its last output:\n  ${stderr.slice(-10).join('\n  ')}`;
}

/**
 * The error of an ffmpeg that exited on its own, named by `who` (e.g. `capture of test pattern: ffmpeg`,
 * `recorder: ffmpeg writing out.webm`): `FFMPEG_DIED`, with its exit and its last output.
 */
export function ffmpegDied(
  who: string,
  code: number | null,
  signal: NodeJS.Signals | null,
  stderr: string[],
  path?: string,
): FfmpegError {
  return new FfmpegError(
    'FFMPEG_DIED',
    `${who} exited (code ${code}, signal ${signal})${lastOutput(stderr)}`,
    { exitCode: code, signal, stderr, ...(path === undefined ? {} : { path }) },
  );
}

/** How {@link startCapturing} tells a capture's start. */
export interface CaptureStart {
  /** Names the capture in messages, e.g. `capture of test pattern`. */
  what: string;
  /** What it delivers, for the message of an early exit: `frame`, `chunk`. */
  unit: string;
  /** Settles when the first frame or chunk is delivered. */
  delivered: Promise<void>;
  /** The cause in ffmpeg's stderr (a device missing, busy, not permitted), if it says one. */
  explain: (stderr: string[]) => Error | undefined | Promise<Error | undefined>;
  /** Runs once ffmpeg is running, before the wait for `delivered` (to attach listeners, start pacing). */
  started?: () => void;
  /**
   * Once ffmpeg exited during the wait: whether what it wrote before it exited still delivers (then the
   * start waits for `delivered`); otherwise the start fails.
   */
  stillDelivering: () => Promise<boolean>;
}

/**
 * Starts a capture's ffmpeg and resolves once it delivered its first frame or chunk. A failure to start, or
 * an exit before the first delivery, rejects with the cause `explain` finds in ffmpeg's stderr, or else with
 * an {@link FfmpegError} (`FFMPEG_START_FAILED`, with ffmpeg's last output).
 */
export async function startCapturing(ffmpeg: FfmpegProcess, o: CaptureStart): Promise<void> {
  try {
    await ffmpeg.start();
  } catch (err) {
    const tail = err instanceof FfmpegError ? (err.details.stderr ?? []) : [];
    throw (await o.explain(tail)) ?? err;
  }
  o.started?.();
  await Promise.race([
    o.delivered,
    ffmpeg.waitForExit().then(async () => {
      if (await o.stillDelivering()) return o.delivered;
      const tail = ffmpeg.stderrTail;
      throw (
        (await o.explain(tail)) ??
        new FfmpegError(
          'FFMPEG_START_FAILED',
          `${o.what}: ffmpeg exited before the first ${o.unit}${lastOutput(tail)}`,
          { stderr: tail },
        )
      );
    }),
  ]);
}

/** The pids of live ffmpeg children (for tests and diagnostics). */
export function liveFfmpegPids(): number[] {
  return [...liveChildren].map((c) => c.pid).filter((p): p is number => p !== undefined);
}
