/**
 * SDP changes the impaired-network experiments try on raw wrtc (docs/network-lab.md): pure string functions,
 * no I/O. `minBitrateKbps` puts `x-google-min-bitrate` (and the start bitrate) on every video codec's fmtp
 * line: libwebrtc's send-side bandwidth estimate never goes below it, whatever loss the receiver reports.
 */

/** What to change in a description before it is applied. */
export interface SdpTuning {
  /** Floor of the sender's bandwidth estimate, kbit/s (`x-google-min-bitrate`; also the start bitrate). */
  minBitrateKbps?: number;
  /** Drop the RTX retransmission payloads (NACK stays: retransmissions then go on the media SSRC). */
  noRtx?: boolean;
  /** Drop `nack` feedback altogether. */
  noNack?: boolean;
  /** Drop RED/ULPFEC. */
  noFec?: boolean;
}

/** Payload types of the m=video section whose rtpmap codec name matches `re`. */
function videoPayloads(lines: string[], re: RegExp): Set<string> {
  const out = new Set<string>();
  let inVideo = false;
  for (const line of lines) {
    if (line.startsWith('m=')) inVideo = line.startsWith('m=video');
    const m = /^a=rtpmap:(\d+) ([\w-]+)\//.exec(line);
    if (inVideo && m && re.test(m[2] ?? '')) out.add(m[1] ?? '');
  }
  return out;
}

/** Applies `tuning` to an SDP (offer or answer); unchanged when nothing is asked. */
export function tuneSdp(sdp: string, tuning: SdpTuning): string {
  const eol = sdp.includes('\r\n') ? '\r\n' : '\n';
  let lines = sdp.split(eol);
  const drop = new Set<string>();
  if (tuning.noRtx) for (const pt of videoPayloads(lines, /^rtx$/i)) drop.add(pt);
  if (tuning.noFec) for (const pt of videoPayloads(lines, /^(red|ulpfec|flexfec-03)$/i)) drop.add(pt);
  if (drop.size > 0) {
    lines = lines
      .filter((l) => {
        const pt = /^a=(?:rtpmap|fmtp|rtcp-fb):(\d+)[ ]/.exec(l)?.[1];
        return pt === undefined || !drop.has(pt);
      })
      .map((l) =>
        l.startsWith('m=video')
          ? l
              .split(' ')
              .filter((t, i) => i < 3 || !drop.has(t))
              .join(' ')
          : l,
      )
      .filter((l) => !(tuning.noRtx && /^a=ssrc-group:FID /.test(l)));
  }
  if (tuning.noNack) lines = lines.filter((l) => !/^a=rtcp-fb:\d+ nack$/.test(l));
  if (tuning.minBitrateKbps !== undefined) {
    const kbps = Math.round(tuning.minBitrateKbps);
    const media = videoPayloads(lines, /^(VP8|VP9|AV1|H264)$/i);
    const param = `x-google-min-bitrate=${kbps};x-google-start-bitrate=${kbps}`;
    const withFmtp = new Set<string>();
    lines = lines.map((l) => {
      const m = /^a=fmtp:(\d+) (.*)$/.exec(l);
      if (!m || !media.has(m[1] ?? '')) return l;
      withFmtp.add(m[1] ?? '');
      return `a=fmtp:${m[1]} ${m[2]};${param}`;
    });
    // A codec without an fmtp line gets one after its rtpmap.
    lines = lines.flatMap((l) => {
      const pt = /^a=rtpmap:(\d+) /.exec(l)?.[1];
      return pt && media.has(pt) && !withFmtp.has(pt) ? [l, `a=fmtp:${pt} ${param}`] : [l];
    });
  }
  return lines.join(eol);
}
