/**
 * The receive bridge: each remote track of a peer connection (`ontrack`) into one wrtc sink
 * (`RTCVideoSink`, `RTCAudioSink`), and what comes out of it to whoever listens — a recording through a
 * {@link ReceivedTrack} (`Recorder.addTrack`), and the call's own figures (frames received, the first frame,
 * the first sound, the level, the latency read from the test pattern).
 */
import wrtc from '@roamhq/wrtc';
import type { AudioData, I420Frame, ReceivedTrack, ReceivedTrackEvents } from '../record/index.js';
import { logger } from '../util/log.js';
import { TypedEmitter } from '../util/typed-emitter.js';
import { PeakMeter } from './audio-level.js';
import { FirstSound } from './first-sound.js';
import { LatencyMeter } from './latency.js';

const log = logger('peer');

/** Options of a {@link ReceiveBridge}. */
export interface ReceiveBridgeOptions {
  /** Read the sender's clock from the test pattern's barcode in each received frame. Default: false. */
  measureLatency?: boolean;
  /** Name in log lines, e.g. `call 2`. Default: `call`. */
  name?: string;
}

/** Events of a {@link ReceiveBridge}. */
export type ReceiveBridgeEvents = {
  /**
   * A remote track has its sink (from `ontrack`, as the remote description is applied, before any media):
   * subscribe to it to record it. At most one per kind.
   */
  track: [track: ReceivedTrack];
  /** The first decoded remote video frame, at `performance.now()` `atMs`. */
  'first-frame': [width: number, height: number, atMs: number];
  /**
   * The first chunk of remote sound (after the sink's start-up silence), with its rate and channel count as
   * received, at `performance.now()` `atMs`.
   */
  'first-audio': [sampleRate: number, channels: number, atMs: number];
};

/** A remote track with its sink: the media it decodes, as events. */
class BridgedTrack extends TypedEmitter<ReceivedTrackEvents> implements ReceivedTrack {
  constructor(
    readonly kind: 'audio' | 'video',
    readonly id: string,
  ) {
    super();
  }
}

/**
 * One call's remote media. Every new remote track gets one sink, and one track of each kind is bridged: a
 * remote description applied again on the same peer connection (a renegotiation, an ICE restart) fires
 * `ontrack` only for new transceivers, and even a repeated or second track of a kind gets no second sink, so
 * nothing is received, counted or recorded twice.
 *
 * @example
 * const received = new ReceiveBridge(pc, { measureLatency: true });
 * received.on('track', (track) => recorder.addTrack(track));
 * // ...
 * received.stop(); // before pc.close(): closing a connection under a live sink is what crashes wrtc
 */
export class ReceiveBridge extends TypedEmitter<ReceiveBridgeEvents> {
  /** Latency of received frames, with `measureLatency`. */
  readonly latency?: LatencyMeter;
  readonly #pc: RTCPeerConnection;
  readonly #name: string;
  readonly #level = new PeakMeter();
  readonly #tracks = new Map<'audio' | 'video', BridgedTrack>();
  #sinks: { stop(): void }[] = [];
  #stopped = false;
  #framesReceived = 0;
  #lastFrameAt = 0;
  #firstFrameAt: number | undefined;
  #audioChunksReceived = 0;

  constructor(pc: RTCPeerConnection, options: ReceiveBridgeOptions = {}) {
    super();
    this.#pc = pc;
    this.#name = options.name ?? 'call';
    if (options.measureLatency) this.latency = new LatencyMeter();
    pc.ontrack = (event) => this.#onTrack(event.track);
  }

  /** Decoded video frames received. */
  get framesReceived(): number {
    return this.#framesReceived;
  }

  /** `performance.now()` of the last received frame (0: none yet). */
  get lastFrameAt(): number {
    return this.#lastFrameAt;
  }

  /** `performance.now()` of the first received frame, once there is one. */
  get firstFrameAt(): number | undefined {
    return this.#firstFrameAt;
  }

  /** 10 ms chunks of remote sound received (the sink's start-up silence included). */
  get audioChunksReceived(): number {
    return this.#audioChunksReceived;
  }

  /** The peak level of the sound received since the last call, 0..1; undefined when none came. */
  takeLevel(): number | undefined {
    return this.#level.take();
  }

  /** Stops every sink and forgets the listeners of the tracks. Idempotent. */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#pc.ontrack = null;
    for (const sink of this.#sinks) sink.stop();
    this.#sinks = [];
    for (const track of this.#tracks.values()) track.removeAllListeners();
    this.removeAllListeners();
  }

  #onTrack(track: MediaStreamTrack): void {
    if (this.#stopped || (track.kind !== 'audio' && track.kind !== 'video')) return;
    const bridged = this.#tracks.get(track.kind);
    if (bridged) {
      log(
        '%s: %s %s track %s: not bridged (%s already is)',
        this.#name,
        bridged.id === track.id ? 'the same' : 'a second',
        track.kind,
        track.id,
        bridged.id,
      );
      return;
    }
    const out = new BridgedTrack(track.kind, track.id);
    this.#tracks.set(track.kind, out);
    if (track.kind === 'video') this.#bridgeVideo(track, out);
    else this.#bridgeAudio(track, out);
    // ontrack fires while the remote description is applied, before any media: a recording learns in time
    // which tracks to wait for.
    this.emit('track', out);
  }

  #bridgeVideo(track: MediaStreamTrack, out: BridgedTrack): void {
    const sink = new wrtc.nonstandard.RTCVideoSink(track);
    this.#sinks.push(sink);
    sink.onframe = ({ frame }: { frame: I420Frame }) => {
      const now = performance.now();
      this.#framesReceived++;
      this.#lastFrameAt = now;
      if (this.#firstFrameAt === undefined) {
        this.#firstFrameAt = now;
        this.emit('first-frame', frame.width, frame.height, now);
      }
      this.latency?.addFrame(frame);
      out.emit('frame', frame, now);
    };
  }

  #bridgeAudio(track: MediaStreamTrack, out: BridgedTrack): void {
    const sink = new wrtc.nonstandard.RTCAudioSink(track);
    this.#sinks.push(sink);
    const first = new FirstSound();
    sink.ondata = (data: AudioData) => {
      const now = performance.now();
      this.#audioChunksReceived++;
      // The sink starts with muted silence before anything is decoded: the first sound is what comes after.
      const heard = first.push(data, now);
      if (heard) this.emit('first-audio', heard.sampleRate, heard.channels, heard.atMs);
      this.#level.add(data.samples);
      out.emit('data', data, now);
    };
  }
}
