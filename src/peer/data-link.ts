/**
 * A call's data channel for commands and telemetry next to the video: text messages (UTF-8, one line of a
 * script's input or output each, JSON or not), reliable and ordered, with a size limit per message and
 * backpressure that never lets memory grow without bound:
 *
 * - messages sent before the channel opens are held (bounded) and go when it opens;
 * - the channel's own buffer is kept under `highWaterBytes`: beyond it, messages wait in our queue until it
 *   drains (`bufferedamountlow`);
 * - `send()` says, like a stream's `write()`, whether the producer should wait (`false`: wait for `drain`);
 *   a producer that does not wait fills the queue to `maxQueued`, and then the oldest queued messages are
 *   dropped, counted and reported (`dropped` event): for live commands and telemetry the latest matter most.
 *
 * Portable (standard RTCDataChannel API): the Node peer and the browser page share it. It survives an ICE
 * restart: the channel belongs to the peer connection, which the restart keeps.
 *
 * The ready handshake. @roamhq/wrtc, on the side that receives a channel (`datachannel`), can deliver its
 * first messages out of order: the messages that came before the channel's JS object existed are held by
 * the native layer and handed over after it registers the object, while messages arriving meanwhile go
 * straight through (node-webrtc's `RTCDataChannel` constructor: `RegisterObserver(this)`, then the re-queue
 * of the cached events). Measured: 1000 messages sent at `open`, reordered in 3 of 30 calls. So the side
 * that receives the channel opens a second, empty one, {@link DATA_READY_LABEL}, once its link exists; the
 * side that created the channel sends nothing before it sees that one come (0 reordered in 60 calls), or
 * {@link READY_WAIT_MS} after `open` from a peer that does not say it (a browser, which has no such bug).
 *
 * @example
 * const link = new DataLink(pc.createDataChannel('rtc-peer'));   // caller, before the offer
 * link.on('message', (text) => process.stdout.write(text + '\n'));
 * if (!link.send('{"cmd":"forward"}')) await once(link, 'drain');
 */
import { TypedEmitter } from '../util/typed-emitter.js';

/** The label of rtc-peer's data channel. */
export const DATA_CHANNEL_LABEL = 'rtc-peer';

/**
 * The label of the empty channel the receiving side opens to say that its link exists (the ready
 * handshake, in the module comment). Never carries a message.
 */
export const DATA_READY_LABEL = 'rtc-peer-ready';

/** How long the creating side waits after `open` for the peer's ready channel before it sends anyway. */
export const READY_WAIT_MS = 1000;

/**
 * Which side of the channel a link is, for the ready handshake: `creator` made it with
 * `createDataChannel` and waits for the peer's ready channel; `receiver` got it from `datachannel` and
 * opens the ready channel. Without it (a link over a channel whose peer is known to be ready), no handshake.
 */
export interface DataLinkHandshake {
  pc: RTCPeerConnection;
  side: 'creator' | 'receiver';
}

/** Options of a {@link DataLink}. Defaults live in {@link DATA_LINK_DEFAULTS}. */
export interface DataLinkOptions {
  /** Largest message, UTF-8 bytes; a larger one is refused with a {@link DataMessageTooLarge}. Default 64 KiB. */
  maxMessageBytes?: number;
  /** Messages held in our queue (channel not open, or its buffer full) before the oldest are dropped. Default 1000. */
  maxQueued?: number;
  /** Bytes in the channel's own buffer above which we stop handing it messages. Default 1 MiB. */
  highWaterBytes?: number;
  /** Bytes the channel's buffer must fall to before we hand it more (`bufferedAmountLowThreshold`). Default 256 KiB. */
  lowWaterBytes?: number;
}

/** Defaults of {@link DataLinkOptions}. */
export const DATA_LINK_DEFAULTS = {
  maxMessageBytes: 64 * 1024,
  maxQueued: 1000,
  highWaterBytes: 1024 * 1024,
  lowWaterBytes: 256 * 1024,
} as const;

