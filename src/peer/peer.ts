import { locateFfmpeg } from '../capture/index.js';
import { RecordingSeries, type Recorder, type RecordingSummary } from '../record/index.js';
import { RoomSignaling } from '../signal/room-signaling.js';
import type { RemotePeer, SignalingEvent } from '../signal/signaling.js';
import { withDefaults } from '../util/defaults.js';
import { logger } from '../util/log.js';
import { TypedEmitter } from '../util/typed-emitter.js';
import { AddressWatch } from './address-watch.js';
import { Call } from './call.js';
import { Negotiator, type NegotiationEnd } from './negotiator.js';
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

/**
 * How long a call's connection may stay down (`disconnected` or `failed`, ICE restarts tried meanwhile)
 * before we give up on it (`ice-failed`).
 */
const ICE_DOWN_TIMEOUT_MS = 10_000;

/** A call of ours, with what decides when it ends. */
interface LiveCall {
  call: Call;
  /** The other side, once the call is with someone (a caller's spare call has none yet). */
  peer: RemotePeer | undefined;
  recorder: Recorder | undefined;
  /** Set once the call is ending: resolves when it is closed and reported. */
  ending: Promise<void> | undefined;
  /** When the server said the peer dropped off (no bye), 0 if it did not or came back. */
  peerGoneAt: number;
  /** Since when the connection is down (`disconnected` or `failed`), 0 while it is up. */
  downSince: number;
  /** Transport bytes received at the last stats sample, and when they last grew. */
  lastBytes: number;
  lastPacketAt: number;
}

/**
 * One process's side of WebRTC calls, following the walk-through:
 *
 * 1. get media (ffmpeg frames into an `RTCVideoSource`, once for every call), create a peer connection per
 *    call with STUN servers, add the tracks, create the offer (caller);
 * 2. send the offer and every candidate to the signaling server, which holds them for the next viewer;
 * 3. the answerer gets the held offer and candidates, answers, and sends its answer and candidates;
 * 4. the caller applies the answer; candidates cross; media flows.
 *
 * The negotiation is the {@link Negotiator}'s over a {@link RoomSignaling} (protocol 2): a caller serves
 * every viewer at once, each on its own call, from one capture, and keeps an offer held for the next one; an
 * answerer answers call after call (each recorded to its own file). ICE restarts keep a call (and its
 * recording) going through a network change. The peer decides when a call ends (`hangup`, `peer-hangup`,
 * `peer-vanished`, `ice-failed`, ...) and when the run ends (`once`, `durationSec`, media ended, `abort`).
 * `run()` always cleans up in reverse order (calls, signaling, capture).
 *
 * @example
 * const peer = new Peer({ role: 'answerer', record: { path: 'out.webm' }, once: true });
 * peer.on('call-ended', (s) => console.log(s.reason));
 * const summary = await peer.run(abortController.signal);
 */
export class Peer extends TypedEmitter<PeerEvents> {
  readonly #o: ResolvedPeerOptions;
  #signaling?: RoomSignaling;
  #negotiator?: Negotiator<Call>;
  /** Our media, from the captures to the tracks each call adds. */
  #media?: SendBridge;
  #ffmpegPath?: string;
  /** Where each call is recorded, when recording. */
  #recordings?: RecordingSeries;
  readonly #live = new Map<Call, LiveCall>();
  #callCount = 0;
  /** Calls that got a peer (the n-th records to file n). */
  #served = 0;
  #stopped = false;
  #stopReason: EndReason = 'hangup';
  #finished: () => void = () => undefined;
  readonly #calls: CallSummary[] = [];
  #durationTimer: NodeJS.Timeout | undefined;
  #statsTimer: NodeJS.Timeout | undefined;
  #watchdog: NodeJS.Timeout | undefined;
  #addresses: AddressWatch | undefined;

  /** @throws TypeError on invalid options (the parts that take them check theirs when they start). */
  constructor(options: PeerOptions) {
    super();
    this.#o = resolvePeerOptions(options);
  }

