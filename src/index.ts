/**
 * rtc-peer's programmatic API: what a program needs to do what the `rtc-peer` commands do, and to build on
 * their parts. The CLI (`src/cli.ts`) is a thin layer over these.
 *
 * @example
 * import { Peer, startSignalServer } from 'rtc-peer';
 * const server = await startSignalServer({ host: '127.0.0.1', port: 0 });
 * const answerer = new Peer({ role: 'answerer', signalUrl: server.url, record: { path: 'out.webm' }, once: true });
 * answerer.on('call-ended', (call) => console.log(call.reason, call.recording?.frames));
 * const caller = new Peer({ role: 'caller', signalUrl: server.url, source: { kind: 'test-pattern' }, durationSec: 5 });
 * await Promise.all([answerer.run(), caller.run()]);
 * await server.close();
 */

// A peer: one process's side of calls, as `rtc-peer call` / `rtc-peer answer` run it.
export {
  Call,
  DATA_CHANNEL_LABEL,
  DATA_LINK_DEFAULTS,
  DataLink,
  DataMessageTooLarge,
  DEFAULT_STUN_URLS,
  Negotiator,
  NEGOTIATOR_DEFAULTS,
  Peer,
  PEER_DEFAULTS,
  SendBridge,
  type AudioStats,
  type CallAudioSummary,
  type CallEvents,
  type CallOptions,
  type CallReport,
  type CallStats,
  type CallSummary,
  type DataLinkEvents,
  type DataLinkOptions,
  type DataLinkStats,
  type CandidateCounts,
  type EndReason,
  type IceReport,
  type NegotiatedCall,
  type NegotiationEnd,
  type NegotiatorEvents,
  type NegotiatorOptions,
  type LatencyPercentiles,
  type MediaDescription,
  type MediaFailure,
  type PeerEvents,
  type PeerOptions,
  type PeerSummary,
  type PeerWarning,
  type SendBridgeEvents,
  type SendBridgeOptions,
  type SendBridgeStats,
} from './peer/index.js';

// Signaling: the server that holds the offer (`rtc-peer signal`), the room client (protocol 2, what the
// peers use), the signaling seam it implements, the wire's types.
export {
  DEFAULT_ROOM,
  ERROR_CODES,
  PROTOCOL_VERSION,
  ROOM_SIGNALING_DEFAULTS,
  RoomSignaling,
  listenUrls,
  startSignalServer,
  type ClientMessage,
  type IceCandidateMessage,
  type LeaveReason,
  type ListenUrls,
  type Role,
  type ServerMessage,
  type OutgoingSignal,
  type RemotePeer,
  type RoomSignalingOptions,
  type SignalAck,
  type SignalErrorCode,
  type Signaling,
  type SignalingCapabilities,
  type SignalingEvent,
  type SignalingEvents,
  type SignalServer,
  type SignalServerOptions,
  type SignalServerStats,
  WhepSignaling,
  WhipSignaling,
  type WhepSignalingOptions,
  type WhipSignalingOptions,
} from './signal/index.js';
export { SIGNAL_SERVER_DEFAULTS } from './signal/server.js';
/** The browser page `rtc-peer signal` serves, for `startSignalServer`'s `httpHandler`. */
export { webPageHandler } from './web/index.js';

// Capture: ffmpeg, cameras, microphones, files and the test pattern.
export {
  AUDIO_DEFAULTS,
  AudioCapture,
  audioSourceFromDevice,
  CAPTURE_DEFAULTS,
  listDevices,
  locateFfmpeg,
  readBarcode,
  sourceFromDevice,
  VideoCapture,
  type AudioCaptureEvents,
  type AudioCaptureOptions,
  type AudioCaptureStats,
  type AudioChunk,
  type AudioSource,
  type BarcodePayload,
  type CaptureOptions,
  type CaptureSource,
  type DeviceInfo,
  type DeviceList,
  type FfmpegLocation,
  type FileSource,
  type LocateFfmpegOptions,
  type VideoCaptureEvents,
  type VideoFrame,
} from './capture/index.js';

// Recording: a call's remote tracks to a WebM or Matroska file, one file per call.
export {
  checkRecordingPath,
  RECORDER_DEFAULTS,
  Recorder,
  recordingPathFor,
  RecordingSeries,
  type AudioData,
  type I420Frame,
  type ReceivedTrack,
  type ReceivedTrackEvents,
  type RecordedAudio,
  type RecorderEvents,
  type RecorderOptions,
  type RecorderStats,
  type RecorderStopOptions,
  type RecordingSeriesOptions,
  type RecordingSummary,
} from './record/index.js';

// Errors, each with a stable code and what it is about.
export {
  DeviceError,
  FfmpegError,
  FfmpegNotFoundError,
  ListenError,
  RecordingPathError,
  RtcPeerError,
  SignalError,
  type DeviceErrorOptions,
  type FfmpegErrorDetails,
} from './errors.js';
