/**
 * What the user sees while `rtc-peer` runs: the events of one or more peers, a live status line, the
 * summaries and the errors — as words on a terminal, or as JSON event lines. The words are in `wording.ts`.
 */
import type { LatencyPercentiles, Peer, PeerEvents, PeerSummary } from '../peer/index.js';
import { errorFields, errorText, hintFor } from './hints.js';
import {
  callEndedFields,
  callEndedText,
  mediaFields,
  mediaText,
  multiStatusLine,
  peerSummaryLines,
  round,
  statsFields,
  statusLine,
  warningFields,
  warningText,
  type CallFigures,
} from './wording.js';

/** Options of a {@link Reporter}. */
export interface ReporterOptions {
  /** JSON event lines instead of words and the live status line. Default: when stdout is not a terminal. */
  json?: boolean;
  /** Where event lines and summaries go. Default `process.stdout`. */
  out?: NodeJS.WriteStream;
  /** Where the words, the status line and errors go. Default `process.stderr`. */
  err?: NodeJS.WriteStream;
  /**
   * Stdout carries the data messages received (`--data`): in words mode (the default then, whatever stdout
   * is), each message raw on its line and nothing else on stdout (the summary goes to stderr too). Default
   * false.
   */
  dataOut?: boolean;
}

/**
 * Received data messages waiting in stdout's buffer (a reader that does not keep up, where stdout is
 * asynchronous) above which the next ones are dropped and counted rather than kept.
 */
const MAX_DATA_BACKLOG_BYTES = 4 * 1024 * 1024;

/** Options of {@link Reporter.attach}. */
export interface AttachOptions {
  /**
   * The peer's name, for a run of several peers (the demo): the prefix of its lines (`caller: ...`) and the
   * `peer` field of its events. Default: none.
   */
  name?: string;
  /**
   * Which events to report: all of them, with the live status line (`full`, the default), or the
   * milestones only (`milestones`: what is sent, connected, first frame, warnings).
   */
  detail?: 'full' | 'milestones';
}

/** The events of a peer reported with `detail: 'milestones'`. */
const MILESTONES: ReadonlySet<keyof PeerEvents> = new Set([
  'media-started',
  'ice-restart',
  'connected',
  'first-frame',
  'send-size',
  'warning',
] as const);

/**
 * Reports peers' events. On a terminal: a line per event on stderr, one live status line (state, elapsed,
 * fps, bitrate, RTT, loss, resolution, sound, frames recorded) rewritten every second (when stderr is a
 * terminal), a summary at the end on stdout. With `--json` or when stdout is not a terminal: one JSON object
 * per line on stdout (`{"event":"connected","t":1.23,...}`, `t` in seconds since start). With `--data`
 * (`dataOut`), stdout is the data messages': words unless `--json`, whatever stdout is, each message received
 * raw on its line and everything else (the summary too) on stderr.
 */
export class Reporter {
  readonly json: boolean;
  readonly #out: NodeJS.WriteStream;
  readonly #err: NodeJS.WriteStream;
  readonly #t0 = performance.now();
  readonly #dataOut: boolean;
  #statusShown = false;
  /** Received data messages dropped because stdout was not read (see {@link MAX_DATA_BACKLOG_BYTES}). */
  dataDropped = 0;

  constructor(options: ReporterOptions = {}) {
    this.#out = options.out ?? process.stdout;
    this.#err = options.err ?? process.stderr;
    this.#dataOut = options.dataOut ?? false;
    this.json = options.json ?? (this.#dataOut ? false : !this.#out.isTTY);
  }

  /**
   * A data message received: a `data` event (`from`: the peer's id), or the message alone on its line.
   */
  data(text: string, call: number, from: string): void {
    if (this.#out.writableLength > MAX_DATA_BACKLOG_BYTES) {
      if (this.dataDropped++ === 0)
        this.#err.write(
          'warning: stdout is not read fast enough: received data messages are dropped (counted)\n',
        );
      return;
    }
    if (this.json) this.event('data', { call, from, text });
    else this.#out.write(`${text}\n`);
  }

