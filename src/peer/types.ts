/**
 * The public shapes of the peer room: a peer's options and defaults, its events (data, worded by whoever
 * shows them: the CLI's reporter), and what calls and peers report.
 */
import type { AudioCaptureStats, AudioSource, CaptureSource } from '../capture/index.js';
import type { RecordingSeriesOptions, RecordingSummary } from '../record/index.js';
import { SIGNAL_SERVER_DEFAULTS } from '../signal/server.js';
import type { CallStats } from './call-stats.js';
import type { DataLinkOptions, DataLinkStats } from './data-link.js';
import type { LatencyPercentiles } from './latency.js';

/** The STUN server the walk-through uses; reachable from most networks, harmless when it is not. */
export const DEFAULT_STUN_URLS: readonly string[] = ['stun:stun.l.google.com:19302'];

/** Options of a `Peer`: one process's side of calls, as `rtc-peer call` / `rtc-peer answer` run it. */
export interface PeerOptions {
  /** `caller` makes the offer (walk-through steps 1-2, 4); `answerer` answers it (step 3). */
  role: 'caller' | 'answerer';
  /**
   * Signaling server URL, or several (nodes of one deployment: the first that answers is used, the others
   * after a lost connection, in turn). Default: `http://localhost:8080` (the server's default port on this
   * machine).
   */
  signalUrl?: string | readonly string[];
  /** Room to join. Default: the signaling client's, `default` (`DEFAULT_ROOM`). */
  room?: string;
  /**
   * Caller only: publish to this WHIP endpoint (RFC 9725: MediaMTX `/NAME/whip`, Janus through
   * simple-whip-server, LiveKit ingress, `rtc-peer signal`'s `/whip/ROOM`) instead of joining a room;
   * excludes `signalUrl` and `room`. Each call is one WHIP session: its tracks sent only. Default: none.
   */
  whipUrl?: string;
  /**
   * Answerer only: watch this WHEP endpoint (MediaMTX `/NAME/whep`, `rtc-peer signal`'s `/whep/ROOM`) instead
   * of joining a room; excludes `signalUrl`, `room` and anything to send. Each call is one WHEP session (a
   * receive-only offer of ours), recorded as a room's call is. Default: none.
   */
  whepUrl?: string;
  /**
   * Token for a server that requires one: the Socket.IO server's, or the WHIP/WHEP server's bearer token
   * (`Authorization: Bearer`). Default: none.
   */
  token?: string;
  /**
   * For an `https://` signaling server with a certificate Node does not trust (self-signed, a private
   * CA): the PEM CA certificate(s) to trust. Default: Node's CAs (and NODE_EXTRA_CA_CERTS).
   */
  ca?: string;
  /**
   * Time to wait for the first connection to the signaling server (with WHIP/WHEP: for the first session),
   * retries included, ms. Default: the client's, 10000 (WHIP/WHEP: 15000).
   */
  connectTimeoutMs?: number;
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
  /** Channels of the sound sent: 1 (mono) or 2 (stereo). Default: the capture's, 1 (`AUDIO_DEFAULTS`). */
  audioChannels?: number;
  /** Video width sent, in pixels. Default: the capture's, 640 (`CAPTURE_DEFAULTS`). */
  width?: number;
  /** Video height sent, in pixels. Default: the capture's, 480. */
  height?: number;
  /** Video frame rate sent. Default: the capture's, 30. */
  fps?: number;
  /**
   * What gives when a call's link cannot carry our picture: its size (`maintain-framerate`: each call sends
   * a half or quarter size while its bandwidth estimate is below libwebrtc's limits, 300 and 60 kbit/s for
   * 640x480, as browsers scale a camera down) or its frame rate (`maintain-resolution`: always the full
   * size; libwebrtc drops frames). Default: `maintain-resolution`, for now: with the scaling on by default,
   * one full CI run of three had the 20 % loss lab test freeze for a second, likely a switch's keyframe lost
   * (docs/network-lab.md, "Rate caps").
   */
  degradationPreference?: DegradationPreference;
  /** ffmpeg binary to use. Default: found by `locateFfmpeg`. */
  ffmpegPath?: string;
  /**
   * Record what each call receives: call 1 to `record.path` (`.webm` or `.mkv`), call 2 to `NAME-2.webm`,
   * and so on; `record.force` overwrites existing files. Checked before anything starts. Default: none.
   */
  record?: RecordingSeriesOptions;
  /**
   * Stop this many seconds after the first call connects (the first viewer, for a caller), ending every call
   * then. Default: no limit.
   */
  durationSec?: number;
  /**
   * One call only: a caller serves its first viewer alone (no offer for a next one), an answerer answers one
   * call; the peer stops when that call ends. Default: false (a caller serves every viewer that comes, up to
   * the room's limit; an answerer answers call after call).
   */
  once?: boolean;
  /**
   * Measure frame-in to frame-out latency from the barcode that rtc-peer's test pattern carries (the sender's
   * wall clock). Same machine only: both ends must share one clock. Default: false.
   */
  measureLatency?: boolean;
  /** Interval of `stats` events, ms. Default: 1000. */
  statsIntervalMs?: number;
  /**
   * After the server says the other side dropped off (no bye), how long its packets may stay silent before
   * the call counts as hung up, ms. Default: 2000.
   */
  vanishTimeoutMs?: number;
  /**
   * How long a call may take to connect after its offer and answer were exchanged, ms: a call not
   * `connected` by then ends (`ice-timeout`), with what ICE tried ({@link IceReport}) in its summary and a
   * `warning`, and the peers go on (the caller offers again, the answerer waits for the next call). Default:
   * 15000.
   */
  iceTimeoutMs?: number;
  /**
   * How often our network addresses are read; a change restarts ICE on every call (and reconnects the
   * signaling), ms. 0: not watched. Default: 500.
   */
  addressPollMs?: number;
  /**
   * A data channel on every call, for commands and telemetry beside the video (`true`, or its limits: message
   * size, queue length, buffer): the caller opens it with each offer, the answerer takes it. Messages go
   * with `peer.send()` to every call (every viewer) and come as `data` events. Default: false (none).
   */
  data?: boolean | DataLinkOptions;
}

