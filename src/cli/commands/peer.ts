/**
 * `rtc-peer call` and `rtc-peer answer`: their flags, and the run of one `Peer` with a reporter. Every flag
 * of the two is defined here and turned into the peer's options here (the parsing of values in
 * `../options.ts` and `../ice-flags.ts`).
 */
import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import createDebug from 'debug';
import { CAPTURE_DEFAULTS } from '../../capture/index.js';
import {
  DEFAULT_STUN_URLS,
  PEER_DEFAULTS,
  Peer,
  type DegradationPreference,
  type PeerOptions,
} from '../../peer/index.js';
import { DEFAULT_ROOM } from '../../signal/index.js';
import { openDataInput, pumpLines, type DataInput } from '../data-input.js';
import { ExitCode } from '../exit-codes.js';
import { rtcConfigurationFromFlags } from '../ice-flags.js';
import {
  mediaFromFlags,
  parseDuration,
  parseHttpUrl,
  parseKeep,
  parsePositive,
  parsePositiveInteger,
  parseSize,
} from '../options.js';
import { Reporter } from '../reporter.js';
import { supervise, WATCHDOG_DEFAULT_MS } from '../supervisor.js';
import { runUntilTerminated } from '../termination.js';

/** The flags of `call` and `answer`, as commander gives them. */
export interface PeerFlags {
  /** Each `--signal` given (or the default), each possibly a comma-separated list. */
  signal: string | string[];
  room: string;
  ca?: string;
  /** `call --whip URL`: publish to a WHIP endpoint instead of a room. */
  whip?: string;
  /** `answer --whep URL`: watch a WHEP endpoint instead of a room. */
  whep?: string;
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
  degradationPreference: DegradationPreference;
  record?: string;
  recordSegment?: string;
  recordKeep?: string;
  force?: boolean;
  duration?: string;
  iceTimeout: string;
  once?: boolean;
  ffmpeg?: string;
  verbose?: boolean;
  json?: boolean;
  measureLatency?: boolean;
  restart?: boolean;
  restartWatchdog: string;
  recordFrom?: string;
  data?: boolean;
  dataIn?: string;
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
  rtc-peer call --duration 10 --once --json
  rtc-peer call --device /dev/video0 --whip http://mediamtx:8889/cam/whip   # publish to MediaMTX (WHIP)
  rtc-peer call --whip https://janus.example/whip/endpoint/cam --token SECRET   # Janus, LiveKit, ...
  rtc-peer call --whip http://server:8080/whip/lab      # into rtc-peer signal's room "lab"
  my-telemetry | rtc-peer call --data                   # each line to every viewer; theirs on stdout`,
  answerer: `
Examples:
  rtc-peer answer --record out.webm                     # record each call: out.webm, out-2.webm, ...
  rtc-peer answer --record out.webm --once              # one call, then exit
  rtc-peer answer --record cam-%Y%m%d-%H%M%S.webm --record-segment 10m --record-keep 7d,50GB
                                                        # for days: 10-minute files, a week of them at most
  rtc-peer answer --device /dev/video0 --record in.mkv  # two-way
  rtc-peer answer --audio-device pulse --record in.webm # send the microphone back
  rtc-peer answer --whep http://mediamtx:8889/cam/whep --record cam.webm   # watch a WHEP stream
  rtc-peer answer --whep http://server:8080/whep/lab --record lab.webm --once   # a room's camera, over WHEP
  rtc-peer answer --data | my-controller                # the caller's data messages, one per line`,
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
    .addOption(
      role === 'caller'
        ? new Option(
            '--whip <url>',
            'publish to this WHIP endpoint (MediaMTX, Janus, LiveKit, rtc-peer signal /whip/ROOM) instead of a room',
          )
        : new Option(
            '--whep <url>',
            'watch this WHEP endpoint (MediaMTX, rtc-peer signal /whep/ROOM) instead of a room',
          ),
    )
    .addOption(
      new Option(
        '--token <secret>',
        'token the signaling server requires (with --whip/--whep: sent as Authorization: Bearer)',
      ).env('RTC_PEER_TOKEN'),
    )
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
    .addOption(
      new Option(
        '--degradation-preference <pref>',
        'on a link too thin for the picture, send it smaller (maintain-framerate) or keep its size and let ' +
          'the frame rate drop (maintain-resolution)',
      )
        .choices(['maintain-framerate', 'maintain-resolution'])
        .default(PEER_DEFAULTS.degradationPreference),
    )
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
    .option(
      '--ice-timeout <seconds>',
      'end a call that finds no network path this long after its offer and answer, saying what ICE tried',
      String(PEER_DEFAULTS.iceTimeoutMs / 1000),
    )
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
    .option(
      '--restart-watchdog <seconds>',
      'with --restart, also end and restart the peer process when its main thread has not turned for this ' +
        'long (a native call that never returns); 0: never',
      String(WATCHDOG_DEFAULT_MS / 1000),
    )
    .addOption(
      // Set by --restart for a peer it brought back: its first recording continues the crashed one's numbers.
      new Option('--record-from <n>', 'number of the first call recording (out-N.webm)').hideHelp(),
    )
    .option(
      '--data',
      'open a data channel with each call: lines of standard input are sent as messages (to every viewer), ' +
        'messages received are written to stdout, one per line (the status and messages go to stderr)',
    )
    .option(
      '--data-in <file>',
      'with --data, the lines to send come from this file or FIFO (mkfifo; writers may come and go) instead',
    )
    .option('--json', 'print JSON event lines (the default when stdout is not a terminal)')
    .option('--verbose', 'log details (same as DEBUG=rtc-peer:*)')
    .addHelpText('after', EXAMPLES[role])
    .action((flags: PeerFlags, command: Command) =>
      done(runPeer(role, flags, (name) => command.getOptionValueSource(name) === 'cli')),
    );
}