  /** Reports the events of `peer`. */
  attach(peer: Peer, options: AttachOptions = {}): void {
    const { name } = options;
    const only = options.detail === 'milestones' ? MILESTONES : undefined;
    const tag = name === undefined ? {} : { peer: name };
    const on = <K extends keyof PeerEvents>(event: K, listener: (...args: PeerEvents[K]) => void): void => {
      if (!only || only.has(event)) peer.on(event, listener);
    };
    const say = (event: string, fields: Record<string, unknown>, words?: string): void =>
      this.event(
        event,
        { ...tag, ...fields },
        words === undefined || name === undefined ? words : `${name}: ${words}`,
      );
    // The status line's state, and when the call it counts began; each call's latest figures.
    let state = 'starting';
    let callStartedAt = 0;
    let role: 'caller' | 'answerer' = 'caller';
    // WHIP/WHEP: the calls are sessions with a server, said by `session` (a room's `call` names a member).
    let http = false;
    const figures = new Map<number, CallFigures & { latency?: LatencyPercentiles }>();

    on('media-started', (media) => say('media-started', mediaFields(media), `sending ${mediaText(media)}`));
    on('joined', (room, joinedAs, peerPresent, id) => {
      role = joinedAs;
      say(
        'joined',
        { room, role: joinedAs, peerPresent, id },
        `joined room "${room}" as ${joinedAs} (id ${id})`,
      );
    });
    on('session', (call, protocol, url, session) => {
      role = protocol === 'WHIP' ? 'caller' : 'answerer';
      http = true;
      say(
        'session',
        { call, protocol, url, session },
        `call ${call}: ${protocol === 'WHIP' ? 'publishing to' : 'watching'} ${url} over ${protocol} (session ${session})`,
      );
    });
    on('waiting', (what) => {
      state = `waiting for ${what === 'answerer' ? 'an answerer' : 'a call'}`;
      say('waiting', { for: what });
    });
    on('call', (call, remote) =>
      say(
        'call',
        { call, remote },
        http
          ? undefined
          : role === 'caller'
            ? `call ${call}: viewer ${remote} joined`
            : `call ${call}: from caller ${remote}`,
      ),
    );
    on('ice-restart', (call, reason) =>
      say('ice-restart', { call, reason }, `call ${call}: ICE restart (${reason}); the call goes on`),
    );
    on('offer-sent', (call, held) =>
      say(
        'offer-sent',
        { call, held },
        `call ${call}: offer sent${held ? ', held by the server for the next viewer' : ''}`,
      ),
    );
    on('offer-received', (call) => {
      callStartedAt = performance.now();
      say('offer-received', { call }, `call ${call}: offer received`);
    });
    on('answer-sent', (call) => say('answer-sent', { call }));
    on('answer-received', (call) => say('answer-received', { call }, `call ${call}: answer received`));
    on('connected', (call, ms) => {
      state = 'connected';
      callStartedAt = performance.now();
      say('connected', { call, ms: round(ms) }, `call ${call}: connected in ${Math.round(ms)} ms`);
    });
    on('first-frame', (call, width, height, ms) =>
      say(
        'first-frame',
        { call, width, height, ms: round(ms) },
        `call ${call}: first frame ${width}x${height} after ${Math.round(ms)} ms`,
      ),
    );
    on('send-size', (call, width, height, kbps) =>
      say(
        'send-size',
        { call, width, height, kbps: round(kbps) },
        `call ${call}: sending ${width}x${height} (the link's estimate: ${Math.round(kbps)} kbit/s)`,
      ),
    );
    on('first-audio', (call, sampleRate, channels, ms) =>
      say(
        'first-audio',
        { call, sampleRate, channels, ms: round(ms) },
        `call ${call}: first sound after ${Math.round(ms)} ms`,
      ),
    );
    on('recording', (call, path) => say('recording', { call, path }, `call ${call}: recording to ${path}`));
    on('segment', (call, file) =>
      say(
        'segment',
        { call, ...file },
        `call ${call}: segment ${file.path} finished (${file.frames} frames, ${file.durationSec.toFixed(2)} s)`,
      ),
    );
    on('segments-deleted', (call, paths) =>
      say('segments-deleted', { call, paths }, `call ${call}: retention deleted ${paths.join(', ')}`),
    );
    on('stats', (call, stats, recorded, latency, remote, latencyInterval) => {
      if (this.json) {
        say('stats', statsFields(call, stats, recorded, latency, remote, latencyInterval));
        return;
      }
      figures.set(call, { call, remote, stats, recorded, latency });
      const elapsed = callStartedAt > 0 ? (performance.now() - callStartedAt) / 1000 : 0;
      const all = [...figures.values()];
      const line =
        all.length > 1
          ? multiStatusLine(state, elapsed, role, all)
          : statusLine(
              state,
              elapsed,
              stats,
              recorded,
              latency,
              role === 'caller' && !http ? remote : undefined,
            );
      // On a terminal only: in a log, it would be a line a second.
      if (!this.#err.isTTY) return;
      this.#err.write(`\r\x1b[K${line}`);
      this.#statusShown = true;
    });
    on('call-ended', (summary) => {
      figures.delete(summary.index);
      state = figures.size > 0 ? state : 'ended';
      say('call-ended', callEndedFields(summary), callEndedText(summary));
    });
    on('signal-lost', (reason) =>
      say('signal-lost', { reason }, `lost the signaling server (${reason}); media continues, reconnecting`),
    );
    on('signal-rejoined', () => say('signal-rejoined', {}, 'back on the signaling server'));
    on('data-open', (call, remote) => say('data-open', { call, remote }, `call ${call}: data channel open`));
    on('data', (text, call, from) => this.data(text, call, from));
    on('warning', (warning) => say('warning', warningFields(warning), `warning: ${warningText(warning)}`));
  }

  /** One event: a JSON line, or (on a terminal) a line of words when `words` is given. */
  event(name: string, fields: Record<string, unknown>, words?: string): void {
    if (this.json) {
      this.#out.write(
        `${JSON.stringify({ event: name, t: round((performance.now() - this.#t0) / 1000), ...fields })}\n`,
      );
    } else if (words !== undefined) {
      this.#clearStatus();
      this.#err.write(`${words}\n`);
    }
  }

