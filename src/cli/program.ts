/**
 * The `rtc-peer` command line: its commands (`commands/`), how commander's errors and help map to exit
 * codes, and the run of one command to its exit code.
 */
import { Command, CommanderError } from 'commander';
import { demoCommand } from './commands/demo.js';
import { devicesCommand } from './commands/devices.js';
import { peerCommand } from './commands/peer.js';
import { signalCommand } from './commands/signal.js';
import { tokenCommand } from './commands/token.js';
import { printVersion } from './commands/version.js';
import { ExitCode, exitCodeFor } from './exit-codes.js';
import { errorText } from './hints.js';

function buildProgram(done: (code: number | Promise<number>) => void): Command {
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
  rtc-peer call --whip URL                 # publish to a WHIP server (MediaMTX, Janus, LiveKit)
  rtc-peer answer --whep URL --record a.webm   # watch and record a WHEP stream
  rtc-peer demo                            # all three on this machine for a few seconds

Exit codes: 0 ok, 1 failure during the run, 2 usage, 3 signaling, 4 media (ffmpeg/camera), 5 recording path.`,
    )
    .action((flags: { version?: boolean; ffmpeg?: string }) => {
      if (flags.version) done(printVersion(flags.ffmpeg));
      else {
        program.outputHelp();
        done(ExitCode.USAGE);
      }
    });
  program.addCommand(signalCommand(done));
  program.addCommand(peerCommand('caller', done));
  program.addCommand(peerCommand('answerer', done));
  program.addCommand(tokenCommand(done));
  program.addCommand(devicesCommand(done));
  program.addCommand(demoCommand(done));
  program.exitOverride();
  program.configureOutput({ outputError: (str, write) => write(`rtc-peer: ${str.replace(/^error: /, '')}`) });
  for (const cmd of program.commands) cmd.exitOverride();
  return program;
}

/**
 * Parses `argv`, runs the command and resolves with its exit code: 0 on a normal end, the documented codes
 * otherwise (an error that ends a run is printed with its hint).
 */
export async function runCli(argv: string[]): Promise<number> {
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
    process.stderr.write(errorText(error));
    return exitCodeFor(error);
  }
}
