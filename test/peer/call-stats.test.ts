import { describe, expect, test } from 'vitest';
import { summarizeStats } from '../../src/peer/call-stats.js';

const report = (framesSent: number, framesDecoded: number, bytes: number, lost: number, received: number) => [
  { type: 'outbound-rtp', kind: 'video', framesSent, bytesSent: bytes, frameWidth: 640, frameHeight: 480 },
  {
    type: 'inbound-rtp',
    kind: 'video',
    framesDecoded,
    bytesReceived: bytes,
    packetsLost: lost,
    packetsReceived: received,
    frameWidth: 320,
    frameHeight: 240,
    jitterBufferDelay: framesDecoded * 0.02,
    jitterBufferEmittedCount: framesDecoded,
  },
  {
    type: 'candidate-pair',
    id: 'P2',
    nominated: true,
    localCandidateId: 'L2',
    currentRoundTripTime: 0.012,
    bytesReceived: bytes + 100,
  },
  { type: 'local-candidate', id: 'L1', candidateType: 'host' },
  { type: 'local-candidate', id: 'L2', candidateType: 'relay' },
  {
    type: 'candidate-pair',
    id: 'P1',
    nominated: false,
    localCandidateId: 'L1',
    currentRoundTripTime: 0.5,
    bytesReceived: 7,
  },
];

describe('summarizeStats', () => {
  test('the first sample has totals and no rates', () => {
    const s = summarizeStats(report(30, 29, 10_000, 0, 50), 1000);
    expect(s.fpsSent).toBe(0);
    expect(s.totals).toMatchObject({ framesSent: 30, framesDecoded: 29, transportBytesReceived: 10_100 });
    expect(s.rttMs).toBeCloseTo(12);
    // the selected pair's local candidate says how we reach the peer
    expect(s.route).toBe('relay');
    expect(s.sendResolution).toBe('640x480');
    expect(s.receiveResolution).toBe('320x240');
  });

  test("the route is the transport's selected pair, when another is nominated too", () => {
    const entries = report(30, 29, 10_000, 0, 50).map((e) =>
      e.type === 'candidate-pair' ? { ...e, nominated: true } : e,
    );
    // P2 (relay) listed last, so that taking any nominated pair would say relay.
    const withTransport = [{ type: 'transport', selectedCandidatePairId: 'P1' }, ...entries];
    const s = summarizeStats(withTransport, 1000);
    expect(s.route).toBe('host');
    expect(s.rttMs).toBeCloseTo(500);
    expect(s.totals.transportBytesReceived).toBe(7);
  });

  test('rates and loss come from the difference with the previous sample', () => {
    const first = summarizeStats(report(30, 29, 10_000, 0, 50), 1000);
    const second = summarizeStats(report(60, 59, 135_000, 10, 140), 3000, first);
    expect(second.fpsSent).toBeCloseTo(15);
    expect(second.fpsReceived).toBeCloseTo(15);
    expect(second.kbpsSent).toBeCloseTo(500);
    // 90 packets received and 10 lost in the interval: 10 %
    expect(second.lossPercent).toBeCloseTo(10);
    // 20 ms per frame in the jitter buffer, as the report says
    expect(second.jitterBufferMs).toBeCloseTo(20);
  });

  test('audio: packets each way and loss since the previous sample (levels come from the samples, not here)', () => {
    const audio = (sent: number, received: number, lost: number, level: number) => [
      { type: 'media-source', kind: 'audio', audioLevel: 0.25 },
      { type: 'outbound-rtp', kind: 'audio', packetsSent: sent, bytesSent: sent * 80 },
      { type: 'inbound-rtp', kind: 'audio', packetsReceived: received, packetsLost: lost, audioLevel: level },
    ];
    expect(summarizeStats(report(30, 29, 10_000, 0, 50), 1000).audio).toBeUndefined();
    const first = summarizeStats([...report(30, 29, 10_000, 0, 50), ...audio(50, 48, 0, 0.1)], 1000);
    expect(first.audio).toEqual({
      packetsSent: 50,
      packetsReceived: 48,
      packetsLost: 0,
      lossPercent: 0,
    });
    const second = summarizeStats(
      [...report(60, 59, 135_000, 10, 140), ...audio(150, 143, 5, 0.2)],
      3000,
      first,
    );
    // 95 audio packets received and 5 lost in the interval: 5 %
    expect(second.audio?.lossPercent).toBeCloseTo(5);
    expect(second.audio?.packetsSent).toBe(150);
  });
});
