import wrtc from '@roamhq/wrtc';
import { describe, expect, it } from 'vitest';
import { withoutRtx } from '../../src/peer/sdp.js';

describe('withoutRtx', () => {
  it("removes every trace of RTX from libwebrtc's own offer, keeps NACK, and libwebrtc takes the result", async () => {
    const pc = new wrtc.RTCPeerConnection() as unknown as RTCPeerConnection;
    try {
      const source = new wrtc.nonstandard.RTCVideoSource();
      const track = source.createTrack();
      pc.addTrack(track, new wrtc.MediaStream([track]));
      pc.addTransceiver('audio');
      const offer = await pc.createOffer();
      const sdp = offer.sdp ?? '';
      expect(sdp).toMatch(/a=rtpmap:\d+ rtx\/90000/);
      expect(sdp).toMatch(/a=ssrc-group:FID/);
      const edited = withoutRtx(sdp);
      expect(edited).not.toMatch(/rtx\//);
      expect(edited).not.toMatch(/FID/);
      expect(edited).not.toMatch(/apt=/);
      // NACK and the codecs themselves stay, audio untouched, one SSRC line set per video track.
      expect(edited).toMatch(/a=rtcp-fb:\d+ nack\r\n/);
      expect(edited).toMatch(/a=rtpmap:\d+ VP8\/90000/);
      expect(edited.split('m=audio')[1]).toBe(sdp.split('m=audio')[1]);
      const mVideo = /^m=video .*$/m.exec(edited)?.[0] ?? '';
      for (const pt of mVideo.split(' ').slice(3)) expect(edited).toMatch(new RegExp(`a=rtpmap:${pt} `));
      await pc.setLocalDescription({ type: 'offer', sdp: edited });
      expect(pc.localDescription?.sdp).not.toMatch(/rtx\//);
      track.stop();
    } finally {
      pc.close();
    }
  });

  it('leaves an SDP without RTX as it is', () => {
    const sdp = 'v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=rtpmap:96 VP8/90000\r\na=rtcp-fb:96 nack\r\n';
    expect(withoutRtx(sdp)).toBe(sdp);
  });
});
