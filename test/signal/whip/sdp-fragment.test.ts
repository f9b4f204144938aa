/**
 * SDP fragments (RFC 8840 / RFC 9725 section 4.3) and the SDP edits around them: built from a real
 * @roamhq/wrtc offer, read back, and the answer rebuilt after an ICE restart is one a real peer connection
 * accepts.
 */
import wrtc from '@roamhq/wrtc';
import { describe, expect, it } from 'vitest';
import {
  buildSdpFragment,
  parseSdpFragment,
  restartedAnswer,
} from '../../../src/signal/whip/sdp-fragment.js';
import {
  describeSdpProblem,
  iceCredentials,
  withCandidates,
  withoutCandidates,
} from '../../../src/signal/whip/session-description.js';
import { gatheredLocalDescription } from '../../helpers/descriptions.js';

const OFFER = [
  'v=0',
  'o=- 4611731400430051336 2 IN IP4 127.0.0.1',
  's=-',
  't=0 0',
  'a=group:BUNDLE 0 1',
  'm=audio 9 UDP/TLS/RTP/SAVPF 111',
  'c=IN IP4 0.0.0.0',
  'a=ice-ufrag:EsAw',
  'a=ice-pwd:P2uYro0UCOQ4zxjKXaWCBui1',
  'a=fingerprint:sha-256 00:11',
  'a=setup:actpass',
  'a=mid:0',
  'a=sendonly',
  'm=video 9 UDP/TLS/RTP/SAVPF 96',
  'c=IN IP4 0.0.0.0',
  'a=ice-ufrag:EsAw',
  'a=ice-pwd:P2uYro0UCOQ4zxjKXaWCBui1',
  'a=fingerprint:sha-256 00:11',
  'a=setup:actpass',
  'a=mid:1',
  'a=sendonly',
  '',
].join('\r\n');

const host = (n: number, mid = '0') => ({
  candidate: `candidate:${n} 1 udp 2122260223 192.0.2.${n} 6176${n} typ host generation 0 ufrag EsAw network-id 1`,
  sdpMid: mid,
  sdpMLineIndex: Number(mid),
});

describe('SDP fragments', () => {
  it('builds the RFC 9725 shape: the bundle group, the section, its mid, credentials, candidates, end', () => {
    expect(buildSdpFragment(OFFER, [host(1), host(2)], { endOfCandidates: true })).toBe(
      [
        'a=group:BUNDLE 0 1',
        'm=audio 9 UDP/TLS/RTP/SAVPF 111',
        'a=mid:0',
        'a=ice-ufrag:EsAw',
        'a=ice-pwd:P2uYro0UCOQ4zxjKXaWCBui1',
        `a=${host(1).candidate}`,
        `a=${host(2).candidate}`,
        'a=end-of-candidates',
        '',
      ].join('\r\n'),
    );
  });

  it('puts candidates of another section in that section; an ICE restart with none states its credentials', () => {
    const frag = buildSdpFragment(OFFER, [host(1), host(3, '1')]);
    expect(frag).toContain('m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:1\r\na=ice-ufrag:EsAw');
    const restart = buildSdpFragment(OFFER, [], {
      credentials: { ufrag: 'NEW1', pwd: 'newpassword0123456789012' },
    });
    expect(parseSdpFragment(restart)).toEqual({
      credentials: { ufrag: 'NEW1', pwd: 'newpassword0123456789012' },
      candidates: [],
      endOfCandidates: false,
    });
  });

  it('reads what it builds: candidates with their mid, credentials, end-of-candidates', () => {
    const parsed = parseSdpFragment(
      buildSdpFragment(OFFER, [host(1), host(3, '1')], { endOfCandidates: true }),
    );
    expect(parsed.credentials).toEqual({ ufrag: 'EsAw', pwd: 'P2uYro0UCOQ4zxjKXaWCBui1' });
    expect(parsed.candidates).toEqual([
      { candidate: host(1).candidate, sdpMid: '0', sdpMLineIndex: 0 },
      { candidate: host(3).candidate, sdpMid: '1', sdpMLineIndex: 1 },
    ]);
    expect(parsed.endOfCandidates).toBe(true);
    // Janus's simple-whip-server and other servers send bare lines with LF only.
    expect(parseSdpFragment('a=ice-ufrag:x\na=ice-pwd:y\n').credentials).toEqual({ ufrag: 'x', pwd: 'y' });
  });

  it('refuses what is not a fragment, saying why', () => {
    expect(() => parseSdpFragment('{"candidate":"x"}')).toThrow(/not an SDP line/);
    expect(() => parseSdpFragment('a=mid:0\r\n')).toThrow(/neither ICE credentials nor candidates/);
    expect(() => parseSdpFragment('a=ice-ufrag:x\r\n')).toThrow(/only one of/);
    expect(() =>
      parseSdpFragment('a=ice-ufrag:x\r\na=ice-pwd:y\r\na=ice-ufrag:z\r\na=ice-pwd:y\r\n'),
    ).toThrow(/two different ice-ufrag/);
  });

  it('adds candidates to a description and takes them out again', () => {
    const withThem = withCandidates(OFFER, [host(1), host(2, '1')], true);
    expect(withThem).toContain(
      `a=mid:0\r\na=sendonly\r\na=${host(1).candidate}\r\na=end-of-candidates\r\nm=video`,
    );
    expect(withThem.match(/a=end-of-candidates/g)).toHaveLength(2);
    expect(withCandidates(withThem, [host(1)])).toBe(withThem);
    expect(withoutCandidates(withThem)).toBe(OFFER);
  });

  it('says what is wrong with a description that cannot be one', () => {
    expect(describeSdpProblem(OFFER)).toBeUndefined();
    expect(describeSdpProblem('hello')).toMatch(/v=0/);
    expect(describeSdpProblem('v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\n')).toMatch(/no media section/);
    expect(describeSdpProblem(OFFER.replace(/a=ice-pwd:.*\r\n/g, ''))).toMatch(/ICE credentials/);
    expect(describeSdpProblem(OFFER.replace(/a=fingerprint:.*\r\n/g, ''))).toMatch(/fingerprint/);
    expect(describeSdpProblem(OFFER + 'garbage\r\n')).toMatch(/not an SDP line/);
  });
});

