/**
 * Test helpers for the media pipeline: the ffmpeg to use, a recording inspector that decodes a file with
 * ffmpeg (frames, duration, size, barcode payloads), ffmpeg's own numbering of the test pattern, and a way to
 * run TypeScript fixtures in a child node against the build in dist/.
 */
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import ts from 'typescript';
import { onTestFinished } from 'vitest';
import {
  barcodeBandHeight,
  readBarcode,
  writeBarcode,
  type BarcodePayload,
} from '../../src/capture/barcode.js';
import { buildCaptureArgs, i420Size } from '../../src/capture/capture-args.js';
import { locateFfmpeg } from '../../src/capture/ffmpeg-locate.js';
import { readFlash } from '../../src/capture/test-beep.js';
import { assertDistFresh, DIST, ROOT } from './dist.js';

/** The ffmpeg binary the tests use (the normal lookup). */
export async function testFfmpeg(): Promise<string> {
  return (await locateFfmpeg()).path;
}

/** What a decoded recording contains. */
export interface RecordingInfo {
  /** Container format name from ffmpeg, e.g. `matroska,webm`. */
  format: string;
  /** Video codec of the first stream, e.g. `vp8`. */
  codec: string;
  width: number;
  height: number;
  /** Duration written in the container header (null when the file was not finalized: `N/A`). */
  containerDurationSec: number | null;
  /** Frames decoded. */
  frames: number;
  /** Presentation time of each decoded frame, in seconds. */
  ptsSec: number[];
  /** Last frame's pts plus one frame interval: how long the decoded video plays. */
  decodedDurationSec: number;
  /** Barcode of each decoded frame (null where none could be read). */
  barcodes: (BarcodePayload | null)[];
  /** Whether each decoded frame shows the test pattern's flash block (see src/capture/test-beep.ts). */
  flashes: boolean[];
  /** Decoder complaints (lines mentioning errors or corruption). */
  decodeErrors: string[];
  /** Exit code of the decoding ffmpeg. */
  exitCode: number | null;
}

function run(ffmpeg: string, args: string[]): Promise<{ stderr: string; code: number | null }> {
  return new Promise((resolve) => {
    execFile(ffmpeg, args, { maxBuffer: 64 * 1024 * 1024 }, (err, _stdout, stderr) =>
      resolve({ stderr, code: err ? ((err as { code?: number }).code ?? 1) : 0 }),
    );
  });
}

/**
 * Decodes a recording with ffmpeg: header (format, codec, size, duration), then every frame to gray
 * (luma) on stdout with `showinfo` timestamps on stderr, reading the barcode of each frame.
 */
export async function inspectRecording(file: string, ffmpeg?: string): Promise<RecordingInfo> {
  const bin = ffmpeg ?? (await testFfmpeg());
  const probe = await run(bin, ['-hide_banner', '-i', file]);
  const format = /Input #0, ([^,]+(?:,[^,]+)?), from/.exec(probe.stderr)?.[1] ?? '';
  const stream = /Stream #0:\d+.*?: Video: (\w+)[^\n]*?, (\d{2,5})x(\d{2,5})/.exec(probe.stderr);
  if (!stream) throw new Error(`no video stream in ${file}:\n${probe.stderr}`);
  const codec = stream[1] ?? '';
  const width = Number(stream[2]);
  const height = Number(stream[3]);
  const d = /Duration: (\d+):(\d+):(\d+(?:\.\d+)?)/.exec(probe.stderr);
  const containerDurationSec = d ? Number(d[1]) * 3600 + Number(d[2]) * 60 + Number(d[3]) : null;

  const frameSize = width * height;
  const barcodes: (BarcodePayload | null)[] = [];
  const flashes: boolean[] = [];
  const ptsSec: number[] = [];
  const decodeErrors: string[] = [];
  const child = spawn(
    bin,
    [
      '-hide_banner',
      '-nostats',
      '-i',
      file,
      '-map',
      '0:v:0',
      '-vf',
      'showinfo',
      '-f',
      'rawvideo',
      '-pix_fmt',
      'gray',
      'pipe:1',
    ],
    // stdin: unused; stdout: gray frames; stderr: showinfo lines and decoder complaints
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let pending: Buffer = Buffer.alloc(0);
  child.stdout.on('data', (chunk: Buffer) => {
    pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    while (pending.length >= frameSize) {
      barcodes.push(readBarcode(pending.subarray(0, frameSize), width, height));
      flashes.push(readFlash(pending.subarray(0, frameSize), width, height));
      pending = pending.subarray(frameSize);
    }
  });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (t: string) => (stderr += t));
  const exitCode = await new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  for (const line of stderr.split('\n')) {
    const m = /Parsed_showinfo.*\bpts_time:\s*(-?[\d.]+)/.exec(line);
    if (m) ptsSec.push(Number(m[1]));
    else if (/error|corrupt|invalid/i.test(line) && !/^\s*(configuration|built with)/.test(line))
      decodeErrors.push(line.trim());
  }
  const last = ptsSec.at(-1) ?? 0;
  const interval = ptsSec.length > 1 ? (last - (ptsSec[0] ?? 0)) / (ptsSec.length - 1) : 0;
  return {
    format,
    codec,
    width,
    height,
    containerDurationSec,
    frames: barcodes.length,
    ptsSec,
    decodedDurationSec: last + interval,
    barcodes,
    flashes,
    decodeErrors,
    exitCode,
  };
}

