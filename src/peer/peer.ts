import { locateFfmpeg } from '../capture/index.js';
import { RecordingSeries, type Recorder, type RecordingSummary } from '../record/index.js';
import { SignalClient, type IceCandidateMessage } from '../signal/index.js';
import { withDefaults } from '../util/defaults.js';
import { logger } from '../util/log.js';
import { TypedEmitter } from '../util/typed-emitter.js';
import { Call } from './call.js';
import { SendBridge } from './send-bridge.js';
import {
  PEER_DEFAULTS,
  type CallSummary,
  type EndReason,
  type MediaFailure,
  type PeerEvents,
  type PeerOptions,
  type PeerSummary,
} from './types.js';

const log = logger('peer');

/** {@link PeerOptions} checked, with the peer's own defaults ({@link PEER_DEFAULTS}) applied. */
type ResolvedPeerOptions = PeerOptions & Required<Pick<PeerOptions, keyof typeof PEER_DEFAULTS>>;

/** How long ICE may stay `disconnected` (with the signaling server unable to tell us more) before we give up. */
const ICE_DISCONNECTED_TIMEOUT_MS = 10_000;

/**
 * One process's side of WebRTC calls, following the walk-through:
 *
 * 1. get media (ffmpeg frames into an `RTCVideoSource`), create the peer connection with STUN servers, add the
 *    tracks, create the offer (caller);
 * 2. send the offer and every candidate to the signaling server, which holds them for the other side;
 * 3. the answerer gets the held offer and candidates, answers, and sends its answer and candidates;
 * 4. the caller applies the answer; candidates cross; media flows.
 *
 * A caller keeps offering to whoever answers next; an answerer keeps answering the next call (each recorded
 * to its own file), unless `once` or `durationSec` is set. `run()` resolves when the peer is done or `abort`
 * fires; it always cleans up in reverse order (calls, signaling, capture).
 *
 * @example
 * const peer = new Peer({ role: 'answerer', record: { path: 'out.webm' }, once: true });
 * peer.on('call-ended', (s) => console.log(s.reason));
 * const summary = await peer.run(abortController.signal);
 */
export class Peer extends TypedEmitter<PeerEvents> {
  readonly #o: ResolvedPeerOptions;
  #signal?: SignalClient;
  /** Our media, from the captures to the tracks each call adds. */
  #media?: SendBridge;
  #ffmpegPath?: string;
  #call?: Call;
  /** Where each call is recorded, when recording. */
  #recordings?: RecordingSeries;
  /** The recorder of the current call, when recording. */
  #recorder?: Recorder;
  #endCall?: (reason: EndReason) => void;
  #peerGone?: () => void;
  #nextOffer?: (sdp: string | undefined) => void;
  #heldOffer?: string;
  #callCount = 0;
  #stopped = false;
  #stopReason: EndReason = 'hangup';
  readonly #calls: CallSummary[] = [];
  #timers: NodeJS.Timeout[] = [];

  /** @throws TypeError on invalid options (the parts that take them check theirs when they start). */
  constructor(options: PeerOptions) {
    super();
    this.#o = resolvePeerOptions(options);
  }

