/**
 * The few SDP edits WHIP and WHEP need, on the text itself (no SDP object model): reading a description's ICE
 * credentials and media ids, adding candidates to it, swapping its credentials, and a sanity check of what a
 * client POSTs. Pure: no I/O.
 */
import type { IceCandidateMessage } from '../types.js';

/** A description split into its session part and its media sections (each from its `m=` line). */
interface Sections {
  session: string[];
  media: string[][];
}

function split(sdp: string): Sections {
  const lines = sdp.split(/\r?\n/).filter((l) => l !== '');
  const sections: Sections = { session: [], media: [] };
  for (const line of lines) {
    if (line.startsWith('m=')) sections.media.push([line]);
    else if (sections.media.length === 0) sections.session.push(line);
    else sections.media[sections.media.length - 1]?.push(line);
  }
  return sections;
}

function join(s: Sections): string {
  return [...s.session, ...s.media.flat()].join('\r\n') + '\r\n';
}

function attribute(lines: readonly string[], name: string): string | undefined {
  const prefix = `a=${name}:`;
  return lines
    .find((l) => l.startsWith(prefix))
    ?.slice(prefix.length)
    .trim();
}

/** ICE credentials: of the first media section, or of the session level. */
export interface IceCredentials {
  ufrag: string;
  pwd: string;
}

/** The ICE credentials of a description (media level first, then session level), if it has both. */
export function iceCredentials(sdp: string): IceCredentials | undefined {
  const s = split(sdp);
  const first = s.media[0] ?? [];
  const ufrag = attribute(first, 'ice-ufrag') ?? attribute(s.session, 'ice-ufrag');
  const pwd = attribute(first, 'ice-pwd') ?? attribute(s.session, 'ice-pwd');
  return ufrag !== undefined && pwd !== undefined ? { ufrag, pwd } : undefined;
}

/** Each media section's `m=` line and `a=mid`, in order. */
export function mediaSections(sdp: string): { mline: string; mid: string | undefined }[] {
  return split(sdp).media.map((m) => ({ mline: m[0] ?? '', mid: attribute(m, 'mid') }));
}

/** The `a=group:BUNDLE` line of a description, if any. */
export function bundleGroup(sdp: string): string | undefined {
  return split(sdp).session.find((l) => l.startsWith('a=group:BUNDLE'));
}

/** The index of the media section with `mid`, or of `sdpMLineIndex`; undefined when neither matches. */
export function sectionIndex(sdp: string, candidate: Pick<IceCandidateMessage, 'sdpMid' | 'sdpMLineIndex'>) {
  const sections = mediaSections(sdp);
  if (candidate.sdpMid !== undefined && candidate.sdpMid !== null) {
    const i = sections.findIndex((m) => m.mid === candidate.sdpMid);
    if (i >= 0) return i;
  }
  const index = candidate.sdpMLineIndex;
  return index !== undefined && index !== null && index < sections.length ? index : undefined;
}

/**
 * The description with these candidates added to their media sections (by `sdpMid`, else `sdpMLineIndex`,
 * else the first section: with BUNDLE, one transport carries everything), and `a=end-of-candidates` where
 * `end` says so. Candidates already present are not repeated.
 */
export function withCandidates(
  sdp: string,
  candidates: readonly Pick<IceCandidateMessage, 'candidate' | 'sdpMid' | 'sdpMLineIndex'>[],
  end = false,
): string {
  const s = split(sdp);
  if (s.media.length === 0) return sdp;
  for (const c of candidates) {
    const line = `a=${c.candidate.replace(/^a=/, '')}`;
    const section = s.media[sectionIndex(sdp, c) ?? 0];
    if (section === undefined || section.includes(line)) continue;
    const eoc = section.indexOf('a=end-of-candidates');
    if (eoc >= 0) section.splice(eoc, 0, line);
    else section.push(line);
  }
  if (end) for (const m of s.media) if (!m.includes('a=end-of-candidates')) m.push('a=end-of-candidates');
  return join(s);
}

/** The description without its `a=candidate` and `a=end-of-candidates` lines. */
export function withoutCandidates(sdp: string): string {
  const s = split(sdp);
  const keep = (l: string): boolean => !l.startsWith('a=candidate:') && l !== 'a=end-of-candidates';
  return join({ session: s.session.filter(keep), media: s.media.map((m) => m.filter(keep)) });
}

/** The description with new ICE credentials, wherever it states them (every section, and the session). */
export function withIceCredentials(sdp: string, credentials: IceCredentials): string {
  const s = split(sdp);
  const swap = (l: string): string =>
    l.startsWith('a=ice-ufrag:')
      ? `a=ice-ufrag:${credentials.ufrag}`
      : l.startsWith('a=ice-pwd:')
        ? `a=ice-pwd:${credentials.pwd}`
        : l;
  return join({ session: s.session.map(swap), media: s.media.map((m) => m.map(swap)) });
}

/**
 * The `o=` line's session version incremented: a description that changes (an ICE restart) must say it is a
 * new version (RFC 3264 section 8).
 */
export function withNextVersion(sdp: string): string {
  return sdp.replace(/^(o=\S+ \S+ )(\d+)/m, (_all, head: string, version: string) => {
    return `${head}${(BigInt(version) + 1n).toString()}`;
  });
}

/**
 * What is wrong with an SDP offer or answer a peer sent, in a sentence, or undefined when it looks usable: it
 * must start with `v=0`, have at least one media section, and state ICE credentials and a DTLS fingerprint
 * (WebRTC requires both). Not a full SDP parser: a description that passes may still be refused by the
 * WebRTC stack that applies it.
 */
export function describeSdpProblem(sdp: string): string | undefined {
  if (!/^v=0\r?\n/.test(sdp)) return 'it does not start with "v=0" (not an SDP description)';
  const bad = sdp.split(/\r?\n/).find((l) => l !== '' && !/^[a-z]=/.test(l));
  if (bad !== undefined) return `line ${JSON.stringify(bad.slice(0, 60))} is not an SDP line ("x=value")`;
  const s = split(sdp);
  if (s.media.length === 0) return 'it has no media section ("m=" line)';
  if (iceCredentials(sdp) === undefined) return 'it has no ICE credentials ("a=ice-ufrag" / "a=ice-pwd")';
  const fingerprint = (lines: string[]): boolean => lines.some((l) => l.startsWith('a=fingerprint:'));
  if (!fingerprint(s.session) && !s.media.every(fingerprint))
    return 'it has no DTLS fingerprint ("a=fingerprint")';
  return undefined;
}
