import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { logger } from '../util/log.js';

const log = logger('devices');

/** One capture device. */
export interface DeviceInfo {
  /** What to pass to `--device`: `/dev/video0`, an AVFoundation index, a DirectShow name. */
  id: string;
  /** Human name (sysfs name on Linux, the OS's name elsewhere). */
  name: string;
  /** Formats the device offers, as ffmpeg lists them (V4L2 only), e.g. `mjpeg: 1280x720 640x480`. */
  formats?: string[];
}

/** Result of {@link listDevices}. */
export interface DeviceList {
  /** Video capture devices. */
  video: DeviceInfo[];
  /** A plain-words remark, e.g. why the list is empty. */
  note?: string;
}

/** `/dev/video*` paths, sorted by number. Empty when there are none (or no /dev). */
export async function listV4l2Paths(devDir = '/dev'): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(devDir);
  } catch {
    return [];
  }
  return names
    .filter((n) => /^video\d+$/.test(n))
    .sort((a, b) => Number(a.slice(5)) - Number(b.slice(5)))
    .map((n) => `${devDir}/${n}`);
}

function runFfmpeg(ffmpegPath: string, args: string[]): Promise<string> {
  // ffmpeg's device listings go to stderr and end with a non-zero exit ("no output file"): both expected.
  return new Promise((resolve) => {
    execFile(
      ffmpegPath,
      ['-hide_banner', ...args],
      { timeout: 10_000, windowsHide: true },
      (_err, _out, stderr) => resolve(stderr),
    );
  });
}

async function listV4l2(ffmpegPath: string): Promise<DeviceList> {
  const paths = await listV4l2Paths();
  if (paths.length === 0)
    return { video: [], note: 'no video capture devices: there is no /dev/video* on this machine' };
  const video: DeviceInfo[] = [];
  for (const id of paths) {
    const n = id.slice('/dev/video'.length);
    const name = (await readFile(`/sys/class/video4linux/video${n}/name`, 'utf8').catch(() => '')).trim();
    const out = await runFfmpeg(ffmpegPath, ['-f', 'v4l2', '-list_formats', 'all', '-i', id]);
    // Lines look like: "[video4linux2,v4l2 @ 0x..] Compressed:       mjpeg :          Motion-JPEG : 1280x720 640x480"
    const formats = out
      .split('\n')
      .map((l) => /\] (?:Raw|Compressed)\s*:\s*(\S+)\s*:\s*[^:]*:\s*(.*)$/.exec(l))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => `${m[1]}: ${m[2]?.trim()}`);
    video.push({ id, name: name || id, formats });
  }
  // Many drivers expose a second /dev/videoN per camera for metadata; it lists no formats.
  return { video };
}

function parseBracketed(stderr: string, header: RegExp, stopAt: RegExp): string[] {
  const names: string[] = [];
  let inVideo = false;
  for (const line of stderr.split('\n')) {
    if (header.test(line)) {
      inVideo = true;
      continue;
    }
    if (stopAt.test(line)) inVideo = false;
    if (!inVideo) continue;
    const m = /\]\s+(?:\[(\d+)\]\s+)?"?([^"]+?)"?\s*$/.exec(line);
    if (m?.[2] && !/Alternative name/.test(line)) names.push(m[1] !== undefined ? `${m[1]}\t${m[2]}` : m[2]);
  }
  return names;
}

/**
 * Lists the video capture devices of this OS: V4L2 `/dev/video*` with sysfs names and formats (Linux),
 * ffmpeg's `-list_devices` for AVFoundation (macOS) and DirectShow (Windows). An empty list comes with a
 * `note` saying so in plain words.
 */
export async function listDevices(
  ffmpegPath: string,
  platform: NodeJS.Platform = process.platform,
): Promise<DeviceList> {
  log('listing devices on %s', platform);
  if (platform === 'linux') return listV4l2(ffmpegPath);
  if (platform === 'darwin') {
    const out = await runFfmpeg(ffmpegPath, ['-f', 'avfoundation', '-list_devices', 'true', '-i', '']);
    const video = parseBracketed(out, /AVFoundation video devices/, /AVFoundation audio devices/).map((s) => {
      const [id = '', name = ''] = s.split('\t');
      return { id, name };
    });
    return video.length ? { video } : { video, note: 'no video capture devices found by AVFoundation' };
  }
  if (platform === 'win32') {
    const out = await runFfmpeg(ffmpegPath, ['-f', 'dshow', '-list_devices', 'true', '-i', 'dummy']);
    const video = parseBracketed(out, /DirectShow video devices/, /DirectShow audio devices/).map((name) => ({
      id: name,
      name,
    }));
    return video.length ? { video } : { video, note: 'no video capture devices found by DirectShow' };
  }
  return { video: [], note: `listing capture devices is not supported on ${platform}` };
}
