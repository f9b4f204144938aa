import wrtc from '@roamhq/wrtc';
import {
  AUDIO_DEFAULTS,
  AudioCapture,
  locateFfmpeg,
  VideoCapture,
  type AudioSource,
  type CaptureSource,
} from '../capture/index.js';
import { FfmpegError } from '../errors.js';
import { RecordingSeries, type Recorder, type RecordingSummary } from '../record/index.js';
import { SignalClient, type IceCandidateMessage } from '../signal/index.js';
import { logger } from '../util/log.js';
import { TypedEmitter } from '../util/typed-emitter.js';
import { PeakMeter } from './audio-level.js';
import { Call } from './call.js';
import {
  DEFAULT_STUN_URLS,
  type CallSummary,
  type EndReason,
  type PeerEvents,
  type PeerOptions,
  type PeerSummary,
} from './types.js';

const log = logger('peer');

/** Defaults of {@link PeerOptions}, in one place. */
export const PEER_DEFAULTS = {
  signalUrl: 'http://localhost:8080',
  room: 'default',
  width: 640,
  height: 480,
  fps: 30,
  rtcConfiguration: { iceServers: [{ urls: [...DEFAULT_STUN_URLS] }] } as RTCConfiguration,
  statsIntervalMs: 1000,
  vanishTimeoutMs: 2000,
  connectTimeoutMs: 10_000,
} as const;

