/**
 * The lab in a vitest file: {@link describeLab} runs a suite only where the lab can run (one skipped line
 * saying why, elsewhere; a failure in CI, where it must run), and {@link useLab} builds a lab per test with
 * coturn and the signaling server in the middle, starts the real CLI in its namespaces and tears it all down
 * after the test, passed or failed: the CLI processes, coturn, then whatever still runs in the lab's
 * namespaces, then the namespaces (checked: none of them is left).
 */
import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect } from 'vitest';
import { killAll, startCli, startSignalCli, type CliEvent, type CliProcess } from '../helpers/cli.js';
import { inspectRecording, type RecordingInfo } from '../helpers/media.js';
import { startTurnServer, type TurnServer } from '../helpers/turn-server.js';
import { describeFlow, readFlow, type Flow } from './flow.js';
import { createLab, labNamespaces, labUnavailable, type Lab, type LabOptions } from './lab.js';

/** True when this is CI (`CI=true`, as .ci/run's machine sets it): there the lab must run. */
const inCi = (): boolean => !!process.env.CI && process.env.CI !== 'false' && process.env.CI !== '0';

const reason = labUnavailable();
if (reason !== undefined && inCi())
  throw new Error(`the network lab must run in CI (CI=${process.env.CI}) and cannot: ${reason}`);

/** `describe`, or, where the lab cannot run, a skipped suite whose one line says why. */
export function describeLab(name: string, body: () => void): void {
  if (reason === undefined) describe(name, body);
  else describe.skip(`${name} (skipped: the network lab cannot run here: ${reason})`, body);
}

/** A lab with its servers, ready for a call. */
export interface LabCall {
  lab: Lab;
  turn: TurnServer;
  /** The signaling server's URL, in the middle. */
  signalUrl: string;
  /** `stun:` URL of coturn. */
  stunUrl: string;
  /** `--turn ... --turn-user ... --turn-pass ...` for coturn. */
  turnArgs: string[];
  /** A temporary directory for recordings, removed after the test. */
  dir: string;
}

/** Common flags of a lab peer: the room, the signaling server, and no STUN unless given. */
export function peerFlags(call: LabCall, room: string, ice: string[] = ['--stun', 'none']): string[] {
  return ['--signal', call.signalUrl, '--room', room, ...ice];
}

/** Registers the clean-up and returns `start()`, which builds a lab and its servers for one test. */
export function useLab(): { start(options?: LabOptions): Promise<LabCall> } {
  let current: { lab?: Lab; turn?: TurnServer; dir?: string } = {};
  afterEach(async () => {
    const { lab, turn, dir } = current;
    current = {};
    // The processes in the namespaces first, then the namespaces.
    await killAll();
    await turn?.stop();
    await lab?.close();
    // RTC_PEER_LAB_KEEP=DIR keeps the recordings for a look (each test's directory moved there).
    if (dir && process.env.RTC_PEER_LAB_KEEP)
      cpSync(dir, path.join(process.env.RTC_PEER_LAB_KEEP, path.basename(dir)), { recursive: true });
    if (dir) rmSync(dir, { recursive: true, force: true });
    if (lab) {
      const left = labNamespaces().filter((n) => n.name.startsWith(lab.id));
      expect(left, 'namespaces of this lab left behind').toEqual([]);
    }
  });
  return {
    async start(options = {}) {
      const dir = mkdtempSync(path.join(tmpdir(), 'rtc-peer-lab-'));
      current.dir = dir;
      const lab = await createLab(options);
      current.lab = lab;
      const turn = await startTurnServer({ ip: lab.middle.ip, netns: lab.middle.ns });
      current.turn = turn;
      const { url } = await startSignalCli([], { host: lab.middle.ip, netns: lab.middle.ns });
      return {
        lab,
        turn,
        signalUrl: url,
        stunUrl: `stun:${lab.middle.ip}:3478`,
        turnArgs: ['--turn', turn.url, '--turn-user', turn.user, '--turn-pass', turn.pass],
        dir,
      };
    },
  };
}

/** A caller and a recording answerer in the lab, with the test's clock around the call. */
export interface LabPeers {
  caller: CliProcess;
  answerer: CliProcess;
  file: string;
  /** `Date.now()` before the caller started. */
  from: number;
}

/**
 * Starts a recording answerer behind the answerer's router and, once it has joined, a test-pattern caller
 * behind the caller's (both `--once`; the caller ends the call `durationSec` after it connects).
 */
export async function startPeers(
  call: LabCall,
  o: { room: string; durationSec: number; ice?: string[]; callerIce?: string[]; extra?: string[] },
): Promise<LabPeers> {
  const file = path.join(call.dir, `${o.room}.webm`);
  const answerer = startCli(
    ['answer', ...peerFlags(call, o.room, o.ice), '--record', file, '--once', ...(o.extra ?? [])],
    { netns: call.lab.answerer.ns },
  );
  await answerer.waitFor('joined');
  const from = Date.now();
  const caller = startCli(
    [
      'call',
      ...peerFlags(call, o.room, o.callerIce ?? o.ice),
      '--duration',
      String(o.durationSec),
      '--once',
      ...(o.extra ?? []),
    ],
    { netns: call.lab.caller.ns },
  );
  return { caller, answerer, file, from };
}

/** The `route` of each `stats` event (our side of the selected candidate pair). */
export const routes = (events: CliEvent[]): unknown[] =>
  events.filter((e) => e.event === 'stats' && e.route !== null).map((e) => e.route);

/** What the lab's routers saw (their NAT mappings and counters), for a failure's message. */
export function labFacts(call: LabCall): string {
  return [call.lab.caller, call.lab.answerer]
    .map((s) => `${s.role} router (${s.nat}): ${JSON.stringify(s.counters())}\n${s.mappings()}`)
    .join('\n');
}

/** Waits for the answerer's first frame; a timeout says what the routers saw. */
export async function waitForFirstFrame(call: LabCall, peers: LabPeers, timeoutMs = 15_000): Promise<void> {
  try {
    await peers.answerer.waitFor('first-frame', timeoutMs);
  } catch (error) {
    throw new Error(`${(error as Error).message}\n${labFacts(call)}`, { cause: error });
  }
}

/** Waits for both peers to end by themselves, and reads the recording's flow. */
export async function finishCall(
  call: LabCall,
  peers: LabPeers,
): Promise<{ flow: Flow; rec: RecordingInfo }> {
  expect((await peers.caller.exited).code).toBe(0);
  expect((await peers.answerer.exited).code).toBe(0);
  const rec = await inspectRecording(peers.file);
  // One valid file: finalized (the container states its duration), decodes without errors, and it is the
  // only one (a second call would have recorded to NAME-2.webm).
  expect(rec.containerDurationSec).not.toBeNull();
  expect(rec.decodeErrors).toEqual([]);
  expect(readdirSync(call.dir)).toEqual([peers.file.split('/').at(-1)]);
  const flow = readFlow(rec);
  expect(flow.monotonic, describeFlow(flow)).toBe(true);
  return { flow, rec };
}
