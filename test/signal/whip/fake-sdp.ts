/**
 * A minimal SDP offer for the WHIP/WHEP tests that never reach a peer connection (the endpoints and clients
 * only carry it): one sendonly video m-line with ICE credentials, and the answer a server or a room peer
 * would give it, with the `setup` role it takes.
 */
export const FAKE_OFFER = [
  'v=0',
  'o=- 1 2 IN IP4 127.0.0.1',
  's=-',
  't=0 0',
  'a=group:BUNDLE 0',
  'm=video 9 UDP/TLS/RTP/SAVPF 96',
  'c=IN IP4 0.0.0.0',
  'a=ice-ufrag:offr',
  'a=ice-pwd:offerpassword0123456789',
  'a=fingerprint:sha-256 00:11',
  'a=setup:actpass',
  'a=mid:0',
  'a=sendonly',
  '',
].join('\r\n');

/** {@link FAKE_OFFER}'s answer: other credentials, recvonly, DTLS role `setup`. */
export function fakeAnswer(setup: 'active' | 'passive'): string {
  return FAKE_OFFER.replace(/offr/g, 'answ').replace('actpass', setup).replace('sendonly', 'recvonly');
}