/** How long to wait for the other capture's failure before reporting one, ms (see `#mediaFailed`). */
const MEDIA_FAILURE_GRACE_MS = 300;

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
  readonly #o: PeerOptions & typeof PEER_DEFAULTS;
  #signal?: SignalClient;
  #capture?: VideoCapture;
  #videoTrack?: MediaStreamTrack;
  #audioCapture?: AudioCapture;
  /** Peak level of the sound we send, read by each call's stats. */
  readonly #sentLevel = new PeakMeter();
  #audioTrack?: MediaStreamTrack;
  #mediaFailures: { kind: 'video' | 'audio'; message: string }[] = [];
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

  constructor(options: PeerOptions) {
    super();
    const defined = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
    this.#o = { ...PEER_DEFAULTS, ...defined } as PeerOptions & typeof PEER_DEFAULTS;
    if (this.#o.role !== 'caller' && this.#o.role !== 'answerer') {
      throw new TypeError(`role must be "caller" or "answerer", not ${JSON.stringify(this.#o.role)}`);
    }
    if (this.#o.durationSec !== undefined && !(this.#o.durationSec > 0)) {
      throw new TypeError(`duration must be a positive number of seconds, not ${this.#o.durationSec}`);
    }
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
    if (source !== undefined || audioSource !== undefined || record !== undefined) {
      this.#ffmpegPath = (await locateFfmpeg({ explicit: this.#o.ffmpegPath })).path;
    }
    const ffmpegPath = this.#ffmpegPath;
    if (ffmpegPath === undefined) return;
    // Both at once, so they start sending about together; the cleanup stops whichever started if one fails.
    const started = await Promise.allSettled([
      source !== undefined ? this.#startMedia(source, ffmpegPath) : undefined,
      audioSource !== undefined ? this.#startAudio(audioSource, ffmpegPath) : undefined,
    ]);
    for (const result of started) if (result.status === 'rejected') throw result.reason;
  }

  async #startAudio(source: AudioSource, ffmpegPath: string): Promise<void> {
    const channels = this.#o.audioChannels ?? AUDIO_DEFAULTS.channels;
    const capture = new AudioCapture({ source, ffmpegPath, channels });
    const audioSource = new wrtc.nonstandard.RTCAudioSource();
    // wrtc copies the samples; onData throws on anything but exactly 10 ms, which the capture guarantees.
    capture.on('data', (chunk) => {
      audioSource.onData(chunk);
      this.#sentLevel.add(chunk.samples);
    });
    capture.on('ended', (error) => {
      if (this.#stopped) return;
      if (error) {
        this.#mediaFailed('audio', error);
      } else if (this.#o.source === undefined) {
        // A sound-only file played with --no-loop reached its end; with video, the video's end decides.
        this.#stop('hangup');
      }
    });
    this.#audioCapture = capture;
    try {
      await capture.start();
    } catch (error) {
      if (source.kind === 'file' && error instanceof FfmpegError && error.code === 'NO_AUDIO_STREAM') {
        // --input FILE without sound: send its video alone.
        this.emit('warning', `file ${source.path} has no audio track: sending its video only`);
        await capture.stop();
        this.#audioCapture = undefined;
        return;
      }
      throw error;
    }
    this.#audioTrack = audioSource.createTrack();
    this.emit('media-started', `${capture.label} 48 kHz ${channels === 2 ? 'stereo' : 'mono'}`);
  }

  async #startMedia(source: CaptureSource, ffmpegPath: string): Promise<void> {
    const { width, height, fps } = this.#o;
    const capture = new VideoCapture({ source, width, height, fps, ffmpegPath });
    const videoSource = new wrtc.nonstandard.RTCVideoSource();
    // wrtc's typings say Uint8Array; its native onFrame takes the Uint8ClampedArray the capture hands out, and
    // copies it, so the capture may reuse the buffer as soon as this returns.
    capture.on('frame', (frame) =>
      videoSource.onFrame(frame as unknown as Parameters<typeof videoSource.onFrame>[0]),
    );
    capture.on('ended', (error) => {
      if (this.#stopped) return;
      if (error) {
        // ffmpeg died mid-call: end the session cleanly (recording finalized, bye sent); exit code 1.
        this.#mediaFailed('video', error);
      } else {
        // A file played with --no-loop reached its end: a normal hang-up.
        this.#stop('hangup');
      }
    });
    this.#capture = capture;
    await capture.start();
    this.#videoTrack = videoSource.createTrack();
    this.emit('media-started', `${describeSource(source)} ${width}x${height}@${fps}`);
  }

  /**
   * A capture died mid-call. Sound and picture often fail together (a device unplugged, ffmpegs killed):
   * failures within a moment are reported as one warning, the picture's first, then the session ends.
   */
  #mediaFailed(kind: 'video' | 'audio', error: Error): void {
    this.#mediaFailures.push({ kind, message: `${kind} source failed: ${error.message}` });
    if (this.#mediaFailures.length > 1) return;
    this.#timers.push(
      setTimeout(() => {
        if (this.#stopped) return;
        const failures = [...this.#mediaFailures].sort((a, b) =>
          a.kind === b.kind ? 0 : a.kind === 'video' ? -1 : 1,
        );
        this.emit('warning', failures.map((f) => f.message).join('; '));
        this.#stop('media-ended');
      }, MEDIA_FAILURE_GRACE_MS),
    );
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
      this.emit('warning', `signaling server: ${code}: ${message}`),
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
      this.emit('waiting', 'an answerer');
      const ended = this.#callEnded(call);
      // Steps 1-2. Not awaited: a server that stops answering must not hold a hang-up back for the ack's
      // timeout; the call ends on its own terms (see #callEnded).
      call.offer().then(
        () => {
          if (!call.closed) this.emit('offer-sent', call.index);
        },
        (error: unknown) => {
          if (call.closed) return;
          this.#endIfCurrent(call, 'error');
          this.emit('warning', `offer failed: ${errorMessage(error)}`);
        },
      );
      const reason = await ended;
      await this.#finishCall(call, reason);
      if (this.#done(reason)) break;
    }
  }

  /** Answerer: wait for an offer, answer it, wait for the call to end; again unless done. */
  async #answererLoop(): Promise<void> {
    while (!this.#stopped) {
      this.emit('waiting', 'a call');
      const offer = await this.#takeOffer();
      if (offer === undefined) break;
      const call = this.#newCall();
      this.emit('offer-received', call.index);
      const ended = this.#callEnded(call);
      // Step 3, not awaited for the same reason as the offer.
      call.answer(offer).then(
        () => {
          if (!call.closed) this.emit('answer-sent', call.index);
        },
        (error: unknown) => {
          if (call.closed) return;
          this.#endIfCurrent(call, 'error');
          this.emit('warning', `answer failed: ${errorMessage(error)}`);
        },
      );
      const reason = await ended;
      await this.#finishCall(call, reason);
      if (this.#done(reason)) break;
    }
  }

  #newCall(): Call {
    const index = ++this.#callCount;
    // The call's tracks go to this call's own file, as aiortc's MediaRecorder.addTrack consumes them.
    const recorder =
      this.#ffmpegPath === undefined ? undefined : this.#recordings?.recorderFor(index, this.#ffmpegPath);
    if (recorder) {
      recorder.on('error', (error) => this.emit('warning', `recording ${recorder.path}: ${error.message}`));
      this.emit('recording', index, recorder.path);
    }
    const call = new Call({
      role: this.#o.role,
      signal: this.#requireSignal(),
      rtcConfiguration: this.#o.rtcConfiguration,
      videoTrack: this.#videoTrack,
      audioTrack: this.#audioTrack,
      sentLevel: this.#sentLevel,
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
            this.emit('stats', call.index, stats, recorded, call.latency?.percentiles());
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
      this.emit('warning', `the answer could not be applied: ${errorMessage(error)}`);
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
    this.#videoTrack?.stop();
    this.#audioTrack?.stop();
    await Promise.all([this.#capture?.stop(), this.#audioCapture?.stop()]);
  }

  #requireSignal(): SignalClient {
    if (!this.#signal) throw new Error('not joined to the signaling server');
    return this.#signal;
  }

  #summary(): PeerSummary {
    return {
      role: this.#o.role,
      calls: [...this.#calls],
      framesCaptured: this.#capture?.stats.framesCaptured ?? 0,
      framesDroppedAtCapture: this.#capture?.stats.framesDropped ?? 0,
      ...(this.#audioCapture ? { audioCaptured: this.#audioCapture.stats } : {}),
      recordings: this.#calls.map((c) => c.recording).filter((r): r is RecordingSummary => r !== undefined),
    };
  }
}

function describeSource(source: CaptureSource): string {
  switch (source.kind) {
    case 'test-pattern':
      return 'test pattern';
    case 'file':
      return `file ${source.path}`;
    default:
      return `camera ${source.device}`;
  }
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
