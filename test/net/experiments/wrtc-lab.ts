/**
 * Raw `@roamhq/wrtc` in the network lab, nothing of rtc-peer on the media path: a sender behind the caller's
 * router, a receiver behind the answerer's (bench/children/wrtc-peer.ts, descriptions and candidates passed
 * across by this script). For the investigations of docs/network-lab.md; not part of the suite.
 *
 *   npx tsx test/net/experiments/wrtc-lab.ts [--nat port-preserving|port-preserving-open|symmetric|none]
 *     [--turn] [--relay] [--loss PCT] [--loss-up PCT] [--rate KBIT] [--seconds N] [--tuning JSON] [--json]
 *
 * --loss drops PCT % of what reaches the receiver (its router's `down`), --loss-up of what the receiver sends
 * back (RTCP: its NACKs and reports). Prints the candidates each side gathered, the ICE states, a line of
 * stats every second and, at the end, the frame rate received per 5 s and the longest gap between frames.
 */
import { Child, compileChild } from '../../../bench/lib/child.js';
import { startTurnServer, type TurnServer } from '../../helpers/turn-server.js';
import { createLab, type NatKind } from '../lab.js';

const argv = process.argv.slice(2);
const opt = (name: string): string | undefined => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
};
const flag = (name: string): boolean => argv.includes(`--${name}`);
const nat = (opt('nat') ?? 'port-preserving') as NatKind;
const seconds = Number(opt('seconds') ?? 20);
const tuning = opt('tuning') ? (JSON.parse(opt('tuning') ?? '{}') as Record<string, unknown>) : undefined;
const size = (opt('size') ?? '640x480').split('x');

const lab = await createLab({ callerNat: nat, answererNat: nat });
let turn: TurnServer | undefined;
const children: Child[] = [];
try {
  turn = await startTurnServer({ ip: lab.middle.ip, netns: lab.middle.ns });
  const iceServers: RTCIceServer[] = [{ urls: [`stun:${lab.middle.ip}:3478`] }];
  if (flag('turn') || flag('relay'))
    iceServers.push({ urls: [turn.url], username: turn.user, credential: turn.pass });
  const config = JSON.stringify({ iceServers, iceTransportPolicy: flag('relay') ? 'relay' : 'all', tuning });
  const script = compileChild('wrtc-peer');
  const args = [size[0] ?? '640', size[1] ?? '480', '30', config];
  const sender = new Child('send', script, ['send', ...args], { netns: lab.caller.ns });
  const receiver = new Child('recv', script, ['recv', ...args], { netns: lab.answerer.ns });
  children.push(sender, receiver);
  const t0 = Date.now();
  const say = (line: string): void =>
    console.log(`${((Date.now() - t0) / 1000).toFixed(2).padStart(6)} ${line}`);
  const relay = (from: Child, to: Child): void => {
    from.proc.stdout?.on('data', () => {
      for (const e of from.events.splice(0)) {
        if (e.event === 'sdp' || e.event === 'candidate') {
          if (e.event === 'candidate')
            say(`${from.name} candidate ${(e.candidate as { candidate: string }).candidate}`);
          to.send(e);
        } else if (e.event === 'state') say(`${from.name} ${JSON.stringify(e)}`);
        else if (e.event === 'stats') say(`${from.name} ${JSON.stringify(e)}`);
        else if (e.event === 'result') results.set(from, e);
        else if (e.event === 'first-frame') say(`${from.name} first frame ${e.width}x${e.height}`);
      }
    });
  };
  const results = new Map<Child, Record<string, unknown>>();
  relay(sender, receiver);
  relay(receiver, sender);
  const lossDown = Number(opt('loss') ?? 0);
  const lossUp = Number(opt('loss-up') ?? 0);
  if (lossDown || lossUp) lab.answerer.setLoss({ down: lossDown, up: lossUp });
  if (opt('rate')) lab.answerer.setRate({ down: Number(opt('rate')) });
  sender.send({ event: 'start' });
  const statsTimer = setInterval(() => {
    sender.send({ event: 'stats' });
    receiver.send({ event: 'stats' });
  }, 1000);
  if (opt('blackout')) {
    // --blackout AT,FOR: seconds into the run, seconds long, on the answerer's router
    const [at, len] = (opt('blackout') ?? '').split(',').map(Number);
    await new Promise((r) => setTimeout(r, (at ?? 0) * 1000));
    lab.answerer.setBlackout(true);
    say('blackout');
    await new Promise((r) => setTimeout(r, (len ?? 0) * 1000));
    lab.answerer.setBlackout(false);
    say('blackout over');
    await new Promise((r) => setTimeout(r, (seconds - (at ?? 0) - (len ?? 0)) * 1000));
  } else await new Promise((r) => setTimeout(r, seconds * 1000));
  clearInterval(statsTimer);
  say(`caller router mappings:\n${lab.caller.mappings()}`);
  say(`answerer router mappings:\n${lab.answerer.mappings()}`);
  say(`caller router counters ${JSON.stringify(lab.caller.counters())}`);
  say(`answerer router counters ${JSON.stringify(lab.answerer.counters())}`);
  receiver.send({ event: 'end' });
  sender.send({ event: 'end' });
  await Promise.race([receiver.exited, new Promise((r) => setTimeout(r, 3000))]);
  const r = results.get(receiver) as { arrivals?: number[]; ids?: number[] } | undefined;
  const arrivals = r?.arrivals ?? [];
  if (arrivals.length > 0) {
    const first = arrivals[0] ?? 0;
    const windows: number[] = [];
    for (const a of arrivals)
      windows[Math.floor((a - first) / 5000)] = (windows[Math.floor((a - first) / 5000)] ?? 0) + 1;
    let maxGap = 0;
    for (let i = 1; i < arrivals.length; i++)
      maxGap = Math.max(maxGap, (arrivals[i] ?? 0) - (arrivals[i - 1] ?? 0));
    say(
      `fps per 5 s: ${[...windows].map((n) => ((n ?? 0) / 5).toFixed(1)).join(' ')}; longest gap ${maxGap} ms; frames ${arrivals.length}`,
    );
  } else say('no frame received');
  console.log(`TURN log: ${JSON.stringify(turn.read())}`);
  if (flag('turn-log')) console.log(turn.log());
} finally {
  await Promise.all(children.map((c) => c.stop('SIGKILL')));
  await turn?.stop();
  await lab.close();
}
process.exit(0);
