/**
 * The signaling server's HTTP side: `/healthz` (alive), `/readyz` (can serve: for a load balancer),
 * `/metrics` (Prometheus), then the embedding application's routes (the web page), then 404. A route that
 * throws answers 500 and never takes the server down.
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { logger } from '../util/log.js';

const log = logger('signal:http');

/** Extra routes: return true when the request was handled. */
export type HttpHandler = (req: IncomingMessage, res: ServerResponse) => boolean;

/** Whether the server can serve now, and if not why: what `GET /readyz` says. */
export interface Readiness {
  ready: boolean;
  /** Why not (empty when ready). */
  reason: string;
}

/** What the routes read. */
export interface RouteSources {
  /** What `GET /healthz` reports (besides `status: "ok"`). */
  health: () => object;
  /** What `GET /readyz` reports: 200 when ready, else 503. */
  readiness: () => Readiness;
  /** `GET /metrics`: the Prometheus text and its content type. */
  metrics: () => Promise<{ contentType: string; text: string }>;
}

/**
 * The request listener of the signaling server's HTTP server.
 *
 * @param sources what `/healthz`, `/readyz` and `/metrics` report
 * @param extra the embedding application's routes, tried after those
 */
export function httpRoutes(sources: RouteSources, extra?: HttpHandler): RequestListener {
  return (req, res) => {
    try {
      const path = (req.url ?? '/').split('?')[0];
      const read = req.method === 'GET' || req.method === 'HEAD';
      if (path === '/healthz' && read) {
        res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
        res.end(JSON.stringify({ status: 'ok', ...sources.health() }));
        return;
      }
      if (path === '/readyz' && read) {
        const { ready, reason } = sources.readiness();
        res.writeHead(ready ? 200 : 503, { 'content-type': 'application/json', 'cache-control': 'no-store' });
        res.end(JSON.stringify(ready ? { status: 'ready' } : { status: 'unavailable', reason }));
        return;
      }
      if (path === '/metrics' && read) {
        sources.metrics().then(
          ({ contentType, text }) => {
            res.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-store' });
            res.end(text);
          },
          (error: unknown) => {
            log('metrics failed: %O', error);
            res.writeHead(500, { 'content-type': 'text/plain' });
            res.end('metrics failed\n');
          },
        );
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
