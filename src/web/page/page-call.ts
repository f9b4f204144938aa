/**
 * One call of the page: the browser's RTCPeerConnection, our camera's tracks on it (when we send), the
 * remote tracks gathered into one stream for the `<video>` element, and its live figures once a second,
 * summarized by the same code as the Node peer's (peer/call-stats.ts).
 */
import { summarizeStats, type CallStats } from '../../peer/call-stats.js';
import { DataLink, DATA_CHANNEL_LABEL } from '../../peer/data-link.js';
import type { NegotiatedCall } from '../../peer/negotiator.js';

/** Options of a {@link PageCall}. */
export interface PageCallOptions {
  iceServers: RTCIceServer[];
  /** What we send (the caller's camera and microphone); none: receive only. */
  local?: MediaStream;
  /** Called with each new live sample. */
  onStats(stats: CallStats): void;
  /** Called once per remote track, with the stream that holds them all. */
  onTrack(stream: MediaStream, track: MediaStreamTrack): void;
  /** Called when the connection state changes. */
  onState(state: RTCPeerConnectionState): void;
  /** Open the data channel (the caller opens it, before the offer; the other side accepts it). */
  openData: boolean;
  /** Called when the call's data channel exists (opened by us, or by the other side). */
  onData(link: DataLink): void;
}

/**
 * Asks the browser to keep the camera's size and give up frame rate instead when CPU or bandwidth is short
 * (its default, `balanced`, halves the size first). A recorder on the other side (rtc-peer's makes its file
 * the size of the first frame) would otherwise record a whole call at the size of a busy first second:
 * Chromium on a loaded 2-core machine sent 320x240 of a 640x480 camera. Browsers without the parameter
 * keep their default.
 */
function keepResolution(sender: RTCRtpSender): void {
  const parameters = sender.getParameters();
  sender
    .setParameters({ ...parameters, degradationPreference: 'maintain-resolution' })
    // Refused (a browser without the parameter): its default stays, and the call goes on as before.
    .catch(() => undefined);
}

/** A call of the page. */
export class PageCall implements NegotiatedCall {
  readonly pc: RTCPeerConnection;
  /** The remote tracks, in one stream: the sender's sound plays with its picture. */
  readonly remote = new MediaStream();
  latest: CallStats | undefined;
  /** The call's data channel, once there is one. */
  data: DataLink | undefined;
  readonly #timer: ReturnType<typeof setInterval>;
  #closed = false;

  constructor(options: PageCallOptions) {
    this.pc = new RTCPeerConnection({ iceServers: options.iceServers });
    const local = options.local;
    if (local)
      for (const track of local.getTracks()) {
        const sender = this.pc.addTrack(track, local);
        if (track.kind === 'video') keepResolution(sender);
      }
    this.pc.addEventListener('track', (event) => {
      this.remote.addTrack(event.track);
      options.onTrack(this.remote, event.track);
    });
    this.pc.addEventListener('connectionstatechange', () => options.onState(this.pc.connectionState));
    // The ready handshake (data-link.ts): a Node peer that receives our channel may reorder what comes
    // before it says it is ready; one that sends us its channel waits for ours.
    const attach = (channel: RTCDataChannel, side: 'creator' | 'receiver'): void => {
      this.data = new DataLink(channel, {}, { pc: this.pc, side });
      options.onData(this.data);
    };
    if (options.openData) attach(this.pc.createDataChannel(DATA_CHANNEL_LABEL, { ordered: true }), 'creator');
    else
      this.pc.addEventListener('datachannel', (event) => {
        if (event.channel.label === DATA_CHANNEL_LABEL && this.data === undefined)
          attach(event.channel, 'receiver');
      });
    this.#timer = setInterval(() => {
      this.pc.getStats().then(
        (report) => {
          if (this.#closed) return;
          const entries = [...(report as unknown as Map<string, { type: string }>).values()];
          this.latest = summarizeStats(entries, performance.now(), this.latest);
          options.onStats(this.latest);
        },
        () => undefined, // a closing connection: no more figures
      );
    }, 1000);
  }

  /** Closes the connection (idempotent). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    this.data?.close();
    this.pc.close();
  }
}
