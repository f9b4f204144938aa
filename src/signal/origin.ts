/**
 * Which browser pages may open the signaling websocket: the server's own page (the `Origin` is the scheme
 * and `Host` of the request itself), and the origins the operator allows (`--allow-origin`). A request
 * without `Origin` is not from a page (the CLI, aiortc, werift, curl) and is not concerned. This closes
 * cross-site websocket hijacking: a page on another site, opened by someone on the camera's LAN, cannot
 * join a room. Pure: no I/O.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { isLoopback } from './listen-urls.js';
import type { AllowedOrigins } from './whip/cors.js';

/** What {@link checkOrigin} needs of a request. */
export interface OriginRequest {
  headers: IncomingHttpHeaders;
  /** True when the request came over TLS (the page's scheme is then https). */
  secure: boolean;
}

/** Hostnames that name this machine's loopback. */
function loopbackName(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h.endsWith('.localhost') || isLoopback(h);
}

/**
 * Checks a handshake's `Origin`; the refusal's message (starting `FORBIDDEN_ORIGIN: `), or undefined when
 * allowed.
 *
 * - no `Origin`: allowed (not a browser page);
 * - an origin of `allowed` (or `allowed` is `'*'`): allowed;
 * - the request's own origin (`Origin` equals `scheme://Host`): allowed, except that on a server bound to
 *   loopback the `Host` must name loopback too (`localhost`, `127.x`, `[::1]`): a page of a site whose name
 *   an attacker points at 127.0.0.1 (DNS rebinding) is same-origin with itself, not with this server.
 *
 * @example
 * checkOrigin({ headers: { origin: 'https://evil.example', host: 'cam:8080' }, secure: false }, [], false)
 * // 'FORBIDDEN_ORIGIN: pages from https://evil.example may not use this server; ...'
 */
export function checkOrigin(
  req: OriginRequest,
  allowed: AllowedOrigins,
  loopbackServer: boolean,
): string | undefined {
  const origin = req.headers.origin;
  if (origin === undefined) return undefined;
  if (allowed === '*' || allowed.includes(origin)) return undefined;
  const host = req.headers.host;
  if (host !== undefined && origin === `${req.secure ? 'https' : 'http'}://${host}`) {
    const hostname = host.replace(/:\d+$/, '');
    if (!loopbackServer || loopbackName(hostname)) return undefined;
  }
  const shown = origin.length > 100 ? `${origin.slice(0, 100)}…` : origin;
  return (
    `FORBIDDEN_ORIGIN: pages from ${shown} may not use this server; open the server's own page, or start ` +
    `the server with --allow-origin ${shown}`
  );
}
