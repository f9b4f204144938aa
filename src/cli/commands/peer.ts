/**
 * `rtc-peer call` and `rtc-peer answer`: their flags, and the run of one `Peer` with a reporter. Every flag
 * of the two is defined here and turned into the peer's options here (the parsing of values in
 * `../options.ts` and `../ice-flags.ts`).
 */
import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import createDebug from 'debug';
import { CAPTURE_DEFAULTS } from '../../capture/index.js';
import { DEFAULT_STUN_URLS, PEER_DEFAULTS, Peer, type PeerOptions } from '../../peer/index.js';
import { DEFAULT_ROOM } from '../../signal/index.js';
import { ExitCode } from '../exit-codes.js';
import { rtcConfigurationFromFlags } from '../ice-flags.js';
import {
  mediaFromFlags,
  parseDuration,
  parseKeep,
  parsePositive,
  parsePositiveInteger,
  parseSize,
} from '../options.js';
import { Reporter } from '../reporter.js';
import { supervise } from '../supervisor.js';
import { runUntilTerminated } from '../termination.js';

/** The flags of `call` and `answer`, as commander gives them. */
export interface PeerFlags {
  /** Each `--signal` given (or the default), each possibly a comma-separated list. */
  signal: string | string[];
  room: string;
  ca?: string;
  token?: string;
  stun?: string[];
  turn?: string[];
  turnUser?: string;
  turnPass?: string;
  iceTransportPolicy: 'all' | 'relay';
  device?: string;
  audioDevice?: string;
  audio: boolean;
  video: boolean;
  inputFormat?: string;
  input?: string;
  loop: boolean;
  testPattern?: boolean;
  size: string;
  fps: string;
  record?: string;
  recordSegment?: string;
  recordKeep?: string;
  force?: boolean;
  duration?: string;
  once?: boolean;
  ffmpeg?: string;
  verbose?: boolean;
  json?: boolean;
  measureLatency?: boolean;
  restart?: boolean;
  recordFrom?: string;
}

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

const EXAMPLES = {
  caller: `
Examples:
  rtc-peer call                                         # test pattern to the default room
  rtc-peer call --device /dev/video0 --input-format mjpeg --size 1280x720 --fps 30
  rtc-peer call --device "FaceTime HD Camera"           # macOS (AVFoundation)
  rtc-peer call --device /dev/video0 --audio-device default   # camera and microphone (ALSA)
  rtc-peer call --input clip.mp4 --signal http://server:8080 --room lab
  rtc-peer call --no-video                              # the test beep only
  rtc-peer call --duration 10 --once --json`,
  answerer: `
Examples:
  rtc-peer answer --record out.webm                     # record each call: out.webm, out-2.webm, ...
  rtc-peer answer --record out.webm --once              # one call, then exit
  rtc-peer answer --record cam-%Y%m%d-%H%M%S.webm --record-segment 10m --record-keep 7d,50GB
                                                        # for days: 10-minute files, a week of them at most
  rtc-peer answer --device /dev/video0 --record in.mkv  # two-way
  rtc-peer answer --audio-device pulse --record in.webm # send the microphone back`,
};

