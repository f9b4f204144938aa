/**
 * WHIP (RFC 9725) and WHEP: the client signalings (publish to, or watch from, any WHIP/WHEP server) and the
 * endpoints the signaling server serves. See docs/protocol.md, "WHIP and WHEP".
 */
export { WhipSignaling, type WhipSignalingOptions } from './whip-signaling.js';
export { WhepSignaling, type WhepSignalingOptions } from './whep-signaling.js';
export {
  HttpSignaling,
  HTTP_SIGNALING_DEFAULTS,
  SERVER_PEER_ID,
  type HttpSignalingOptions,
} from './http-signaling.js';
export { WhipEndpoints, WHIP_ENDPOINT_DEFAULTS, type WhipEndpointOptions } from './endpoint.js';
export type { AllowedOrigins } from './cors.js';
export { formatIceServerLinks, mergeIceServers, parseIceServerLinks, type IceServer } from './link-header.js';
export { buildSdpFragment, parseSdpFragment, restartedAnswer, type SdpFragment } from './sdp-fragment.js';
export { retryAfterMs } from './retry-after.js';
