/**
 * How `rtc-peer` words what the library reports as data: what is sent, warnings, the live status line, the
 * end of a call, the summaries — and the fields of the same things as JSON events. Pure: unit-tested.
 */
import { audioSourceLabel, captureSourceLabel } from '../capture/index.js';
import type { DemoSummary } from './demo.js';
import { toDbfs, type CallStats, type CallSummary, type LatencyPercentiles } from '../peer/index.js';
import type {
  CandidateCounts,
  IceReport,
  MediaDescription,
  PeerSummary,
  PeerWarning,
} from '../peer/index.js';

/** Rounds to two decimals, as every figure in an event line. */
export function round(n: number): number {
  return Math.round(n * 100) / 100;
}

/** `m:ss`. */
export function formatElapsed(sec: number): string {
  const m = Math.floor(sec / 60);
  const s = Math.floor(sec % 60);
  return `${m}:${String(s).padStart(2, '0')}`;
}

/** What is sent: `test pattern 640x480@30`, `camera /dev/video0 1280x720@30`, `test tone 48 kHz mono`. */
export function mediaText(media: MediaDescription): string {
  if (media.kind === 'video')
    return `${captureSourceLabel(media.source)} ${media.width}x${media.height}@${media.fps}`;
  const channels = media.channels === 2 ? 'stereo' : media.channels === 1 ? 'mono' : `${media.channels} ch`;
  return `${audioSourceLabel(media.source)} ${media.sampleRate / 1000} kHz ${channels}`;
}

/** The `media-started` event's fields: the description as data, and in words. */
export function mediaFields(media: MediaDescription): Record<string, unknown> {
  return { ...media, description: mediaText(media) };
}

/** A warning in words. */
export function warningText(warning: PeerWarning): string {
  switch (warning.kind) {
    case 'no-audio-track':
      return `file ${warning.path} has no audio track: sending its video only`;
    case 'media-failed':
      return warning.failures.map((f) => `${f.media} source failed: ${f.error.message}`).join('; ');
    case 'recording-failed':
      return `recording ${warning.path}: ${warning.error.message}`;
    case 'recording-paused':
      return warning.message;
    case 'recording-resumed':
      return `recording resumed: space is back, recording to ${warning.path}`;
    case 'negotiation-failed':
      return warning.step === 'apply-answer'
        ? `the answer could not be applied: ${warning.error.message}`
        : `${warning.step} failed: ${warning.error.message}`;
    case 'negotiation':
      return warning.message;
    case 'signal-error':
      return `signaling server: ${warning.code}: ${warning.message}`;
    case 'data-dropped':
      return (
        `${warning.call === null ? 'data held for the first call' : `call ${warning.call}: data`}: ` +
        `${warning.count} message(s) dropped, the oldest (${warning.total} so far): sent faster than the channel carries them`
      );
    case 'no-data-channel':
      return `call ${warning.call}: the caller opened no data channel (run it with --data too)`;
    case 'ice-timeout':
      return iceTimeoutText(warning.call, warning.afterSec, warning.ice);
    case 'viewer-not-served':
      return `viewer ${warning.viewer} joined and waits: this caller serves one viewer (--once), and has it`;
    case 'no-offer':
      return (
        `the room's caller (${warning.caller}) has made us no offer in ${warning.afterSec} s: it may serve ` +
        'one viewer only (call --once) and be busy with another; waiting for it'
      );
  }
}

/**
 * A call that found no network path, in words: what ICE tried on each side and what to do, e.g. `call 1: no
 * network path after 6 s (here: host, srflx; there: host, srflx; STUN answered; no TURN server): both sides
 * may be behind symmetric NATs; add a TURN server (--turn)`.
 */
export function iceTimeoutText(call: number, afterSec: number, ice: IceReport): string {
  const types = (c: CandidateCounts): string =>
    (['host', 'srflx', 'prflx', 'relay'] as const).filter((t) => c[t] > 0).join(', ') || 'none';
  const stun = { answered: 'STUN answered', 'no answer': 'STUN did not answer', none: 'no STUN server' }[
    ice.stun
  ];
  const turn = {
    allocated: 'TURN relay allocated',
    refused: 'TURN refused our credentials',
    'no answer': 'TURN did not answer',
    none: 'no TURN server',
  }[ice.turn];
  const advice =
    ice.turn === 'none'
      ? ice.remote.host + ice.remote.srflx + ice.remote.relay + ice.remote.prflx === 0
        ? 'no candidates came from the other side: check its network and its --stun/--turn'
        : 'both sides may be behind symmetric NATs; add a TURN server (--turn)'
      : ice.turn === 'refused'
        ? ice.turnFromServer === true
          ? 'the TURN credentials the signaling server gave were refused: expired (they last its --turn-ttl ' +
            "from our join), or its --turn-secret-file is not coturn's static-auth-secret, or the clocks differ"
          : 'check --turn-user and --turn-pass'
        : ice.turn === 'no answer'
          ? "check --turn's address and that its port is open from here"
          : 'the relay was not reachable from the other side: check that it can reach the TURN server';
  return (
    `call ${call}: no network path after ${afterSec} s (here: ${types(ice.local)}; there: ` +
    `${types(ice.remote)}; ${stun}; ${turn}): ${advice}`
  );
}

