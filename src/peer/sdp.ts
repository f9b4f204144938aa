/**
 * SDP edits rtc-peer makes to what libwebrtc negotiates, as pure functions.
 */

/**
 * Removes RTX (RFC 4588 retransmission streams) from an SDP: the video RTX payload types (their rtpmap, fmtp and
 * rtcp-fb lines and their entries in the m=video line) and the FID ssrc-groups with their RTX SSRC lines. NACK
 * stays: lost packets are still resent, on the media stream itself.
 *
 * Why (docs/network-lab.md): with RTX, a retransmitted packet comes back on the RTX stream, so the receiver's
 * reports still count the original as lost; past 10 % random loss libwebrtc's loss-based bandwidth estimate
 * then falls to ~100 kbit/s and a call drops to 2-5 fps although the repairs get through. Without RTX the
 * repaired packets count as received (20 % dropped on the wire, ~0.6 % reported), the estimate holds, and the
 * call holds 30 fps; on capped links it changes nothing measurable.
 */
export function withoutRtx(sdp: string): string {
  const eol = sdp.includes('\r\n') ? '\r\n' : '\n';
  const lines = sdp.split(eol);
  const rtx = new Set<string>();
  let video = false;
  for (const line of lines) {
    if (line.startsWith('m=')) video = line.startsWith('m=video');
    const m = /^a=rtpmap:(\d+) rtx\//i.exec(line);
    if (video && m?.[1] !== undefined) rtx.add(m[1]);
  }
  const rtxSsrcs = new Set<string>();
  for (const line of lines) {
    const group = /^a=ssrc-group:FID (\d+) (\d+)$/.exec(line);
    if (group?.[2] !== undefined) rtxSsrcs.add(group[2]);
  }
  return lines
    .filter((line) => {
      const pt = /^a=(?:rtpmap|fmtp|rtcp-fb):(\d+) /.exec(line)?.[1];
      if (pt !== undefined && rtx.has(pt)) return false;
      if (line.startsWith('a=ssrc-group:FID ')) return false;
      const ssrc = /^a=ssrc:(\d+) /.exec(line)?.[1];
      return ssrc === undefined || !rtxSsrcs.has(ssrc);
    })
    .map((line) =>
      line.startsWith('m=video')
        ? line
            .split(' ')
            .filter((t, i) => i < 3 || !rtx.has(t))
            .join(' ')
        : line,
    )
    .join(eol);
}
