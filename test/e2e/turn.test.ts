/**
 * ICE through a real TURN server (coturn on loopback): `--ice-transport-policy relay` with `--turn`, and with
 * the expiring credentials `rtc-peer signal --turn-url --turn-secret-file` hands each join (coturn
 * `--use-auth-secret`): relayed while valid, refused by coturn once expired.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { killAll, startCli, startSignalCli, type CliEvent } from '../helpers/cli.js';
import { expectPatternRecording } from '../helpers/pattern-recording.js';
import { startTurnServer, waitForTurnLog as waitForTurn, type TurnServer } from '../helpers/turn-server.js';

/** Bytes the answerer says it received (its per-second kbit/s figures, summed over their intervals). */
function reportedBytes(stats: CliEvent[]): number {
  let bytes = 0;
  for (let i = 1; i < stats.length; i++) {
    const dt = Number(stats[i]!.t) - Number(stats[i - 1]!.t);
    bytes += (Number(stats[i]!.kbpsReceived) * 1000 * dt) / 8;
  }
  return bytes;
}

let dir: string;
let turn: TurnServer | undefined;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'rtc-peer-turn-'));
});
afterEach(async () => {
  await killAll();
  await turn?.stop();
  turn = undefined;
  rmSync(dir, { recursive: true, force: true });
});