  /** Runs until done (`once`, `durationSec`, media ended) or until `abort` fires. */
  async run(abort?: AbortSignal): Promise<PeerSummary> {
    const onAbort = (): void => this.#stop('hangup');
    abort?.addEventListener('abort', onAbort, { once: true });
    try {
      if (abort?.aborted) return this.#summary();
      await this.#prepare();
      if (this.#stopped) return this.#summary();
      // Signaling comes after media, as in the walk-through: the caller has its tracks before it offers.
      await this.#joinRoom();
      if (this.#stopped) return this.#summary();
      if (this.#o.role === 'caller') await this.#callerLoop();
      else await this.#answererLoop();
      return this.#summary();
    } finally {
      abort?.removeEventListener('abort', onAbort);
      await this.#cleanup();
    }
  }

  /** Checks the recording path and starts local media (step 1: the caller "gets its media"). */
  async #prepare(): Promise<void> {
    const { record, source, audioSource } = this.#o;
    if (record !== undefined) {
      // Before anything starts: a recording that cannot be made stops the peer at once.
      const recordings = new RecordingSeries(record);
      await recordings.check();
      this.#recordings = recordings;
    }
    if (source === undefined && audioSource === undefined && record === undefined) return;
    const ffmpegPath = (await locateFfmpeg({ explicit: this.#o.ffmpegPath })).path;
    this.#ffmpegPath = ffmpegPath;
    if (source === undefined && audioSource === undefined) return;
    const { width, height, fps, audioChannels } = this.#o;
    const media = new SendBridge({
      video: source,
      audio: audioSource,
      width,
      height,
      fps,
      audioChannels,
      ffmpegPath,
    });
    this.#media = media;
    media.on('media-started', (description) => this.emit('media-started', description));
    media.on('warning', (warning) => this.emit('warning', warning));
    media.on('ended', (failures) => this.#mediaEnded(failures));
    // The cleanup stops whichever capture started if the other one fails.
    await media.start();
  }

  /**
   * Our media ended: a file played without loop reached its end (a normal hang-up), or captures died
   * mid-call (the session ends cleanly, recording finalized and bye sent; exit code 1).
   */
  #mediaEnded(failures: MediaFailure[]): void {
    if (this.#stopped) return;
    if (failures.length === 0) {
      this.#stop('hangup');
      return;
    }
    this.emit('warning', { kind: 'media-failed', failures });
    this.#stop('media-ended');
  }

  async #joinRoom(): Promise<void> {
    const signal = new SignalClient({
      url: this.#o.signalUrl,
      role: this.#o.role,
      room: this.#o.room,
      token: this.#o.token,
      connectTimeoutMs: this.#o.connectTimeoutMs,
    });
    this.#signal = signal;
    // Listeners first, then connect: a held offer can arrive right after the join is acknowledged.
    signal.on('offer', (sdp) => this.#onOffer(sdp));
    signal.on('answer', (sdp) => this.#onAnswer(sdp));
    signal.on('candidate', (c) => this.#onCandidate(c));
    signal.on('peer-left', (_role, reason) => this.#onPeerLeft(reason));
    signal.on('disconnected', (reason) => this.emit('signal-lost', reason));
    signal.on('rejoined', () => this.emit('signal-rejoined'));
    signal.on('server-error', (code, message) =>
      this.emit('warning', { kind: 'signal-error', code, message }),
    );
    try {
      const { peerPresent } = await signal.connect();
      this.emit('joined', signal.room, signal.role, peerPresent);
    } catch (error) {
      // SIGINT while still connecting (closing the client aborts the attempt) is a normal end, not an error.
      if (!this.#stopped) throw error;
    }
  }

  /** Caller: make a call, hold its offer on the server, wait for it to end; again unless done. */
  async #callerLoop(): Promise<void> {
    while (!this.#stopped) {
      const call = this.#newCall();
      this.emit('waiting', 'answerer');
      const ended = this.#callEnded(call);
      // Steps 1-2. Not awaited: a server that stops answering must not hold a hang-up back for the ack's
      // timeout; the call ends on its own terms (see #callEnded).
      this.#negotiate(call, 'offer', call.offer());
      const reason = await ended;
      await this.#finishCall(call, reason);
      if (this.#done(reason)) break;
    }
  }

  /** Answerer: wait for an offer, answer it, wait for the call to end; again unless done. */
  async #answererLoop(): Promise<void> {
    while (!this.#stopped) {
      this.emit('waiting', 'call');
      const offer = await this.#takeOffer();
      if (offer === undefined) break;
      const call = this.#newCall();
      this.emit('offer-received', call.index);
      const ended = this.#callEnded(call);
      // Step 3, not awaited for the same reason as the offer.
      this.#negotiate(call, 'answer', call.answer(offer));
      const reason = await ended;
      await this.#finishCall(call, reason);
      if (this.#done(reason)) break;
    }
  }

  /** Reports a step of the exchange when it is done; a failed one ends the call (`error`). */
  #negotiate(call: Call, step: 'offer' | 'answer', done: Promise<void>): void {
    done.then(
      () => {
        if (!call.closed) this.emit(step === 'offer' ? 'offer-sent' : 'answer-sent', call.index);
      },
      (error: unknown) => {
        if (call.closed) return;
        this.#endIfCurrent(call, 'error');
        this.emit('warning', { kind: 'negotiation-failed', call: call.index, step, error: asError(error) });
      },
    );
  }

  #newCall(): Call {
    const index = ++this.#callCount;
    // The call's tracks go to this call's own file, as aiortc's MediaRecorder.addTrack consumes them.
    const recorder =
      this.#ffmpegPath === undefined ? undefined : this.#recordings?.recorderFor(index, this.#ffmpegPath);
    if (recorder) {
      recorder.on('error', (error) =>
        this.emit('warning', { kind: 'recording-failed', call: index, path: recorder.path, error }),
      );
      if (this.#o.record?.recorder?.segmentSec !== undefined) {
        recorder.on('recording', (file) => this.emit('segment', index, file));
        recorder.on('deleted', (paths) => this.emit('segments-deleted', index, paths));
      }
      recorder.on('paused', (p) =>
        this.emit('warning', {
          kind: 'recording-paused',
          call: index,
          path: p.path ?? recorder.path,
          message: p.message,
          freeBytes: p.freeBytes ?? null,
        }),
      );
      recorder.on('resumed', (path) =>
        this.emit('warning', { kind: 'recording-resumed', call: index, path }),
      );
      this.emit('recording', index, recorder.path);
    }
    const call = new Call({
      role: this.#o.role,
      signal: this.#requireSignal(),
      rtcConfiguration: this.#o.rtcConfiguration,
      videoTrack: this.#media?.videoTrack,
      audioTrack: this.#media?.audioTrack,
      sentLevel: this.#media?.sentLevel,
      index,
      measureLatency: this.#o.measureLatency,
    });
    this.#call = call;
    this.#recorder = recorder;
    if (recorder) call.on('track', (track) => recorder.addTrack(track));
    call.on('connected', () => {
      this.emit('connected', index, performance.now() - call.startedAt);
      if (this.#o.durationSec !== undefined) {
        this.#timers.push(setTimeout(() => this.#endIfCurrent(call, 'hangup'), this.#o.durationSec * 1000));
      }
    });
    call.on('first-frame', (w, h) => this.emit('first-frame', index, w, h, call.firstFrameMs ?? 0));
    call.on('first-audio', (rate, channels) =>
      this.emit('first-audio', index, rate, channels, performance.now() - call.startedAt),
    );
    return call;
  }

  /**
   * Resolves with the reason the call ends: our stop, the peer's bye, the peer vanishing, ICE failing.
   * Also runs the stats tick, and the watchdog for a peer that vanished without bye: once the server says it
   * dropped off, the call ends as soon as its frames (or, when we only send, its packets) stop.
   */
  #callEnded(call: Call): Promise<EndReason> {
    return new Promise<EndReason>((resolve) => {
      const vanishMs = this.#o.vanishTimeoutMs;
      let peerGoneAt = 0;
      let disconnectedAt = 0;
      let lastBytes = -1;
      let lastPacketAt = performance.now();
      const silentFor = (now: number): number =>
        call.framesReceived > 0 ? now - call.lastFrameAt : now - Math.max(lastPacketAt, peerGoneAt);
      const check = (): void => {
        const now = performance.now();
        if (peerGoneAt > 0 && (!call.pc.remoteDescription || silentFor(now) >= vanishMs))
          finish('peer-vanished');
        if (disconnectedAt > 0 && now - disconnectedAt >= ICE_DISCONNECTED_TIMEOUT_MS) finish('ice-failed');
      };
      const statsTick = setInterval(() => {
        call
          .sampleStats()
          .then((stats) => {
            if (!stats || call.closed) return;
            if (stats.totals.transportBytesReceived !== lastBytes) {
              lastBytes = stats.totals.transportBytesReceived;
              lastPacketAt = performance.now();
            }
            const recorded = this.#call === call ? this.#recorder?.stats.framesInFile : undefined;
            const latency = call.latency;
            this.emit('stats', call.index, stats, recorded, latency?.percentiles(), latency?.interval());
          })
          .catch((error: unknown) => log('stats failed: %s', errorMessage(error)));
      }, this.#o.statsIntervalMs);
      const watchdog = setInterval(check, 250);
      const finish = (reason: EndReason): void => {
        clearInterval(statsTick);
        clearInterval(watchdog);
        if (this.#endCall === finish) this.#endCall = undefined;
        if (this.#peerGone === onPeerGone) this.#peerGone = undefined;
        resolve(reason);
      };
      // The server's notice arms the check and stays armed, even if a client of that role joins again: a peer
      // that only lost signaling keeps sending, so its media decides; a new process in its place has no media
      // in this call, and the call must end so that a fresh one can start.
      const onPeerGone = (): void => {
        peerGoneAt = performance.now();
        check();
      };
      call.on('state', (state) => {
        if (state === 'failed') finish('ice-failed');
        disconnectedAt = state === 'disconnected' ? performance.now() : 0;
      });
      this.#endCall = finish;
      this.#peerGone = onPeerGone;
      if (this.#stopped) finish(this.#stopReason);
    });
  }

  async #finishCall(call: Call, reason: EndReason): Promise<void> {
    const report = await call.close(reason);
    const recording = await this.#finishRecording(call, reason);
    if (this.#call === call) {
      this.#call = undefined;
      this.#recorder = undefined;
    }
    const summary: CallSummary = recording ? { ...report, recording } : report;
    this.#calls.push(summary);
    this.emit('call-ended', summary);
  }

  /** Finalizes the recording of `call` (its sinks are stopped): up to its last frame if the other side ended it. */
  async #finishRecording(call: Call, reason: EndReason): Promise<RecordingSummary | undefined> {
    const recorder = this.#call === call ? this.#recorder : undefined;
    if (!recorder) return undefined;
    try {
      return await recorder.stop({ endAtMs: call.receivedUntil(reason) });
    } catch (error) {
      log('call %d: recording could not be finalized: %s', call.index, errorMessage(error));
      return undefined;
    }
  }

  /** Whether the loop ends after a call that ended for `reason`. */
  #done(reason: EndReason): boolean {
    if (this.#stopped || this.#o.once || this.#o.durationSec !== undefined) return true;
    return reason === 'media-ended';
  }

  #takeOffer(): Promise<string | undefined> {
    if (this.#heldOffer !== undefined) {
      const sdp = this.#heldOffer;
      this.#heldOffer = undefined;
      return Promise.resolve(sdp);
    }
    return new Promise((resolve) => {
      this.#nextOffer = (sdp) => {
        this.#nextOffer = undefined;
        resolve(sdp);
      };
    });
  }

  #onOffer(sdp: string): void {
    if (this.#o.role !== 'answerer' || this.#stopped) return;
    if (this.#nextOffer) {
      this.#nextOffer(sdp);
      return;
    }
    // A new offer during a call: the caller started a fresh call. End this one; the loop answers the new one.
    this.#heldOffer = sdp;
    if (this.#call) this.#endIfCurrent(this.#call, 'replaced');
  }

  #onAnswer(sdp: string): void {
    const call = this.#call;
    if (this.#o.role !== 'caller' || !call) return;
    this.emit('answer-received', call.index);
    call.acceptAnswer(sdp).catch((error: unknown) => {
      this.emit('warning', {
        kind: 'negotiation-failed',
        call: call.index,
        step: 'apply-answer',
        error: asError(error),
      });
      this.#endIfCurrent(call, 'error');
    });
  }

  #onCandidate(candidate: IceCandidateMessage): void {
    this.#call
      ?.addRemoteCandidate(candidate)
      .catch((error: unknown) => log('candidate: %s', errorMessage(error)));
  }

  #onPeerLeft(reason: 'bye' | 'disconnected'): void {
    if (!this.#call) return;
    if (reason === 'bye') this.#endIfCurrent(this.#call, 'peer-hangup');
    else this.#peerGone?.();
  }

  #endIfCurrent(call: Call, reason: EndReason): void {
    if (this.#call === call) this.#endCall?.(reason);
  }

  #stop(reason: EndReason): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#stopReason = reason;
    // Say bye first so the other side hears of it at once, then the loop finalizes the call. Not joined
    // yet (still connecting): closing the client ends the attempt.
    if (this.#signal && !this.#signal.joined) void this.#signal.close().catch(() => undefined);
    else if (reason === 'hangup') this.#signal?.bye().catch(() => undefined);
    this.#endCall?.(reason);
    this.#nextOffer?.(undefined);
  }

  /** Reverse order of start: calls (sinks, peer connection, recording), signaling, tracks, capture. */
  async #cleanup(): Promise<void> {
    this.#stopped = true;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers = [];
    if (this.#call) await this.#finishCall(this.#call, this.#stopReason);
    await this.#signal?.close().catch((error: unknown) => log('signal close: %s', errorMessage(error)));
    await this.#media?.stop();
  }

  #requireSignal(): SignalClient {
    if (!this.#signal) throw new Error('not joined to the signaling server');
    return this.#signal;
  }

  #summary(): PeerSummary {
    const media = this.#media?.stats;
    return {
      role: this.#o.role,
      calls: [...this.#calls],
      framesCaptured: media?.framesCaptured ?? 0,
      framesDroppedAtCapture: media?.framesDropped ?? 0,
      ...(media?.audio ? { audioCaptured: media.audio } : {}),
      recordings: this.#calls.map((c) => c.recording).filter((r): r is RecordingSummary => r !== undefined),
    };
  }
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

/**
 * Checks the options and applies the peer's own defaults. Those of the parts it hands options to (signaling
 * client, captures, recorder) are theirs, and so are the checks of those options.
 *
 * @throws TypeError naming the bad option.
 */
function resolvePeerOptions(options: PeerOptions): ResolvedPeerOptions {
  if (typeof options !== 'object' || options === null) throw new TypeError('Peer options are required');
  const { role, durationSec } = options;
  if (role !== 'caller' && role !== 'answerer')
    throw new TypeError(`role must be "caller" or "answerer", not ${JSON.stringify(role)}`);
  if (durationSec !== undefined && !(durationSec > 0))
    throw new TypeError(`duration must be a positive number of seconds, not ${durationSec}`);
  for (const name of ['statsIntervalMs', 'vanishTimeoutMs'] as const) {
    const value = options[name];
    if (value !== undefined && !(Number.isFinite(value) && value > 0))
      throw new TypeError(`${name} must be a positive number of ms, not ${value}`);
  }
  return withDefaults(options, PEER_DEFAULTS);
}
