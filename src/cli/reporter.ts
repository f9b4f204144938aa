import type { CallStats } from '../peer/call-stats.js';
import type { CallSummary } from '../peer/types.js';
import { toDbfs } from '../peer/audio-level.js';
import type { LatencyPercentiles } from '../peer/latency.js';
import type { Peer } from '../peer/peer.js';
import type { PeerSummary } from '../peer/types.js';
import { errorFields, errorText, hintFor } from './hints.js';

/** Options of a {@link Reporter}. */
export interface ReporterOptions {
  /** JSON event lines instead of the human status line. Default: when stdout is not a terminal. */
  json?: boolean;
  /** Where event lines and the summary go. Default `process.stdout`. */
  out?: NodeJS.WriteStream;
  /** Where the human status line and notices go. Default `process.stderr`. */
  err?: NodeJS.WriteStream;
}

/**
 * What the user sees while a call runs. On a terminal: one live status line (state, elapsed, fps, bitrate,
 * RTT, loss, resolution, audio packets, level and loss, frames recorded) and a summary at the end. With `--json` or when stdout is not a
 * terminal: one JSON object per line (`{"event":"connected","t":1.23,...}`), `t` in seconds since start.
 */
export class Reporter {
  readonly json: boolean;
  readonly #out: NodeJS.WriteStream;
  readonly #err: NodeJS.WriteStream;
  readonly #t0 = performance.now();
  #state = 'starting';
  #statusShown = false;
  #callStartedAt = 0;

  constructor(options: ReporterOptions = {}) {
    this.#out = options.out ?? process.stdout;
    this.#err = options.err ?? process.stderr;
    this.json = options.json ?? !this.#out.isTTY;
  }