/**
 * How long the recorded frames were being sent, by the sender's clock: the span between the capture times
 * stamped into the first and last decoded frames, plus one frame (the last frame's own duration at 30 fps).
 * A recording that ends where its media ended plays this long, give or take the network's jitter.
 */
export function sentSpanSec(rec: RecordingInfo): number {
  const stamps = rec.barcodes.filter((b) => b !== null).map((b) => b.timestampMs);
  const first = stamps[0];
  const last = stamps.at(-1);
  if (first === undefined || last === undefined) return 0;
  // The stamp is Date.now() modulo 2^32: take the difference modulo 2^32 too.
  return ((((last - first) % 2 ** 32) + 2 ** 32) % 2 ** 32) / 1000 + 1 / 30;
}

/** The audio track of a recording, decoded. */
export interface DecodedAudio {
  /** Codec of the first audio stream, e.g. `opus`. */
  codec: string;
  /** Channels the file has. */
  channels: number;
  /** Decoded samples, mixed to mono at {@link DECODE_RATE}. */
  samples: Int16Array;
  /** `samples.length / DECODE_RATE`. */
  durationSec: number;
  /** Decoder complaints. */
  decodeErrors: string[];
}

/** Sample rate of {@link decodeAudio}'s output. */
export const DECODE_RATE = 48_000;

/** Decodes the first audio stream of a file to mono 16-bit PCM; null when the file has no audio stream. */
export async function decodeAudio(file: string, ffmpeg?: string): Promise<DecodedAudio | null> {
  const bin = ffmpeg ?? (await testFfmpeg());
  const probe = await run(bin, ['-hide_banner', '-i', file]);
  const stream = /Stream #0:\d+.*?: Audio: (\w+)[^\n]*?, \d+ Hz, (mono|stereo|\d+ channels)/.exec(
    probe.stderr,
  );
  if (!stream) return null;
  const channels = stream[2] === 'mono' ? 1 : stream[2] === 'stereo' ? 2 : Number.parseInt(stream[2] ?? '0');
  const child = spawn(
    bin,
    [
      '-hide_banner',
      '-nostats',
      '-i',
      file,
      '-map',
      '0:a:0',
      '-f',
      's16le',
      '-ac',
      '1',
      '-ar',
      String(DECODE_RATE),
      'pipe:1',
    ],
    // stdin: unused; stdout: PCM; stderr: decoder complaints
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const parts: Buffer[] = [];
  child.stdout.on('data', (chunk: Buffer) => parts.push(chunk));
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (t: string) => (stderr += t));
  await new Promise<void>((resolve) => child.on('close', () => resolve()));
  const bytes = Buffer.concat(parts);
  const samples = new Int16Array(bytes.buffer, bytes.byteOffset, Math.floor(bytes.length / 2));
  const decodeErrors = stderr
    .split('\n')
    .filter((l) => /error|corrupt|invalid/i.test(l) && !/^\s*(configuration|built with)/.test(l));
  return {
    codec: stream[1] ?? '',
    channels,
    samples,
    durationSec: samples.length / DECODE_RATE,
    decodeErrors,
  };
}

/**
 * Onsets of beeps in decoded PCM, in seconds: a 5 ms window louder than `threshold` (RMS) after at least
 * `minGapSec` of windows below it.
 */
export function findBeepOnsets(samples: Int16Array, threshold = 1000, minGapSec = 0.3): number[] {
  const win = DECODE_RATE / 200;
  const onsets: number[] = [];
  let quietSince = -Infinity;
  let loud = false;
  for (let w = 0; (w + 1) * win <= samples.length; w++) {
    let sum = 0;
    for (let i = w * win; i < (w + 1) * win; i++) sum += (samples[i] ?? 0) ** 2;
    const rms = Math.sqrt(sum / win);
    const t = (w * win) / DECODE_RATE;
    if (rms >= threshold) {
      if (!loud && t - quietSince >= minGapSec) onsets.push(t);
      loud = true;
    } else {
      if (loud) quietSince = t;
      loud = false;
    }
  }
  return onsets;
}

