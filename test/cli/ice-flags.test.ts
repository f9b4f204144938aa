import { describe, expect, test } from 'vitest';
import { rtcConfigurationFromFlags } from '../../src/cli/ice-flags.js';
import { DEFAULT_STUN_URLS } from '../../src/peer/index.js';

describe('rtcConfigurationFromFlags', () => {
  test('defaults to the walk-through STUN server and policy all', () => {
    expect(rtcConfigurationFromFlags()).toEqual({
      iceServers: [{ urls: [...DEFAULT_STUN_URLS] }],
      iceTransportPolicy: 'all',
    });
  });

  test('no STUN at all with --stun none, or an empty list', () => {
    expect(rtcConfigurationFromFlags({ stun: ['none'] }).iceServers).toEqual([]);
    expect(rtcConfigurationFromFlags({ stun: [] }).iceServers).toEqual([]);
  });

  test('STUN and TURN with credentials, relay only', () => {
    const config = rtcConfigurationFromFlags({
      stun: ['stun:a.example:3478', 'stun:b.example:3478'],
      turn: ['turn:t.example:3478?transport=udp', 'turns:t.example:5349'],
      turnUser: 'u',
      turnPass: 'p',
      iceTransportPolicy: 'relay',
    });
    expect(config).toEqual({
      iceServers: [
        { urls: ['stun:a.example:3478', 'stun:b.example:3478'] },
        {
          urls: ['turn:t.example:3478?transport=udp', 'turns:t.example:5349'],
          username: 'u',
          credential: 'p',
        },
      ],
      iceTransportPolicy: 'relay',
    });
  });

  test('relay only without --turn: left to the signaling server to give one (checked at join)', () => {
    expect(rtcConfigurationFromFlags({ stun: ['none'], iceTransportPolicy: 'relay' })).toEqual({
      iceServers: [],
      iceTransportPolicy: 'relay',
    });
  });

  test.each([
    [{ stun: ['http://x'] }, /--stun "http:\/\/x" is not a STUN URL/],
    [{ turn: ['stun:x:1'], turnUser: 'u', turnPass: 'p' }, /--turn "stun:x:1" is not a TURN URL/],
    [{ turn: ['turn:x:1'] }, /--turn needs --turn-user and --turn-pass/],
    [{ iceTransportPolicy: 'none' as 'all' }, /must be "all" or "relay"/],
  ])('rejects %j', (flags, message) => {
    expect(() => rtcConfigurationFromFlags(flags)).toThrow(TypeError);
    expect(() => rtcConfigurationFromFlags(flags)).toThrow(message);
  });
});