/** The `warning` event's fields: its kind, its words, and what it is about (errors as their messages). */
export function warningFields(warning: PeerWarning): Record<string, unknown> {
  const message = warningText(warning);
  switch (warning.kind) {
    case 'no-audio-track':
      return { kind: warning.kind, message, path: warning.path };
    case 'media-failed':
      return {
        kind: warning.kind,
        message,
        failures: warning.failures.map((f) => ({ media: f.media, error: f.error.message })),
      };
    case 'recording-failed':
    case 'recording-resumed':
      return { kind: warning.kind, message, call: warning.call, path: warning.path };
    case 'recording-paused':
      return {
        kind: warning.kind,
        message,
        call: warning.call,
        path: warning.path,
        freeBytes: warning.freeBytes,
      };
    case 'negotiation-failed':
      return { kind: warning.kind, message, call: warning.call, step: warning.step };
    case 'negotiation':
      return { kind: warning.kind, message };
    case 'signal-error':
      return { kind: warning.kind, message, code: warning.code };
    case 'data-dropped':
      return { kind: warning.kind, message, call: warning.call, count: warning.count, total: warning.total };
    case 'no-data-channel':
      return { kind: warning.kind, message, call: warning.call };
    case 'ice-timeout':
      return {
        kind: warning.kind,
        message,
        call: warning.call,
        afterSec: warning.afterSec,
        ice: warning.ice,
      };
    case 'viewer-not-served':
      return { kind: warning.kind, message, viewer: warning.viewer };
    case 'no-offer':
      return { kind: warning.kind, message, caller: warning.caller, afterSec: warning.afterSec };
  }
}

/** The `stats` event's fields. */
export function statsFields(
  call: number,
  s: CallStats,
  recorded: number | undefined,
  latency?: LatencyPercentiles,
  remote?: string,
  latencyInterval?: LatencyPercentiles,
): Record<string, unknown> {
  return {
    call,
    ...(remote === undefined ? {} : { remote }),
    fpsSent: round(s.fpsSent),
    fpsReceived: round(s.fpsReceived),
    kbpsSent: round(s.kbpsSent),
    kbpsReceived: round(s.kbpsReceived),
    availableOutgoingKbps: s.availableOutgoingKbps === undefined ? null : round(s.availableOutgoingKbps),
    rttMs: s.rttMs === undefined ? null : round(s.rttMs),
    route: s.route ?? null,
    lossPercent: round(s.lossPercent),
    sendResolution: s.sendResolution ?? null,
    receiveResolution: s.receiveResolution ?? null,
    jitterBufferMs: s.jitterBufferMs === undefined ? null : round(s.jitterBufferMs),
    framesRecorded: recorded ?? null,
    ...(latency ? { latencyMs: latency } : {}),
    ...(latencyInterval ? { latencyIntervalMs: latencyInterval } : {}),
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
  };
}

/**
 * The live status line, e.g.
 * `connected 0:03 | recv 640x480 30 fps 1565 kb/s | rtt 1 ms via host | loss 0.0% | sound in 197 pk peak -18 dBFS loss 0.0% | recorded 111`.
 */
export function statusLine(
  state: string,
  elapsedSec: number,
  s: CallStats,
  recorded: number | undefined,
  latency?: LatencyPercentiles,
  viewer?: string,
): string {
  const parts = [`${state} ${formatElapsed(elapsedSec)}`];
  if (viewer !== undefined) parts.push(`viewer ${viewer.slice(0, 6)}`);
  if (s.sendResolution)
    parts.push(`send ${s.sendResolution} ${s.fpsSent.toFixed(0)} fps ${s.kbpsSent.toFixed(0)} kb/s`);
  if (s.receiveResolution)
    parts.push(
      `recv ${s.receiveResolution} ${s.fpsReceived.toFixed(0)} fps ${s.kbpsReceived.toFixed(0)} kb/s`,
    );
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
  return parts.join(' | ');
}

/** One call's live figures, for a status line of several. */
export interface CallFigures {
  call: number;
  /** The other side's member id. */
  remote: string;
  stats: CallStats;
  recorded: number | undefined;
}

/**
 * The live status line of a peer in several calls (a caller serving viewers): each call's peer (its id's
 * first 6 characters) and figures, e.g.
 * `connected 0:12 | 2 viewers | call 1 q3Xa9c: 30 fps 1490 kb/s rtt 1 ms | call 2 Lk2b0Z: 29 fps 1502 kb/s rtt 2 ms`.
 * The figures are what is sent when sending, else what is received.
 */