  /**
   * An event that a log must show whatever the output mode (the supervisor's restarts, which journald or a
   * terminal keeps): its JSON line with `--json`, and its words on stderr in either mode.
   */
  announce(name: string, fields: Record<string, unknown>, words: string): void {
    this.event(name, fields, words);
    if (this.json) this.#err.write(`${words}\n`);
  }

  /** A summary at the end of a run: a JSON `summary` event, or its lines on stdout. */
  summary(fields: Record<string, unknown>, lines: string[]): void {
    this.#clearStatus();
    if (this.json) this.event('summary', fields);
    else (this.#dataOut ? this.#err : this.#out).write(`${lines.join('\n')}\n`);
  }

  /** A peer's summary at the end of its run. */
  peerSummary(summary: PeerSummary): void {
    this.summary({ ...summary }, peerSummaryLines(summary));
  }

  /** An error that ends the run: its message and hint on stderr; with JSON, an `error` event too. */
  error(error: unknown, exitCode: number): void {
    this.#clearStatus();
    const message = error instanceof Error ? error.message : String(error);
    const hint = hintFor(error);
    if (this.json)
      this.event('error', { message, exitCode, ...errorFields(error), ...(hint ? { hint } : {}) });
    this.#err.write(errorText(error));
  }

  #clearStatus(): void {
    if (this.#statusShown) {
      this.#err.write('\r\x1b[K');
      this.#statusShown = false;
    }
  }
}
