/**
 * STUN for real: a caller behind a NAT (network namespaces, test/helpers/netns.ts) learns its public address
 * from the local coturn as STUN server, and the call runs on that server-reflexive candidate. (On loopback
 * the STUN server would see the caller at its host address, and libwebrtc drops such a srflx candidate.)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { killAll, startCli, startSignalCli, type CliEvent } from '../helpers/cli.js';
import { createNat, type Nat } from '../helpers/netns.js';
import { expectPatternRecording } from '../helpers/pattern-recording.js';
import { startTurnServer, type TurnServer } from '../helpers/turn-server.js';

let dir: string;
let nat: Nat | undefined;
let stun: TurnServer | undefined;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'rtc-peer-stun-'));
});
afterEach(async () => {
  // the processes in the namespaces first, then the namespaces
  await killAll();
  await stun?.stop();
  stun = undefined;
  nat?.remove();
  nat = undefined;
  rmSync(dir, { recursive: true, force: true });
});

/**
 * The local candidate types of the selected pair in the stats events. A stats event before a pair is selected
 * (the call's first second: each call's stats start when its peer is known, not when it connects) says
 * `route: null`, nothing about the route: left out.
 */
const routes = (events: CliEvent[]): unknown[] =>
  events.filter((e) => e.event === 'stats' && e.route !== null).map((e) => e.route);

describe('STUN', () => {
  test('a caller behind a NAT gathers a server-reflexive candidate from the STUN server and calls on it', async () => {
    nat = createNat();
    // coturn as a plain STUN server, the signaling server and the answerer outside; the caller inside.
    stun = await startTurnServer({ ip: nat.outsideIp, netns: nat.outside });
    const stunUrl = `stun:${nat.outsideIp}:3478`;
    const { url } = await startSignalCli([], { host: nat.outsideIp, netns: nat.outside });
    const file = path.join(dir, 'via-nat.webm');
    const answerer = startCli(
      ['answer', '--signal', url, '--room', 'nat', '--record', file, '--once', '--stun', stunUrl],
      { netns: nat.outside },
    );
    await answerer.waitFor('joined');
    const from = Date.now();
    const caller = startCli(
      ['call', '--signal', url, '--room', 'nat', '--duration', '3', '--once', '--stun', stunUrl],
      { netns: nat.inside },
    );
    await answerer.waitFor('first-frame', 15_000);
    expect((await caller.exited).code).toBe(0);
    expect((await answerer.exited).code).toBe(0);
    const sentBetween = { from, to: Date.now() };

    // The caller's side of the selected pair is the srflx candidate STUN gave it (libwebrtc makes it the
    // local candidate when the answerer's checks see the caller at that address). Without STUN it would
    // be prflx: a mapped address learned from the checks alone.
    const callerRoutes = routes(caller.events);
    expect(callerRoutes.length, JSON.stringify(callerRoutes)).toBeGreaterThanOrEqual(2);
    expect(new Set(callerRoutes), JSON.stringify(callerRoutes)).toEqual(new Set(['srflx']));
    expect(new Set(routes(answerer.events))).toEqual(new Set(['host']));
    // coturn's side: it answered STUN binding requests from the NAT's outer address, not from the caller's
    // own: the address it reported back differs from the caller's host candidate.
    const log = stun.log();
    expect(log).toMatch(/incoming packet BINDING processed, success/);
    const endpoints = [...log.matchAll(/New UDP endpoint: local addr \S+, remote addr ([\d.]+):\d+/g)];
    expect(endpoints.map((m) => m[1])).toContain(nat.natIp);
    expect(endpoints.map((m) => m[1])).not.toContain(nat.insideIp);

    const ended = answerer.events.find((e) => e.event === 'call-ended');
    await expectPatternRecording(file, { durationSec: 3, sentBetween, receiver: ended });
  }, 60_000);
});
