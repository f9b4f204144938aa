export * from './call.js';
export * from './call-stats.js';
export * from './ice.js';
export * from './latency.js';
export * from './negotiator.js';
export * from './peer.js';
export * from './recording-path.js';
export * from './types.js';
