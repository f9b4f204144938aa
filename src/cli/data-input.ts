/**
 * `--data` / `--data-in`: lines of standard input (or of a file or FIFO) as data messages, one message per
 * line, with backpressure: the reading stops while the peer's queues are full and goes on at `data-drain`,
 * so a producer faster than the channel loses nothing and memory stays bounded (a chunk being split, and a
 * line up to the size limit). A line over the limit is skipped as it streams (never buffered whole), counted
 * and reported; the next lines go on.
 */
import { constants, createReadStream, openSync, statSync } from 'node:fs';
import { Socket } from 'node:net';
import type { Readable } from 'node:stream';

/** A line over the limit, skipped: its number (from 1) in the input and its length in bytes. */
export interface LongLine {
  line: number;
  bytes: number;
}

/**
 * Splits bytes into lines (LF, a CR before it removed), UTF-8 decoded. Pure. A line longer than `maxBytes`
 * is not kept: it is counted as it comes and reported when its end (or the input's) comes.
 */
export class LineSplitter {
  readonly #maxBytes: number;
  #parts: Buffer[] = [];
  #partBytes = 0;
  /** Bytes of the line being skipped (over the limit), -1 when not skipping. */
  #skipping = -1;
  #line = 0;

  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
  }

  /** The lines `chunk` completes, and the long lines it ended. */
  push(chunk: Buffer): { lines: string[]; long: LongLine[] } {
    const lines: string[] = [];
    const long: LongLine[] = [];
    let start = 0;
    for (let nl = chunk.indexOf(10, start); nl >= 0; nl = chunk.indexOf(10, start)) {
      this.#take(chunk.subarray(start, nl));
      this.#endLine(lines, long);
      start = nl + 1;
    }
    if (start < chunk.length) this.#take(chunk.subarray(start));
    return { lines, long };
  }

  /** The last line, when the input ended without its newline. */
  end(): { lines: string[]; long: LongLine[] } {
    const lines: string[] = [];
    const long: LongLine[] = [];
    if (this.#partBytes > 0 || this.#skipping >= 0) this.#endLine(lines, long);
    return { lines, long };
  }

  #take(bytes: Buffer): void {
    if (this.#skipping >= 0) {
      this.#skipping += bytes.length;
      return;
    }
    // One byte of slack: the CR of a CRLF line that is exactly at the limit.
    if (this.#partBytes + bytes.length > this.#maxBytes + 1) {
      this.#skipping = this.#partBytes + bytes.length;
      this.#parts = [];
      this.#partBytes = 0;
      return;
    }
    if (bytes.length > 0) {
      // A copy: the chunk's buffer may be reused by the stream.
      this.#parts.push(Buffer.from(bytes));
      this.#partBytes += bytes.length;
    }
  }

  #endLine(lines: string[], long: LongLine[]): void {
    this.#line++;
    if (this.#skipping >= 0) {
      long.push({ line: this.#line, bytes: this.#skipping });
      this.#skipping = -1;
      return;
    }
    let line = Buffer.concat(this.#parts, this.#partBytes);
    this.#parts = [];
    this.#partBytes = 0;
    if (line.at(-1) === 13) line = line.subarray(0, -1);
    if (line.length > this.#maxBytes) long.push({ line: this.#line, bytes: line.length });
    else lines.push(line.toString('utf8'));
  }
}

/** Where `pumpLines` sends: `send` returns false when the reader should wait for `drained()`. */
export interface LineSink {
  send(line: string): boolean;
  drained(): Promise<void>;
  /** A line over the limit, skipped. */
  tooLong(long: LongLine): void;
}

/**
 * Reads `input` to its end, each line to `sink`, waiting for `drained()` whenever `send` says so (the input
 * is not read meanwhile: its own buffer fills and the writer blocks). Resolves with the lines sent.
 */
export async function pumpLines(
  input: AsyncIterable<Buffer | string>,
  maxBytes: number,
  sink: LineSink,
  stopped: () => boolean = () => false,
): Promise<number> {
  const splitter = new LineSplitter(maxBytes);
  let sent = 0;
  const deliver = async (got: { lines: string[]; long: LongLine[] }): Promise<void> => {
    for (const long of got.long) sink.tooLong(long);
    for (const line of got.lines) {
      if (stopped()) return;
      sent++;
      if (!sink.send(line)) await sink.drained();
    }
  };
  for await (const chunk of input) {
    await deliver(splitter.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk));
    if (stopped()) return sent;
  }
  await deliver(splitter.end());
  return sent;
}

/** The input of `--data` (standard input) or `--data-in PATH`, opened, and what to call it in messages. */
export interface DataInput {
  stream: Readable;
  name: string;
  /** A FIFO is held open for writing too: writers may come and go, it never ends by itself. */
  fifo: boolean;
}

/**
 * Opens `--data-in PATH` (a file, read once; a FIFO, read from writer after writer; `-`: standard input),
 * or standard input without a path.
 *
 * @throws TypeError (a bad command line) naming the path when it cannot be opened.
 */
export function openDataInput(path: string | undefined): DataInput {
  if (path === undefined || path === '-')
    return { stream: process.stdin, name: 'standard input', fifo: false };
  let fifo: boolean;
  try {
    fifo = statSync(path).isFIFO();
  } catch (error) {
    const why =
      (error as NodeJS.ErrnoException).code === 'ENOENT'
        ? 'no such file (make a FIFO with mkfifo, or give a file)'
        : (error as Error).message;
    throw new TypeError(`--data-in ${path}: ${why}`, { cause: error });
  }
  if (!fifo) return { stream: createReadStream(path), name: path, fifo: false };
  // Read and write, non-blocking: opening does not wait for a writer (a read-only open would block a
  // thread until one comes), and the FIFO never reads as ended when a writer closes it: the next one
  // writes on. A socket reads it through the event loop.
  const fd = openSync(path, constants.O_RDWR | constants.O_NONBLOCK);
  return { stream: new Socket({ fd, readable: true, writable: false }), name: path, fifo: true };
}
