import wrtc from '@roamhq/wrtc';
import type { ReceivedTrack } from '../record/index.js';
import { logger } from '../util/log.js';
import { TypedEmitter } from '../util/typed-emitter.js';
import type { PeakMeter } from './audio-level.js';
import { summarizeStats, type CallStats } from './call-stats.js';
import { DATA_CHANNEL_LABEL, DataLink, type DataLinkOptions } from './data-link.js';
import { SessionDescriptions, type DescribedCandidate } from './descriptions.js';
import type { LatencyMeter } from './latency.js';
import type { NegotiatedCall } from './negotiator.js';
import { ReceiveBridge } from './receive-bridge.js';
import { sizeAt, type SendLadder } from './send-ladder.js';
import { SendResolution, type SendDivisor } from './send-resolution.js';
import type { CallSummary, CandidateCounts, DegradationPreference, EndReason, IceReport } from './types.js';

const log = logger('peer');

/** What {@link Call.close} reports: a {@link CallSummary} without the recording, which is not the call's. */
export type CallReport = Omit<CallSummary, 'recording'>;

/** Options of one {@link Call}: one RTCPeerConnection, from offer to hang-up. */
export interface CallOptions {
  /** Our side of the call. */
  role: 'caller' | 'answerer';
  /** The peer connection's configuration: ICE servers (STUN, TURN) and policy. */
  rtcConfiguration: RTCConfiguration;
  /** Our video track (from an `RTCVideoSource`), if we send video. Not stopped by the call: it outlives it. */
  videoTrack?: MediaStreamTrack;
  /**
   * The sizes of our picture (`send-bridge.ts`), whose full-size track is `videoTrack`: the call sends a
   * smaller one while its link cannot carry the full size (`send-resolution.ts`) when
   * `degradationPreference` is `maintain-framerate`.
   */
  videoLadder?: SendLadder;
  /** The capture's size, for the sizes above. */
  videoSize?: { width: number; height: number };
  /**
   * What gives on a thin link, as `RTCRtpSendParameters.degradationPreference` says it: the size
   * (`maintain-framerate`, as browsers do for a camera) or the frame rate (`maintain-resolution`, and
   * when not given: the full size always, libwebrtc then drops frames).
   */
  degradationPreference?: DegradationPreference;
  /** Our audio track (from an `RTCAudioSource`), if we send sound. Not stopped by the call either. */
  audioTrack?: MediaStreamTrack;
  /** Fed with the samples we send, for the live level. */
  sentLevel?: PeakMeter;
  /** Call number within this process (1, 2, ...), for logs and events. */
  index: number;
  /** Read the sender's clock from the test pattern's barcode in each received frame. Default false. */
  measureLatency?: boolean;
  /**
   * One way only: `sendonly` sends our tracks and asks for nothing back (a WHIP publisher); `recvonly` sends
   * nothing and asks for the other side's video and sound (a WHEP viewer, which makes the offer). Default:
   * both ways (a caller without a track of a kind still asks for the other side's).
   */
  direction?: 'sendonly' | 'recvonly';
  /**
   * A data channel beside the media, with these limits: the caller opens it (before the offer, so that the
   * offer carries it), the answerer takes the one the caller opened. Default: none (an answerer ignores a
   * caller's channel).
   */
  data?: DataLinkOptions;
}

/** Events of a {@link Call}. */
export type CallEvents = {
  /** `RTCPeerConnection.connectionState` changed. */
  state: [state: RTCPeerConnectionState];
  /** ICE connected for the first time. */
  connected: [];
  /** First decoded remote video frame. */
  'first-frame': [width: number, height: number];
  /**
   * First chunk of remote sound (10 ms of decoded PCM, after the sink's start-up silence), with its rate and
   * channel count as received.
   */
  'first-audio': [sampleRate: number, channels: number];
  /**
   * A remote track, with its sink, as the remote description is applied (before any media): subscribe to
   * record it (`Recorder.addTrack`). At most one per kind, however often the call is renegotiated.
   */
  track: [track: ReceivedTrack];
  /** The answerer's call got the caller's data channel (a caller's call has its own from the start: `data`). */
  'data-link': [link: DataLink];
  /** We now send our picture at this size (smaller on a thin link, back up when it widens), and why. */
  'send-size': [width: number, height: number, availableKbps: number];
};

/**
 * One WebRTC call: an RTCPeerConnection with our tracks, and the remote tracks through the receive bridge
 * (`receive-bridge.ts`), announced as `track` events for whoever records them. The negotiation (offer,
 * answer, candidates, ICE restarts: the walk-through's steps 1-4) is the negotiator's (`negotiator.ts`),
 * which only needs `pc`; a later offer or answer on the same connection (an ICE restart) brings no second
 * sink.
 */