export function multiStatusLine(
  state: string,
  elapsedSec: number,
  role: 'caller' | 'answerer',
  calls: readonly CallFigures[],
): string {
  const who = role === 'caller' ? 'viewer' : 'call';
  const parts = [
    `${state} ${formatElapsed(elapsedSec)}`,
    `${calls.length} ${who}${calls.length === 1 ? '' : 's'}`,
  ];
  for (const c of calls) {
    const s = c.stats;
    const sending = s.sendResolution !== undefined;
    const fps = sending ? s.fpsSent : s.fpsReceived;
    const kbps = sending ? s.kbpsSent : s.kbpsReceived;
    const rtt = s.rttMs === undefined ? '-' : `${s.rttMs.toFixed(0)} ms`;
    const recorded = c.recorded === undefined ? '' : ` rec ${c.recorded}`;
    parts.push(
      `call ${c.call} ${c.remote.slice(0, 6)}: ${fps.toFixed(0)} fps ${kbps.toFixed(0)} kb/s rtt ${rtt}${recorded}`,
    );
  }
  return parts.join(' | ');
}

/** The `call-ended` event's fields. */
export function callEndedFields(c: CallSummary): Record<string, unknown> {
  return {
    call: c.index,
    ...(c.peer === undefined ? {} : { remote: c.peer }),
    reason: c.reason,
    durationSec: round(c.durationSec),
    framesReceived: c.framesReceived,
    framesSent: c.framesSent,
    recording: c.recording ?? null,
    latencyMs: c.latency ?? null,
    audio: c.audio ?? null,
    ...(c.data ? { data: c.data } : {}),
    ...(c.ice ? { ice: c.ice } : {}),
  };
}

/** The end of a call in words. */
export function callEndedText(c: CallSummary): string {
  return (
    `call ${c.index}: ended (${c.reason}) after ${c.durationSec.toFixed(1)} s` +
    (c.recording
      ? `; recording finalized: ${c.recording.path} (${c.recording.frames} frames` +
        (c.recording.segments === undefined ? ')' : ` in ${c.recording.segments} segments)`)
      : '')
  );
}

/** A peer's end-of-run summary in words, one line each. */
export function peerSummaryLines(summary: PeerSummary): string[] {
  const lines = [`${summary.role}: ${summary.calls.length} call(s)`];
  if (summary.framesCaptured > 0)
    lines.push(
      `  frames captured ${summary.framesCaptured} (dropped before sending ${summary.framesDroppedAtCapture})`,
    );
  if (summary.audioCaptured) {
    const a = summary.audioCaptured;
    lines.push(
      `  sound sent ${(a.chunksSent / 100).toFixed(1)} s (${a.chunksDropped} chunks dropped, ${a.underruns} underruns)`,
    );
  }
  if (summary.data && (summary.data.tooLarge > 0 || summary.data.heldDropped > 0))
    lines.push(
      `  data: ${summary.data.tooLarge} message(s) refused (too large), ` +
        `${summary.data.heldDropped} held for a call that never came (dropped)`,
    );
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
      if (a.packetsReceived > 0 || a.chunksReceived > 0)
        sound.push(
          `received ${a.packetsReceived} (lost ${a.packetsLost}), ${(a.chunksReceived / 100).toFixed(1)} s decoded`,
        );
      if (sound.length > 0) lines.push(`    sound: ${sound.join(', ')}`);
    }
    if (c.data) {
      const d = c.data;
      lines.push(`    data: sent ${d.sent} messages, received ${d.received}, dropped ${d.dropped}`);
    }
    if (c.latency) {
      const l = c.latency;
      lines.push(`    latency p50 ${l.p50} ms, p95 ${l.p95} ms, p99 ${l.p99} ms (${l.count} frames)`);
    }
    if (c.recording) {
      const r = c.recording;
      lines.push(
        `    recorded ${r.frames} frames, ${r.durationSec.toFixed(1)} s, ${r.width}x${r.height} -> ${r.path}` +
          (r.segments === undefined ? '' : ` (${r.segments} segments)`) +
          (r.dropped > 0 ? ` (${r.dropped} dropped)` : '') +
          (r.audio ? `, Opus ${r.audio.durationSec.toFixed(1)} s` : ''),
      );
    }
  }
  return lines;
}

/** The demo's summary: its figures (the `summary` event's fields) and the same in words. */
export function demoSummary(result: DemoSummary): { fields: Record<string, unknown>; lines: string[] } {
  const call = result.answerer.calls[0];
  const rec = result.answerer.recordings[0];
  const fields = {
    framesCaptured: result.caller.framesCaptured,
    framesSent: result.caller.calls[0]?.framesSent ?? 0,
    framesReceived: call?.framesReceived ?? 0,
    framesRecorded: rec?.frames ?? 0,
    firstFrameMs: call?.firstFrameMs === undefined ? null : Math.round(call.firstFrameMs),
    recording: rec?.path ?? null,
    durationSec: rec ? round(rec.durationSec) : null,
    resolution: rec ? `${rec.width}x${rec.height}` : null,
  };
  const lines = [
    'demo summary',
    `  frames captured  ${fields.framesCaptured}`,
    `  frames sent      ${fields.framesSent}`,
    `  frames received  ${fields.framesReceived}`,
    `  frames recorded  ${fields.framesRecorded}`,
    `  first frame      ${fields.firstFrameMs ?? '-'} ms after the answerer got the offer`,
    `  recording        ${fields.recording ?? '-'} (${fields.resolution ?? '-'}, ${fields.durationSec ?? '-'} s)`,
  ];
  return { fields, lines };
}
