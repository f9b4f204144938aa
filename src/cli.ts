#!/usr/bin/env node
/**
 * The `rtc-peer` command line: parse, build objects, `await run()`, clean up, exit with a documented code.
 * Everything it runs lives in the rooms: src/signal, src/capture, src/record, src/peer.
 */
import { readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { Command, CommanderError, Option } from 'commander';
import createDebug from 'debug';
import { listDevices, locateFfmpeg } from './capture/index.js';
import { runDemo } from './cli/demo.js';
import { ExitCode, exitCodeFor } from './cli/exit-codes.js';
import { listeningEvent, listeningText } from './cli/listening.js';
import { mediaFromFlags, parsePositive, parseSize } from './cli/options.js';
import { Reporter } from './cli/reporter.js';
import { buildIceConfig } from './peer/ice.js';
import { Peer } from './peer/peer.js';
import { listenUrls, startSignalServer } from './signal/index.js';
import { webPageHandler } from './web/index.js';

const VERSION = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

interface PeerFlags {
  signal: string;
  room: string;
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
  force?: boolean;
  duration?: string;
  once?: boolean;
  ffmpeg?: string;
  verbose?: boolean;
  json?: boolean;
  measureLatency?: boolean;
}

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

function addPeerOptions(cmd: Command): Command {
  return cmd
    .addOption(
      new Option('--signal <url>', 'signaling server URL')
        .env('RTC_PEER_SIGNAL')
        .default('http://localhost:8080'),
    )
    .option('--room <name>', 'room to join', 'default')
    .addOption(new Option('--token <secret>', 'token the signaling server requires').env('RTC_PEER_TOKEN'))
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
    .option('--size <WxH>', 'video size sent', '640x480')
    .option('--fps <n>', 'frame rate sent', '30')
    .option(
      '--record <file>',
      'record received video to a .webm or .mkv file (call 2 goes to FILE-2.webm, ...)',
    )
    .option('--force', 'overwrite an existing recording')
    .option('--duration <seconds>', 'end the call this many seconds after it connects, then exit')
    .option('--once', 'exit after the first call instead of waiting for the next')
    .option(
      '--stun <url>',
      'STUN server (repeatable; default stun:stun.l.google.com:19302; "none" for none)',
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
    .option('--json', 'print JSON event lines (the default when stdout is not a terminal)')
    .option('--verbose', 'log details (same as DEBUG=rtc-peer:*)');
}

async function runPeer(role: 'caller' | 'answerer', flags: PeerFlags): Promise<number> {
  if (flags.verbose) createDebug.enable('rtc-peer:*');
  const reporter = new Reporter({ json: flags.json ? true : undefined });
  const { width, height } = parseSize(flags.size);
  const fps = parsePositive('--fps', flags.fps);
  const durationSec = flags.duration === undefined ? undefined : parsePositive('--duration', flags.duration);
  const { video: source, audio: audioSource } = mediaFromFlags(
    {
      device: flags.device,
      inputFormat: flags.inputFormat,
      input: flags.input,
      loop: flags.loop,
      testPattern: flags.testPattern,
      audioDevice: flags.audioDevice,
      audio: flags.audio,
      video: flags.video,
    },
    role === 'caller' ? 'test-pattern' : 'none',
  );
  const stun = flags.stun?.includes('none') ? [] : flags.stun;
  const ice = buildIceConfig({
    stun,
    turn: flags.turn,
    turnUser: flags.turnUser,
    turnPass: flags.turnPass,
    iceTransportPolicy: flags.iceTransportPolicy,
  });
  if (source && source.kind !== 'test-pattern' && source.kind !== 'file' && !audioSource && flags.audio) {
    reporter.event(
      'notice',
      { message: 'no --audio-device: sending video only' },
      'no --audio-device: sending video only (name a microphone with --audio-device, see `rtc-peer devices`)',
    );
  }
  if (role === 'caller' && source?.kind === 'test-pattern' && !flags.testPattern) {
    reporter.event(
      'notice',
      { message: 'no source given: sending the test pattern' },
      'no --device or --input: sending the test pattern',
    );
  }
  if (role === 'answerer' && source === undefined && audioSource === undefined) {
    reporter.event(
      'notice',
      { message: 'no source given: receiving only' },
      'no --device or --input: receiving only',
    );
  }
  const peer = new Peer({
    role,
    signalUrl: flags.signal,
    room: flags.room,
    token: flags.token,
    ice,
    source,
    audioSource,
    width,
    height,
    fps,
    ffmpegPath: flags.ffmpeg,
    recordPath: flags.record,
    force: flags.force,
    durationSec,
    once: flags.once,
    measureLatency: flags.measureLatency,
  });
  reporter.attach(peer);
  const stop = onTerminationSignal();
  try {
    const summary = await peer.run(stop.signal);
    reporter.summary(summary);
    const failed = summary.calls.some((c) => c.reason === 'media-ended' || c.reason === 'error');
    return failed ? ExitCode.FAILURE : ExitCode.OK;
  } catch (error) {
    const code = exitCodeFor(error);
    reporter.error(error, code);
    return code;
  } finally {
    stop.dispose();
  }
}

/** SIGINT/SIGTERM abort the run gracefully; a second one exits at once. */
function onTerminationSignal(): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const handler = (sig: NodeJS.Signals): void => {
    if (controller.signal.aborted) {
      process.stderr.write(`rtc-peer: ${sig} again, exiting without cleanup\n`);
      process.exit(128 + (sig === 'SIGINT' ? 2 : 15));
    }
    controller.abort();
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    signal: controller.signal,
    dispose: () => {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    },
  };
}

async function runSignal(flags: {
  host: string;
  port: string;
  token?: string;
  redis?: string;
  json?: boolean;
}): Promise<number> {
  const port = Number(flags.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new TypeError(
      `--port ${JSON.stringify(flags.port)} is not a port number (0-65535; 0 picks a free port)`,
    );
  }
  // The browser page at / speaks the same protocol (watch: /?room=NAME, call: &role=call).
  const server = await startSignalServer({
    host: flags.host,
    port,
    token: flags.token,
    redis: flags.redis,
    httpHandler: webPageHandler(),
  });
  for (const warning of server.warnings) process.stderr.write(`rtc-peer: warning: ${warning}\n`);
  // With --redis: say when this server stops being able to serve (Redis away) and when it can again.
  const readiness = (ready: boolean, reason: string): void => {
    if (flags.json) process.stdout.write(`${JSON.stringify({ event: 'readiness', ready, reason })}\n`);
    process.stderr.write(`rtc-peer: signal: ${ready ? 'ready' : 'NOT READY'}: ${reason}\n`);
  };
  server.events.on('readiness', readiness);
  // Where this machine and others reach it: the page's URLs, as Vite prints Local and Network.
  const urls = listenUrls(server.host, server.port, networkInterfaces());
  process.stdout.write(
    flags.json ? `${JSON.stringify(listeningEvent(server.url, urls))}\n` : listeningText(server.url, urls),
  );
  const stop = onTerminationSignal();
  await new Promise<void>((resolve) =>
    stop.signal.addEventListener('abort', () => resolve(), { once: true }),
  );
  stop.dispose();
  await server.close();
  if (!flags.json) process.stdout.write('signaling server stopped\n');
  return ExitCode.OK;
}

async function runDevices(flags: { ffmpeg?: string; json?: boolean }): Promise<number> {
  const ffmpeg = await locateFfmpeg({ explicit: flags.ffmpeg });
  const devices = await listDevices(ffmpeg.path);
  if (flags.json) {
    process.stdout.write(`${JSON.stringify(devices)}\n`);
    return ExitCode.OK;
  }
  if (devices.video.length === 0)
    process.stdout.write(`no video capture devices found${devices.note ? `: ${devices.note}` : ''}\n`);
  for (const d of devices.video) process.stdout.write(`${formatDevice(d)}\n`);
  if (devices.audio.length === 0)
    process.stdout.write(
      `no audio capture devices found${devices.audioNote ? `: ${devices.audioNote}` : ''}\n`,
    );
  else process.stdout.write('audio (--audio-device):\n');
  for (const d of devices.audio) process.stdout.write(`${formatDevice(d)}\n`);
  return ExitCode.OK;
}

function formatDevice(d: { id: string; name?: string; formats?: string[] }): string {
  return `${d.id}${d.name ? `  ${d.name}` : ''}${d.formats && d.formats.length > 0 ? `  [${d.formats.join(', ')}]` : ''}`;
}

async function printVersion(explicit?: string): Promise<number> {
  process.stdout.write(`rtc-peer ${VERSION}\n`);
  try {
    const ffmpeg = await locateFfmpeg({ explicit });
    process.stdout.write(`ffmpeg: ${ffmpeg.path} (from ${ffmpeg.source})\n        ${ffmpeg.version}\n`);
  } catch (error) {
    process.stdout.write(`ffmpeg: not found\n${error instanceof Error ? error.message : String(error)}\n`);
  }
  process.stdout.write(`node: ${process.version}\n`);
  return ExitCode.OK;
}

async function runDemoCommand(flags: {
  output: string;
  duration: string;
  ffmpeg?: string;
  json?: boolean;
}): Promise<number> {
  const json = flags.json ? true : undefined;
  const reporter = new Reporter({ json });
  const durationSec = parsePositive('--duration', flags.duration);
  const stop = onTerminationSignal();
  try {
    const result = await runDemo(
      {
        output: flags.output,
        durationSec,
        ffmpegPath: flags.ffmpeg,
        onServer: (url) => reporter.event('listening', { url }, `demo: signaling server on ${url}`),
        onPeer: (peer, name) => {
          const r = new Reporter({ json });
          peer.on('first-frame', (call, w, h, ms) =>
            r.event('first-frame', { peer: name, call, width: w, height: h, ms: Math.round(ms) }),
          );
          peer.on('warning', (message) =>
            r.event('warning', { peer: name, message }, `${name}: warning: ${message}`),
          );
          peer.on('media-started', (s) =>
            r.event('media-started', { peer: name, source: s }, `${name}: sending ${s}`),
          );
          peer.on('connected', (call, ms) =>
            r.event(
              'connected',
              { peer: name, call, ms: Math.round(ms) },
              `${name}: connected in ${Math.round(ms)} ms`,
            ),
          );
        },
      },
      stop.signal,
    );
    const sent = result.caller.calls[0]?.framesSent ?? 0;
    const call = result.answerer.calls[0];
    const rec = result.answerer.recordings[0];
    const summary = {
      framesCaptured: result.caller.framesCaptured,
      framesSent: sent,
      framesReceived: call?.framesReceived ?? 0,
      framesRecorded: rec?.frames ?? 0,
      firstFrameMs: call?.firstFrameMs === undefined ? null : Math.round(call.firstFrameMs),
      recording: rec?.path ?? null,
      durationSec: rec ? Math.round(rec.durationSec * 100) / 100 : null,
      resolution: rec ? `${rec.width}x${rec.height}` : null,
    };
    if (reporter.json) reporter.event('summary', summary);
    else {
      process.stdout.write(
        [
          'demo summary',
          `  frames captured  ${summary.framesCaptured}`,
          `  frames sent      ${summary.framesSent}`,
          `  frames received  ${summary.framesReceived}`,
          `  frames recorded  ${summary.framesRecorded}`,
          `  first frame      ${summary.firstFrameMs ?? '-'} ms after the answerer got the offer`,
          `  recording        ${summary.recording ?? '-'} (${summary.resolution ?? '-'}, ${summary.durationSec ?? '-'} s)`,
          '',
        ].join('\n'),
      );
    }
    return rec && rec.frames > 0 ? ExitCode.OK : ExitCode.FAILURE;
  } catch (error) {
    const code = exitCodeFor(error);
    reporter.error(error, code);
    return code;
  } finally {
    stop.dispose();
  }
}

function buildProgram(setExit: (code: number | Promise<number>) => void): Command {
  const program = new Command('rtc-peer')
    .description(
      'A headless WebRTC peer: send a camera, record what you receive, with a Socket.IO signaling server.',
    )
    .option('-V, --version', 'print versions, and which ffmpeg is used')
    .option('--ffmpeg <path>', 'ffmpeg binary to use (for --version)')
    .addHelpText(
      'after',
      `
Examples:
  rtc-peer signal                          # the signaling server, on :8080
  rtc-peer call --device /dev/video0       # capture a camera and offer
  rtc-peer answer --record out.webm        # answer and record the remote stream
  rtc-peer demo                            # all three on this machine for a few seconds

Exit codes: 0 ok, 1 failure during the run, 2 usage, 3 signaling, 4 media (ffmpeg/camera), 5 recording path.`,
    )
    .action((flags: { version?: boolean; ffmpeg?: string }) => {
      if (flags.version) setExit(printVersion(flags.ffmpeg));
      else {
        program.outputHelp();
        setExit(ExitCode.USAGE);
      }
    });

  program
    .command('signal')
    .description('run the signaling server (holds the offer and candidates until the other side joins)')
    .option('--host <address>', 'address to listen on', '0.0.0.0')
    .option('--port <port>', 'port (0 picks a free one)', '8080')
    .addOption(new Option('--token <secret>', 'require this token from every client').env('RTC_PEER_TOKEN'))
    .addOption(
      new Option('--redis <url>', 'share rooms with the servers of this Redis (redis://HOST:PORT)').env(
        'RTC_PEER_REDIS',
      ),
    )
    .option('--json', 'print the listening line as JSON')
    .addHelpText(
      'after',
      `
Examples:
  rtc-peer signal
  rtc-peer signal --host 127.0.0.1 --port 0
  RTC_PEER_TOKEN=s3cret rtc-peer signal --host 0.0.0.0 --port 8443
  rtc-peer signal --redis redis://10.0.0.5:6379      # one of several servers (docs/deploy.md)`,
    )
    .action((flags: { host: string; port: string; token?: string; redis?: string; json?: boolean }) =>
      setExit(runSignal(flags)),
    );

  addPeerOptions(
    program
      .command('call')
      .description('send video (a camera, a file, or the test pattern) and offer a call')
      .addHelpText(
        'after',
        `
Examples:
  rtc-peer call                                         # test pattern to the default room
  rtc-peer call --device /dev/video0 --input-format mjpeg --size 1280x720 --fps 30
  rtc-peer call --device "FaceTime HD Camera"           # macOS (AVFoundation)
  rtc-peer call --device /dev/video0 --audio-device default   # camera and microphone (ALSA)
  rtc-peer call --input clip.mp4 --signal http://server:8080 --room lab
  rtc-peer call --no-video                              # the test beep only
  rtc-peer call --duration 10 --once --json`,
      ),
  ).action((flags: PeerFlags) => setExit(runPeer('caller', flags)));

  addPeerOptions(
    program
      .command('answer')
      .description('answer a call; record it, and optionally send video back')
      .addHelpText(
        'after',
        `
Examples:
  rtc-peer answer --record out.webm                     # record each call: out.webm, out-2.webm, ...
  rtc-peer answer --record out.webm --once              # one call, then exit
  rtc-peer answer --device /dev/video0 --record in.mkv  # two-way
  rtc-peer answer --audio-device pulse --record in.webm # send the microphone back`,
      ),
  ).action((flags: PeerFlags) => setExit(runPeer('answerer', flags)));

  program
    .command('devices')
    .description('list capture devices (cameras and microphones)')
    .addOption(new Option('--ffmpeg <path>', 'ffmpeg binary to use').env('RTC_PEER_FFMPEG'))
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExamples:\n  rtc-peer devices\n  rtc-peer devices --json')
    .action((flags: { ffmpeg?: string; json?: boolean }) => setExit(runDevices(flags)));

  program
    .command('demo')
    .description(
      'run a signaling server, an answerer recording ./demo.webm and a test-pattern caller, then exit',
    )
    .option('--output <file>', 'recording (overwritten)', 'demo.webm')
    .option('--duration <seconds>', 'length of the call', '5')
    .addOption(new Option('--ffmpeg <path>', 'ffmpeg binary to use').env('RTC_PEER_FFMPEG'))
    .option('--json', 'print JSON event lines')
    .addHelpText(
      'after',
      '\nExamples:\n  rtc-peer demo\n  rtc-peer demo --duration 10 --output /tmp/demo.webm',
    )
    .action((flags: { output: string; duration: string; ffmpeg?: string; json?: boolean }) =>
      setExit(runDemoCommand(flags)),
    );

  program.exitOverride();
  program.configureOutput({ outputError: (str, write) => write(`rtc-peer: ${str.replace(/^error: /, '')}`) });
  for (const cmd of program.commands) cmd.exitOverride();
  return program;
}

async function main(argv: string[]): Promise<number> {
  let result: number | Promise<number> = ExitCode.OK;
  const program = buildProgram((code) => {
    result = code;
  });
  try {
    await program.parseAsync(argv);
    return await result;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version-like displays are not errors; parse errors are usage errors.
      return error.exitCode === 0 ? ExitCode.OK : ExitCode.USAGE;
    }
    const code = exitCodeFor(error);
    process.stderr.write(`rtc-peer: ${error instanceof Error ? error.message : String(error)}\n`);
    return code;
  }
}

// An explicit exit after everything is closed: @roamhq/wrtc can crash in its native teardown when the
// process ends by draining its event loop (see README, "Exit codes").
main(process.argv).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(
      `rtc-peer: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(ExitCode.FAILURE);
  },
);
