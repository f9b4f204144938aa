/**
 * WHIP/WHEP `Link` headers (RFC 9725 section 4.6, RFC 8288): the ICE servers a WHIP/WHEP server hands its
 * clients, `Link: <turn:turn.example.net?transport=udp>; rel="ice-server"; username="u"; credential="p";
 * credential-type="password"`. Links with another `rel` (protocol extensions, `urn:ietf:params:whip:ext:...`)
 * are ignored. Pure: no I/O. MediaMTX's `link_header.go` does the same job.
 */

/** An ICE server as `RTCPeerConnection` takes it. */
export interface IceServer {
  urls: string[];
  username?: string;
  credential?: string;
}

/** One parsed link: its target and its parameters (names lower-cased, values unquoted). */
export interface Link {
  target: string;
  params: Record<string, string>;
}

const ICE_URL = /^(stun|stuns|turn|turns):[^\s<>]+$/i;

/**
 * Splits `Link` header values into links. Several links may share one header value, separated by commas
 * outside quotes and angle brackets (a TURN URL's query can hold a comma only inside `<...>`). Malformed
 * entries are skipped.
 */
export function parseLinks(values: string | readonly string[] | null | undefined): Link[] {
  const list = values === null || values === undefined ? [] : typeof values === 'string' ? [values] : values;
  const links: Link[] = [];
  for (const value of list) {
    for (const entry of splitOutside(value, ',')) {
      const m = /^\s*<([^>]*)>(.*)$/s.exec(entry);
      if (!m) continue;
      const params: Record<string, string> = {};
      for (const part of splitOutside(m[2] ?? '', ';')) {
        const p = /^\s*([A-Za-z0-9!#$&+.^_`|~*-]+)\s*(?:=\s*("(?:[^"\\]|\\.)*"|[^\s;]*))?\s*$/.exec(part);
        if (!p?.[1]) continue;
        const raw = p[2] ?? '';
        const name = p[1].toLowerCase();
        // The first occurrence of a parameter wins (RFC 8288 section 3).
        if (!(name in params))
          params[name] = raw.startsWith('"') ? raw.slice(1, -1).replace(/\\(.)/g, '$1') : raw;
      }
      links.push({ target: m[1] ?? '', params });
    }
  }
  return links;
}

/**
 * The ICE servers of `Link` header values: every link whose `rel` includes `ice-server` and whose target is a
 * `stun:`/`stuns:`/`turn:`/`turns:` URL, with its `username` and `credential`. Anything else is ignored.
 *
 * @example
 * parseIceServerLinks(['<stun:stun.example.net>; rel="ice-server"',
 *   '<turn:t.example.net?transport=udp>; rel="ice-server"; username="u"; credential="p"'])
 * // [{ urls: ['stun:stun.example.net'] }, { urls: ['turn:t.example.net?transport=udp'], username: 'u', credential: 'p' }]
 */
export function parseIceServerLinks(values: string | readonly string[] | null | undefined): IceServer[] {
  const servers: IceServer[] = [];
  for (const link of parseLinks(values)) {
    const rels = (link.params['rel'] ?? '').toLowerCase().split(/\s+/);
    if (!rels.includes('ice-server') || !ICE_URL.test(link.target)) continue;
    const server: IceServer = { urls: [link.target] };
    const { username, credential } = link.params;
    if (username !== undefined) server.username = username;
    if (credential !== undefined) server.credential = credential;
    // A TURN server without credentials cannot be used (RTCPeerConnection refuses it): skip it.
    if (/^turns?:/i.test(link.target) && (server.username === undefined || server.credential === undefined))
      continue;
    servers.push(server);
  }
  return servers;
}

/** `Link` header values for ICE servers, one per URL, as a WHIP/WHEP server sends them. */
export function formatIceServerLinks(servers: readonly IceServer[]): string[] {
  const out: string[] = [];
  for (const server of servers) {
    for (const url of server.urls) {
      let link = `<${url}>; rel="ice-server"`;
      if (server.username !== undefined && server.credential !== undefined)
        link += `; username="${quote(server.username)}"; credential="${quote(server.credential)}"; credential-type="password"`;
      out.push(link);
    }
  }
  return out;
}

/**
 * Merges ICE server lists, the configured ones first: a URL already present (with the same credentials) is
 * not added twice.
 */
export function mergeIceServers(configured: readonly IceServer[], extra: readonly IceServer[]): IceServer[] {
  const key = (url: string, s: IceServer): string => `${url}\n${s.username ?? ''}\n${s.credential ?? ''}`;
  const seen = new Set<string>();
  for (const s of configured) for (const url of s.urls) seen.add(key(url, s));
  const out = configured.map((s) => ({ ...s, urls: [...s.urls] }));
  for (const s of extra) {
    const urls = s.urls.filter((url) => !seen.has(key(url, s)));
    for (const url of urls) seen.add(key(url, s));
    if (urls.length > 0) out.push({ ...s, urls });
  }
  return out;
}

function quote(s: string): string {
  return s.replace(/(["\\])/g, '\\$1');
}

/** Splits `s` at `sep` where it is neither inside double quotes nor inside `<...>`. */
function splitOutside(s: string, sep: string): string[] {
  const parts: string[] = [];
  let current = '';
  let quoted = false;
  let bracketed = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i] ?? '';
    if (quoted && c === '\\') {
      current += c + (s[i + 1] ?? '');
      i++;
      continue;
    }
    if (c === '"' && !bracketed) quoted = !quoted;
    else if (c === '<' && !quoted) bracketed = true;
    else if (c === '>' && !quoted) bracketed = false;
    else if (c === sep && !quoted && !bracketed) {
      parts.push(current);
      current = '';
      continue;
    }
    current += c;
  }
  if (current.trim() !== '') parts.push(current);
  return parts;
}
