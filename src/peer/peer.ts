import { locateFfmpeg } from '../capture/index.js';
import { SignalError } from '../errors.js';
import { RecordingSeries, type Recorder, type RecordingSummary } from '../record/index.js';
import { RoomSignaling } from '../signal/room-signaling.js';
import type { RemotePeer, Signaling, SignalingEvent } from '../signal/signaling.js';
import { HttpSignaling, SERVER_PEER_ID } from '../signal/whip/http-signaling.js';
import { WhepSignaling } from '../signal/whip/whep-signaling.js';
import { WhipSignaling } from '../signal/whip/whip-signaling.js';
import { withDefaults } from '../util/defaults.js';
import { logger } from '../util/log.js';
import { TypedEmitter } from '../util/typed-emitter.js';
import { AddressWatch } from './address-watch.js';
import { Call } from './call.js';
import { SessionDescriptions } from './descriptions.js';
import { DataLink, DataMessageTooLarge, resolveDataLinkOptions, type DataLinkOptions } from './data-link.js';
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

/**
 * WHIP/WHEP: a new session after a call ended comes this long after it, ms; after each session that could
 * not be made (or a call that failed), twice as long, up to {@link REPUBLISH_MAX_MS}, until a call connects.
 */
const REPUBLISH_MIN_MS = 500;
const REPUBLISH_MAX_MS = 30_000;

/**
 * WHIP/WHEP: a server cannot tell us that its side ended (the room's camera hung up, the viewer left, the SFU
 * dropped the session): a call that received packets and then none for this long is over (`peer-vanished`),
 * ms. Media and RTCP feedback arrive many times a second on a live call; an ICE restart is quicker than this.
 */
const HTTP_SILENCE_MS = 5000;

/**
 * How far ahead of our own ICE deadline the other side's end of a call that never connected still counts as
 * the same timeout (its timer started at its side of the exchange, and the watchdog ticks every 250 ms).
 */
const ICE_TIMEOUT_SLACK_MS = 1000;

/**
 * Answerer: the room's caller has been there this long without offering us a call, ms, and we say so
 * (`no-offer`). A caller offers within milliseconds of a viewer's join (its held offer, or one made for it);
 * one that does not is serving one viewer only (`call --once`) or is stuck.
 */
const NO_OFFER_NOTICE_MS = 5000;

/** A call of ours, with what decides when it ends. */
interface LiveCall {
  call: Call;
  /** The other side, once the call is with someone (a caller's spare call has none yet). */
  peer: RemotePeer | undefined;
  /** WHIP/WHEP: the server, until its session exists (then it is `peer`: the call counts from then). */
  pendingPeer: RemotePeer | undefined;
  /** WHIP/WHEP: the URL of the call's session, as last said (`session` event). */
  session: string | undefined;
  recorder: Recorder | undefined;
  /** Set once the call is ending: resolves when it is closed and reported. */
  ending: Promise<void> | undefined;
  /** When the server said the peer dropped off (no bye), 0 if it did not or came back. */
  peerGoneAt: number;
  /** Since when the connection is down (`disconnected` or `failed`), 0 while it is up. */
  downSince: number;
  /** When the offer and answer were exchanged (we sent or applied the answer), 0 before. */
  exchangedAt: number;
  /** Transport bytes received at the last stats sample, and when they last grew. */
  lastBytes: number;
  lastPacketAt: number;
  /** Its data channel, once the call is someone's and has one: what `send()` sends to. */
  data: DataLink | undefined;
}

const utf8 = new TextEncoder();

