/**
 * rtc-peer (the built CLI, as users run it) in the network lab: a test-pattern caller behind the caller's
 * router, a recording answerer behind the answerer's, coturn and the signaling server in the middle. Prints
 * each side's stats events, then the recording's flow (test/net/flow.ts). For docs/network-lab.md; not part
 * of the suite.
 *
 *   npx tsx test/net/experiments/rtc-peer-lab.ts [--nat KIND] [--stun] [--turn] [--loss PCT] [--loss-up PCT]
 *     [--rate KBIT] [--seconds N] [-- extra CLI flags for both peers]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { killAll, startCli, startSignalCli } from '../../helpers/cli.js';
import { inspectRecording } from '../../helpers/media.js';
import { startTurnServer, type TurnServer } from '../../helpers/turn-server.js';
import { describeFlow, readFlow } from '../flow.js';
import { createLab, type NatKind } from '../lab.js';

const all = process.argv.slice(2);
const cut = all.indexOf('--');
const argv = cut >= 0 ? all.slice(0, cut) : all;
const extra = cut >= 0 ? all.slice(cut + 1) : [];
const opt = (name: string): string | undefined => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
};
const nat = (opt('nat') ?? 'none') as NatKind;
const seconds = Number(opt('seconds') ?? 20);
const lab = await createLab({ callerNat: nat, answererNat: nat });
const dir = mkdtempSync(path.join(tmpdir(), 'rtc-peer-lab-exp-'));
let turn: TurnServer | undefined;
try {
  turn = await startTurnServer({ ip: lab.middle.ip, netns: lab.middle.ns });
  const { url } = await startSignalCli([], { host: lab.middle.ip, netns: lab.middle.ns });
  const ice = argv.includes('--stun') ? ['--stun', `stun:${lab.middle.ip}:3478`] : ['--stun', 'none'];
  if (argv.includes('--turn'))
    ice.push('--turn', turn.url, '--turn-user', turn.user, '--turn-pass', turn.pass);
  if (opt('loss') || opt('loss-up'))
    lab.answerer.setLoss({ down: Number(opt('loss') ?? 0), up: Number(opt('loss-up') ?? 0) });
  if (opt('rate')) lab.answerer.setRate({ down: Number(opt('rate')) });
  const file = path.join(dir, 'exp.webm');
  const common = ['--signal', url, '--room', 'exp', ...ice, ...extra];
  const answerer = startCli(['answer', ...common, '--record', file, '--once'], { netns: lab.answerer.ns });
  const t0 = performance.now();
  await answerer.waitFor('joined');
  const caller = startCli(['call', ...common, '--once', '--duration', String(seconds)], {
    netns: lab.caller.ns,
  });
  if (opt('blackout')) {
    // --blackout AT,FOR: seconds after the first frame, seconds long, on the answerer's router
    const [at, len] = (opt('blackout') ?? '').split(',').map(Number);
    await answerer.waitFor('first-frame');
    await new Promise((r) => setTimeout(r, (at ?? 0) * 1000));
    lab.answerer.setBlackout(true);
    console.log(`blackout from answerer t=${((performance.now() - t0) / 1000).toFixed(2)}`);
    await new Promise((r) => setTimeout(r, (len ?? 0) * 1000));
    lab.answerer.setBlackout(false);
    console.log(`blackout to answerer t=${((performance.now() - t0) / 1000).toFixed(2)}`);
  }
  await Promise.race([caller.exited, new Promise((r) => setTimeout(r, (seconds + 30) * 1000))]);
  // a call that never connected never ends by itself (--duration counts from connecting)
  await Promise.race([answerer.exited, new Promise((r) => setTimeout(r, 5000))]);
  const connected = [caller, answerer].every((p) => p.events.some((e) => e.event === 'connected'));
  await killAll();
  console.log(`both connected: ${connected}`);
  const show = (name: string, events: typeof caller.events): void => {
    const every = Number(opt('every') ?? 3);
    for (const e of events.filter((x) => x.event !== 'stats' || Math.round(Number(x.t)) % every === 0))
      if (e.event === 'stats')
        console.log(
          `${name} ${e.t} route ${e.route} sent ${e.fpsSent} fps ${e.kbpsSent} kbit/s ${e.sendResolution}; ` +
            `received ${e.fpsReceived} fps ${e.kbpsReceived} kbit/s ${e.receiveResolution} loss ${e.lossPercent} %; ` +
            `recorded ${e.framesRecorded}`,
        );
      else if (e.event !== 'summary') console.log(`${name} ${JSON.stringify(e).slice(0, 300)}`);
  };
  show('caller', caller.events);
  show('answerer', answerer.events);
  console.log(
    `answerer router ${JSON.stringify(lab.answerer.counters())} ${JSON.stringify(lab.answerer.shaped())}`,
  );
  if (connected) console.log(`recording: ${describeFlow(readFlow(await inspectRecording(file)))}`);
  console.log(
    `caller router mappings:\n${lab.caller.mappings()}\nanswerer router mappings:\n${lab.answerer.mappings()}`,
  );
} finally {
  await killAll();
  await turn?.stop();
  await lab.close();
  rmSync(dir, { recursive: true, force: true });
}
process.exit(0);