/** `rtc-peer call` (role `caller`) or `rtc-peer answer` (role `answerer`); `done` gets its exit code. */
export function peerCommand(role: 'caller' | 'answerer', done: (code: Promise<number>) => void): Command {
  const command =
    role === 'caller'
      ? new Command('call').description('send video (a camera, a file, or the test pattern) and offer a call')
      : new Command('answer').description('answer a call; record it, and optionally send video back');
  return command
    .addOption(
      new Option(
        '--signal <url>',
        'signaling server URL; several (repeated or comma-separated): nodes of one deployment, tried in turn',
      )
        .env('RTC_PEER_SIGNAL')
        // The first --signal replaces the default (a string); the next ones add to it.
        .argParser((value: string, previous: string | string[]) =>
          Array.isArray(previous) ? [...previous, value] : [value],
        )
        .default(PEER_DEFAULTS.signalUrl),
    )
    .option('--room <name>', 'room to join', DEFAULT_ROOM)
    .addOption(new Option('--token <secret>', 'token the signaling server requires').env('RTC_PEER_TOKEN'))
    .option(
      '--ca <file>',
      'PEM certificate(s) to trust for an https:// signaling server (self-signed, a private CA); ' +
        'NODE_EXTRA_CA_CERTS works too',
    )
    .option('--device <device>', 'camera: /dev/videoN (Linux), index or name (macOS), name (Windows)')
    .option('--input-format <fmt>', 'camera pixel format, e.g. mjpeg, yuyv422, h264 (with --device)')
    .option(
      '--audio-device <device>',
      'microphone: ALSA default|hw:1,0 or pulse[:NAME] (Linux), index or name (macOS), name (Windows)',
    )
    .option('--no-audio', 'send no sound (by default the test pattern beeps, a file sends its own sound)')
    .option('--no-video', 'send sound only')
    .option('--input <file>', 'send a media file, paced in real time')
    .option('--no-loop', 'with --input: stop at the end of the file instead of looping')
    .option('--test-pattern', 'send the built-in moving test pattern')
    .option('--size <WxH>', 'video size sent', `${CAPTURE_DEFAULTS.width}x${CAPTURE_DEFAULTS.height}`)
    .option('--fps <n>', 'frame rate sent', String(CAPTURE_DEFAULTS.fps))
    .option(
      '--record <file>',
      'record received video to a .webm or .mkv file (call 2 goes to FILE-2.webm, ...)',
    )
    .option(
      '--record-segment <duration>',
      'with --record: cut the recording into files of this length (10m, 1h, 30s), each named from --record ' +
        'with strftime fields (%Y %m %d %H %M %S, %L ms, %s) filled in with its start time ' +
        '(a name without them gets -%Y%m%d-%H%M%S)',
    )
    .option(
      '--record-keep <age|size>',
      'with --record-segment: delete the oldest segments to keep at most this age or total size (7d, 50GB, 7d,50GB)',
    )
    .option('--force', 'overwrite an existing recording')
    .option(
      '--duration <seconds>',
      'end every call this many seconds after the first one connects (the first viewer), then exit',
    )
    .option(
      '--once',
      role === 'caller'
        ? 'serve one viewer only (no offer held for a next one), exit when its call ends'
        : 'exit after the first call instead of waiting for the next',
    )
    .option(
      '--stun <url>',
      `STUN server (repeatable; default ${DEFAULT_STUN_URLS.join(', ')}; "none" for none)`,
      collect,
    )
    .option('--turn <url>', 'TURN server (repeatable), with --turn-user and --turn-pass', collect)
    .option('--turn-user <user>', 'TURN username')
    .option('--turn-pass <password>', 'TURN password')
    .addOption(
      new Option('--ice-transport-policy <policy>', 'all candidates, or relay (TURN) only')
        .choices(['all', 'relay'])
        .default('all'),
    )
    .addOption(new Option('--ffmpeg <path>', 'ffmpeg binary to use').env('RTC_PEER_FFMPEG'))
    .option('--measure-latency', "report latency from the sender's test-pattern clock (same machine only)")
    .option(
      '--restart',
      'run the peer in a child process and bring it back within seconds when it crashes (see docs/deploy-systemd.md)',
    )
    .addOption(
      // Set by --restart for a peer it brought back: its first recording continues the crashed one's numbers.
      new Option('--record-from <n>', 'number of the first call recording (out-N.webm)').hideHelp(),
    )
    .option('--json', 'print JSON event lines (the default when stdout is not a terminal)')
    .option('--verbose', 'log details (same as DEBUG=rtc-peer:*)')
    .addHelpText('after', EXAMPLES[role])
    .action((flags: PeerFlags) => done(runPeer(role, flags)));
}