/**
 * One process's side of WebRTC calls, following the walk-through:
 *
 * 1. get media (ffmpeg frames into an `RTCVideoSource`, once for every call), create a peer connection per
 *    call with STUN servers, add the tracks, create the offer (caller);
 * 2. send the offer and every candidate to the signaling server, which holds them for the next viewer;
 * 3. the answerer gets the held offer and candidates, answers, and sends its answer and candidates;
 * 4. the caller applies the answer; candidates cross; media flows.
 *
 * The negotiation is the {@link Negotiator}'s over a {@link RoomSignaling} (protocol 2), or over a WHIP or
 * WHEP client ({@link WhipSignaling}, {@link WhepSignaling}: the server's session is the other side, each call
 * one session, a new one after a call ended, with back-off while none can be made): a caller serves
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
  #signaling?: Signaling;
  /** The same, when it is the Socket.IO room (not WHIP/WHEP). */
  #room?: RoomSignaling;
  /** The same, when it is a WHIP or WHEP client. */
  #http?: HttpSignaling;
  /** WHIP/WHEP: the next session after a failed one waits this long, ms; its timer. */
  #republishMs = REPUBLISH_MIN_MS;
  #republishTimer: NodeJS.Timeout | undefined;
  /** The first connection (the first session) is made: failures after it are warnings, not the end. */
  #started = false;
  /** WHIP/WHEP: the DELETE on stopping, after which the calls close. */
  #bye: Promise<void> | undefined;
  /** WHIP/WHEP: sessions that could not be made in a row (the first one's failure is said, the next are logged). */
  #failedSessions = 0;
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
  /** Answerer: the room's caller is there and has not offered us a call yet (see NO_OFFER_NOTICE_MS). */
  #noOffer: { caller: string; timer: NodeJS.Timeout } | undefined;
  /** With `data`: the data channels' limits. */
  readonly #data: Required<DataLinkOptions> | undefined;
  /** Messages sent while no call had a data channel: they go to the first that gets one. */
  readonly #held: string[] = [];
  #heldDropped = 0;
  #tooLarge = 0;
  /** Channels whose queue `send()` found full, and whether `send()` said to wait (`data-drain` owed). */
  readonly #full = new Set<DataLink>();
  #drainOwed = false;

  /** @throws TypeError on invalid options (the parts that take them check theirs when they start). */
  constructor(options: PeerOptions) {
    super();
    this.#o = resolvePeerOptions(options);
    const data = this.#o.data;
    if (data !== undefined && data !== false) {
      this.#data = resolveDataLinkOptions(data === true ? {} : data);
    }
  }

  /**
   * Sends a data message (with the `data` option) to every call's peer: every viewer, for a caller. Sent
   * while no call has a channel yet, it is held (up to `maxQueued`) and goes to the first call that gets one.
   * Returns false when the sender should wait for `data-drain` before sending more (a queue is full; more
   * would drop its oldest, counted in a `data-dropped` warning), like a stream's `write()`.
   *
   * @throws TypeError without the `data` option; {@link DataMessageTooLarge} over `maxMessageBytes` (nothing
   * is sent).
   *
   * @example
   * peer.on('data', (text, _call, from) => console.log(from, text));
   * if (!peer.send(JSON.stringify({ speed: 0.5 }))) await once(peer, 'data-drain');
   */
  send(text: string): boolean {
    const limits = this.#data;
    if (limits === undefined)
      throw new TypeError('Peer.send() needs the data option: new Peer({ data: true })');
    const bytes = utf8.encode(text).length;
    if (bytes > limits.maxMessageBytes) {
      this.#tooLarge++;
      throw new DataMessageTooLarge(bytes, limits.maxMessageBytes);
    }
    const links = [...this.#live.values()]
      .filter((l) => l.data !== undefined && l.ending === undefined)
      .map((l) => l.data as DataLink)
      .filter((link) => link.channel.readyState !== 'closed');
    if (links.length === 0) {
      this.#held.push(text);
      if (this.#held.length > limits.maxQueued) {
        this.#held.shift();
        this.#heldDropped++;
        this.emit('warning', { kind: 'data-dropped', call: null, count: 1, total: this.#heldDropped });
      }
      if (this.#held.length < limits.maxQueued) return true;
      this.#drainOwed = true;
      return false;
    }
    let ok = true;
    for (const link of links)
      if (!link.send(text)) {
        this.#full.add(link);
        ok = false;
      }
    if (!ok) this.#drainOwed = true;
    return ok;
  }

  /** With `data`: the largest message `send()` takes, UTF-8 bytes. */
  get maxDataMessageBytes(): number {
    return this.#data?.maxMessageBytes ?? 0;
  }

  /** A message refused before it reached `send()` (a line too long to read whole): counted in the summary. */
  countTooLarge(): void {
    this.#tooLarge++;
  }

  /** A call that is someone's and has its data channel: `send()` sends to it, and the held messages go first. */
  #attachData(live: LiveCall): void {
    const link = live.call.data;
    if (live.data !== undefined || link === undefined || live.peer === undefined || live.ending) return;
    live.data = link;
    const call = live.call.index;
    const from = live.peer.id;
    link.on('message', (text) => this.emit('data', text, call, from));
    link.on('open', () => this.emit('data-open', call, from));
    link.on('dropped', (count, total) => this.emit('warning', { kind: 'data-dropped', call, count, total }));
    // A channel that drained, or closed (the other side closed it while the call goes on), holds no one up.
    const release = (): void => {
      this.#full.delete(link);
      this.#maybeDrain();
    };
    link.on('drain', release);
    link.on('close', release);
    for (const text of this.#held.splice(0)) if (!link.send(text)) this.#full.add(link);
    this.#maybeDrain();
  }

  /** Says `data-drain` once no queue `send()` found full is full any more. */
  #maybeDrain(): void {
    const limits = this.#data;
    if (!this.#drainOwed || limits === undefined) return;
    if (this.#full.size > 0 || this.#held.length >= limits.maxQueued) return;
    this.#drainOwed = false;
    this.emit('data-drain');
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

  /** The signaling the options ask for: a WHIP or WHEP client, or (by default) the Socket.IO room. */
  #createSignaling(): Signaling {
    const { whipUrl, whepUrl, token, connectTimeoutMs } = this.#o;
    if (whipUrl !== undefined || whepUrl !== undefined) {
      const options = { token, connectTimeoutMs };
      const http =
        whipUrl !== undefined
          ? new WhipSignaling({ ...options, url: whipUrl })
          : new WhepSignaling({ ...options, url: whepUrl! });
      this.#http = http;
      return http;
    }
    const room = new RoomSignaling({
      url: this.#o.signalUrl,
      role: this.#o.role,
      room: this.#o.room,
      token,
      connectTimeoutMs,
      ...(this.#o.ca !== undefined ? { tls: { ca: this.#o.ca } } : {}),
    });
    this.#room = room;
    return room;
  }

  async #joinRoom(): Promise<void> {
    const signaling = this.#createSignaling();
    this.#signaling = signaling;
    const negotiator = new Negotiator<Call>({ signaling, createCall: (peer) => this.#newCall(peer) });
    this.#negotiator = negotiator;
    // Listeners first, then connect: a held offer can arrive right after the join is acknowledged. Ours
    // comes before the negotiator's, so that `joined` is said before what the join brings.
    signaling.on('signal', (event) => this.#onSignal(event));
    negotiator.on('call', (call, peer) => {
      const live = this.#live.get(call);
      // WHIP/WHEP: the call counts (and records) once the server made its session (below).
      if (this.#http !== undefined && live !== undefined) live.pendingPeer ??= peer;
      else this.#onCall(call, peer);
    });
    negotiator.on('step', (call, step) => {
      const index = call.index;
      if (step === 'offer-sent') this.#sessionMade(call);
      const live = this.#live.get(call);
      // The ICE timeout counts from the first exchange (a restart's new answer does not reset it).
      if ((step === 'answer-sent' || step === 'answer-received') && live && live.exchangedAt === 0)
        live.exchangedAt = performance.now();
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
      // The signaling's own errors come to us too (#onSignal), with their code. A first WHIP/WHEP session
      // that could not be made is the error that ends the run: said once, as that.
      if (message.startsWith('signaling: ')) return;
      if (
        this.#http !== undefined &&
        (!this.#started || this.#failedSessions > 0) &&
        message.startsWith('negotiation with ')
      ) {
        log(message);
        return;
      }
      this.emit('warning', { kind: 'negotiation', message });
    });
    try {
      await negotiator.start();
      this.#started = true;
    } catch (error) {
      // SIGINT while still connecting (closing the client aborts the attempt) is a normal end, not an error.
      if (!this.#stopped) throw error;
    }
    // Relay-only ICE without a TURN server of our own counts on the room server's (its join ack): none
    // there is no path at all, said now rather than as an ICE timeout later. (A WHIP/WHEP server's come
    // with its first answer: its ICE timeout says what TURN did.)
    const room = this.#room;
    if (room !== undefined && !this.#stopped && relayWithoutTurn(this.#o.rtcConfiguration, room.iceServers)) {
      throw new SignalError(
        'NO_TURN',
        `relay-only ICE (--ice-transport-policy relay) needs a TURN server, and there is none: not configured ` +
          `(--turn) and not given by the signaling server ${room.url} in its join ack; start that server with ` +
          '--turn-url and --turn-secret-file, or give --turn, --turn-user and --turn-pass',
        room.url,
      );
    }
  }

  #onSignal(event: SignalingEvent): void {
    const signaling = this.#signaling;
    if (signaling === undefined || this.#stopped) return;
    if (event.type === 'joined' && !event.rejoined) {
      // WHIP/WHEP: no room; the `session` event says where we are, once the server made it.
      if (this.#room !== undefined)
        this.emit('joined', this.#room.room, signaling.role, event.peers.length > 0, event.self);
      this.emit('waiting', this.#o.role === 'caller' ? 'answerer' : 'call');
      const caller = event.peers.find((p) => p.role === 'caller');
      if (caller !== undefined) this.#awaitOffer(caller.id);
    } else if (event.type === 'peer-joined' && event.peer.role === 'caller') {
      this.#awaitOffer(event.peer.id);
    } else if (event.type === 'peer-left' && event.id === this.#noOffer?.caller) {
      this.#offerCame();
    } else if (event.type === 'answer' && this.#http !== undefined) {
      // A new session for a call that has one (an ICE restart the server could not make by PATCH).
      for (const live of this.#live.values()) if (live.peer !== undefined) this.#saySession(live);
    } else if (event.type === 'error') {
      this.emit('warning', { kind: 'signal-error', code: event.code, message: event.message });
    }
  }

  /**
   * Answerer in a room: the caller `id` is there; if it makes us no offer within NO_OFFER_NOTICE_MS (a
   * `call --once` busy with another viewer serves no second one, and says nothing to it), we say so, once,
   * and wait on.
   */
  #awaitOffer(id: string): void {
    if (this.#o.role !== 'answerer' || this.#room === undefined || this.#stopped) return;
    if ([...this.#live.values()].some((live) => live.peer !== undefined)) return;
    this.#offerCame();
    const timer = setTimeout(() => {
      this.#noOffer = undefined;
      if (this.#stopped || [...this.#live.values()].some((live) => live.peer !== undefined)) return;
      this.emit('warning', { kind: 'no-offer', caller: id, afterSec: NO_OFFER_NOTICE_MS / 1000 });
    }, NO_OFFER_NOTICE_MS);
    timer.unref();
    this.#noOffer = { caller: id, timer };
  }

  /** The caller's offer came (or the caller left): no `no-offer` warning to give. */
  #offerCame(): void {
    clearTimeout(this.#noOffer?.timer);
    this.#noOffer = undefined;
  }

  /**
   * WHIP/WHEP: the offer of a call went and the server made its session (its 201): the call is with the
   * server from now on, counted and recorded as a room's call is.
   */
  #sessionMade(call: Call): void {
    const live = this.#live.get(call);
    const peer = live?.pendingPeer;
    if (live === undefined || peer === undefined) return;
    live.pendingPeer = undefined;
    this.#failedSessions = 0;
    this.#saySession(live, call.index);
    this.#onCall(call, peer);
  }

  /** Says the session of a WHIP/WHEP call when it is new (`index`: before the call counts). */
  #saySession(live: LiveCall, index = live.call.index): void {
    const http = this.#http;
    const session = http?.sessionUrl;
    if (http === undefined || session === undefined || session === live.session) return;
    live.session = session;
    this.emit('session', index, http.protocol, http.url, session);
  }

  /** The negotiator's new call (a caller's spare or a viewer's, an answerer's for an offer): step 1's pc. */
  #newCall(peer: RemotePeer | undefined): Call {
    const index = ++this.#callCount;
    const call = new Call({
      role: this.#o.role,
      // WHIP publishes, WHEP watches: one way each (RFC 9725 asks a WHIP client for sendonly).
      ...(this.#o.whipUrl !== undefined ? { direction: 'sendonly' as const } : {}),
      ...(this.#o.whepUrl !== undefined ? { direction: 'recvonly' as const } : {}),
      rtcConfiguration: this.#o.rtcConfiguration,
      videoTrack: this.#media?.videoTrack,
      videoLadder: this.#media?.videoLadder,
      videoSize: this.#media?.videoSize,
      degradationPreference: this.#o.degradationPreference,
      audioTrack: this.#media?.audioTrack,
      sentLevel: this.#media?.sentLevel,
      index,
      measureLatency: this.#o.measureLatency,
      ...(this.#data ? { data: this.#data } : {}),
    });
    const live: LiveCall = {
      call,
      // WHIP/WHEP: the call is the server's once it made the session (#sessionMade).
      peer: this.#http ? undefined : peer,
      pendingPeer: this.#http ? peer : undefined,
      session: undefined,
      recorder: undefined,
      ending: undefined,
      peerGoneAt: 0,
      downSince: 0,
      exchangedAt: 0,
      lastBytes: -1,
      lastPacketAt: performance.now(),
      data: undefined,
    };
    this.#live.set(call, live);
    call.on('data-link', () => this.#attachData(live));
    call.on('connected', () => {
      this.#republishMs = REPUBLISH_MIN_MS;
      this.emit('connected', index, performance.now() - call.startedAt);
      if (this.#data && !call.data && !/^m=application /m.test(SessionDescriptions.of(call.pc).remote ?? ''))
        this.emit('warning', { kind: 'no-data-channel', call: index });
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
    call.on('send-size', (w, h, kbps) => this.emit('send-size', index, w, h, kbps));
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
      // One call only (`once`), or stopping: no other. A viewer turned away hears nothing (it waits, and
      // says so after a while: `no-offer`); we say it here.
      if (!this.#stopped && this.#o.role === 'caller')
        this.emit('warning', { kind: 'viewer-not-served', viewer: peer.id });
      this.#discard(live);
      return;
    }
    this.#offerCame();
    live.peer = peer;
    const n = ++this.#served;
    // `once`: no offer held for a next viewer.
    if (this.#o.once) this.#negotiator?.setSpare(false);
    this.emit('call', call.index, peer.id);
    this.#attachData(live);
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
      // The spare, replaced or failed before anyone took it: nobody's call. WHIP/WHEP: a session that
      // could not be made (the negotiator's warning said why); the next is tried after a while.
      this.#discard(live);
      if (reason === 'error') log('the held offer could not be made');
      if (this.#http !== undefined && live.pendingPeer !== undefined) {
        this.#failedSessions++;
        this.#republishLater();
      }
      return;
    }
    // Both sides time ICE out, each from its side of the exchange: the other side's end (its hang-up, or a
    // caller's new offer) can come a moment before our own deadline. A call that never connected, ended so
    // within the watchdog's slack of that deadline, ended for the same reason, and says what ICE tried here.
    if (
      (reason === 'peer-hangup' || reason === 'replaced') &&
      this.#iceTimedOut(live, performance.now() + ICE_TIMEOUT_SLACK_MS)
    ) {
      this.#iceTimeout(live, performance.now());
      // The viewer hung up on a call that found no path, and stays: as after our own timeout, a new call.
      if (reason === 'peer-hangup' && this.#o.role === 'caller' && !this.#o.once && !this.#stopped)
        this.#negotiator?.offerAgain(live.peer.id);
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
      // unless this was the one call (`once`) or we are stopping. WHIP/WHEP: the session is DELETEd, and the
      // next one is made after the call is reported (#afterCall).
      const reoffer = this.#o.role === 'caller' && !this.#o.once && !this.#stopped && !this.#http;
      negotiator.end(call, { reoffer });
    }
    live.ending = (async () => {
      this.#detachData(live);
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

  /** A call ends: `send()` no longer waits on its channel. */
  #detachData(live: LiveCall): void {
    const link = live.data;
    if (link === undefined) return;
    this.#full.delete(link);
    this.#maybeDrain();
  }

  /** After a call ended: done (`once`, media ended), or waiting for the next one. */
  #afterCall(reason: EndReason): void {
    if (this.#stopped) return;
    if (this.#o.once || reason === 'media-ended') {
      this.#stop('hangup');
      return;
    }
    if (![...this.#live.values()].some((l) => l.peer !== undefined && l.ending === undefined)) {
      this.emit('waiting', this.#o.role === 'caller' ? 'answerer' : 'call');
      // WHIP/WHEP: the endpoint is still there; the next call is a new session with it.
      // A call that failed (an answer that could not be applied) waits as a session that could not be made.
      if (this.#http !== undefined) {
        if (reason === 'error') this.#republishLater();
        else this.#scheduleRepublish(REPUBLISH_MIN_MS);
      }
    }
  }

  /** WHIP/WHEP: the next session after a failure, with back-off (reset once a call connects). */
  #republishLater(): void {
    this.#scheduleRepublish(this.#republishMs);
    this.#republishMs = Math.min(REPUBLISH_MAX_MS, this.#republishMs * 2);
  }

  /** WHIP/WHEP: a new session (a new call) with the server in `ms`, unless one is on its way or we stop. */
  #scheduleRepublish(ms: number): void {
    if (this.#stopped || this.#republishTimer !== undefined) return;
    log('a new %s session in %d ms', this.#http?.protocol, ms);
    this.#republishTimer = setTimeout(() => {
      this.#republishTimer = undefined;
      if (this.#stopped || [...this.#live.values()].some((l) => l.ending === undefined)) return;
      this.#negotiator?.offerAgain(SERVER_PEER_ID);
    }, ms);
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
    const signaling = this.#room;
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
      if (SessionDescriptions.of(call.pc).remote === undefined || silentFor >= this.#o.vanishTimeoutMs) {
        this.#end(live, 'peer-vanished');
        return;
      }
    }
    // WHIP/WHEP: the server's side went quiet (see HTTP_SILENCE_MS).
    if (this.#http !== undefined && live.lastBytes > 0 && now - live.lastPacketAt >= HTTP_SILENCE_MS) {
      this.#end(live, 'peer-vanished');
      return;
    }
    // Down: the connection says so, and no packet came since. wrtc's state can stay `disconnected` while a
    // restarted path carries media again (seen once after a lab blackout: 31 fps received, then ended as
    // ice-failed), so the packets have the last word.
    if (live.downSince > 0 && now - Math.max(live.downSince, live.lastPacketAt) >= ICE_DOWN_TIMEOUT_MS) {
      this.#end(live, 'ice-failed');
      return;
    }
    if (this.#iceTimedOut(live, now)) this.#iceTimeout(live, now);
  }

  /** Whether, at `now`, a call has gone `iceTimeoutMs` since its offer and answer without connecting. */
  #iceTimedOut(live: LiveCall, now: number): boolean {
    return !live.call.everConnected && live.exchangedAt > 0 && now - live.exchangedAt >= this.#o.iceTimeoutMs;
  }

  /** No network path found in time: says what ICE tried, and ends the call (a caller offers again). */
  #iceTimeout(live: LiveCall, now: number): void {
    if (live.ending !== undefined) return;
    log('call %d: no path %d ms after the exchange', live.call.index, Math.round(now - live.exchangedAt));
    // The timeout that ran out (the other side's end may have come a moment before it).
    const afterSec = this.#o.iceTimeoutMs / 1000;
    this.emit('warning', {
      kind: 'ice-timeout',
      call: live.call.index,
      afterSec,
      ice: live.call.iceReport(),
    });
    // (A call the negotiator ended already is forgotten there: telling it again does nothing.)
    this.#end(live, 'ice-timeout');
  }

  #stop(reason: EndReason): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#stopReason = reason;
    clearTimeout(this.#republishTimer);
    // Say bye first so the other side hears of it at once, then the calls are finalized. Not joined yet
    // (still connecting): closing the client ends the attempt.
    const bye = this.#signaling?.close().catch(() => undefined);
    const endCalls = (): void => {
      for (const live of [...this.#live.values()]) {
        if (live.peer === undefined) this.#discard(live);
        else this.#end(live, reason);
      }
    };
    if (this.#http !== undefined && bye !== undefined) {
      // WHIP/WHEP: the DELETE is the bye; the calls close once it is answered (bounded), so that the server
      // ends the session because it was told to, not because it saw the connection go. The recordings end now
      // (at --duration, at SIGINT): what comes while the DELETE travels is not in them (the later stop of each
      // call's recorder gets this same one).
      for (const live of this.#live.values())
        if (live.peer !== undefined) void live.recorder?.stop().catch(() => undefined);
      this.#bye = bye.then(endCalls);
    } else endCalls();
    this.#finished();
  }

  /** Reverse order of start: calls (sinks, peer connection, recording), signaling, tracks, capture. */
  async #cleanup(): Promise<void> {
    if (!this.#stopped) this.#stop(this.#stopReason);
    clearTimeout(this.#durationTimer);
    clearInterval(this.#statsTimer);
    clearInterval(this.#watchdog);
    this.#offerCame();
    this.#addresses?.stop();
    await this.#bye;
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
      ...(this.#data
        ? { data: { tooLarge: this.#tooLarge, heldDropped: this.#heldDropped + this.#held.length } }
        : {}),
    };
  }
}

/** WHIP for a caller that sends, WHEP for an answerer that receives, either instead of a room. */
function checkHttpSignaling(options: PeerOptions): void {
  const { whipUrl, whepUrl, role } = options;
  if (whipUrl === undefined && whepUrl === undefined) return;
  const name = whipUrl !== undefined ? 'whipUrl' : 'whepUrl';
  if (whipUrl !== undefined && whepUrl !== undefined)
    throw new TypeError('give whipUrl (to publish) or whepUrl (to watch), not both');
  if (options.signalUrl !== undefined || options.room !== undefined)
    throw new TypeError(`${name} replaces signalUrl and room: give one or the other`);
  if (whipUrl !== undefined) {
    if (role !== 'caller') throw new TypeError('whipUrl is for a caller: WHIP publishes our media');
    if (options.source === undefined && options.audioSource === undefined)
      throw new TypeError('whipUrl needs something to publish: a video source or a sound source');
    if (options.record !== undefined)
      throw new TypeError('whipUrl only publishes: nothing comes back to record');
  } else {
    if (role !== 'answerer') throw new TypeError('whepUrl is for an answerer: WHEP watches a stream');
    if (options.source !== undefined || options.audioSource !== undefined)
      throw new TypeError('whepUrl only watches: a WHEP viewer sends nothing (drop the source)');
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
  checkHttpSignaling(options);
  const preference = options.degradationPreference;
  if (preference !== undefined && preference !== 'maintain-framerate' && preference !== 'maintain-resolution')
    throw new TypeError(
      `degradationPreference must be "maintain-framerate" or "maintain-resolution", not ${JSON.stringify(preference)}`,
    );
  if (
    options.addressPollMs !== undefined &&
    !(Number.isFinite(options.addressPollMs) && options.addressPollMs >= 0)
  )
    throw new TypeError(`addressPollMs must be a number of ms (0: off), not ${options.addressPollMs}`);
  for (const name of ['statsIntervalMs', 'vanishTimeoutMs', 'iceTimeoutMs'] as const) {
    const value = options[name];
    if (value !== undefined && !(Number.isFinite(value) && value > 0))
      throw new TypeError(`${name} must be a positive number of ms, not ${value}`);
  }
  return withDefaults(options, PEER_DEFAULTS);
}

/** A relay-only configuration with no TURN server, neither its own nor among `given` (the signaling's). */
export function relayWithoutTurn(config: RTCConfiguration, given: readonly RTCIceServer[]): boolean {
  if (config.iceTransportPolicy !== 'relay') return false;
  const urls = [...(config.iceServers ?? []), ...given].flatMap((s) =>
    typeof s.urls === 'string' ? [s.urls] : [...s.urls],
  );
  return !urls.some((url) => /^turns?:/i.test(url));
}