  /** Reports the events of `peer`. */
  attach(peer: Peer): void {
    peer.on('media-started', (source) => this.event('media-started', { source }, `sending ${source}`));
    peer.on('joined', (room, role, peerPresent) =>
      this.event('joined', { room, role, peerPresent }, `joined room "${room}" as ${role}`),
    );
    peer.on('waiting', (what) => {
      this.#state = `waiting for ${what}`;
      this.event('waiting', { for: what });
    });
    peer.on('offer-sent', (call) =>
      this.event('offer-sent', { call }, `call ${call}: offer sent, held by the server`),
    );
    peer.on('offer-received', (call) => {
      this.#callStartedAt = performance.now();
      this.event('offer-received', { call }, `call ${call}: offer received`);
    });
    peer.on('answer-sent', (call) => this.event('answer-sent', { call }));
    peer.on('answer-received', (call) =>
      this.event('answer-received', { call }, `call ${call}: answer received`),
    );
    peer.on('connected', (call, ms) => {
      this.#state = 'connected';
      this.#callStartedAt = performance.now();
      this.event('connected', { call, ms: round(ms) }, `call ${call}: connected in ${Math.round(ms)} ms`);
    });
    peer.on('first-frame', (call, width, height, ms) =>
      this.event(
        'first-frame',
        { call, width, height, ms: round(ms) },
        `call ${call}: first frame ${width}x${height} after ${Math.round(ms)} ms`,
      ),
    );
    peer.on('first-audio', (call, sampleRate, channels, ms) =>
      this.event(
        'first-audio',
        { call, sampleRate, channels, ms: round(ms) },
        `call ${call}: first sound after ${Math.round(ms)} ms`,
      ),
    );
    peer.on('recording', (call, path) =>
      this.event('recording', { call, path }, `call ${call}: recording to ${path}`),
    );
    peer.on('stats', (call, stats, recorded, latency) => this.#stats(call, stats, recorded, latency));
    peer.on('call-ended', (summary) => this.#callEnded(summary));
    peer.on('signal-lost', (reason) =>
      this.event(
        'signal-lost',
        { reason },
        `lost the signaling server (${reason}); media continues, reconnecting`,
      ),
    );
    peer.on('signal-rejoined', () => this.event('signal-rejoined', {}, 'back on the signaling server'));
    peer.on('warning', (message) => this.event('warning', { message }, `warning: ${message}`));
  }

  /** One event: a JSON line, or (on a terminal) a human line when `human` is given. */
  event(name: string, fields: Record<string, unknown>, human?: string): void {
    if (this.json) {
      this.#out.write(
        `${JSON.stringify({ event: name, t: round((performance.now() - this.#t0) / 1000), ...fields })}\n`,
      );
    } else if (human !== undefined) {
      this.#clearStatus();
      this.#err.write(`${human}\n`);
    }
  }

  /** The end-of-run summary. */
  summary(summary: PeerSummary): void {
    this.#clearStatus();
    if (this.json) {
      this.event('summary', { ...summary });
      return;
    }
    const lines = [`${summary.role}: ${summary.calls.length} call(s)`];
    if (summary.framesCaptured > 0) {
      lines.push(
        `  frames captured ${summary.framesCaptured} (dropped before sending ${summary.framesDroppedAtCapture})`,
      );
    }
    if (summary.audioCaptured) {
      const a = summary.audioCaptured;
      lines.push(
        `  sound sent ${(a.chunksSent / 100).toFixed(1)} s (${a.chunksDropped} chunks dropped, ${a.underruns} underruns)`,
      );
    }
    for (const c of summary.calls) {
      lines.push(
        `  call ${c.index}: ${c.reason}, ${c.durationSec.toFixed(1)} s, sent ${c.framesSent} frames, ` +
          `received ${c.framesReceived}` +
          (c.firstFrameMs !== undefined ? `, first frame after ${Math.round(c.firstFrameMs)} ms` : ''),
      );
      if (c.audio) {
        const a = c.audio;
        const sound: string[] = [];
        if (a.packetsSent > 0) sound.push(`sent ${a.packetsSent} packets`);
        if (a.packetsReceived > 0 || a.chunksReceived > 0) {
          sound.push(
            `received ${a.packetsReceived} (lost ${a.packetsLost}), ${(a.chunksReceived / 100).toFixed(1)} s decoded`,
          );
        }
        if (sound.length > 0) lines.push(`    sound: ${sound.join(', ')}`);
      }
      if (c.latency) {
        const l = c.latency;
        lines.push(`    latency p50 ${l.p50} ms, p95 ${l.p95} ms, p99 ${l.p99} ms (${l.count} frames)`);
      }
      if (c.recording) {
        const r = c.recording;
        lines.push(
          `    recorded ${r.frames} frames, ${r.durationSec.toFixed(1)} s, ${r.width}x${r.height} -> ${r.path}` +
            (r.dropped > 0 ? ` (${r.dropped} dropped)` : '') +
            (r.audio ? `, Opus ${r.audio.durationSec.toFixed(1)} s` : ''),
        );
      }
    }
    this.#out.write(`${lines.join('\n')}\n`);
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

  #stats(call: number, s: CallStats, recorded: number | undefined, latency?: LatencyPercentiles): void {
    if (this.json) {
      this.event('stats', {
        call,
        fpsSent: round(s.fpsSent),
        fpsReceived: round(s.fpsReceived),
        kbpsSent: round(s.kbpsSent),
        kbpsReceived: round(s.kbpsReceived),
        rttMs: s.rttMs === undefined ? null : round(s.rttMs),
        route: s.route ?? null,
        lossPercent: round(s.lossPercent),
        sendResolution: s.sendResolution ?? null,
        receiveResolution: s.receiveResolution ?? null,
        jitterBufferMs: s.jitterBufferMs === undefined ? null : round(s.jitterBufferMs),
        framesRecorded: recorded ?? null,
        ...(latency ? { latencyMs: latency } : {}),
        ...(s.audio
          ? {
              audio: {
                packetsSent: s.audio.packetsSent,
                packetsReceived: s.audio.packetsReceived,
                packetsLost: s.audio.packetsLost,
                lossPercent: round(s.audio.lossPercent),
                levelSent: s.audio.levelSent === undefined ? null : round(s.audio.levelSent),
                levelReceived: s.audio.levelReceived === undefined ? null : round(s.audio.levelReceived),
              },
            }
          : {}),
      });
      return;
    }
    const elapsed = this.#callStartedAt > 0 ? (performance.now() - this.#callStartedAt) / 1000 : 0;
    const parts = [`${this.#state} ${formatElapsed(elapsed)}`];
    if (s.sendResolution)
      parts.push(`send ${s.sendResolution} ${s.fpsSent.toFixed(0)} fps ${s.kbpsSent.toFixed(0)} kb/s`);
    if (s.receiveResolution) {
      parts.push(
        `recv ${s.receiveResolution} ${s.fpsReceived.toFixed(0)} fps ${s.kbpsReceived.toFixed(0)} kb/s`,
      );
    }
    parts.push(
      `rtt ${s.rttMs === undefined ? '-' : `${s.rttMs.toFixed(0)} ms`}${s.route ? ` via ${s.route}` : ''}`,
      `loss ${s.lossPercent.toFixed(1)}%`,
    );
    if (s.audio) {
      const a = s.audio;
      // Only the directions in use: a receive-only peer shows what it hears, a sender what it sends.
      const sound: string[] = [];
      if (a.levelSent !== undefined) sound.push(`sound out ${a.packetsSent} pk peak ${toDbfs(a.levelSent)}`);
      if (a.levelReceived !== undefined || a.packetsReceived > 0) {
        const peak = a.levelReceived === undefined ? '' : ` peak ${toDbfs(a.levelReceived)}`;
        sound.push(`sound in ${a.packetsReceived} pk${peak} loss ${a.lossPercent.toFixed(1)}%`);
      }
      if (sound.length > 0) parts.push(sound.join(' | '));
    }
    if (recorded !== undefined) parts.push(`recorded ${recorded}`);
    if (latency) parts.push(`latency p50 ${latency.p50} ms p95 ${latency.p95} ms`);
    this.#err.write(`\r\x1b[K${parts.join(' | ')}`);
    this.#statusShown = true;
  }

  #callEnded(c: CallSummary): void {
    this.#state = 'ended';
    this.event(
      'call-ended',
      {
        call: c.index,
        reason: c.reason,
        durationSec: round(c.durationSec),
        framesReceived: c.framesReceived,
        framesSent: c.framesSent,
        recording: c.recording ?? null,
        latencyMs: c.latency ?? null,
        audio: c.audio ?? null,
      },
      `call ${c.index}: ended (${c.reason}) after ${c.durationSec.toFixed(1)} s` +
        (c.recording ? `; recording finalized: ${c.recording.path} (${c.recording.frames} frames)` : ''),
    );
  }

  #clearStatus(): void {
    if (this.#statusShown) {
      this.#err.write('\r\x1b[K');
      this.#statusShown = false;
    }
  }
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}

function formatElapsed(sec: number): string {
  const m = Math.floor(sec / 60);
  const s = Math.floor(sec % 60);
  return `${m}:${String(s).padStart(2, '0')}`;
}
