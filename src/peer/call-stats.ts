/**
 * Live call figures from `RTCPeerConnection.getStats()`. Pure: give it the report entries and the previous
 * sample, get rates back.
 */

/** One sample of what a user watches during a call. Rates are over the time since the previous sample. */
export interface CallStats {
  /** `performance.now()`-style milliseconds when the sample was taken. */
  atMs: number;
  /** Video frames per second sent (encoded and sent by us). */
  fpsSent: number;
  /** Video frames per second received and decoded. */
  fpsReceived: number;
  /** Outgoing media bitrate, kbit/s. */
  kbpsSent: number;
  /** Incoming media bitrate, kbit/s. */
  kbpsReceived: number;
  /** Round-trip time of the selected ICE candidate pair, ms (undefined until measured). */
  rttMs?: number;
  /**
   * How our side of the selected candidate pair reaches the peer: `host` (direct), `srflx` (through NAT, found
   * by STUN), `prflx` (learned from the peer's checks) or `relay` (through TURN). Undefined until selected.
   */
  route?: string;
  /**
   * What the congestion controller lets us send on the selected candidate pair, kbit/s: its bandwidth
   * estimate (`availableOutgoingBitrate`). Undefined until there is one.
   */
  availableOutgoingKbps?: number;
  /** Packets lost on what we receive, in % since the previous sample. */
  lossPercent: number;
  /** Resolution of what we send, `WxH`, if sending. */
  sendResolution?: string;
  /** Resolution of what we receive, `WxH`, if receiving. */
  receiveResolution?: string;
  /**
   * Average time a received video frame waited in the jitter buffer since the previous sample, ms: the part
   * of the latency the receiver adds on purpose to absorb network jitter (undefined: nothing emitted).
   */
  jitterBufferMs?: number;
  /** Sound, when the call carries an audio track either way. */
  audio?: AudioStats;
  /** Each kind and direction on its own (what the web page's table shows); absent when not carried. */
  streams: {
    videoIn?: StreamFigures;
    videoOut?: StreamFigures;
    audioIn?: StreamFigures;
    audioOut?: StreamFigures;
  };
  /** Totals since the start of the call. */
  totals: StatsTotals;
}

/** One RTP stream's figures (see {@link CallStats.streams}). Rates over the time since the previous sample. */
export interface StreamFigures {
  /** Media bitrate, kbit/s; null on the first sample (no interval yet). */
  kbps: number | null;
  /** Bytes sent or received since the start of the call. */
  bytes: number;
  /** Packets sent or received since the start of the call. */
  packets: number;
  /** Packets lost: for what we receive, counted here; for what we send, as the other side reports (null until it does). */
  packetsLost: number | null;
  /** Video: frames decoded (in) or sent (out) since the start, their rate, and the frame size (0 until known). */
  frames?: number;
  fps?: number;
  width?: number;
  height?: number;
  /** Audio in: the sum of squared levels times duration; rises only while there is sound. */
  totalAudioEnergy?: number;
}

/** The audio part of {@link CallStats}. */
export interface AudioStats {
  /** Audio packets sent and received since the start of the call. */
  packetsSent: number;
  packetsReceived: number;
  /** Audio packets lost on what we receive, since the start of the call. */
  packetsLost: number;
  /** Audio packets lost on what we receive, in % since the previous sample. */
  lossPercent: number;
  /** Peak level of what we send since the previous sample, 0..1 (set by the call from the samples). */
  levelSent?: number;
  /** Peak level of what we receive since the previous sample, 0..1 (set by the call from the samples). */
  levelReceived?: number;
}

/** Monotonic counters the rates are derived from. */
export interface StatsTotals {
  framesSent: number;
  framesDecoded: number;
  bytesSent: number;
  bytesReceived: number;
  packetsReceived: number;
  packetsLost: number;
  /** Bytes received on the transport, RTCP and STUN included: grows while the peer is alive. */
  transportBytesReceived: number;
  audioPacketsSent: number;
  audioPacketsReceived: number;
  audioPacketsLost: number;
  /** Seconds that emitted video frames spent in the jitter buffer, summed, and how many were emitted. */
  jitterBufferDelaySec: number;
  jitterBufferEmitted: number;
}