/**
 * Defaults of {@link PeerOptions} that are the peer's own, in one place. The others are those of the part
 * that takes them: the signaling client (room, connect timeout), the captures (size, rate, channels).
 */
export const PEER_DEFAULTS = {
  signalUrl: `http://localhost:${SIGNAL_SERVER_DEFAULTS.port}`,
  rtcConfiguration: { iceServers: [{ urls: [...DEFAULT_STUN_URLS] }] } as RTCConfiguration,
  once: false,
  measureLatency: false,
  statsIntervalMs: 1000,
  vanishTimeoutMs: 2000,
  iceTimeoutMs: 15_000,
  addressPollMs: 500,
  degradationPreference: 'maintain-resolution',
} as const;

/** What gives on a thin link (see {@link PeerOptions.degradationPreference}). */
export type DegradationPreference = 'maintain-framerate' | 'maintain-resolution';

/** Candidates of one side of a call, by type. */
export interface CandidateCounts {
  host: number;
  srflx: number;
  prflx: number;
  relay: number;
}

/**
 * What ICE tried in a call that never connected: the candidates each side had (ours as gathered, theirs as
 * received), and whether our STUN server answered (`none`: none configured) and our TURN server gave us a
 * relay (`refused`: it turned our credentials down).
 */
export interface IceReport {
  local: CandidateCounts;
  remote: CandidateCounts;
  stun: 'answered' | 'no answer' | 'none';
  turn: 'allocated' | 'refused' | 'no answer' | 'none';
  /** The TURN server (and its credentials) came from the signaling server, not from our configuration. */
  turnFromServer?: boolean;
}

