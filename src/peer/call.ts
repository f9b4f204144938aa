import wrtc from '@roamhq/wrtc';
import type { ReceivedTrack } from '../record/index.js';
import type { IceCandidateMessage, SignalClient } from '../signal/index.js';
import { logger } from '../util/log.js';
import { TypedEmitter } from '../util/typed-emitter.js';
import type { PeakMeter } from './audio-level.js';
import { summarizeStats, type CallStats } from './call-stats.js';
import type { LatencyMeter } from './latency.js';
import { ReceiveBridge } from './receive-bridge.js';
import type { CallSummary, EndReason } from './types.js';

const log = logger('peer');

/** Remote candidates kept while the remote description is not set yet; beyond this they are dropped and counted. */
const MAX_PENDING_CANDIDATES = 200;

/** What {@link Call.close} reports: a {@link CallSummary} without the recording, which is not the call's. */
export type CallReport = Omit<CallSummary, 'recording'>;

/** Options of one {@link Call}: one RTCPeerConnection, from offer to hang-up. */
export interface CallOptions {
  /** Our side of the call. */
  role: 'caller' | 'answerer';
  /** The joined signaling client used to send our description and candidates. */
  signal: SignalClient;
  /** The peer connection's configuration: ICE servers (STUN, TURN) and policy. */
  rtcConfiguration: RTCConfiguration;
  /** Our video track (from an `RTCVideoSource`), if we send video. Not stopped by the call: it outlives it. */
  videoTrack?: MediaStreamTrack;
  /** Our audio track (from an `RTCAudioSource`), if we send sound. Not stopped by the call either. */
  audioTrack?: MediaStreamTrack;
  /** Fed with the samples we send, for the live level. */
  sentLevel?: PeakMeter;
  /** Call number within this process (1, 2, ...), for logs and events. */
  index: number;
  /** Read the sender's clock from the test pattern's barcode in each received frame. Default false. */
  measureLatency?: boolean;
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
};

/**
 * One WebRTC call: an RTCPeerConnection with our tracks, trickle ICE through the signaling server, and the
 * remote tracks through the receive bridge (`receive-bridge.ts`), announced as `track` events for whoever
 * records them. `Peer` drives it through the walk-through's steps.
 *
 * Every operation on the connection runs in arrival order on one promise chain, so a candidate that arrives
 * while the remote description is being applied waits for it instead of failing. Nothing assumes a single
 * exchange: a later offer or answer on the same connection (a renegotiation, an ICE restart) is applied in
 * place, and brings no second sink.
 */
export class Call extends TypedEmitter<CallEvents> {
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
  #ops: Promise<unknown> = Promise.resolve();
  #pendingCandidates: IceCandidateMessage[] = [];
  #droppedCandidates = 0;
  #closing?: Promise<CallReport>;
  #connected = false;

