/**
 * The peer: one process's side of WebRTC calls (a `Peer`), each call one RTCPeerConnection (a `Call`), our
 * media into it (the send bridge) and its remote tracks out of it (the receive bridge).
 */
export { Peer } from './peer.js';
export { Call, type CallEvents, type CallOptions, type CallReport } from './call.js';
export {
  SendBridge,
  type SendBridgeEvents,
  type SendBridgeOptions,
  type SendBridgeStats,
} from './send-bridge.js';
export { ReceiveBridge, type ReceiveBridgeEvents, type ReceiveBridgeOptions } from './receive-bridge.js';
export { summarizeStats, type AudioStats, type CallStats, type StatsTotals } from './call-stats.js';
export { PeakMeter, toDbfs } from './audio-level.js';
export {
  Negotiator,
  NEGOTIATOR_DEFAULTS,
  type NegotiatedCall,
  type NegotiationEnd,
  type NegotiationStep,
  type NegotiatorEvents,
  type NegotiatorOptions,
} from './negotiator.js';
export {
  DATA_CHANNEL_LABEL,
  DATA_LINK_DEFAULTS,
  DataLink,
  DataMessageTooLarge,
  type DataLinkEvents,
  type DataLinkOptions,
  type DataLinkStats,
} from './data-link.js';
export { LatencyMeter, type LatencyPercentiles } from './latency.js';
export {
  DEFAULT_STUN_URLS,
  PEER_DEFAULTS,
  type CallAudioSummary,
  type CallSummary,
  type CandidateCounts,
  type DegradationPreference,
  type EndReason,
  type IceReport,
  type MediaDescription,
  type MediaFailure,
  type PeerEvents,
  type PeerOptions,
  type PeerSummary,
  type PeerWarning,
} from './types.js';
