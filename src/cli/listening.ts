/**
 * What `rtc-peer signal` prints once it listens: the URL for peers (`--signal`), then the browser page's URLs
 * from this machine and from others (Local / Network, as Vite prints them); or, with `--json`, one
 * `listening` event with the same URLs.
 */
import { DEFAULT_ROOM, type ListenUrls } from '../signal/index.js';

/** The page's path with its room parameter, shown after each URL (the page's default room). */
const PAGE = `/?room=${DEFAULT_ROOM}`;

/**
 * The text lines, e.g.
 *
 *     listening on http://127.0.0.1:8080
 *       Local:   http://127.0.0.1:8080/?room=default
 *       Network: http://192.168.1.20:8080/?room=default
 */
export function listeningText(url: string, urls: ListenUrls, generatedToken?: string): string {
  // A generated token goes in the links' fragment: the page reads it there and drops it from history.
  const page = generatedToken === undefined ? PAGE : `${PAGE}#token=${generatedToken}`;
  const lines = [`listening on ${url}`];
  if (urls.local !== undefined) lines.push(`  Local:   ${urls.local}${page}`);
  if (urls.network.length === 0) lines.push(`  Network: none (${urls.networkNote ?? 'not exposed'})`);
  urls.network.forEach((u, i) => lines.push(`${i === 0 ? '  Network: ' : '           '}${u}${page}`));
  if (generatedToken !== undefined) {
    lines.push(
      `  Token:   ${generatedToken} (generated for this run: peers pass --token ${generatedToken}; ` +
        'choose one with --token or RTC_PEER_TOKEN, or serve without one with --open)',
    );
  }
  return `${lines.join('\n')}\n`;
}

/** The JSON event: `url` as before, plus `local` (or null) and `network`, origins without the page path. */
export function listeningEvent(url: string, urls: ListenUrls): Record<string, unknown> {
  return { event: 'listening', url, local: urls.local ?? null, network: urls.network };
}
