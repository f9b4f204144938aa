export * from './call.js';
export * from './call-stats.js';
export * from './latency.js';
export * from './peer.js';
export * from './types.js';