/**
 * Runs one peer with the flags until it is done or SIGINT/SIGTERM; resolves with the exit code. `given`
 * tells whether a flag was given on the command line (not a default or an environment variable).
 */
async function runPeer(
  role: 'caller' | 'answerer',
  flags: PeerFlags,
  given: (flag: string) => boolean,
): Promise<number> {
  if (flags.verbose) createDebug.enable('rtc-peer:*');
  if (flags.dataIn !== undefined && !flags.data)
    throw new TypeError('--data-in needs --data (it says where the lines to send come from)');
  const data = flags.data === true;
  if (data && flags.restart && (flags.dataIn === undefined || flags.dataIn === '-'))
    throw new TypeError(
      '--restart cannot hand standard input from one process to the next: with --restart, give --data-in FIFO',
    );
  const reporter = new Reporter({ json: flags.json ? true : undefined, dataOut: data });
  const { width, height } = parseSize(flags.size);
  const fps = parsePositive('--fps', flags.fps);
  const durationSec = flags.duration === undefined ? undefined : parsePositive('--duration', flags.duration);
  const iceTimeoutMs = parsePositive('--ice-timeout', flags.iceTimeout) * 1000;
  const restartWatchdogMs = watchdogMs(flags.restartWatchdog);
  const { video: source, audio: audioSource } = mediaFromFlags(
    flags,
    role === 'caller' ? 'test-pattern' : 'none',
  );
  const rtcConfiguration = rtcConfigurationFromFlags(flags);
  const record = recordFromFlags(flags);
  const peer = new Peer({
    role,
    ...signalingFromFlags(flags, given, {
      sends: source !== undefined || audioSource !== undefined,
      records: record !== undefined,
    }),
    token: flags.token,
    ...(flags.ca !== undefined ? { ca: readCa(flags.ca, flags.whip ?? flags.whep) } : {}),
    rtcConfiguration,
    source,
    audioSource,
    width,
    height,
    fps,
    degradationPreference: flags.degradationPreference,
    ffmpegPath: flags.ffmpeg,
    record,
    durationSec,
    iceTimeoutMs,
    once: flags.once,
    measureLatency: flags.measureLatency,
    data,
  });
  // The flags are checked above, in this process: a bad command line is exit 2 before any child starts.
  if (flags.restart)
    return supervise({
      args: argsWithoutRestart(process.argv),
      record: flags.record,
      reporter,
      watchdogMs: restartWatchdogMs,
    });
  noticeDefaults(reporter, role, flags, source !== undefined, audioSource !== undefined, source?.kind);
  // Opened before anything starts: a wrong path is a bad command line.
  const dataInput = data ? openDataInput(flags.dataIn) : undefined;
  reporter.attach(peer);
  return runUntilTerminated(reporter, async (stop) => {
    const input = dataInput ? sendDataLines(peer, reporter, dataInput, stop) : undefined;
    const summary = await peer.run(stop);
    input?.close();
    reporter.peerSummary(summary);
    const failed = summary.calls.some((c) => c.reason === 'media-ended' || c.reason === 'error');
    return failed ? ExitCode.FAILURE : ExitCode.OK;
  });
}

/**
 * The PEM text of `--ca FILE`; a TypeError (a bad command line) when it cannot serve, or beside
 * `--whip`/`--whep` (`httpUrl`), whose client takes NODE_EXTRA_CA_CERTS.
 */
