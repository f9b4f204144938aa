/** The candidate counts of a call's report of what ICE tried (`countCandidates`, pure). */
import { describe, expect, test } from 'vitest';
import { countCandidates } from '../../src/peer/call.js';

describe('countCandidates', () => {
  test("counts a description's candidates by type, not its end-of-candidates marker", () => {
    const sdp = [
      'v=0',
      'm=video 9 UDP/TLS/RTP/SAVPF 96',
      'a=candidate:1 1 udp 2122260223 192.168.1.2 50000 typ host generation 0',
      'a=candidate:2 1 udp 1686052607 10.77.1.2 50000 typ srflx raddr 192.168.1.2 rport 50000 generation 0',
      'a=candidate:3 1 udp 41885439 10.77.0.1 60000 typ relay raddr 10.77.1.2 rport 50000 generation 0',
      'a=candidate:4 1 tcp 1518280447 192.168.1.2 9 typ host tcptype active generation 0',
      'a=end-of-candidates',
      '',
    ].join('\r\n');
    expect(countCandidates(sdp)).toEqual({ host: 2, srflx: 1, prflx: 0, relay: 1 });
    expect(countCandidates(undefined)).toEqual({ host: 0, srflx: 0, prflx: 0, relay: 0 });
  });
});