type StatsEntry = Record<string, unknown> & { type: string };

const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

/**
 * Summarizes a stats report. `previous` (the last sample) turns counters into rates; without it the rates
 * are 0.
 */
export function summarizeStats(entries: Iterable<StatsEntry>, atMs: number, previous?: CallStats): CallStats {
  const totals: StatsTotals = {
    framesSent: 0,
    framesDecoded: 0,
    bytesSent: 0,
    bytesReceived: 0,
    packetsReceived: 0,
    packetsLost: 0,
    transportBytesReceived: 0,
    audioPacketsSent: 0,
    audioPacketsReceived: 0,
    audioPacketsLost: 0,
    jitterBufferDelaySec: 0,
    jitterBufferEmitted: 0,
  };
  let hasAudio = false;
  let rttMs: number | undefined;
  let availableOutgoingKbps: number | undefined;
  let routeCandidateId: string | undefined;
  const candidateTypes = new Map<string, string>();
  const pairs = new Map<string, StatsEntry>();
  const selectedPairIds = new Set<string>();
  let sendResolution: string | undefined;
  let receiveResolution: string | undefined;
  const streams: CallStats['streams'] = {};
  const byKind: Partial<Record<keyof CallStats['streams'], StatsEntry>> = {};
  const remoteLost = new Map<string, number>();
  for (const s of entries) {
    if (s.type === 'inbound-rtp' || s.type === 'outbound-rtp') {
      const key =
        `${s.kind === 'audio' ? 'audio' : 'video'}${s.type === 'inbound-rtp' ? 'In' : 'Out'}` as const;
      byKind[key] = s;
    } else if (s.type === 'remote-inbound-rtp' && typeof s.kind === 'string') {
      remoteLost.set(s.kind, num(s.packetsLost));
    }
    if (s.type === 'outbound-rtp' && s.kind === 'video') {
      totals.framesSent += num(s.framesSent);
      totals.bytesSent += num(s.bytesSent);
      if (num(s.frameWidth) > 0) sendResolution = `${num(s.frameWidth)}x${num(s.frameHeight)}`;
    } else if (s.type === 'outbound-rtp') {
      totals.bytesSent += num(s.bytesSent);
      if (s.kind === 'audio') {
        hasAudio = true;
        totals.audioPacketsSent += num(s.packetsSent);
      }
    } else if (s.type === 'inbound-rtp') {
      totals.bytesReceived += num(s.bytesReceived);
      totals.packetsReceived += num(s.packetsReceived);
      totals.packetsLost += num(s.packetsLost);
      if (s.kind === 'video') {
        totals.framesDecoded += num(s.framesDecoded);
        totals.jitterBufferDelaySec += num(s.jitterBufferDelay);
        totals.jitterBufferEmitted += num(s.jitterBufferEmittedCount);
        if (num(s.frameWidth) > 0) receiveResolution = `${num(s.frameWidth)}x${num(s.frameHeight)}`;
      } else if (s.kind === 'audio') {
        hasAudio = true;
        totals.audioPacketsReceived += num(s.packetsReceived);
        totals.audioPacketsLost += num(s.packetsLost);
      }
    } else if (
      s.type === 'local-candidate' &&
      typeof s.id === 'string' &&
      typeof s.candidateType === 'string'
    ) {
      candidateTypes.set(s.id, s.candidateType);
    } else if (s.type === 'candidate-pair' && typeof s.id === 'string') {
      pairs.set(s.id, s);
    } else if (s.type === 'transport' && typeof s.selectedCandidatePairId === 'string') {
      selectedPairIds.add(s.selectedCandidatePairId);
    }
  }
  // The route is the transport's selected pair. Several pairs can be nominated at once (the one ICE left
  // for a better one stays listed a while): taking any nominated one reported a host candidate on a call
  // that ran on server-reflexive ones. Without transport stats, the nominated pairs.
  const selected = [...pairs.values()].filter((p) =>
    selectedPairIds.size > 0 ? selectedPairIds.has(p.id as string) : p.nominated === true,
  );
  for (const pair of selected) {
    if (typeof pair.localCandidateId === 'string') routeCandidateId = pair.localCandidateId;
    totals.transportBytesReceived += num(pair.bytesReceived);
    if (typeof pair.currentRoundTripTime === 'number') rttMs = pair.currentRoundTripTime * 1000;
    if (typeof pair.availableOutgoingBitrate === 'number' && Number.isFinite(pair.availableOutgoingBitrate))
      availableOutgoingKbps = pair.availableOutgoingBitrate / 1000;
  }
  const dt = previous ? (atMs - previous.atMs) / 1000 : 0;
  const rate = (now: number, before: number | undefined): number =>
    dt > 0 && before !== undefined ? Math.max(0, now - before) / dt : 0;
  for (const key of ['videoIn', 'videoOut', 'audioIn', 'audioOut'] as const) {
    const s = byKind[key];
    if (s === undefined) continue;
    const incoming = key.endsWith('In');
    const bytes = num(incoming ? s.bytesReceived : s.bytesSent);
    const before = previous?.streams[key];
    const figures: StreamFigures = {
      kbps: before === undefined || dt <= 0 ? null : (rate(bytes, before.bytes) * 8) / 1000,
      bytes,
      packets: num(incoming ? s.packetsReceived : s.packetsSent),
      packetsLost: incoming
        ? num(s.packetsLost)
        : (remoteLost.get(key.startsWith('video') ? 'video' : 'audio') ?? null),
    };
    if (key.startsWith('video')) {
      figures.frames = num(incoming ? s.framesDecoded : s.framesSent);
      figures.fps = before?.frames === undefined ? 0 : rate(figures.frames, before.frames);
      figures.width = num(s.frameWidth);
      figures.height = num(s.frameHeight);
    } else if (incoming) figures.totalAudioEnergy = num(s.totalAudioEnergy);
    streams[key] = figures;
  }
  const p = previous?.totals;
  const received = totals.packetsReceived - (p?.packetsReceived ?? 0);
  const lost = totals.packetsLost - (p?.packetsLost ?? 0);
  const audioReceived = totals.audioPacketsReceived - (p?.audioPacketsReceived ?? 0);
  const audioLost = totals.audioPacketsLost - (p?.audioPacketsLost ?? 0);
  const audio: AudioStats | undefined = hasAudio
    ? {
        packetsSent: totals.audioPacketsSent,
        packetsReceived: totals.audioPacketsReceived,
        packetsLost: totals.audioPacketsLost,
        lossPercent:
          previous && audioReceived + audioLost > 0
            ? (100 * Math.max(0, audioLost)) / (audioReceived + audioLost)
            : 0,
      }
    : undefined;
  const emitted = totals.jitterBufferEmitted - (p?.jitterBufferEmitted ?? 0);
  const jitterBufferMs =
    emitted > 0
      ? ((totals.jitterBufferDelaySec - (p?.jitterBufferDelaySec ?? 0)) * 1000) / emitted
      : undefined;
  return {
    atMs,
    fpsSent: rate(totals.framesSent, p?.framesSent),
    fpsReceived: rate(totals.framesDecoded, p?.framesDecoded),
    kbpsSent: (rate(totals.bytesSent, p?.bytesSent) * 8) / 1000,
    kbpsReceived: (rate(totals.bytesReceived, p?.bytesReceived) * 8) / 1000,
    rttMs,
    route: routeCandidateId === undefined ? undefined : candidateTypes.get(routeCandidateId),
    availableOutgoingKbps,
    lossPercent: previous && received + lost > 0 ? (100 * Math.max(0, lost)) / (received + lost) : 0,
    sendResolution,
    receiveResolution,
    jitterBufferMs,
    audio,
    streams,
    totals,
  };
}