/** What a peer sends, as a capture delivers it. */
export type MediaDescription =
  | { kind: 'video'; source: CaptureSource; width: number; height: number; fps: number }
  | { kind: 'audio'; source: AudioSource; sampleRate: number; channels: number };

/** A capture that died. */
export interface MediaFailure {
  media: 'video' | 'audio';
  error: Error;
}

/** Something the user should know that does not stop the peer (or, for `media-failed`, ends it cleanly). */
export type PeerWarning =
  /** A file without sound: its video is sent alone. */
  | { kind: 'no-audio-track'; path: string }
  /** Captures died mid-call (the picture's first); the session ends (`media-ended`). */
  | { kind: 'media-failed'; failures: MediaFailure[] }
  /** A call's recording failed (ffmpeg died); the call goes on. */
  | { kind: 'recording-failed'; call: number; path: string; error: Error }
  /** A call's recording paused: its disk is (nearly) full; the call goes on. `message` says what next. */
  | { kind: 'recording-paused'; call: number; path: string; message: string; freeBytes: number | null }
  /** A paused recording resumed into a new file, `path`. */
  | { kind: 'recording-resumed'; call: number; path: string }
  /** Creating or applying a description failed; the call ends (`error`). */
  | { kind: 'negotiation-failed'; call: number; step: 'offer' | 'answer' | 'apply-answer'; error: Error }
  /** What the negotiation says: an offer or answer that could not be made or applied (that call ends, `error`). */
  | { kind: 'negotiation'; message: string }
  /** The signaling server pushed an error, or a rejoin was refused. */
  | { kind: 'signal-error'; code: string; message: string }
  /**
   * Data messages dropped: the oldest of a queue that was full (`send()` said to wait for `data-drain`, and
   * the sender went on), of a call's channel or (`call` null) of the messages held until a call comes.
   */
  | { kind: 'data-dropped'; call: number | null; count: number; total: number }
  /** With `data`, the caller's offer had no data channel (it runs without `--data`): none on this call. */
  | { kind: 'no-data-channel'; call: number }
  /** A call found no network path within `iceTimeoutMs` (`afterSec`, in s): it ends (`ice-timeout`). */
  | { kind: 'ice-timeout'; call: number; afterSec: number; ice: IceReport }
  /** Caller with `once`: a viewer joined while we serve our one viewer; it is not served (it waits). */
  | { kind: 'viewer-not-served'; viewer: string }
  /** Answerer: the room's caller has been there `afterSec` s without offering us a call; we wait on. */
  | { kind: 'no-offer'; caller: string; afterSec: number };

