/**
 * `call --whip` / `answer --whep` against `--signal` / `--room` and the media flags: the pure rule of
 * `signalingFromFlags` (src/cli/commands/peer.ts), each contradiction a TypeError (exit 2) naming the flags.
 */
import { describe, expect, it } from 'vitest';
import { signalingFromFlags } from '../../../src/cli/commands/peer.js';

const DEFAULTS = { signal: 'http://localhost:8080', room: 'default' };
const none = (): boolean => false;
const sends = { sends: true, records: false };
const watches = { sends: false, records: true };

describe('signalingFromFlags', () => {
  it('without --whip/--whep: the room, from --signal and --room', () => {
    expect(signalingFromFlags({ signal: ['http://a:1,http://b:2'], room: 'lab' }, none, sends)).toEqual({
      signalUrl: ['http://a:1', 'http://b:2'],
      room: 'lab',
    });
  });

  it('--whip / --whep: the endpoint alone (the defaults and RTC_PEER_SIGNAL of --signal are not used)', () => {
    const whip = 'http://127.0.0.1:8889/cam/whip';
    const whep = 'https://sfu.example/cam/whep';
    expect(signalingFromFlags({ ...DEFAULTS, whip }, none, sends)).toEqual({ whipUrl: whip });
    expect(signalingFromFlags({ ...DEFAULTS, whep }, none, watches)).toEqual({ whepUrl: whep });
  });

  it('--whip beside --signal or --room given on the command line: both named, with the URL to use instead', () => {
    const given = (flag: string): boolean => flag === 'room' || flag === 'signal';
    expect(() => signalingFromFlags({ ...DEFAULTS, whip: 'http://h/whip/x' }, given, sends)).toThrow(
      new TypeError(
        "--whip and --signal and --room contradict each other: --whip URL takes the place of a server and a room (for rtc-peer signal's room ROOM: --whip http://HOST:8080/whip/ROOM); give one or the other",
      ),
    );
  });

  it('WHIP only sends, WHEP only receives; URLs are http(s)', () => {
    expect(() =>
      signalingFromFlags({ ...DEFAULTS, whip: 'http://h/whip' }, none, { sends: true, records: true }),
    ).toThrow(/--whip only publishes: nothing comes back to --record/);
    expect(() =>
      signalingFromFlags({ ...DEFAULTS, whip: 'http://h/whip' }, none, { sends: false, records: false }),
    ).toThrow(/--whip needs something to publish/);
    expect(() =>
      signalingFromFlags({ ...DEFAULTS, whep: 'http://h/whep' }, none, { sends: true, records: true }),
    ).toThrow(/--whep only watches/);
    expect(() => signalingFromFlags({ ...DEFAULTS, whep: 'cam/whep' }, none, watches)).toThrow(
      /--whep "cam\/whep" is not an http:\/\/ or https:\/\/ URL/,
    );
  });
});
