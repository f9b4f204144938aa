/**
 * rtc-peer's programmatic API. The CLI (`src/cli.ts`) is a thin layer over these.
 *
 * @example
 * import { startSignalServer, Peer } from 'rtc-peer';
 * const server = await startSignalServer({ host: '127.0.0.1', port: 0 });
 * const answerer = new Peer({ role: 'answerer', signalUrl: server.url, record: { path: 'out.webm' } });
 */
export * from './errors.js';
export * from './signal/index.js';
export * from './capture/index.js';
export * from './record/index.js';
export * from './peer/index.js';
export { webPageHandler } from './web/index.js';