describe('the answer rebuilt after an ICE restart', { timeout: 15_000 }, () => {
  it('carries the new credentials and candidates, and a real peer connection accepts it as the answer', async () => {
    const a = new wrtc.RTCPeerConnection() as unknown as RTCPeerConnection;
    const b = new wrtc.RTCPeerConnection() as unknown as RTCPeerConnection;
    try {
      a.addTransceiver('video', { direction: 'sendonly' });
      await a.setLocalDescription(await a.createOffer());
      await b.setRemoteDescription(await gatheredLocalDescription(a));
      await b.setLocalDescription(await b.createAnswer());
      const answer = (await gatheredLocalDescription(b)).sdp ?? '';
      await a.setRemoteDescription({ type: 'answer', sdp: answer });
      // A restart offer; the server's reply, as a fragment: its new credentials and one candidate.
      await a.setLocalDescription(await a.createOffer({ iceRestart: true }));
      const fragment = parseSdpFragment(
        'a=ice-ufrag:srv2\r\na=ice-pwd:serverpassword2serverpw\r\n' +
          'm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:0\r\n' +
          'a=candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host\r\na=end-of-candidates\r\n',
      );
      const rebuilt = restartedAnswer(answer, fragment);
      expect(iceCredentials(rebuilt)).toEqual({ ufrag: 'srv2', pwd: 'serverpassword2serverpw' });
      expect(rebuilt).toContain(
        'a=candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host\r\na=end-of-candidates',
      );
      expect(rebuilt).not.toContain(iceCredentials(answer)!.ufrag);
      // The version went up by one.
      const version = (sdp: string) => BigInt(/^o=\S+ \S+ (\d+)/m.exec(sdp)![1]!);
      expect(version(rebuilt)).toBe(version(answer) + 1n);
      await a.setRemoteDescription({ type: 'answer', sdp: rebuilt });
      expect(a.signalingState).toBe('stable');
      // eslint-disable-next-line no-restricted-syntax -- nothing changes it now: no candidate is added
      expect(iceCredentials(a.remoteDescription!.sdp)?.ufrag).toBe('srv2');
      expect(() => restartedAnswer(answer, { candidates: [], endOfCandidates: false })).toThrow(/no new ICE/);
    } finally {
      a.close();
      b.close();
    }
  });
});