/** True while a process with this pid exists (and is not a zombie we could reap). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A zombie still answers kill(0); read its state where /proc exists.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return true;
  }
}

/**
 * ffmpeg's own numbering of the test pattern, to judge a capture by something other than its counters:
 * renders the first `count` frames of the very same lavfi graph a test-pattern capture runs (its arguments
 * without `-re`, so as fast as ffmpeg can) and returns `indexOf(frame)`, the number of the frame ffmpeg drew
 * that a captured frame shows. Only the picture below the barcode band is compared (the band is where the
 * capture stamps its own frame id), so capture with `stampFlash: false`. testsrc2 draws a frame counter and
 * moving shapes: no two of its frames are alike (checked here).
 */
export async function testPatternNumbering(
  size: { width: number; height: number; fps: number },
  count: number,
): Promise<{ indexOf(frame: Uint8Array | Uint8ClampedArray): number | undefined }> {
  const ffmpegPath = await testFfmpeg();
  const { width, height } = size;
  const args = buildCaptureArgs({ source: { kind: 'test-pattern' }, ffmpegPath, ...size }).filter(
    (a) => a !== '-re',
  );
  args.splice(args.indexOf('pipe:1'), 0, '-frames:v', String(count));
  const skip = barcodeBandHeight(height) * width;
  const frameSize = i420Size(width, height);
  const key = (frame: Uint8Array | Uint8ClampedArray): string =>
    createHash('sha1').update(frame.subarray(skip, frameSize)).digest('hex');
  const index = new Map<string, number>();
  const child = spawn(ffmpegPath, args, { stdio: ['ignore', 'pipe', 'pipe'] }); // stdout: the frames
  let pending: Buffer = Buffer.alloc(0);
  let n = 0;
  const alike: string[] = [];
  child.stdout.on('data', (chunk: Buffer) => {
    pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    for (; pending.length >= frameSize; pending = pending.subarray(frameSize), n++) {
      const k = key(pending.subarray(0, frameSize));
      if (index.has(k)) alike.push(`${index.get(k)} and ${n}`);
      else index.set(k, n);
    }
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (t: string) => (stderr += t));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  if (code !== 0 || n !== count)
    throw new Error(`reference test pattern: ${n} of ${count} frames:\n${stderr}`);
  if (alike.length > 0) throw new Error(`reference test pattern: frames ${alike.join(', ')} are identical`);
  return { indexOf: (frame) => index.get(key(frame)) };
}

/** Polls `cond` every 50 ms until it holds or `timeoutMs` passes; returns whether it held. */
export async function waitUntil(cond: () => boolean, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return cond();
}

/**
 * Turns a fixture (a TypeScript file under test/, importing `../../../src/X.js`) into a plain ES module that
 * imports the build in dist/ instead: the child runs the code a user runs, and only the fixture's own types
 * are stripped (no type check). Written to a temporary directory that is removed when the calling test ends.
 * Returns the module's path.
 */
export async function compileForChild(fixture: string): Promise<string> {
  assertDistFresh();
  const source = await readFile(path.join(ROOT, fixture), 'utf8');
  const { outputText } = ts.transpileModule(source, {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
    fileName: fixture,
  });
  const distUrl = pathToFileURL(DIST).href;
  const js = outputText.replace(/(['"])(?:\.\.\/)+src\//g, `$1${distUrl}/`);
  if (/from ['"]\.{1,2}\//.test(js))
    throw new Error(`${fixture}: only imports of src/ can be pointed at dist/`);
  const dir = await mkdtemp(path.join(tmpdir(), 'rtc-peer-fixture-'));
  onTestFinished(() => rm(dir, { recursive: true, force: true }));
  const out = path.join(dir, `${path.basename(fixture, '.ts')}.mjs`);
  await writeFile(out, js);
  return out;
}

/**
 * A synthetic I420 frame: a luma ramp that moves with `frameId`, neutral chroma, and a barcode with
 * `frameId` and `Date.now()`.
 */
export function syntheticFrame(
  width: number,
  height: number,
  frameId: number,
): { width: number; height: number; data: Uint8Array } {
  const data = new Uint8Array((width * height * 3) / 2);
  for (let y = 0; y < height; y++) {
    const row = y * width;
    for (let x = 0; x < width; x++) data[row + x] = (x + y + frameId * 4) & 0xff;
  }
  data.fill(128, width * height);
  writeBarcode(data, width, height, { frameId, timestampMs: Date.now() % 2 ** 32 });
  return { width, height, data };
}
