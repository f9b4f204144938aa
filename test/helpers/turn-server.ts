/**
 * A real TURN server for the relay tests: Debian's coturn (`turnserver`, test/system/packages.ts;
 * `RTC_PEER_TURNSERVER` points elsewhere), on loopback and a free port, with one long-term credential. A
 * missing binary fails the test with what to install.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { systemCommand } from '../system/find-command.js';
import { freePort } from './ports.js';

/** A running coturn. */
export interface TurnServer {
  url: string;
  user: string;
  pass: string;
  stop(): Promise<void>;
}

/** Starts coturn on 127.0.0.1 and resolves once it listens. */
export async function startTurnServer(): Promise<TurnServer> {
  const turnserver = systemCommand('turnserver');
  const port = await freePort();
  const user = 'rtc-peer';
  const pass = 'test-secret';
  const child: ChildProcess = spawn(
    turnserver,
    [
      ...['-n', '--listening-ip=127.0.0.1', `--listening-port=${port}`, '--relay-ip=127.0.0.1'],
      ...['--lt-cred-mech', `--user=${user}:${pass}`, '--realm=rtc-peer.test', '--fingerprint'],
      // Loopback peers are refused by default (an open relay into localhost is a risk); this one is ours.
      ...['--allow-loopback-peers', '--no-tls', '--no-dtls', '--no-cli', '--log-file=stdout', '--simple-log'],
    ],
    // stdin: unused; stdout: its log, read for readiness; stderr: ignored
    { stdio: ['ignore', 'pipe', 'ignore'] },
  );
  let log = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`turnserver did not start in 5 s:\n${log}`)), 5000);
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => {
      log += chunk;
      if (/listener opened on|Total (UDP|General) servers/i.test(log)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`turnserver exited with ${code}:\n${log}`));
    });
  });
  return {
    url: `turn:127.0.0.1:${port}?transport=udp`,
    user,
    pass,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