/**
 * {@link DataLinkOptions} checked, with the defaults applied.
 *
 * @throws TypeError naming the bad option.
 */
export function resolveDataLinkOptions(options: DataLinkOptions = {}): Required<DataLinkOptions> {
  const defined = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
  const resolved = { ...DATA_LINK_DEFAULTS, ...defined };
  for (const [name, value] of Object.entries(resolved))
    if (!Number.isInteger(value) || value < 1)
      throw new TypeError(`DataLink ${name} must be a positive integer, got ${value}`);
  if (resolved.lowWaterBytes > resolved.highWaterBytes)
    throw new TypeError('DataLink lowWaterBytes must not be above highWaterBytes');
  return resolved;
}

/** A message over the size limit: nothing was sent. */
export class DataMessageTooLarge extends Error {
  constructor(
    readonly bytes: number,
    readonly limit: number,
  ) {
    super(
      `data message of ${bytes} bytes is over the limit of ${limit} bytes; nothing was sent (split it up)`,
    );
    this.name = 'DataMessageTooLarge';
  }
}

/** Counters of a {@link DataLink}. */
export interface DataLinkStats {
  sent: number;
  received: number;
  /** Dropped from our queue because it was full (the producer did not wait for `drain`). */
  dropped: number;
  /** Waiting in our queue now. */
  queued: number;
  /** Refused for their size. */
  tooLarge: number;
}

/** Events of a {@link DataLink}. */
export type DataLinkEvents = {
  /** A message from the other side. */
  message: [text: string];
  /** The channel is open: held messages are on their way. */
  open: [];
  /** The channel closed (the call ended). */
  close: [];
  /** The queue is below its limit again: `send()` returns true again. */
  drain: [];
  /** Messages were dropped (the queue was full); `total`: since the start. */
  dropped: [count: number, total: number];
};

const encoder = new TextEncoder();

/**
 * How often a full channel buffer is looked at again. @roamhq/wrtc never fires `bufferedamountlow` (its
 * channel has no such event), so the event alone would leave a queue waiting for ever there; browsers fire
 * it, and the look finds the room a little later at worst.
 */
const BUFFER_POLL_MS = 5;

/** A data channel with bounded buffering (see the module comment). */
export class DataLink extends TypedEmitter<DataLinkEvents> {
  readonly channel: RTCDataChannel;
  readonly #o: Required<DataLinkOptions>;
  readonly #queue: string[] = [];
  readonly #stats: DataLinkStats = { sent: 0, received: 0, dropped: 0, queued: 0, tooLarge: 0 };
  #wantDrain = false;
  #closed = false;
  #poll: ReturnType<typeof setTimeout> | undefined;
  /** Creator side: the peer has not said it is ready yet (nothing is handed to the channel). */
  #awaitingPeer = false;
  #readyWait: ReturnType<typeof setTimeout> | undefined;
  /** Receiver side: the ready channel we opened. */
  #readyChannel: RTCDataChannel | undefined;
  #pc: RTCPeerConnection | undefined;

