/** `rtc-peer demo`: the whole job on this machine (`../demo.ts`), reported as a peer's run is. */
import { Command, Option } from 'commander';
import { DEMO_DEFAULTS, runDemo } from '../demo.js';
import { ExitCode } from '../exit-codes.js';
import { parsePositive } from '../options.js';
import { Reporter } from '../reporter.js';
import { runUntilTerminated } from '../termination.js';
import { demoSummary } from '../wording.js';

/** The flags of `demo`, as commander gives them. */
export interface DemoFlags {
  output: string;
  duration: string;
  ffmpeg?: string;
  json?: boolean;
}

/** `rtc-peer demo`; `done` gets its exit code. */
export function demoCommand(done: (code: Promise<number>) => void): Command {
  return new Command('demo')
    .description(
      'run a signaling server, an answerer recording ./demo.webm and a test-pattern caller, then exit',
    )
    .option('--output <file>', 'recording (overwritten)', DEMO_DEFAULTS.output)
    .option('--duration <seconds>', 'length of the call', String(DEMO_DEFAULTS.durationSec))
    .addOption(new Option('--ffmpeg <path>', 'ffmpeg binary to use').env('RTC_PEER_FFMPEG'))
    .option('--json', 'print JSON event lines')
    .addHelpText(
      'after',
      '\nExamples:\n  rtc-peer demo\n  rtc-peer demo --duration 10 --output /tmp/demo.webm',
    )
    .action((flags: DemoFlags) => done(runDemoCommand(flags)));
}

async function runDemoCommand(flags: DemoFlags): Promise<number> {
  const reporter = new Reporter({ json: flags.json ? true : undefined });
  const durationSec = parsePositive('--duration', flags.duration);
  return runUntilTerminated(reporter, async (stop) => {
    const result = await runDemo(
      {
        output: flags.output,
        durationSec,
        ffmpegPath: flags.ffmpeg,
        onServer: (url) => reporter.event('listening', { url }, `demo: signaling server on ${url}`),
        // Each peer's milestones, by name: what it sends, when it connects, the first frame, warnings.
        onPeer: (peer, name) => reporter.attach(peer, { name, detail: 'milestones' }),
      },
      stop,
    );
    const { fields, lines } = demoSummary(result);
    reporter.summary(fields, lines);
    const rec = result.answerer.recordings[0];
    return rec && rec.frames > 0 ? ExitCode.OK : ExitCode.FAILURE;
  });
}