  /** Runs until done (`once`, `durationSec`, media ended) or until `abort` fires. */
  async run(abort?: AbortSignal): Promise<PeerSummary> {
    const onAbort = (): void => this.#stop('hangup');
    abort?.addEventListener('abort', onAbort, { once: true });
    const finished = new Promise<void>((resolve) => (this.#finished = resolve));
    try {
      if (abort?.aborted) return this.#summary();
      await this.#prepare();
      // Signaling comes after media, as in the walk-through: the caller has its tracks before it offers.
      if (!this.#stopped) await this.#joinRoom();
      if (!this.#stopped) this.#startTimers();
      await finished;
    } finally {
      abort?.removeEventListener('abort', onAbort);
      await this.#cleanup();
    }
    // After the cleanup: every call has ended and is in it.
    return this.#summary();
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
   * mid-call (the session ends cleanly, recordings finalized and bye sent; exit code 1).
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
    const signaling = new RoomSignaling({
      url: this.#o.signalUrl,
      role: this.#o.role,
      room: this.#o.room,
      token: this.#o.token,
      connectTimeoutMs: this.#o.connectTimeoutMs,
      ...(this.#o.ca !== undefined ? { tls: { ca: this.#o.ca } } : {}),
    });
    this.#signaling = signaling;
    const negotiator = new Negotiator<Call>({ signaling, createCall: (peer) => this.#newCall(peer) });
    this.#negotiator = negotiator;
    // Listeners first, then connect: a held offer can arrive right after the join is acknowledged. Ours
    // comes before the negotiator's, so that `joined` is said before what the join brings.
    signaling.on('signal', (event) => this.#onSignal(event));
    negotiator.on('call', (call, peer) => this.#onCall(call, peer));
    negotiator.on('step', (call, step) => {
      const index = call.index;
      if (step === 'offer-held' || step === 'offer-sent')
        this.emit('offer-sent', index, step === 'offer-held');
      else this.emit(step, index);
    });
    negotiator.on('ended', (call, reason) => this.#onNegotiationEnded(call, reason));
    negotiator.on('peer-gone', (call) => this.#onPeerGone(call));
    negotiator.on('peer-back', (call) => {
      const live = this.#live.get(call);
      // Back on the signaling in the same call: its media decides again, and the restart brings it back.
      if (live) live.peerGoneAt = 0;
    });
    negotiator.on('restart', (call, why) => {
      if (this.#live.get(call)?.peer !== undefined) this.emit('ice-restart', call.index, why);
    });
    negotiator.on('signal-lost', (reason) => this.emit('signal-lost', reason));
    negotiator.on('signal-rejoined', () => this.emit('signal-rejoined'));
    negotiator.on('warning', (message) => {
      // The signaling's own errors come to us too (#onSignal), with their code.
      if (!message.startsWith('signaling: ')) this.emit('warning', { kind: 'negotiation', message });
    });
    try {
      await negotiator.start();
    } catch (error) {
      // SIGINT while still connecting (closing the client aborts the attempt) is a normal end, not an error.
      if (!this.#stopped) throw error;
    }
  }

  #onSignal(event: SignalingEvent): void {
    const signaling = this.#signaling;
    if (signaling === undefined || this.#stopped) return;
    if (event.type === 'joined' && !event.rejoined) {
      this.emit('joined', signaling.room, signaling.role, event.peers.length > 0, event.self);
      this.emit('waiting', this.#o.role === 'caller' ? 'answerer' : 'call');
    } else if (event.type === 'error') {
      this.emit('warning', { kind: 'signal-error', code: event.code, message: event.message });
    }
  }

  /** The negotiator's new call (a caller's spare or a viewer's, an answerer's for an offer): step 1's pc. */
  #newCall(peer: RemotePeer | undefined): Call {
    const index = ++this.#callCount;
    const call = new Call({
      role: this.#o.role,
      rtcConfiguration: this.#o.rtcConfiguration,
      videoTrack: this.#media?.videoTrack,
      audioTrack: this.#media?.audioTrack,
      sentLevel: this.#media?.sentLevel,
      index,
      measureLatency: this.#o.measureLatency,
    });
    const live: LiveCall = {
      call,
      peer,
      recorder: undefined,
      ending: undefined,
      peerGoneAt: 0,
      downSince: 0,
      lastBytes: -1,
      lastPacketAt: performance.now(),
    };
    this.#live.set(call, live);
    call.on('connected', () => {
      this.emit('connected', index, performance.now() - call.startedAt);
      // --duration counts from the first call that connects.
      if (this.#o.durationSec !== undefined && this.#durationTimer === undefined && !this.#stopped)
        this.#durationTimer = setTimeout(() => this.#stop('hangup'), this.#o.durationSec * 1000);
    });
    call.on('state', (state) => {
      if (state === 'connected') live.downSince = 0;
      else if ((state === 'disconnected' || state === 'failed') && live.downSince === 0)
        live.downSince = performance.now();
      // A protocol-1 peer cannot be restarted: a failed connection is the end, as it always was.
      if (state === 'failed' && live.peer !== undefined && live.peer.protocol < 2)
        this.#end(live, 'ice-failed');
    });
    call.on('first-frame', (w, h) => this.emit('first-frame', index, w, h, call.firstFrameMs ?? 0));
    call.on('first-audio', (rate, channels) =>
      this.emit('first-audio', index, rate, channels, performance.now() - call.startedAt),
    );
    return call;
  }

  /** A call now has its peer: it counts, and what it receives is recorded (step 4's "tracks flow"). */
  #onCall(call: Call, peer: RemotePeer): void {
    const live = this.#live.get(call);
    if (live === undefined) return;
    if (this.#stopped || (this.#o.once && this.#served > 0)) {
      // One call only (`once`), or stopping: no other.
      this.#discard(live);
      return;
    }
    live.peer = peer;
    const n = ++this.#served;
    // `once`: no offer held for a next viewer.
    if (this.#o.once) this.#negotiator?.setSpare(false);
    this.emit('call', call.index, peer.id);
    if (this.#recordings !== undefined && this.#ffmpegPath !== undefined) {
      // The call's tracks go to this call's own file, as aiortc's MediaRecorder.addTrack consumes them.
      const recorder = this.#recordings.recorderFor(n, this.#ffmpegPath);
      live.recorder = recorder;
      recorder.on('error', (error) =>
        this.emit('warning', { kind: 'recording-failed', call: call.index, path: recorder.path, error }),
      );
      if (this.#o.record?.recorder?.segmentSec !== undefined) {
        recorder.on('recording', (file) => this.emit('segment', call.index, file));
        recorder.on('deleted', (paths) => this.emit('segments-deleted', call.index, paths));
      }
      recorder.on('paused', (p) =>
        this.emit('warning', {
          kind: 'recording-paused',
          call: call.index,
          path: p.path ?? recorder.path,
          message: p.message,
          freeBytes: p.freeBytes ?? null,
        }),
      );
      recorder.on('resumed', (path) =>
        this.emit('warning', { kind: 'recording-resumed', call: call.index, path }),
      );
      this.emit('recording', call.index, recorder.path);
      for (const track of call.tracks) recorder.addTrack(track);
      call.on('track', (track) => recorder.addTrack(track));
    }
  }

  #onNegotiationEnded(call: Call, reason: NegotiationEnd): void {
    const live = this.#live.get(call);
    if (live === undefined) return;
    if (live.peer === undefined) {
      // The spare, replaced or failed before anyone took it: nobody's call.
      this.#discard(live);
      if (reason === 'error') log('the held offer could not be made');
      return;
    }
    // (A failed negotiation was said by the negotiator's warning.)
    this.#end(live, reason, false);
  }

  /**
   * The server says the peer dropped off without bye. It may only have lost its signaling (its network
   * changed: it comes back in the same call) or be gone; its media decides: the call ends once its frames
   * (or, when we only send, its packets) stop for `vanishTimeoutMs`.
   */
  #onPeerGone(call: Call): void {
    const live = this.#live.get(call);
    if (live === undefined) return;
    live.peerGoneAt = performance.now();
    this.#check(live, live.peerGoneAt);
  }

  /** Ends a call for `reason`: closed (sinks, then pc), recording finalized, reported. */
  #end(live: LiveCall, reason: EndReason, tellNegotiator = true): void {
    if (live.ending !== undefined) return;
    const call = live.call;
    const negotiator = this.#negotiator;
    const dropped = negotiator?.droppedCandidates(call) ?? 0;
    if (tellNegotiator && negotiator !== undefined) {
      // A caller whose viewer is still there makes it a new call (as a fresh offer after a call always was),
      // unless this was the one call (`once`) or we are stopping.
      const reoffer = this.#o.role === 'caller' && !this.#o.once && !this.#stopped;
      negotiator.end(call, { reoffer });
    }
    live.ending = (async () => {
      const report = await call.close(reason, dropped);
      const recording = await this.#finishRecording(live, reason);
      this.#live.delete(call);
      const summary: CallSummary = {
        ...report,
        ...(live.peer ? { peer: live.peer.id } : {}),
        ...(recording ? { recording } : {}),
      };
      this.#calls.push(summary);
      this.emit('call-ended', summary);
      this.#afterCall(reason);
    })();
  }

  /** After a call ended: done (`once`, media ended), or waiting for the next one. */
  #afterCall(reason: EndReason): void {
    if (this.#stopped) return;
    if (this.#o.once || reason === 'media-ended') {
      this.#stop('hangup');
      return;
    }
    if (![...this.#live.values()].some((l) => l.peer !== undefined && l.ending === undefined))
      this.emit('waiting', this.#o.role === 'caller' ? 'answerer' : 'call');
  }

  /** A call that was nobody's (a spare never taken), or one more than `once` allows: closed, not reported. */
  #discard(live: LiveCall): void {
    if (live.ending !== undefined) return;
    this.#negotiator?.forget(live.call);
    live.ending = live.call.close('hangup').then(() => void this.#live.delete(live.call));
  }

  /** Finalizes the recording of a call (its sinks are stopped): up to its last frame if the other side ended it. */
  async #finishRecording(live: LiveCall, reason: EndReason): Promise<RecordingSummary | undefined> {
    const recorder = live.recorder;
    if (!recorder) return undefined;
    try {
      return await recorder.stop({ endAtMs: live.call.receivedUntil(reason) });
    } catch (error) {
      log('call %d: recording could not be finalized: %s', live.call.index, errorMessage(error));
      return undefined;
    }
  }

  /** The stats tick (all calls sampled together) and the watchdog of vanished peers and dead connections. */
  #startTimers(): void {
    this.#statsTimer = setInterval(() => {
      for (const live of this.#live.values()) {
        const { call, peer } = live;
        if (peer === undefined || live.ending !== undefined) continue;
        call
          .sampleStats()
          .then((stats) => {
            if (!stats || call.closed) return;
            if (stats.totals.transportBytesReceived !== live.lastBytes) {
              live.lastBytes = stats.totals.transportBytesReceived;
              live.lastPacketAt = performance.now();
            }
            const recorded = live.recorder?.stats.framesInFile;
            this.emit(
              'stats',
              call.index,
              stats,
              recorded,
              call.latency?.percentiles(),
              peer.id,
              call.latency?.interval(),
            );
          })
          .catch((error: unknown) => log('stats failed: %s', errorMessage(error)));
      }
    }, this.#o.statsIntervalMs);
    this.#watchdog = setInterval(() => {
      const now = performance.now();
      for (const live of this.#live.values()) this.#check(live, now);
    }, 250);
    if (this.#o.addressPollMs > 0) {
      const watch = new AddressWatch({ intervalMs: this.#o.addressPollMs });
      this.#addresses = watch;
      watch.on('change', (_now, gone, added) => this.#addressesChanged(gone, added));
      watch.start();
    }
  }

  /**
   * Our addresses changed (Wi-Fi to LTE, a new lease): the signaling connection may be stuck on an address
   * we no longer have, so it reconnects at once; every call restarts ICE on its new addresses (the
   * negotiator's `restartAll`, or its restart after our rejoin), and the offer held for the next viewer is
   * made again with them.
   */
  #addressesChanged(gone: string[], added: string[]): void {
    if (this.#stopped) return;
    const why = `our network addresses changed (${[...gone.map((a) => `-${a}`), ...added.map((a) => `+${a}`)].join(' ')})`;
    log(why);
    const signaling = this.#signaling;
    if (signaling?.joined) {
      // The rejoin restarts every call (the negotiator's rule for our own rejoin), with the new addresses:
      // restarting them now as well would send offers that go nowhere and a second restart after them.
      signaling.reconnect(why);
      this.#negotiator?.renewSpare();
    } else this.#negotiator?.restartAll(why);
  }

  /** Ends a call whose peer vanished, or whose connection stayed down too long. */
  #check(live: LiveCall, now: number): void {
    if (live.ending !== undefined || live.peer === undefined) return;
    const call = live.call;
    if (live.peerGoneAt > 0) {
      const silentFor =
        call.framesReceived > 0 ? now - call.lastFrameAt : now - Math.max(live.lastPacketAt, live.peerGoneAt);
      if (!call.pc.remoteDescription || silentFor >= this.#o.vanishTimeoutMs) {
        this.#end(live, 'peer-vanished');
        return;
      }
    }
    if (live.downSince > 0 && now - live.downSince >= ICE_DOWN_TIMEOUT_MS) this.#end(live, 'ice-failed');
  }

  #stop(reason: EndReason): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#stopReason = reason;
    // Say bye first so the other side hears of it at once, then the calls are finalized. Not joined yet
    // (still connecting): closing the client ends the attempt.
    void this.#signaling?.close().catch(() => undefined);
    for (const live of [...this.#live.values()]) {
      if (live.peer === undefined) this.#discard(live);
      else this.#end(live, reason);
    }
    this.#finished();
  }

  /** Reverse order of start: calls (sinks, peer connection, recording), signaling, tracks, capture. */
  async #cleanup(): Promise<void> {
    if (!this.#stopped) this.#stop(this.#stopReason);
    clearTimeout(this.#durationTimer);
    clearInterval(this.#statsTimer);
    clearInterval(this.#watchdog);
    this.#addresses?.stop();
    while (this.#live.size > 0) {
      await Promise.all([...this.#live.values()].map((l) => l.ending));
      // A call created while the others closed (the negotiator's, before it was closed) ends too.
      for (const live of [...this.#live.values()]) if (live.ending === undefined) this.#discard(live);
    }
    this.#negotiator?.close();
    await this.#signaling?.close().catch((error: unknown) => log('signal close: %s', errorMessage(error)));
    await this.#media?.stop();
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
  if (
    options.addressPollMs !== undefined &&
    !(Number.isFinite(options.addressPollMs) && options.addressPollMs >= 0)
  )
    throw new TypeError(`addressPollMs must be a number of ms (0: off), not ${options.addressPollMs}`);
  for (const name of ['statsIntervalMs', 'vanishTimeoutMs'] as const) {
    const value = options[name];
    if (value !== undefined && !(Number.isFinite(value) && value > 0))
      throw new TypeError(`${name} must be a positive number of ms, not ${value}`);
  }
  return withDefaults(options, PEER_DEFAULTS);
}