  constructor(options: CallOptions) {
    super();
    this.#options = options;
    this.index = options.index;
    // Steps 1 and 3: a peer connection with the STUN (and TURN) servers.
    this.pc = new wrtc.RTCPeerConnection(options.rtcConfiguration);
    // ...to which we add our tracks, both in one stream: the receiver then keeps them in sync (one
    // sync group). Without a track of our own, the caller still asks for the other side's video and sound
    // so that an answerer with a camera or a microphone can send them back.
    const ours = [options.videoTrack, options.audioTrack].filter((t): t is MediaStreamTrack => !!t);
    const stream = new wrtc.MediaStream(ours);
    for (const track of ours) this.pc.addTrack(track, stream);
    if (options.role === 'caller') {
      if (!options.videoTrack) this.pc.addTransceiver('video', { direction: 'recvonly' });
      if (!options.audioTrack) this.pc.addTransceiver('audio', { direction: 'recvonly' });
    }
    // Steps 1-3: candidates arrive asynchronously and go up to the server as they come (trickle ICE), so
    // a LAN or loopback call connects on host candidates without waiting for an unreachable STUN server.
    this.pc.onicecandidate = (event) => {
      const c = event.candidate;
      if (!c || !c.candidate) return; // end of candidates: nothing to send in this protocol
      const message: IceCandidateMessage = {
        candidate: c.candidate,
        sdpMid: c.sdpMid,
        sdpMLineIndex: c.sdpMLineIndex,
        usernameFragment: c.usernameFragment,
      };
      this.#options.signal.sendCandidate(message).catch((error: unknown) => {
        log('call %d: a local candidate could not be sent: %s', this.index, String(error));
      });
    };
    this.pc.onconnectionstatechange = () => {
      const state = this.pc.connectionState;
      log('call %d: connection %s', this.index, state);
      this.emit('state', state);
      if (state === 'connected' && !this.#connected) {
        this.#connected = true;
        this.emit('connected');
      }
    };
    // Step 4's "tracks flow": the receive bridge owns pc.ontrack.
    this.#received = new ReceiveBridge(this.pc, {
      measureLatency: options.measureLatency,
      name: `call ${options.index}`,
    });
    this.#received.on('track', (track) => {
      if (!this.#closing) this.emit('track', track);
    });
    this.#received.on('first-frame', (width, height) => this.emit('first-frame', width, height));
    this.#received.on('first-audio', (rate, channels) => this.emit('first-audio', rate, channels));
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

  /**
   * The caller's steps 1-2: create the offer, set it as local description, send it to the server to hold.
   * Again on the same connection, a renegotiation (`{ iceRestart: true }`: new ICE credentials, the media
   * goes on).
   */
  offer(options?: RTCOfferOptions): Promise<void> {
    return this.#enqueue(async () => {
      const offer = await this.pc.createOffer(options);
      await this.pc.setLocalDescription(offer);
      await this.#options.signal.sendOffer(requireSdp(this.pc.localDescription));
      log('call %d: offer sent', this.index);
    });
  }

  /**
   * The answerer's step 3: apply the held offer as remote description, then create the answer, set it as
   * local description and send it.
   */
  answer(offerSdp: string): Promise<void> {
    return this.#enqueue(async () => {
      await this.pc.setRemoteDescription({ type: 'offer', sdp: offerSdp });
      await this.#flushCandidates();
      const answer = await this.pc.createAnswer();
      await this.pc.setLocalDescription(answer);
      await this.#options.signal.sendAnswer(requireSdp(this.pc.localDescription));
      log('call %d: answer sent', this.index);
    });
  }

  /** The caller's step 4: the answer passed on by the server becomes the remote description. */
  acceptAnswer(answerSdp: string): Promise<void> {
    return this.#enqueue(async () => {
      if (this.pc.signalingState !== 'have-local-offer') {
        log('call %d: answer ignored in signaling state %s', this.index, this.pc.signalingState);
        return;
      }
      await this.pc.setRemoteDescription({ type: 'answer', sdp: answerSdp });
      await this.#flushCandidates();
    });
  }

  /**
   * A remote ICE candidate. Kept (bounded) until the remote description is set, then applied in order:
   * never lost because it came early.
   */
  addRemoteCandidate(candidate: IceCandidateMessage): Promise<void> {
    return this.#enqueue(async () => {
      if (!this.pc.remoteDescription) {
        if (this.#pendingCandidates.length >= MAX_PENDING_CANDIDATES) {
          this.#droppedCandidates++;
          return;
        }
        this.#pendingCandidates.push(candidate);
        return;
      }
      await this.#addCandidate(candidate);
    });
  }

  /** Samples `getStats()` into the live figures (rates since the previous sample). */
  async sampleStats(): Promise<CallStats | undefined> {
    if (this.#closing) return this.latestStats;
    return this.#sample();
  }

  /**
   * Ends the call: stops receiving (the sinks), then closes the peer connection, in that order (closing a
   * connection under a live sink is what crashes wrtc). A recording of its tracks is the recorder's to
   * finalize. Idempotent; concurrent callers get the same summary.
   */
  close(reason: EndReason): Promise<CallReport> {
    this.#closing ??= this.#close(reason);
    return this.#closing;
  }

  get closed(): boolean {
    return this.#closing !== undefined;
  }

  async #close(reason: EndReason): Promise<CallReport> {
    log('call %d: closing (%s)', this.index, reason);
    // A last sample, so the summary counts every frame sent up to the end, not up to the last tick.
    await this.#sample().catch((error: unknown) =>
      log('call %d: last stats sample failed: %s', this.index, String(error)),
    );
    const received = this.#received;
    received.stop();
    const framesSent = this.latestStats?.totals.framesSent ?? 0;
    this.pc.onicecandidate = null;
    this.pc.onconnectionstatechange = null;
    this.pc.close();
    this.removeAllListeners();
    return {
      index: this.index,
      reason,
      durationSec: (performance.now() - this.startedAt) / 1000,
      firstFrameMs: this.firstFrameMs,
      framesSent,
      framesReceived: received.framesReceived,
      droppedCandidates: this.#droppedCandidates,
      latency: received.latency?.percentiles(),
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
    return stats;
  }

  async #flushCandidates(): Promise<void> {
    const pending = this.#pendingCandidates;
    this.#pendingCandidates = [];
    for (const candidate of pending) await this.#addCandidate(candidate);
  }

  async #addCandidate(candidate: IceCandidateMessage): Promise<void> {
    try {
      await this.pc.addIceCandidate(candidate);
    } catch (error) {
      // A candidate the stack cannot use (e.g. an address family we lack) is not fatal to the call.
      log('call %d: candidate rejected (%s): %s', this.index, candidate.candidate, String(error));
    }
  }

  #enqueue(op: () => Promise<void>): Promise<void> {
    const run = this.#ops.then(() => (this.#closing ? undefined : op()));
    // The chain itself never rejects, so one failed step does not block the next; callers see the error.
    this.#ops = run.catch(() => undefined);
    return run;
  }
}

function requireSdp(description: RTCSessionDescription | null): string {
  if (!description?.sdp) throw new Error('the peer connection produced no local description');
  return description.sdp;
}
