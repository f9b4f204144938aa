import type { AudioCaptureStats, AudioSource, CaptureSource } from '../capture/index.js';
import type { RecordingSeriesOptions, RecordingSummary } from '../record/index.js';
import type { CallStats } from './call-stats.js';
import type { LatencyPercentiles } from './latency.js';

/** The STUN server the walk-through uses; reachable from most networks, harmless when it is not. */
export const DEFAULT_STUN_URLS: readonly string[] = ['stun:stun.l.google.com:19302'];

/** Options of a {@link Peer}: one process's side of calls, as `rtc-peer call` / `rtc-peer answer` run it. */
export interface PeerOptions {
  /** `caller` makes the offer (walk-through steps 1-2, 4); `answerer` answers it (step 3). */
  role: 'caller' | 'answerer';
  /** Signaling server URL. Default `http://localhost:8080`. */
  signalUrl?: string;
  /** Room to join. Default `default`. */
  room?: string;
  /** Token for a server started with `--token`. Default: none. */
  token?: string;
  /**
   * The configuration of every call's `RTCPeerConnection`: ICE servers (STUN, TURN) and policy. Default:
   * the walk-through's STUN server ({@link DEFAULT_STUN_URLS}), policy `all`.
   */
  rtcConfiguration?: RTCConfiguration;
  /** What video to send. Default: nothing (receive only). The CLI's `call` defaults to the test pattern. */
  source?: CaptureSource;
  /**
   * What sound to send. Default: none. The CLI picks the test tone with the test pattern, a file's own sound
   * with `--input`, and `--audio-device` when given.
   */
  audioSource?: AudioSource;
  /** Channels of the sound sent: 1 (mono) or 2 (stereo). Default 1. */
  audioChannels?: number;
  /** Capture width in pixels. Default 640. */
  width?: number;
  /** Capture height in pixels. Default 480. */
  height?: number;
  /** Capture frame rate. Default 30. */
  fps?: number;
  /** ffmpeg binary to use (`--ffmpeg`); default: found by `locateFfmpeg`. */
  ffmpegPath?: string;
  /**
   * Record what each call receives: call 1 to `record.path` (`.webm` or `.mkv`), call 2 to `NAME-2.webm`,
   * and so on; `record.force` overwrites existing files. Checked before anything starts. Default: none.
   */
  record?: RecordingSeriesOptions;
  /** End each call this many seconds after it connects, then stop. Default: no limit. */
  durationSec?: number;
  /** Stop after the first call instead of waiting for the next one. Default false. */
  once?: boolean;
  /**
   * Measure frame-in to frame-out latency from the barcode that rtc-peer's test pattern carries (the sender's
   * wall clock). Same machine only: both ends must share one clock. Default false.
   */
  measureLatency?: boolean;
  /** Interval of `stats` events, ms. Default 1000. */
  statsIntervalMs?: number;
  /**
   * After the server says the other side dropped off (no bye), how long its packets may stay silent before
   * the call counts as hung up, ms. Default 2000.
   */
  vanishTimeoutMs?: number;
  /** Time to wait for the first connection to the signaling server, retries included, ms. Default 10000. */
  connectTimeoutMs?: number;
}

/** Events of a {@link Peer}, in the order they usually come. */
export type PeerEvents = {
  /** Local media started; `description` says what it is (e.g. `test pattern 640x480@30`). */
  'media-started': [description: string];
  /** Joined the room; `peerPresent` tells whether the other role is there. */
  joined: [room: string, role: string, peerPresent: boolean];
  /** Waiting for something (an answerer, a call). */
  waiting: [what: string];
  'offer-sent': [call: number];
  'offer-received': [call: number];
  'answer-sent': [call: number];
  'answer-received': [call: number];
  /** The peer connection is connected, `ms` after the call began. */
  connected: [call: number, ms: number];
  /** First decoded remote frame. */
  'first-frame': [call: number, width: number, height: number, ms: number];
  /** First chunk of remote sound. */
  'first-audio': [call: number, sampleRate: number, channels: number, ms: number];
  /** Recording of a call started to `path`. */
  recording: [call: number, path: string];
  /**
   * Live figures, every `statsIntervalMs`; `framesRecorded` is the frames in the call's recording so far
   * (undefined when not recording).
   */
  stats: [call: number, stats: CallStats, framesRecorded: number | undefined, latency?: LatencyPercentiles];
  /** A call ended. */
  'call-ended': [summary: CallSummary];
  /** Lost the signaling server (media keeps flowing; the client reconnects by itself). */
  'signal-lost': [reason: string];
  /** Back on the signaling server, rejoined the room. */
  'signal-rejoined': [];
  /** Something the user should know that does not stop the peer. */
  warning: [message: string];
};

/** What {@link Peer.run} resolves to. */
export interface PeerSummary {
  role: 'caller' | 'answerer';
  calls: CallSummary[];
  framesCaptured: number;
  framesDroppedAtCapture: number;
  /** Sound sent: 10 ms chunks, chunks dropped, buffer underruns (when sending sound). */
  audioCaptured?: AudioCaptureStats;
  recordings: RecordingSummary[];
}

/** Why a call ended. */
export type EndReason =
  | 'hangup' // we hung up (duration reached, SIGINT/SIGTERM, replaced)
  | 'peer-hangup' // the other side said bye
  | 'peer-vanished' // the other side disappeared without bye (killed, network gone)
  | 'ice-failed' // no network path, or it broke and did not come back
  | 'replaced' // a new offer arrived: a fresh call starts
  | 'media-ended' // our source ended (ffmpeg died, file ended)
  | 'error';

/** What a finished call reports. */
export interface CallSummary {
  index: number;
  reason: EndReason;
  /** Seconds from the start of the call to its end. */
  durationSec: number;
  /** Milliseconds from the start of the call to the first received frame. */
  firstFrameMs?: number;
  framesSent: number;
  framesReceived: number;
  /** The call's recording, when recording. */
  recording?: RecordingSummary;
  /** Remote candidates dropped because too many arrived before the remote description. */
  droppedCandidates: number;
  /** Frame-in to frame-out latency, with `measureLatency`. */
  latency?: LatencyPercentiles;
  /** Sound, when the call carried an audio track either way. */
  audio?: CallAudioSummary;
}

/** The audio part of a {@link CallSummary}. */
export interface CallAudioSummary {
  /** RTP packets of sound sent. */
  packetsSent: number;
  /** RTP packets of sound received, and lost on the way. */
  packetsReceived: number;
  packetsLost: number;
  /** 10 ms chunks of decoded sound received (`RTCAudioSink`). */
  chunksReceived: number;
}