  /** @throws TypeError on invalid options. */
  constructor(channel: RTCDataChannel, options: DataLinkOptions = {}, handshake?: DataLinkHandshake) {
    super();
    this.#o = resolveDataLinkOptions(options);
    this.channel = channel;
    channel.bufferedAmountLowThreshold = this.#o.lowWaterBytes;
    if (handshake?.side === 'receiver') {
      this.#readyChannel = handshake.pc.createDataChannel(DATA_READY_LABEL);
    } else if (handshake?.side === 'creator') {
      this.#awaitingPeer = true;
      this.#pc = handshake.pc;
      handshake.pc.addEventListener('datachannel', this.#onPeerChannel);
    }
    channel.addEventListener('open', () => {
      this.emit('open');
      if (this.#awaitingPeer) this.#readyWait = setTimeout(() => this.#peerReady(), READY_WAIT_MS);
      this.#pump();
    });
    channel.addEventListener('bufferedamountlow', () => this.#pump());
    channel.addEventListener('message', (event: MessageEvent) => {
      this.#stats.received++;
      const data: unknown = event.data;
      this.emit('message', typeof data === 'string' ? data : new TextDecoder().decode(data as ArrayBuffer));
    });
    channel.addEventListener('close', () => {
      clearTimeout(this.#poll);
      this.#stopHandshake();
      if (this.#closed) return;
      this.#closed = true;
      this.emit('close');
    });
    if (channel.readyState === 'open') queueMicrotask(() => this.#pump());
  }

  /** Whether the channel is open. */
  get open(): boolean {
    return this.channel.readyState === 'open';
  }

  get stats(): DataLinkStats {
    return { ...this.#stats, queued: this.#queue.length };
  }

  /**
   * Sends a message now, or queues it (channel not open yet, or its buffer full). Returns false when the
   * producer should wait for `drain` before sending more (the queue is at its limit; more would drop the
   * oldest). Throws {@link DataMessageTooLarge} over the size limit (nothing is sent or queued).
   */
  send(text: string): boolean {
    const bytes = encoder.encode(text).length;
    if (bytes > this.#o.maxMessageBytes) {
      this.#stats.tooLarge++;
      throw new DataMessageTooLarge(bytes, this.#o.maxMessageBytes);
    }
    if (this.#closed) return false;
    if (this.#queue.length === 0 && this.#canSend()) {
      this.#deliver(text);
      return true;
    }
    this.#queue.push(text);
    this.#waitForRoom();
    if (this.#queue.length > this.#o.maxQueued) {
      const over = this.#queue.length - this.#o.maxQueued;
      this.#queue.splice(0, over);
      this.#stats.dropped += over;
      this.emit('dropped', over, this.#stats.dropped);
    }
    const full = this.#queue.length >= this.#o.maxQueued;
    if (full) this.#wantDrain = true;
    return !full;
  }

  /** Closes the channel (idempotent). Queued messages are dropped (counted). */
  close(): void {
    clearTimeout(this.#poll);
    this.#stopHandshake();
    if (this.#readyChannel !== undefined && this.#readyChannel.readyState !== 'closed')
      this.#readyChannel.close();
    if (this.#queue.length > 0) {
      this.#stats.dropped += this.#queue.length;
      this.#queue.length = 0;
    }
    if (this.channel.readyState !== 'closed') this.channel.close();
  }

  #canSend(): boolean {
    return (
      !this.#awaitingPeer &&
      this.channel.readyState === 'open' &&
      this.channel.bufferedAmount < this.#o.highWaterBytes
    );
  }

  readonly #onPeerChannel = (event: RTCDataChannelEvent): void => {
    if (event.channel.label !== DATA_READY_LABEL) return;
    event.channel.close();
    this.#peerReady();
  };

  /** The peer's link exists (its ready channel came), or it will not say so: the queue may go. */
  #peerReady(): void {
    if (!this.#awaitingPeer) return;
    this.#stopHandshake();
    this.#pump();
  }

  #stopHandshake(): void {
    this.#awaitingPeer = false;
    clearTimeout(this.#readyWait);
    this.#pc?.removeEventListener('datachannel', this.#onPeerChannel);
    this.#pc = undefined;
  }

  #deliver(text: string): void {
    this.channel.send(text);
    this.#stats.sent++;
  }

  /** Messages wait for the channel's buffer to fall: look again soon (see {@link BUFFER_POLL_MS}). */
  #waitForRoom(): void {
    if (this.#poll !== undefined || this.#queue.length === 0 || this.channel.readyState !== 'open') return;
    if (this.#awaitingPeer) return;
    this.#poll = setTimeout(() => {
      this.#poll = undefined;
      this.#pump();
    }, BUFFER_POLL_MS);
  }

  /** Hands queued messages to the channel while its buffer has room. */
  #pump(): void {
    while (this.#queue.length > 0 && this.#canSend()) this.#deliver(this.#queue.shift() ?? '');
    this.#waitForRoom();
    if (this.#wantDrain && this.#queue.length < this.#o.maxQueued) {
      this.#wantDrain = false;
      this.emit('drain');
    }
  }
}