/** Events of a `Peer`, in the order they usually come. */
export type PeerEvents = {
  /** Local media started: what is sent. */
  'media-started': [media: MediaDescription];
  /** Joined the room; `peerPresent` tells whether the other role is there; `id` is our member id. */
  joined: [room: string, role: 'caller' | 'answerer', peerPresent: boolean, id: string];
  /**
   * A WHIP/WHEP session of a call was created (where a room's peer says `joined`): `protocol`, the endpoint
   * (`url`) and the session's own URL (its `Location`). Said again for a new session of the same call (an ICE
   * restart the server could not make by PATCH).
   */
  session: [call: number, protocol: 'WHIP' | 'WHEP', url: string, session: string];
  /** Waiting: the caller for an answerer, the answerer for a call (an offer). */
  waiting: [what: 'answerer' | 'call'];
  /**
   * A call now has its peer: a viewer took the caller's held offer or got one of its own, or the answerer
   * got a caller's offer. `peer` is the other side's member id.
   */
  call: [call: number, peer: string];
  /** An offer went: held by the server for the next viewer (`held`), or to a viewer there. */
  'offer-sent': [call: number, held: boolean];
  'offer-received': [call: number];
  'answer-sent': [call: number];
  'answer-received': [call: number];
  /** An ICE restart of a call began (the call, its stats and its recording go on), and why. */
  'ice-restart': [call: number, reason: string];
  /** The peer connection is connected, `ms` after the call began. */
  connected: [call: number, ms: number];
  /** First decoded remote frame, `ms` after the call began. */
  'first-frame': [call: number, width: number, height: number, ms: number];
  /**
   * A call now sends our picture at this size: smaller while its link's bandwidth estimate (`kbps`) cannot
   * carry the capture's, back up when it can (`degradationPreference`).
   */
  'send-size': [call: number, width: number, height: number, kbps: number];
  /** First chunk of remote sound, `ms` after the call began. */
  'first-audio': [call: number, sampleRate: number, channels: number, ms: number];
  /** Recording of a call started to `path` (with segments, the name pattern of its files). */
  recording: [call: number, path: string];
  /** A segment of a call's segmented recording is finished: finalized and playable. */
  segment: [call: number, file: RecordingSummary];
  /** Retention (`record.recorder.keep`) deleted these segments, the oldest. */
  'segments-deleted': [call: number, paths: string[]];
  /**
   * Live figures of each call, every `statsIntervalMs`; `framesRecorded` is the frames in the call's
   * recording so far (undefined when not recording); `peer` the other side's member id.
   */
  stats: [
    call: number,
    stats: CallStats,
    framesRecorded: number | undefined,
    latency: LatencyPercentiles | undefined,
    peer: string,
    /** The latency of this interval alone (since the previous `stats`), where `latency` is a rolling window. */
    latencyInterval?: LatencyPercentiles,
  ];
  /** A call ended. */
  'call-ended': [summary: CallSummary];
  /** Lost the signaling server, for `reason` (Socket.IO's); media keeps flowing, the client reconnects by itself. */
  'signal-lost': [reason: string];
  /** Back on the signaling server, rejoined the room. */
  'signal-rejoined': [];
  /** A call's data channel is open (messages held for it go now). `peer`: the other side's member id. */
  'data-open': [call: number, peer: string];
  /** A data message from call `call`'s peer, `from` (a viewer's id, for a caller). */
  data: [text: string, call: number, from: string];
  /** `send()` may be called again: the queues it said were full have room. */
  'data-drain': [];
  /** Something the user should know. */
  warning: [warning: PeerWarning];
};

/** What `Peer.run` resolves to. */
export interface PeerSummary {
  role: 'caller' | 'answerer';
  calls: CallSummary[];
  framesCaptured: number;
  framesDroppedAtCapture: number;
  /** Sound sent: 10 ms chunks, chunks dropped, buffer underruns (when sending sound). */
  audioCaptured?: AudioCaptureStats;
  recordings: RecordingSummary[];
  /** With `data`: messages refused for their size, and those held for a call that never came (dropped). */
  data?: { tooLarge: number; heldDropped: number };
}

/** Why a call ended. */
export type EndReason =
  | 'hangup' // we hung up (duration reached, SIGINT/SIGTERM, replaced)
  | 'peer-hangup' // the other side said bye
  | 'peer-vanished' // the other side disappeared without bye (killed, network gone)
  | 'ice-failed' // the network path broke and did not come back
  | 'ice-timeout' // no network path found within `iceTimeoutMs` of the offer and answer
  | 'replaced' // a new offer arrived: a fresh call starts
  | 'media-ended' // our source ended (ffmpeg died, file ended)
  | 'error';

/** What a finished call reports. */
export interface CallSummary {
  index: number;
  /** The other side's member id (a caller's viewer, an answerer's caller); absent in a bare `Call` report. */
  peer?: string;
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
  /** What ICE tried, for a call that never connected (`ice-timeout`, `ice-failed`). */
  ice?: IceReport;
  /** Frame-in to frame-out latency, with `measureLatency`. */
  latency?: LatencyPercentiles;
  /** Sound, when the call carried an audio track either way. */
  audio?: CallAudioSummary;
  /** The call's data channel: messages sent, received, dropped (queue full or left at the end), refused. */
  data?: DataLinkStats;
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