export function readCa(file: string, httpUrl?: string): string {
  // The WHIP/WHEP client is fetch(), which takes its extra CAs from the environment only.
  if (httpUrl !== undefined)
    throw new TypeError(
      `--ca is for the signaling server's websocket; for ${httpUrl} set NODE_EXTRA_CA_CERTS=${file} instead`,
    );
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

/**
 * Where the offers go: a WHIP endpoint (`call --whip`), a WHEP endpoint (`answer --whep`), or the signaling
 * server's room (`--signal`, `--room`). `--whip`/`--whep` exclude `--signal` and `--room` given on the command
 * line (`RTC_PEER_SIGNAL` in the environment is not used then); WHIP only sends, WHEP only receives.
 *
 * @throws TypeError naming the flags that contradict each other.
 */
export function signalingFromFlags(
  flags: Pick<PeerFlags, 'signal' | 'room' | 'whip' | 'whep'>,
  given: (flag: string) => boolean,
  media: { sends: boolean; records: boolean },
): Pick<PeerOptions, 'signalUrl' | 'room' | 'whipUrl' | 'whepUrl'> {
  const http = flags.whip !== undefined ? 'whip' : flags.whep !== undefined ? 'whep' : undefined;
  if (http === undefined) return { signalUrl: signalUrls(flags.signal), room: flags.room };
  const flag = `--${http}`;
  const clash = ['signal', 'room'].filter((name) => given(name)).map((name) => `--${name}`);
  if (clash.length > 0)
    throw new TypeError(
      `${flag} and ${clash.join(' and ')} contradict each other: ${flag} URL takes the place of a server and ` +
        `a room (for rtc-peer signal's room ROOM: ${flag} http://HOST:8080/${http}/ROOM); give one or the other`,
    );
  if (http === 'whip') {
    const url = parseHttpUrl('--whip', flags.whip!, 'http://127.0.0.1:8889/cam/whip');
    if (media.records)
      throw new TypeError('--whip only publishes: nothing comes back to --record; drop --record');
    if (!media.sends)
      throw new TypeError('--whip needs something to publish: drop --no-video or --no-audio (or both)');
    return { whipUrl: url };
  }
  const url = parseHttpUrl('--whep', flags.whep!, 'http://127.0.0.1:8889/cam/whep');
  if (media.sends)
    throw new TypeError(
      '--whep only watches (a WHEP viewer sends nothing): drop --device, --input, --test-pattern and --audio-device',
    );
  return { whepUrl: url };
}

/**
 * `--data`: the lines of standard input (or `--data-in`) sent as data messages, reading only as fast as the
 * channels take them (the peer's `data-drain`). Its end is said; the calls go on. Returns what stops it.
 */
function sendDataLines(
  peer: Peer,
  reporter: Reporter,
  input: DataInput,
  stop: AbortSignal,
): { close(): void } {
  let closed = false;
  const drained = (): Promise<void> =>
    new Promise((resolve) => {
      const done = (): void => {
        peer.off('data-drain', done);
        stop.removeEventListener('abort', done);
        resolve();
      };
      peer.on('data-drain', done);
      stop.addEventListener('abort', done);
    });
  const send = (line: string): boolean => {
    try {
      return peer.send(line);
    } catch (error) {
      // Over the size limit: the line alone is refused (peer.send counted it); the next ones go on.
      reporter.announce(
        'data-refused',
        { message: (error as Error).message },
        `error: ${(error as Error).message}`,
      );
      return true;
    }
  };
  pumpLines(
    input.stream,
    peer.maxDataMessageBytes,
    {
      send,
      drained,
      tooLong: ({ line, bytes }) => {
        peer.countTooLarge();
        const message =
          `line ${line} of ${input.name} is ${bytes} bytes, over the data message limit of ` +
          `${peer.maxDataMessageBytes} bytes: not sent (split it up); the next lines go on`;
        reporter.announce('data-refused', { line, bytes, message }, `error: ${message}`);
      },
    },
    () => closed || stop.aborted,
  )
    .then((lines) => {
      if (!closed && !stop.aborted)
        reporter.event(
          'data-input-ended',
          { input: input.name, lines },
          `${input.name} ended after ${lines} line(s); the calls go on`,
        );
    })
    .catch((error: unknown) =>
      reporter.announce(
        'warning',
        { kind: 'data-input', message: `reading ${input.name}: ${(error as Error).message}` },
        `warning: reading ${input.name}: ${(error as Error).message}; nothing more is sent`,
      ),
    );
  return {
    close: () => {
      closed = true;
      if (input.stream !== process.stdin) input.stream.destroy();
      else input.stream.pause();
    },
  };
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

/** `--restart-watchdog SECONDS` in ms: a number >= 0 (0: no watchdog); TypeError naming the flag otherwise. */
function watchdogMs(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0)
    throw new TypeError(
      `--restart-watchdog ${JSON.stringify(value)} is not a number of seconds >= 0 (0: never)`,
    );
  return n * 1000;
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
