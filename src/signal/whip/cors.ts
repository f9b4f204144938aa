/**
 * CORS for the WHIP/WHEP endpoints: a page on another origin may use them only when the server allows that
 * origin (`allowOrigin`; default none). Pure: no I/O.
 */

/** Which origins may call the endpoints from a browser: a list of `scheme://host[:port]`, or `'*'`. */
export type AllowedOrigins = readonly string[] | '*';

/**
 * The CORS headers for a request from `origin` (its `Origin` header), or undefined when that origin is not
 * allowed (no header at all: the browser then refuses the page the response). Requests without `Origin`
 * (not from a browser page) get none and need none.
 */
export function corsHeaders(
  origin: string | undefined,
  allowed: AllowedOrigins,
  preflight: boolean,
): Record<string, string> | undefined {
  if (origin === undefined) return undefined;
  const ok = allowed === '*' || allowed.includes(origin);
  if (!ok) return undefined;
  const headers: Record<string, string> = {
    'access-control-allow-origin': allowed === '*' ? '*' : origin,
    // What a WHIP/WHEP page reads: the session URL, its ETag, the ICE servers, trickle support, a retry time.
    'access-control-expose-headers': 'Location, ETag, Link, Accept-Patch, Retry-After',
  };
  if (allowed !== '*') headers['vary'] = 'Origin';
  if (preflight) {
    headers['access-control-allow-methods'] = 'OPTIONS, POST, PATCH, DELETE';
    headers['access-control-allow-headers'] = 'Authorization, Content-Type, If-Match';
    headers['access-control-max-age'] = '600';
  }
  return headers;
}

/** Checks an `allowOrigin` option: `'*'` or origins like `https://example.org`. Throws TypeError. */
export function checkAllowedOrigins(allowed: AllowedOrigins): AllowedOrigins {
  if (allowed === '*') return allowed;
  for (const origin of allowed) {
    let url: URL;
    try {
      url = new URL(origin);
    } catch {
      throw new TypeError(
        `allowed origin ${JSON.stringify(origin)} is not an origin; use e.g. https://example.org`,
      );
    }
    if (url.origin !== origin)
      throw new TypeError(
        `allowed origin ${JSON.stringify(origin)} is not an origin; did you mean ${url.origin}?`,
      );
  }
  return allowed;
}
