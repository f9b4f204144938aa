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

/** Video codecs a start bitrate applies to (not the repair formats: rtx, red, ulpfec, flexfec). */
const VIDEO_CODECS = new Set(['vp8', 'vp9', 'av1', 'h264', 'h265']);

/**
 * Sets libwebrtc's start bitrate for the video we send (`x-google-start-bitrate`, kbit/s, in the fmtp of each
 * video codec) in a remote description, where libwebrtc reads it: the sender's codec parameters come from the
 * other side's description. Applied on our side only, to what we set as remote description; nothing on the
 * wire changes. Codecs that already have one keep theirs.
 *
 * Why: libwebrtc starts its bandwidth estimate at 300 kbit/s and relies on its start-up probes to find more.
 * In the lab at 5 % loss, 2 calls in 45 sent at a third of the usual rate and received 17 fps (VP8 at 640x480
 * drops frames there); the others began at 0.9-1.2 Mbit/s and held 29-30 fps. With a start at 1 Mbit/s, 12 of
 * 12 held 28-30 fps, and the lab's 500 and 250 kbit/s caps still passed (docs/network-lab.md).
 */
export function withStartBitrate(sdp: string, kbps: number): string {
  if (!(kbps > 0)) return sdp;
  const eol = sdp.includes('\r\n') ? '\r\n' : '\n';
  const param = `x-google-start-bitrate=${Math.round(kbps)}`;
  // Each m-section on its own: its lines from its m= line to the next.
  const sections: string[][] = [[]];
  for (const line of sdp.split(eol)) {
    if (line.startsWith('m=')) sections.push([]);
    sections.at(-1)?.push(line);
  }
  return sections
    .flatMap((lines) => {
      if (!lines[0]?.startsWith('m=video')) return lines;
      const codecs = new Set<string>();
      for (const line of lines) {
        const m = /^a=rtpmap:(\d+) ([^/]+)\//.exec(line);
        if (m?.[1] !== undefined && VIDEO_CODECS.has((m[2] ?? '').toLowerCase())) codecs.add(m[1]);
      }
      const withFmtp = new Set(lines.map((l) => /^a=fmtp:(\d+) /.exec(l)?.[1]));
      return lines.flatMap((line) => {
        const fmtp = /^a=fmtp:(\d+) (.*)$/.exec(line);
        if (fmtp?.[1] !== undefined && codecs.has(fmtp[1]))
          return fmtp[2]?.includes('x-google-start-bitrate') ? [line] : [`${line};${param}`];
        const pt = /^a=rtpmap:(\d+) /.exec(line)?.[1];
        if (pt !== undefined && codecs.has(pt) && !withFmtp.has(pt)) return [line, `a=fmtp:${pt} ${param}`];
        return [line];
      });
    })
    .join(eol);
}
