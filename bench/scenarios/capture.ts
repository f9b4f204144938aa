/**
 * A capture alone, without a call (issue 16): what the frames cost before libwebrtc sees them, for rtc-peer's
 * test pattern and for a camera-like source: MJPEG 1280x720@30 as a UVC webcam delivers it (made once with
 * ffmpeg, JPEG quality about a webcam's, read in real time), decoded and converted to I420 by the capture's
 * ffmpeg exactly as `--device /dev/video0 --input-format mjpeg` would be (V4L2 cannot exist on these
 * machines: the file stands in for the camera's stream; its demuxing costs next to nothing).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { Child, compileChild } from '../lib/child.js';
import { CpuWindow } from '../lib/proc.js';
import { sleep } from '../lib/stats.js';

/** One capture's figures over its steady window. */
export interface CaptureResult {
  source: 'test pattern' | 'MJPEG (camera-like)';
  size: string;
  fps: number;
  /** Frames handed out per second in the window. */
  fpsCaptured: number;
  /** Frames the reader dropped over the whole run (a slow consumer). */
  dropped: number;
  /** Cores: the capture's ffmpeg, the node process reading it, both. */
  ffmpegCores: number;
  nodeCores: number;
  cores: number;
  /** The MJPEG stream's bitrate, Mbit/s (what the camera would send over USB). */
  mjpegMbps?: number;
}

/** Options of {@link runCapture}. */
export interface CaptureOptions {
  source: 'pattern' | 'mjpeg';
  width: number;
  height: number;
  fps: number;
  ffmpegPath: string;
  /** Where the MJPEG clip is made (once per directory). */
  dir: string;
  rampSec: number;
  windowSec: number;
}

/** Seconds of the MJPEG clip (looped by the capture). */
const CLIP_SEC = 10;

/**
 * The camera-like clip: testsrc2 (moving shapes, a clock: detail that changes every frame) as MJPEG in
 * Matroska, 4:2:2 full range (yuvj422p) as UVC cameras send it, at `-q:v 3` (about 17 Mbit/s at 720p30; the
 * table prints it).
 */
export function mjpegClip(o: {
  dir: string;
  width: number;
  height: number;
  fps: number;
  ffmpegPath: string;
}): {
  path: string;
  mbps: number;
} {
  const file = path.join(o.dir, `camera-${o.width}x${o.height}-${o.fps}.mkv`);
  if (!existsSync(file))
    execFileSync(o.ffmpegPath, [
      '-hide_banner',
      '-loglevel',
      'error',
      '-f',
      'lavfi',
      '-i',
      `testsrc2=size=${o.width}x${o.height}:rate=${o.fps}`,
      '-t',
      String(CLIP_SEC),
      '-pix_fmt',
      'yuvj422p',
      '-c:v',
      'mjpeg',
      '-q:v',
      '3',
      '-y',
      file,
    ]);
  const bytes = statSync(file).size;
  return { path: file, mbps: (bytes * 8) / CLIP_SEC / 1e6 };
}

/** Runs one capture in a child process and measures it. */
export async function runCapture(o: CaptureOptions): Promise<CaptureResult> {
  const clip = o.source === 'mjpeg' ? mjpegClip(o) : undefined;
  const child = new Child('capture', compileChild('capture'), [
    o.ffmpegPath,
    clip?.path ?? 'pattern',
    String(o.width),
    String(o.height),
    String(o.fps),
  ]);
  try {
    await child.waitFor('first-frame', 15_000);
    await sleep(o.rampSec * 1000);
    const cpu = new CpuWindow(() => [child.pid]);
    child.send({ event: 'mark' });
    const before = await child.waitFor('mark', 5000);
    cpu.start();
    const t0 = performance.now();
    await sleep(o.windowSec * 1000);
    const usage = cpu.stop();
    const dt = (performance.now() - t0) / 1000;
    child.send({ event: 'mark' });
    const after = await child.waitFor('mark', 5000, (e) => e !== before);
    child.send({ event: 'end' });
    const result = await child.waitFor('result', 10_000);
    const exit = await child.exited;
    if (exit.code !== 0)
      throw new Error(`capture child exited ${String(exit.code ?? exit.signal)}: ${child.stderr}`);
    let ffmpegCores = 0;
    let nodeCores = 0;
    for (const p of Object.values(usage.processes)) {
      if (p.comm.startsWith('ffmpeg')) ffmpegCores += p.cores;
      else nodeCores += p.cores;
    }
    return {
      source: o.source === 'mjpeg' ? 'MJPEG (camera-like)' : 'test pattern',
      size: `${o.width}x${o.height}`,
      fps: o.fps,
      fpsCaptured: ((after.frames as number) - (before.frames as number)) / dt,
      dropped: result.dropped as number,
      ffmpegCores,
      nodeCores,
      cores: usage.cores,
      ...(clip ? { mjpegMbps: clip.mbps } : {}),
    };
  } finally {
    await child.stop('SIGKILL');
  }
}
