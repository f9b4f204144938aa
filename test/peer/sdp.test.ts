import wrtc from '@roamhq/wrtc';
import { describe, expect, it } from 'vitest';
import { withStartBitrate, withoutRtx } from '../../src/peer/sdp.js';
import { gatheredLocalDescription } from '../helpers/descriptions.js';

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
      expect((await gatheredLocalDescription(pc)).sdp).not.toMatch(/rtx\//);
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

describe('withStartBitrate', () => {
  it("gives each video codec of libwebrtc's own description a start bitrate, not the repair formats or audio, and libwebrtc takes it", async () => {
    const offerer = new wrtc.RTCPeerConnection() as unknown as RTCPeerConnection;
    const answerer = new wrtc.RTCPeerConnection() as unknown as RTCPeerConnection;
    try {
      offerer.addTransceiver('audio');
      offerer.addTransceiver('video');
      const offer = await offerer.createOffer();
      const sdp = offer.sdp ?? '';
      const edited = withStartBitrate(sdp, 1000);
      const video = edited.split('m=video')[1] ?? '';
      const codec = (name: string): string | undefined =>
        new RegExp(`a=rtpmap:(\\d+) ${name}/90000`).exec(video)?.[1];
      for (const name of ['VP8', 'VP9', 'AV1']) {
        const pt = codec(name);
        expect(pt, name).toBeDefined();
        expect(video, name).toMatch(new RegExp(`a=fmtp:${pt} (.*;)?x-google-start-bitrate=1000\r\n`));
      }
      for (const name of ['rtx', 'red', 'ulpfec']) {
        for (const [, pt] of video.matchAll(new RegExp(`a=rtpmap:(\\d+) ${name}/90000`, 'g')))
          expect(video, name).not.toMatch(new RegExp(`a=fmtp:${pt} .*x-google-start-bitrate`));
      }
      // Each codec has one fmtp line; VP9's profile stays; audio is untouched; nothing else changed.
      for (const pt of /^m=video .*$/m.exec(edited)?.[0].split(' ').slice(3) ?? [])
        expect(video.match(new RegExp(`a=fmtp:${pt} `, 'g'))?.length ?? 0).toBeLessThanOrEqual(1);
      expect(video).toMatch(/a=fmtp:\d+ profile-id=0;x-google-start-bitrate=1000/);
      expect(edited.split('m=video')[0]).toBe(sdp.split('m=video')[0]);
      expect(edited.replace(/;?x-google-start-bitrate=1000/g, '').replace(/a=fmtp:\d+ \r\n/g, '')).toBe(sdp);
      await answerer.setRemoteDescription({ type: 'offer', sdp: edited });
      // eslint-disable-next-line no-restricted-syntax -- safe here: no candidate is added to it (descriptions.ts)
      expect(answerer.remoteDescription?.sdp).toMatch(/x-google-start-bitrate=1000/);
    } finally {
      offerer.close();
      answerer.close();
    }
  });

  it('keeps a start bitrate the description has, and 0 changes nothing', () => {
    const sdp =
      'v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=rtpmap:96 VP8/90000\r\na=fmtp:96 x-google-start-bitrate=2500\r\n';
    expect(withStartBitrate(sdp, 1000)).toBe(sdp);
    expect(withStartBitrate(sdp.replace(/a=fmtp.*\r\n/, ''), 0)).toBe(sdp.replace(/a=fmtp.*\r\n/, ''));
  });
});