describe('TURN', () => {
  test('relay only: the call goes through the TURN server and records', async () => {
    turn = await startTurnServer();
    const ice = ['--stun', 'none', '--turn', turn.url, '--turn-user', turn.user, '--turn-pass', turn.pass];
    const relay = [...ice, '--ice-transport-policy', 'relay'];
    const { url } = await startSignalCli();
    const file = path.join(dir, 'relayed.webm');
    const answerer = startCli([
      'answer',
      '--signal',
      url,
      '--room',
      't',
      '--record',
      file,
      '--once',
      ...relay,
    ]);
    await answerer.waitFor('joined');
    const from = Date.now();
    const caller = startCli(['call', '--signal', url, '--room', 't', '--duration', '3', '--once', ...relay]);
    await answerer.waitFor('first-frame', 10_000);
    // Both sides' selected candidate pair is a relayed one.
    const relayed = (e: CliEvent): boolean => e.route === 'relay';
    await answerer.waitFor('stats', 5_000, relayed);
    await caller.waitFor('stats', 5_000, relayed);
    expect((await caller.exited).code).toBe(0);
    expect((await answerer.exited).code).toBe(0);
    const sentBetween = { from, to: Date.now() };
    const ended = answerer.events.find((e) => e.event === 'call-ended');
    await expectPatternRecording(file, { durationSec: 3, sentBetween, receiver: ended });

    // coturn's side of it, next to what the peers report: both peers allocated a relay, and coturn relayed
    // between them at least the media the answerer says it received (RTP headers and RTCP come on top). A
    // call that went around the relay would leave coturn with a few STUN bytes.
    const answererStats = answerer.events.filter((e) => e.event === 'stats');
    const received = reportedBytes(answererStats);
    expect(received).toBeGreaterThan(50_000); // 3 s of 640x480 VP8: a few hundred kbit/s
    // (coturn logs a session's bytes when it ends: the peers' refreshes with lifetime 0 end them.) The sessions
    // the call used, not a spare offer's allocation (see test/net/nat.test.ts).
    const log = await waitForTurn(
      turn,
      'the end of every session the call used',
      (l) => l.permitted.length >= 2 && l.permitted.every((session) => l.peerBytes.has(session)),
    );
    expect(log.badCredentials).toBe(0);
    // sent from the relay addresses to the peers, summed over the sessions
    const relayedBytes = [...log.peerBytes.values()].reduce((sum, b) => sum + b.sent, 0);
    expect(relayedBytes, JSON.stringify({ received, peerBytes: [...log.peerBytes] })).toBeGreaterThan(
      received,
    );
  }, 40_000);

  test('relay only with a wrong TURN password: coturn refuses both peers, so no path and no media; the call ends saying so', async () => {
    turn = await startTurnServer();
    const relay = ['--stun', 'none', '--turn', turn.url, '--turn-user', turn.user, '--turn-pass', 'wrong'];
    relay.push('--ice-transport-policy', 'relay', '--ice-timeout', '3');
    const { url } = await startSignalCli();
    const answerer = startCli(['answer', '--signal', url, '--room', 'w', '--once', ...relay]);
    await answerer.waitFor('joined');
    const caller = startCli(['call', '--signal', url, '--room', 'w', ...relay]);
    await answerer.waitFor('answer-sent', 10_000);
    // The reason, from coturn: each peer's authenticated ALLOCATE refused (401) for the wrong password. The
    // first, unauthenticated ALLOCATE of every client gets a 401 too, by design: that one does not count.
    await waitForTurn(turn, 'both peers refused', (l) => l.badCredentials >= 2);
    // The peers say so: the call ends after --ice-timeout, naming the refusal and what to do.
    const warning = await answerer.waitFor('warning', 10_000, (e) => e.kind === 'ice-timeout');
    expect(warning.ice).toMatchObject({ local: { relay: 0 }, stun: 'none', turn: 'refused' });
    expect(String(warning.message)).toMatch(
      /TURN refused our credentials\): check --turn-user and --turn-pass/,
    );
    expect(await answerer.waitFor('call-ended', 5000)).toMatchObject({ reason: 'ice-timeout' });
    caller.child.kill('SIGINT');
    answerer.child.kill('SIGINT');
    expect((await caller.exited).code).toBe(0);
    expect((await answerer.exited).code).toBe(0);
    await turn.stop();
    // Its log is complete now: no allocation ever succeeded, so relay-only ICE had no candidate to pair,
    // and neither peer ever connected (their output is complete too).
    expect(turn.read().allocated).toEqual([]);
    for (const peer of [caller, answerer])
      expect(peer.events.filter((e) => e.event === 'first-frame' || e.event === 'connected')).toEqual([]);
  }, 40_000);

  test('relay only with the TURN server the signaling server hands out (coturn use-auth-secret), no TURN flags: relayed and recorded', async () => {
    turn = await startTurnServer({ useAuthSecret: true });
    const secretFile = path.join(dir, 'turn-secret');
    writeFileSync(secretFile, `${turn.secret}\n`);
    const { url } = await startSignalCli(['--turn-url', turn.url, '--turn-secret-file', secretFile]);
    const relay = ['--stun', 'none', '--ice-transport-policy', 'relay'];
    const file = path.join(dir, 'relayed.webm');
    const answerer = startCli([
      'answer',
      '--signal',
      url,
      '--room',
      's',
      '--record',
      file,
      '--once',
      ...relay,
    ]);
    await answerer.waitFor('joined');
    const from = Date.now();
    const caller = startCli(['call', '--signal', url, '--room', 's', '--duration', '3', '--once', ...relay]);
    await answerer.waitFor('first-frame', 10_000);
    const relayed = (e: CliEvent): boolean => e.route === 'relay';
    await answerer.waitFor('stats', 5_000, relayed);
    await caller.waitFor('stats', 5_000, relayed);
    expect((await caller.exited).code).toBe(0);
    expect((await answerer.exited).code).toBe(0);
    const ended = answerer.events.find((e) => e.event === 'call-ended');
    await expectPatternRecording(file, {
      durationSec: 3,
      sentBetween: { from, to: Date.now() },
      receiver: ended,
    });

    // coturn's side: it relayed the media for sessions whose users are TURN REST usernames, <expiry>:<label>,
    // expiring a day (the default TTL) after their join, and refused nothing.
    const log = await waitForTurn(
      turn,
      'the end of every session the call used',
      (l) => l.permitted.length >= 2 && l.permitted.every((session) => l.peerBytes.has(session)),
    );
    expect(log.badCredentials).toBe(0);
    expect(log.noCredentials).toEqual([]);
    const users = [
      ...turn.log().matchAll(/user <([^>]*)>: incoming packet ALLOCATE processed, success/g),
    ].map((m) => m[1] ?? '');
    const labels = new Set(users.map((u) => u.split(':')[1]));
    expect(labels.size, users.join(' ')).toBeGreaterThanOrEqual(2); // the caller's and the answerer's
    for (const user of users) {
      expect(user).toMatch(/^\d+:[A-Za-z0-9_-]+$/);
      const expiresIn = Number(user.split(':')[0]) - from / 1000;
      expect(expiresIn).toBeGreaterThan(86_400 - 60);
      expect(expiresIn).toBeLessThan(86_400 + 1);
    }
    const received = reportedBytes(answerer.events.filter((e) => e.event === 'stats'));
    expect(received).toBeGreaterThan(50_000);
    const relayedBytes = [...log.peerBytes.values()].reduce((sum, b) => sum + b.sent, 0);
    expect(relayedBytes).toBeGreaterThan(received);
  }, 40_000);

  test('credentials past their --turn-ttl: coturn refuses them, and the relay-only call does not connect, saying why', async () => {
    turn = await startTurnServer({ useAuthSecret: true });
    const secretFile = path.join(dir, 'turn-secret');
    writeFileSync(secretFile, `${turn.secret}\n`);
    const { url } = await startSignalCli([
      ...['--turn-url', turn.url, '--turn-secret-file', secretFile, '--turn-ttl', '1s'],
    ]);
    const relay = ['--stun', 'none', '--ice-transport-policy', 'relay', '--ice-timeout', '3'];
    // The answerer joins (credentials valid one second) and gathers only when the caller's offer comes: by
    // then they have expired. coturn compares the expiry with its clock in whole seconds: 2.5 s is past it.
    const answerer = startCli(['answer', '--signal', url, '--room', 'x', '--once', ...relay]);
    const joinedAt = Date.now();
    await answerer.waitFor('joined');
    await new Promise((r) => setTimeout(r, 2500 - (Date.now() - joinedAt)));
    const caller = startCli(['call', '--signal', url, '--room', 'x', ...relay]);
    await answerer.waitFor('answer-sent', 10_000);
    // coturn says why: no key for the answerer's username, its timestamp past.
    const refused = await waitForTurn(
      turn,
      'the expired credentials refused',
      (l) => l.noCredentials.length >= 1,
    );
    const expiredUser = refused.noCredentials[0] ?? '';
    expect(Number(expiredUser.split(':')[0]) * 1000).toBeLessThan(Date.now());
    // The answerer says so: the call ends after --ice-timeout, with no relay of its own, naming the cause.
    const warning = await answerer.waitFor('warning', 10_000, (e) => e.kind === 'ice-timeout');
    expect(warning.ice).toMatchObject({ local: { relay: 0 }, turn: 'refused', turnFromServer: true });
    expect(String(warning.message)).toMatch(
      /the TURN credentials the signaling server gave were refused: expired/,
    );
    expect(await answerer.waitFor('call-ended', 5000)).toMatchObject({ reason: 'ice-timeout' });
    caller.child.kill('SIGINT');
    answerer.child.kill('SIGINT');
    expect((await caller.exited).code).toBe(0);
    expect((await answerer.exited).code).toBe(0);
    await turn.stop();
    // Complete logs now: every refused username is the answerer's expired one (the caller's, fresh, were
    // accepted: it allocated), nothing was refused for a wrong HMAC, and neither peer ever connected.
    const log = turn.read();
    expect(new Set(log.noCredentials)).toEqual(new Set([expiredUser]));
    expect(log.badCredentials).toBe(0);
    expect(log.allocated.length).toBeGreaterThanOrEqual(1);
    expect(log.permitted).toEqual([]);
    for (const peer of [caller, answerer])
      expect(peer.events.filter((e) => e.event === 'first-frame' || e.event === 'connected')).toEqual([]);
  }, 40_000);
});