/** Runs one peer with the flags until it is done or SIGINT/SIGTERM; resolves with the exit code. */
async function runPeer(role: 'caller' | 'answerer', flags: PeerFlags): Promise<number> {
  if (flags.verbose) createDebug.enable('rtc-peer:*');
  const reporter = new Reporter({ json: flags.json ? true : undefined });
  const { width, height } = parseSize(flags.size);
  const fps = parsePositive('--fps', flags.fps);
  const durationSec = flags.duration === undefined ? undefined : parsePositive('--duration', flags.duration);
  const { video: source, audio: audioSource } = mediaFromFlags(
    flags,
    role === 'caller' ? 'test-pattern' : 'none',
  );
  const rtcConfiguration = rtcConfigurationFromFlags(flags);
  const peer = new Peer({
    role,
    signalUrl: signalUrls(flags.signal),
    room: flags.room,
    token: flags.token,
    ...(flags.ca !== undefined ? { ca: readCa(flags.ca) } : {}),
    rtcConfiguration,
    source,
    audioSource,
    width,
    height,
    fps,
    ffmpegPath: flags.ffmpeg,
    record: recordFromFlags(flags),
    durationSec,
    once: flags.once,
    measureLatency: flags.measureLatency,
  });
  // The flags are checked above, in this process: a bad command line is exit 2 before any child starts.
  if (flags.restart)
    return supervise({ args: argsWithoutRestart(process.argv), record: flags.record, reporter });
  noticeDefaults(reporter, role, flags, source !== undefined, audioSource !== undefined, source?.kind);
  reporter.attach(peer);
  return runUntilTerminated(reporter, async (stop) => {
    const summary = await peer.run(stop);
    reporter.peerSummary(summary);
    const failed = summary.calls.some((c) => c.reason === 'media-ended' || c.reason === 'error');
    return failed ? ExitCode.FAILURE : ExitCode.OK;
  });
}

/** The PEM text of `--ca FILE`; a TypeError (a bad command line) when it cannot serve. */
export function readCa(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new TypeError(`--ca ${file}: cannot read it (${code}); give the PEM certificate to trust`, {
      cause: error,
    });
  }
  if (!text.includes('-----BEGIN CERTIFICATE-----'))
    throw new TypeError(`--ca ${file}: no PEM certificate in it (-----BEGIN CERTIFICATE-----)`);
  return text;
}

/** The `--signal` values as URLs: each flag, each comma-separated part, in order. */
export function signalUrls(values: string | readonly string[]): string[] {
  const urls = (typeof values === 'string' ? [values] : values)
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter((v) => v.length > 0);
  if (urls.length === 0) throw new TypeError('--signal needs a URL, e.g. --signal http://127.0.0.1:8080');
  return urls;
}

/** The command line of the supervised peer: this one's script and arguments without `--restart`. */
function argsWithoutRestart(argv: string[]): string[] {
  return argv.slice(1).filter((arg, i) => i === 0 || arg !== '--restart');
}

/** The recording options from `--record`, `--record-segment`, `--record-keep` and `--force`. */
function recordFromFlags(flags: PeerFlags): PeerOptions['record'] {
  const segmentSec =
    flags.recordSegment === undefined ? undefined : parseDuration('--record-segment', flags.recordSegment);
  const keep = flags.recordKeep === undefined ? undefined : parseKeep('--record-keep', flags.recordKeep);
  if (flags.record === undefined) {
    if (segmentSec !== undefined || keep !== undefined)
      throw new TypeError('--record-segment and --record-keep need --record NAME');
    return undefined;
  }
  if (keep !== undefined && segmentSec === undefined)
    throw new TypeError('--record-keep needs --record-segment (retention deletes whole segments)');
  if (segmentSec !== undefined && segmentSec < 1)
    throw new TypeError(`--record-segment ${JSON.stringify(flags.recordSegment)} is shorter than 1 s`);
  const recorder = { ...(segmentSec === undefined ? {} : { segmentSec }), ...(keep ? { keep } : {}) };
  const firstNumber =
    flags.recordFrom === undefined ? undefined : parsePositiveInteger('--record-from', flags.recordFrom);
  return {
    path: flags.record,
    force: flags.force,
    ...(firstNumber === undefined ? {} : { firstNumber }),
    ...(segmentSec === undefined ? {} : { recorder }),
  };
}

/** Says what the command chose for the user where the flags were silent. */
function noticeDefaults(
  reporter: Reporter,
  role: 'caller' | 'answerer',
  flags: PeerFlags,
  video: boolean,
  audio: boolean,
  kind: string | undefined,
): void {
  const notice = (message: string, words: string): void => reporter.event('notice', { message }, words);
  if (video && kind !== 'test-pattern' && kind !== 'file' && !audio && flags.audio)
    notice(
      'no --audio-device: sending video only',
      'no --audio-device: sending video only (name a microphone with --audio-device, see `rtc-peer devices`)',
    );
  if (role === 'caller' && kind === 'test-pattern' && !flags.testPattern)
    notice('no source given: sending the test pattern', 'no --device or --input: sending the test pattern');
  if (role === 'answerer' && !video && !audio)
    notice('no source given: receiving only', 'no --device or --input: receiving only');
}
