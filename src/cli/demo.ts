import path from 'node:path';
import { Peer, type PeerSummary } from '../peer/index.js';
import { startSignalServer } from '../signal/index.js';
import { withDefaults } from '../util/defaults.js';

/** Defaults of {@link DemoOptions}, in one place. */
export const DEMO_DEFAULTS = { output: 'demo.webm', durationSec: 5 } as const;

/** Options of {@link runDemo}. */
export interface DemoOptions {
  /** Recording written by the demo's answerer; overwritten if it exists. Default `./demo.webm`. */
  output?: string;
  /** Seconds of call. Default 5. */
  durationSec?: number;
  /** ffmpeg binary (`--ffmpeg`). Default: found by `locateFfmpeg`. */
  ffmpegPath?: string;
  /** Called with each peer before it runs, to report its events. */
  onPeer?: (peer: Peer, name: 'caller' | 'answerer') => void;
  /** Called once the signaling server listens. */
  onServer?: (url: string) => void;
}

/** What the demo did. */
export interface DemoSummary {
  url: string;
  caller: PeerSummary;
  answerer: PeerSummary;
}

/**
 * The whole job on one machine with nothing else: a signaling server on a free loopback port, an answerer
 * recording to `output`, a caller sending the test pattern for `durationSec`. No camera, no network (no STUN).
 */
export async function runDemo(options: DemoOptions = {}, abort?: AbortSignal): Promise<DemoSummary> {
  const o = withDefaults(options, DEMO_DEFAULTS);
  const output = path.resolve(o.output);
  const durationSec = o.durationSec;
  // No STUN: everything is on loopback.
  const rtcConfiguration: RTCConfiguration = { iceServers: [] };
  const server = await startSignalServer({ host: '127.0.0.1', port: 0 });
  try {
    options.onServer?.(server.url);
    const room = 'demo';
    const answerer = new Peer({
      role: 'answerer',
      signalUrl: server.url,
      room,
      rtcConfiguration,
      record: { path: output, force: true },
      once: true,
      ffmpegPath: options.ffmpegPath,
    });
    const caller = new Peer({
      role: 'caller',
      signalUrl: server.url,
      room,
      rtcConfiguration,
      source: { kind: 'test-pattern' },
      audioSource: { kind: 'test-tone' },
      durationSec,
      once: true,
      ffmpegPath: options.ffmpegPath,
    });
    options.onPeer?.(answerer, 'answerer');
    options.onPeer?.(caller, 'caller');
    // The answerer joins first so that the demo also shows the server delivering the offer on arrival.
    // If either side fails, stop the other one too rather than leave it waiting.
    const both = new AbortController();
    const stopBoth = (): void => both.abort();
    abort?.addEventListener('abort', stopBoth, { once: true });
    const settle = <T>(p: Promise<T>): Promise<T> =>
      p.catch((error: unknown) => (stopBoth(), Promise.reject(error)));
    const answered = settle(answerer.run(both.signal));
    const called = settle(caller.run(both.signal));
    const results = await Promise.allSettled([called, answered]);
    abort?.removeEventListener('abort', stopBoth);
    const [callerResult, answererResult] = results;
    if (callerResult.status === 'rejected') throw callerResult.reason;
    if (answererResult.status === 'rejected') throw answererResult.reason;
    const [callerSummary, answererSummary] = [callerResult.value, answererResult.value];
    return { url: server.url, caller: callerSummary, answerer: answererSummary };
  } finally {
    await server.close();
  }
}
