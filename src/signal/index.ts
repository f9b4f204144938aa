/**
 * The signaling room: the Socket.IO server that holds the caller's offer for the answerer, the room client
 * the peers use (RoomSignaling, behind the Signaling seam), and the wire types both share. The protocol is documented in docs/protocol.md.
 */
export * from './types.js';
export { Room, type Delivery, type JoinResult, type RelayResult, type RoomOptions } from './room.js';
export { RoomRegistry, type DispatchResult, type Registry, type RegistryCounts } from './room-registry.js';
export { RedisRoomRegistry, type RedisRegistryOptions } from './redis-registry.js';
export {
  startSignalServer,
  type SignalServer,
  type SignalServerEvents,
  type SignalServerOptions,
  type SignalServerStats,
} from './server.js';
export { listenUrls, type ListenUrls } from './listen-urls.js';
export type {
  OutgoingSignal,
  RemotePeer,
  Signaling,
  SignalingCapabilities,
  SignalingEvent,
  SignalingEvents,
} from './signaling.js';
export { RoomSignaling, ROOM_SIGNALING_DEFAULTS, type RoomSignalingOptions } from './room-signaling.js';
export * from './whip/index.js';
