/**
 * The HTTP side of the web page: a request handler for the signaling server's `httpHandler` option that
 * serves the page at `/` and its assets, and declines everything else.
 *
 * The HTML and the style are string constants (page-html.ts, page-style.ts); the script is the page's
 * TypeScript (src/web/page/) bundled by the build into dist/web/page.js, next to this file once built.
 */
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { logger } from '../util/log.js';
import { PAGE_HTML } from './page-html.js';
import { PAGE_STYLE } from './page-style.js';

const log = logger('web');

/** The paths the page handler answers, and what each is. */
export const WEB_PAGE_PATHS = {
  page: '/',
  pageAlias: '/index.html',
  script: '/rtc-peer.js',
  style: '/rtc-peer.css',
  scriptMap: '/page.js.map',
  favicon: '/favicon.ico',
} as const;

interface Asset {
  type: string;
  body: () => Buffer;
}

/**
 * Same-origin only, no inline code; `connect-src` names ws:/wss: too because some browsers do not count a
 * WebSocket to the page's own host as 'self'.
 */
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self' ws: wss:",
  "img-src 'self' data:",
  "media-src 'self' blob: mediastream:",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * Returns the request handler that serves the browser page: pass it as `httpHandler` to
 * `startSignalServer` (the CLI's `rtc-peer signal` does). It answers `GET`/`HEAD` on `/` (and `/index.html`),
 * `/rtc-peer.js` (and its source map), `/rtc-peer.css` and `/favicon.ico` (204), other methods on
 * those paths with 405, and returns false for every other path so the server can answer 404.
 *
 * The page: `http://HOST:PORT/?room=NAME` joins NAME as answerer and shows the caller's video and audio;
 * `&role=call` makes the browser the caller with its camera and microphone; `#token=SECRET` passes the
 * server's token. It shows the connection state, the remote video and live stats.
 *
 * @example
 * const server = await startSignalServer({ port: 8080, httpHandler: webPageHandler() });
 * // open http://127.0.0.1:8080/?room=demo while `rtc-peer call --room demo` runs
 */
export function webPageHandler(): (req: IncomingMessage, res: ServerResponse) => boolean {
  const text = (s: string): (() => Buffer) => {
    const body = Buffer.from(s, 'utf8');
    return () => body;
  };
  const html: Asset = { type: 'text/html; charset=utf-8', body: text(PAGE_HTML) };
  // Read on first use: a server that never serves the page never touches the files.
  const built = (name: string): (() => Buffer) => {
    let body: Buffer | undefined;
    return () => (body ??= readBuilt(name));
  };
  const assets = new Map<string, Asset>([
    [WEB_PAGE_PATHS.page, html],
    [WEB_PAGE_PATHS.pageAlias, html],
    [WEB_PAGE_PATHS.script, { type: 'text/javascript; charset=utf-8', body: built('page.js') }],
    [WEB_PAGE_PATHS.scriptMap, { type: 'application/json', body: built('page.js.map') }],
    [WEB_PAGE_PATHS.style, { type: 'text/css; charset=utf-8', body: text(PAGE_STYLE) }],
    [WEB_PAGE_PATHS.favicon, { type: 'image/x-icon', body: () => Buffer.alloc(0) }],
  ]);

  return (req, res) => {
    const pathname = (req.url ?? '/').split('?')[0] ?? '/';
    const asset = assets.get(pathname);
    if (asset === undefined) return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' });
      res.end(`${req.method ?? 'this method'} is not allowed on ${pathname}; use GET\n`);
      return true;
    }
    const body = asset.body();
    res.writeHead(body.length === 0 ? 204 : 200, {
      'content-type': asset.type,
      'content-length': body.length,
      // The page changes with the installed version; let the browser revalidate instead of guessing.
      'cache-control': 'no-cache',
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      ...(asset === html ? { 'content-security-policy': CSP } : {}),
    });
    res.end(req.method === 'HEAD' ? undefined : body);
    log('%s %s -> %d bytes', req.method, pathname, body.length);
    return true;
  };
}

/**
 * A file the build made for the page: next to this module in dist/web/, or, when this module runs from src/
 * (the tests), in the build's dist/web/.
 */
function readBuilt(name: string): Buffer {
  const places = [new URL(name, import.meta.url), new URL(`../../dist/web/${name}`, import.meta.url)];
  for (const place of places) {
    try {
      return readFileSync(place);
    } catch {
      // the next place
    }
  }
  throw new Error(
    `the web page's script ${name} is not built (looked in ${places.map((p) => p.pathname).join(', ')}); ` +
      'run npm run build',
  );
}
