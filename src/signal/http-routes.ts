/**
 * The signaling server's HTTP side: `/healthz`, then the embedding application's routes (the web page), then
 * 404. A route that throws answers 500 and never takes the server down.
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { logger } from '../util/log.js';

const log = logger('signal:http');

/** Extra routes: return true when the request was handled. */
export type HttpHandler = (req: IncomingMessage, res: ServerResponse) => boolean;

/**
 * The request listener of the signaling server's HTTP server.
 *
 * @param health what `GET /healthz` reports (besides `status: "ok"`)
 * @param extra the embedding application's routes, tried after `/healthz`
 */
export function httpRoutes(health: () => object, extra?: HttpHandler): RequestListener {
  return (req, res) => {
    try {
      const path = (req.url ?? '/').split('?')[0];
      if (path === '/healthz' && (req.method === 'GET' || req.method === 'HEAD')) {
        res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
        res.end(JSON.stringify({ status: 'ok', ...health() }));
        return;
      }
      if (extra?.(req, res) === true) return;
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found\n');
    } catch (error) {
      log('http handler failed for %s %s: %O', req.method, req.url, error);
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('internal error\n');
    }
  };
}