export class Call extends TypedEmitter<CallEvents> implements NegotiatedCall {
  /** The peer connection; exposed for stats and tests. */
  readonly pc: RTCPeerConnection;
  readonly index: number;
  /** `performance.now()` when the call was created. */
  readonly startedAt = performance.now();
  /** The last `getStats()` sample. */
  latestStats?: CallStats;

  readonly #options: CallOptions;
  /** The remote tracks, each into one sink. */
  readonly #received: ReceiveBridge;
  /** The remote tracks so far, for a recorder attached after they came. */
  readonly #tracks: ReceivedTrack[] = [];
  #closing?: Promise<CallReport>;
  #connected = false;
  #data: DataLink | undefined;
  /** Error codes our TURN servers answered candidate gathering with (401: wrong credentials). */
  readonly #turnErrors: number[] = [];
  /** Our video's sender, the size it sends (a divisor of the capture's), and whether it is switching. */
  #videoSender?: RTCRtpSender;
  #resolution?: SendResolution;
  #divisor: SendDivisor = 1;
  #switching = false;

  constructor(options: CallOptions) {
    super();
    this.#options = options;
    this.index = options.index;
    // Steps 1 and 3: a peer connection with the STUN (and TURN) servers.
    this.pc = new wrtc.RTCPeerConnection(options.rtcConfiguration);
    // Its descriptions and candidates, kept from now on (the native getters are not safe to read).
    SessionDescriptions.of(this.pc);
    // ...to which we add our tracks, both in one stream: the receiver then keeps them in sync (one
    // sync group). Without a track of our own, the caller still asks for the other side's video and sound
    // so that an answerer with a camera or a microphone can send them back.
    const ours = [options.videoTrack, options.audioTrack].filter((t): t is MediaStreamTrack => !!t);
    const stream = new wrtc.MediaStream(ours);
    for (const track of ours) {
      const sender = this.pc.addTrack(track, stream);
      if (track === options.videoTrack) this.#videoSender = sender;
    }
    if (
      options.videoLadder &&
      options.videoSize &&
      options.degradationPreference === 'maintain-framerate' &&
      options.direction !== 'recvonly'
    )
      this.#resolution = new SendResolution(options.videoSize);
    if (options.direction === 'sendonly') {
      for (const transceiver of this.pc.getTransceivers()) transceiver.direction = 'sendonly';
    } else if (options.direction === 'recvonly') {
      this.pc.addTransceiver('video', { direction: 'recvonly' });
      this.pc.addTransceiver('audio', { direction: 'recvonly' });
    } else if (options.role === 'caller') {
      if (!options.videoTrack) this.pc.addTransceiver('video', { direction: 'recvonly' });
      if (!options.audioTrack) this.pc.addTransceiver('audio', { direction: 'recvonly' });
    }
    const data = options.data;
    if (data !== undefined) {
      // Step 1: the caller's channel is part of the offer (an SCTP m-line); the answerer's arrives with it.
      if (options.role === 'caller')
        this.#data = new DataLink(this.pc.createDataChannel(DATA_CHANNEL_LABEL, { ordered: true }), data, {
          pc: this.pc,
          side: 'creator',
        });
      else this.pc.addEventListener('datachannel', this.#onDataChannel);
    }
    this.pc.addEventListener('connectionstatechange', this.#onState);
    this.pc.addEventListener('icecandidateerror', this.#onCandidateError);
    // Step 4's "tracks flow": the receive bridge owns pc.ontrack.
    this.#received = new ReceiveBridge(this.pc, {
      measureLatency: options.measureLatency,
      name: `call ${options.index}`,
    });
    this.#received.on('track', (track) => {
      if (this.#closing) return;
      this.#tracks.push(track);
      this.emit('track', track);
    });
    this.#received.on('first-frame', (width, height) => this.emit('first-frame', width, height));
    this.#received.on('first-audio', (rate, channels) => this.emit('first-audio', rate, channels));
  }

  readonly #onState = (): void => {
    const state = this.pc.connectionState;
    log('call %d: connection %s', this.index, state);
    this.emit('state', state);
    if (state === 'connected' && !this.#connected) {
      this.#connected = true;
      this.emit('connected');
    }
  };

  readonly #onDataChannel = (event: RTCDataChannelEvent): void => {
    if (this.#closing || this.#data !== undefined || event.channel.label !== DATA_CHANNEL_LABEL) return;
    const link = new DataLink(event.channel, this.#options.data, { pc: this.pc, side: 'receiver' });
    this.#data = link;
    this.emit('data-link', link);
  };

  /** The call's data channel (with `data`): the caller's from the start, the answerer's once it came. */
  get data(): DataLink | undefined {
    return this.#data;
  }

  readonly #onCandidateError = (event: Event): void => {
    const e = event as Event & { url?: string; errorCode?: number; errorText?: string };
    log('call %d: candidate error %s from %s: %s', this.index, e.errorCode, e.url, e.errorText);
    if (typeof e.url === 'string' && /^turns?:/.test(e.url) && typeof e.errorCode === 'number')
      this.#turnErrors.push(e.errorCode);
  };

  /**
   * What ICE has tried so far: our candidates (every one gathered in this ICE generation), theirs (those of
   * the remote description and every one added), and what our STUN and TURN servers did.
   */
  iceReport(): IceReport {
    const descriptions = SessionDescriptions.of(this.pc);
    const lines = (list: readonly DescribedCandidate[]): string =>
      list.map((c) => `a=${c.candidate}`).join('\n');
    const local = countCandidates(lines(descriptions.localCandidates));
    const remote = countCandidates(lines(descriptions.remoteCandidates));
    // The servers in use: ours and those the signaling added (a join ack's TURN server, a WHIP server's).
    const urlsOf = (config: RTCConfiguration): string[] =>
      (config.iceServers ?? []).flatMap((s) => (typeof s.urls === 'string' ? [s.urls] : [...s.urls]));
    const urls = urlsOf(this.pc.getConfiguration());
    const hasStun = urls.some((u) => /^stuns?:/.test(u));
    const hasTurn = urls.some((u) => /^turns?:/.test(u));
    const ownTurn = urlsOf(this.#options.rtcConfiguration).some((u) => /^turns?:/.test(u));
    // A TURN server answers binding requests too: a server-reflexive candidate from it says STUN works.
    const stun =
      !hasStun && !hasTurn ? 'none' : local.srflx > 0 ? 'answered' : hasStun ? 'no answer' : 'none';
    const refused = this.#turnErrors.some((code) => code === 401 || code === 403 || code === 441);
    const turn = !hasTurn ? 'none' : local.relay > 0 ? 'allocated' : refused ? 'refused' : 'no answer';
    return { local, remote, stun, turn, ...(hasTurn && !ownTurn ? { turnFromServer: true } : {}) };
  }

  /** The remote tracks received so far (each also came as a `track` event). */
  get tracks(): readonly ReceivedTrack[] {
    return this.#tracks;
  }

  /** Whether the connection has been `connected` at least once. */
  get everConnected(): boolean {
    return this.#connected;
  }

  /** Decoded remote video frames received. */
  get framesReceived(): number {
    return this.#received.framesReceived;
  }

  /** `performance.now()` of the last received frame (0: none yet). */
  get lastFrameAt(): number {
    return this.#received.lastFrameAt;
  }

  /** Milliseconds from the start of the call to the first received frame, once there is one. */
  get firstFrameMs(): number | undefined {
    const at = this.#received.firstFrameAt;
    return at === undefined ? undefined : at - this.startedAt;
  }

  /** 10 ms chunks of remote sound received. */
  get audioChunksReceived(): number {
    return this.#received.audioChunksReceived;
  }

  /** Latency of received frames, with `measureLatency`. */
  get latency(): LatencyMeter | undefined {
    return this.#received.latency;
  }

  /**
   * Where what we received ends (a `performance.now()` time), for a recording of it: when the other side
   * ended the call, the arrival of its last frame (the time it took to notice is not part of the call); when
   * we end it, undefined (now: the call was live until then). Sound alone gives no such mark: the audio sink
   * goes on delivering (concealment, then silence) after the packets stop.
   */
  receivedUntil(reason: EndReason): number | undefined {
    if (reason !== 'peer-hangup' && reason !== 'peer-vanished' && reason !== 'ice-failed') return undefined;
    return this.lastFrameAt > 0 ? this.lastFrameAt : undefined;
  }

  /** Samples `getStats()` into the live figures (rates since the previous sample). */
  async sampleStats(): Promise<CallStats | undefined> {
    if (this.#closing) return this.latestStats;
    return this.#sample();
  }

  /**
   * Ends the call: stops receiving (the sinks), then closes the peer connection, in that order (closing a
   * connection under a live sink is what crashes wrtc). A recording of its tracks is the recorder's to
   * finalize. Idempotent; concurrent callers get the same summary. `droppedCandidates`: the negotiator's
   * count of this call's remote candidates it could not keep, for the summary.
   */
  close(reason: EndReason, droppedCandidates = 0): Promise<CallReport> {
    this.#closing ??= this.#close(reason, droppedCandidates);
    return this.#closing;
  }

  get closed(): boolean {
    return this.#closing !== undefined;
  }

  async #close(reason: EndReason, droppedCandidates: number): Promise<CallReport> {
    log('call %d: closing (%s)', this.index, reason);
    // A last sample, so the summary counts every frame sent up to the end, not up to the last tick.
    await this.#sample().catch((error: unknown) =>
      log('call %d: last stats sample failed: %s', this.index, String(error)),
    );
    const received = this.#received;
    received.stop();
    // Our smaller picture, if we sent one, is fed for nobody now (the sender goes with the connection).
    if (this.#divisor !== 1) this.#options.videoLadder?.release(this.#divisor);
    this.#divisor = 1;
    const framesSent = this.latestStats?.totals.framesSent ?? 0;
    // What ICE tried, while the descriptions are still there, for a call that never found a path.
    const ice =
      !this.#connected && (reason === 'ice-timeout' || reason === 'ice-failed')
        ? this.iceReport()
        : undefined;
    this.pc.removeEventListener('connectionstatechange', this.#onState);
    this.pc.removeEventListener('datachannel', this.#onDataChannel);
    const data = this.#data;
    data?.close();
    this.pc.removeEventListener('icecandidateerror', this.#onCandidateError);
    this.pc.close();
    this.removeAllListeners();
    return {
      index: this.index,
      reason,
      durationSec: (performance.now() - this.startedAt) / 1000,
      firstFrameMs: this.firstFrameMs,
      framesSent,
      framesReceived: received.framesReceived,
      droppedCandidates,
      ...(ice ? { ice } : {}),
      latency: received.latency?.percentiles(),
      ...(data ? { data: data.stats } : {}),
      ...(this.latestStats?.audio || received.audioChunksReceived > 0
        ? {
            audio: {
              packetsSent: this.latestStats?.audio?.packetsSent ?? 0,
              packetsReceived: this.latestStats?.audio?.packetsReceived ?? 0,
              packetsLost: this.latestStats?.audio?.packetsLost ?? 0,
              chunksReceived: received.audioChunksReceived,
            },
          }
        : {}),
    };
  }

  async #sample(): Promise<CallStats> {
    // The peaks since the last reading are read now, before getStats: its latency varies (tens to hundreds of
    // ms on a busy machine), and read after it, one reading's span could shrink below the 900 ms between two
    // test beeps and show silence (issue 10).
    const levelSent = this.#options.sentLevel?.take();
    const levelReceived = this.#received.takeLevel();
    const report = await this.pc.getStats();
    // wrtc's report is a Map-like of plain stats objects.
    const entries = [...(report as unknown as Map<string, { type: string }>).values()];
    const stats = summarizeStats(entries as never, performance.now(), this.latestStats);
    if (stats.audio) {
      stats.audio.levelSent = levelSent;
      stats.audio.levelReceived = levelReceived;
    }
    this.latestStats = stats;
    this.#adaptSize(stats);
    return stats;
  }

  /** A smaller picture while the link cannot carry ours, the full one back when it can (`send-resolution.ts`). */
  #adaptSize(stats: CallStats): void {
    const resolution = this.#resolution;
    const ladder = this.#options.videoLadder;
    const sender = this.#videoSender;
    if (!resolution || !ladder || !sender || this.#switching || this.#closing) return;
    const availableKbps = stats.availableOutgoingKbps;
    const divisor = resolution.update({
      atMs: stats.atMs,
      availableKbps,
      audioKbps: stats.streams.audioOut?.kbps ?? 0,
    });
    if (divisor === this.#divisor) return;
    const track = ladder.acquire(divisor);
    this.#switching = true;
    sender
      .replaceTrack(track)
      .then(
        () => {
          if (this.#closing) {
            // close() released what we sent before; nobody sends this one now.
            ladder.release(divisor);
            return;
          }
          ladder.release(this.#divisor);
          this.#divisor = divisor;
          const { width, height } = this.#options.videoSize ?? { width: 0, height: 0 };
          const size = sizeAt(width, height, divisor);
          log(
            'call %d: sending %dx%d (estimate %d kbit/s)',
            this.index,
            size.width,
            size.height,
            availableKbps,
          );
          this.emit('send-size', size.width, size.height, availableKbps ?? 0);
        },
        (error: unknown) => {
          ladder.release(divisor);
          resolution.force(this.#divisor);
          log('call %d: could not switch the picture size: %s', this.index, String(error));
        },
      )
      .finally(() => {
        this.#switching = false;
      });
  }
}
/** The candidates of a description (`a=candidate:` lines), by type; the end-of-candidates marker is none. */
export function countCandidates(sdp: string | undefined): CandidateCounts {
  const counts: CandidateCounts = { host: 0, srflx: 0, prflx: 0, relay: 0 };
  for (const m of (sdp ?? '').matchAll(/^a=candidate:.* typ (host|srflx|prflx|relay)\b/gm))
    counts[m[1] as keyof CandidateCounts]++;
  return counts;
}
