import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { logger } from '../util/log.js';

const log = logger('devices');

/** One capture device. */
export interface DeviceInfo {
  /** The device to capture from (`sourceFromDevice`): `/dev/video0`, an AVFoundation index, a DirectShow name. */
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
  /** Audio capture devices (microphones): what to pass to `--audio-device`. */
  audio: DeviceInfo[];
  /** A plain-words remark about the audio list. */
  audioNote?: string;
}

/**
 * ALSA capture devices from `/proc/asound/pcm` (lines like `01-00: USB Audio : USB Audio : capture 1`), as
 * `hw:CARD,DEVICE`. Pure parsing of the file's text.
 */
export function parseAlsaPcm(text: string): DeviceInfo[] {
  const out: DeviceInfo[] = [];
  for (const line of text.split('\n')) {
    const m = /^(\d+)-(\d+): ([^:]*?)\s*:.*\bcapture \d+/.exec(line);
    if (m) out.push({ id: `hw:${Number(m[1])},${Number(m[2])}`, name: m[3] ?? '' });
  }
  return out;
}

/** Where {@link listDevices} looks on Linux. Defaults are this machine's; a seam for tests. */
export interface DeviceSources {
  /** The directory of the `videoN` device nodes. Default: `/dev`. */
  devDir?: string;
  /** ALSA's list of PCM devices. Default: `/proc/asound/pcm`. */
  alsaPcmFile?: string;
}

async function listAlsa(alsaPcmFile = '/proc/asound/pcm'): Promise<Pick<DeviceList, 'audio' | 'audioNote'>> {
  const text = await readFile(alsaPcmFile, 'utf8').catch(() => '');
  const audio = parseAlsaPcm(text);
  if (audio.length === 0)
    return {
      audio,
      audioNote:
        'no ALSA capture devices: this machine has no sound card with a microphone input (PulseAudio sources can still be used, as pulse:NAME)',
    };
  return { audio: [{ id: 'default', name: 'the default ALSA device' }, ...audio] };
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

async function listV4l2(ffmpegPath: string, devDir?: string): Promise<DeviceList> {
  const paths = await listV4l2Paths(devDir);
  if (paths.length === 0)
    return {
      video: [],
      note: 'no video capture devices: there is no /dev/video* on this machine',
      audio: [],
    };
  const video: DeviceInfo[] = [];
  for (const id of paths) {
    const n = id.slice(id.lastIndexOf('/video') + '/video'.length);
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
  return { video, audio: [] };
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

/** The video and audio devices in ffmpeg's `-list_devices` output for `api`, with a note for none. */
function listedBy(api: string, out: string, toDevice: (listed: string) => DeviceInfo): DeviceList {
  const video = parseBracketed(out, new RegExp(`${api} video devices`), new RegExp(`${api} audio devices`));
  const audio = parseBracketed(out, new RegExp(`${api} audio devices`), new RegExp(`${api} video devices`));
  return {
    video: video.map(toDevice),
    audio: audio.map(toDevice),
    ...(video.length ? {} : { note: `no video capture devices found by ${api}` }),
    ...(audio.length ? {} : { audioNote: `no audio capture devices found by ${api}` }),
  };
}

/**
 * Lists the video capture devices of this OS: V4L2 `/dev/video*` with sysfs names and formats (Linux),
 * ffmpeg's `-list_devices` for AVFoundation (macOS) and DirectShow (Windows). An empty list comes with a
 * `note` saying so in plain words.
 */
export async function listDevices(
  ffmpegPath: string,
  platform: NodeJS.Platform = process.platform,
  sources: DeviceSources = {},
): Promise<DeviceList> {
  log('listing devices on %s', platform);
  if (platform === 'linux')
    return { ...(await listV4l2(ffmpegPath, sources.devDir)), ...(await listAlsa(sources.alsaPcmFile)) };
  if (platform === 'darwin') {
    const out = await runFfmpeg(ffmpegPath, ['-f', 'avfoundation', '-list_devices', 'true', '-i', '']);
    // "[0] FaceTime HD Camera": the index names the device
    return listedBy('AVFoundation', out, (s) => {
      const [id = '', name = ''] = s.split('\t');
      return { id, name };
    });
  }
  if (platform === 'win32') {
    const out = await runFfmpeg(ffmpegPath, ['-f', 'dshow', '-list_devices', 'true', '-i', 'dummy']);
    // DirectShow devices go by name
    return listedBy('DirectShow', out, (name) => ({ id: name, name }));
  }
  return { video: [], audio: [], note: `listing capture devices is not supported on ${platform}` };
}
