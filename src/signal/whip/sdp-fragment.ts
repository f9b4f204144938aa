/**
 * SDP fragments, `application/trickle-ice-sdpfrag` (RFC 8840 section 9, as RFC 9725 section 4.3 uses them):
 * the body of a WHIP/WHEP `PATCH`, carrying trickled candidates, or an ICE restart's new credentials; and
 * the answer a client rebuilds from the server's restart fragment (WHIP has no new SDP answer for a restart,
 * only the server's new credentials and candidates). Pure: no I/O. MediaMTX's `sdp_fragment.go` does the same
 * job.
 *
 * A fragment, as RFC 9725 shows it:
 *
 *     a=group:BUNDLE 0 1
 *     m=audio 9 UDP/TLS/RTP/SAVPF 111
 *     a=mid:0
 *     a=ice-ufrag:EsAw
 *     a=ice-pwd:P2uYro0UCOQ4zxjKXaWCBui1
 *     a=candidate:1387637174 1 udp 2122260223 192.0.2.1 61764 typ host generation 0 ufrag EsAw network-id 1
 *     a=end-of-candidates
 */
import type { IceCandidateMessage } from '../types.js';
import {
  bundleGroup,
  iceCredentials,
  mediaSections,
  withCandidates,
  withIceCredentials,
  withNextVersion,
  withoutCandidates,
  type IceCredentials,
} from './session-description.js';

/** The media type of an SDP fragment. */
export const SDP_FRAGMENT_TYPE = 'application/trickle-ice-sdpfrag';

/** What a fragment carries. */
export interface SdpFragment {
  /** ICE credentials it states (an ICE restart's new ones, or the current ones with trickled candidates). */
  credentials?: IceCredentials;
  /** Its candidates, each with the `a=mid` of its section (and its section's index in the fragment). */
  candidates: IceCandidateMessage[];
  /** It ends with `a=end-of-candidates`: no more candidates for these credentials. */
  endOfCandidates: boolean;
}

/**
 * The fragment for `candidates` of the description `sdp` (our offer or answer): one media section per `mid`
 * that has candidates (its `m=` line and `a=mid` copied from `sdp`), with the credentials; an empty list
 * still states the credentials, in the first section (an ICE restart before any candidate). `credentials`
 * defaults to those of `sdp`.
 */
export function buildSdpFragment(
  sdp: string,
  candidates: readonly IceCandidateMessage[],
  options: { endOfCandidates?: boolean; credentials?: IceCredentials } = {},
): string {
  const credentials = options.credentials ?? iceCredentials(sdp);
  if (credentials === undefined)
    throw new Error('the description has no ICE credentials to put in a fragment');
  const sections = mediaSections(sdp);
  const byIndex = new Map<number, string[]>();
  for (const c of candidates) {
    if (!c.candidate) continue; // an end-of-candidates marker is the `endOfCandidates` option
    let index = sections.findIndex((m) => m.mid !== undefined && m.mid === c.sdpMid);
    if (index < 0) index = c.sdpMLineIndex ?? 0;
    const list = byIndex.get(index) ?? [];
    list.push(`a=${c.candidate.replace(/^a=/, '')}`);
    byIndex.set(index, list);
  }
  if (byIndex.size === 0) byIndex.set(0, []);
  const lines: string[] = [];
  const group = bundleGroup(sdp);
  if (group !== undefined) lines.push(group);
  for (const [index, list] of [...byIndex].sort(([a], [b]) => a - b)) {
    const section = sections[index] ?? sections[0];
    if (section !== undefined) lines.push(section.mline);
    if (section?.mid !== undefined) lines.push(`a=mid:${section.mid}`);
    lines.push(`a=ice-ufrag:${credentials.ufrag}`, `a=ice-pwd:${credentials.pwd}`, ...list);
    if (options.endOfCandidates) lines.push('a=end-of-candidates');
  }
  return lines.join('\r\n') + '\r\n';
}

/**
 * Reads a fragment. Throws an Error saying what is wrong when it is not one (a line that is not `x=value`, no
 * credentials and no candidates, credentials that disagree).
 */
export function parseSdpFragment(text: string): SdpFragment {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  let ufrag: string | undefined;
  let pwd: string | undefined;
  let mid: string | undefined;
  let section = -1;
  let endOfCandidates = false;
  const candidates: IceCandidateMessage[] = [];
  for (const raw of lines) {
    const line = raw.trim();
    if (!/^[a-z]=/.test(line))
      throw new Error(`line ${JSON.stringify(line.slice(0, 60))} is not an SDP line ("x=value")`);
    if (line.startsWith('m=')) {
      section++;
      mid = undefined;
    } else if (line.startsWith('a=mid:')) mid = line.slice(6).trim();
    else if (line.startsWith('a=ice-ufrag:')) {
      const value = line.slice(12).trim();
      if (ufrag !== undefined && ufrag !== value)
        throw new Error('the fragment states two different ice-ufrag');
      ufrag = value;
    } else if (line.startsWith('a=ice-pwd:')) {
      const value = line.slice(10).trim();
      if (pwd !== undefined && pwd !== value) throw new Error('the fragment states two different ice-pwd');
      pwd = value;
    } else if (line.startsWith('a=candidate:'))
      candidates.push({ candidate: line.slice(2), sdpMid: mid ?? null, sdpMLineIndex: Math.max(0, section) });
    else if (line === 'a=end-of-candidates') endOfCandidates = true;
  }
  if ((ufrag === undefined) !== (pwd === undefined))
    throw new Error('the fragment states only one of ice-ufrag and ice-pwd');
  if (ufrag === undefined && candidates.length === 0 && !endOfCandidates)
    throw new Error('the fragment has neither ICE credentials nor candidates');
  return {
    ...(ufrag !== undefined && pwd !== undefined ? { credentials: { ufrag, pwd } } : {}),
    candidates,
    endOfCandidates,
  };
}

/**
 * The answer after an ICE restart done by PATCH (RFC 9725 section 4.3.3): the previous answer with the
 * server's new credentials and candidates from its response fragment in place of the old ones, and a new
 * version. Throws when the fragment has no credentials (the server did not restart).
 */
export function restartedAnswer(previousAnswer: string, fragment: SdpFragment): string {
  if (fragment.credentials === undefined)
    throw new Error("the server's ICE restart response states no new ICE credentials");
  const base = withNextVersion(withIceCredentials(withoutCandidates(previousAnswer), fragment.credentials));
  const sections = mediaSections(base);
  // The server's candidates go to the section its fragment names, or the bundle's first one.
  const candidates = fragment.candidates.map((c) => ({
    ...c,
    sdpMid: sections.some((m) => m.mid === c.sdpMid) ? c.sdpMid : (sections[0]?.mid ?? null),
    sdpMLineIndex: null,
  }));
  return withCandidates(base, candidates, fragment.endOfCandidates);
}
