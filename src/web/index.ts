/**
 * The browser page: served by the signaling server at `/`, it watches a caller (`?room=NAME`) or calls with
 * the browser's camera (`&role=call`), speaking the same protocol as the Node peer.
 */
export { webPageHandler, WEB_PAGE_PATHS } from './handler.js';
