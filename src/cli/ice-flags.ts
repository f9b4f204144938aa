/**
 * The ICE flags (`--stun`, `--turn`, `--turn-user`, `--turn-pass`, `--ice-transport-policy`) into the
 * `RTCConfiguration` a `Peer` takes. Pure: no I/O, unit-tested.
 */
import { DEFAULT_STUN_URLS } from '../peer/index.js';

/** The ICE flags as given. */
export interface IceFlags {
  /** `--stun URL`, repeatable; `none` for no STUN at all. Default: {@link DEFAULT_STUN_URLS}. */
  stun?: string[];
  /** `--turn URL`, repeatable (`turn:host:port[?transport=udp|tcp]` or `turns:`). Default: none. */
  turn?: string[];
  /** `--turn-user`, required with `--turn`. */
  turnUser?: string;
  /** `--turn-pass` (the credential), required with `--turn`. */
  turnPass?: string;
  /**
   * `--ice-transport-policy`: `relay` uses TURN only (`--turn`'s, or the one the signaling server gives);
   * `all` (default) tries every candidate.
   */
  iceTransportPolicy?: 'all' | 'relay';
}

const STUN_RE = /^stuns?:[^\s?#]+$/;
const TURN_RE = /^turns?:[^\s#]+$/;

/**
 * Checks the ICE flags and turns them into an RTCPeerConnection configuration.
 *
 * @throws TypeError naming the bad flag.
 * @example
 * rtcConfigurationFromFlags({ stun: ['stun:stun.example.org:3478'], turn: ['turn:turn.example.org:3478'],
 *   turnUser: 'u', turnPass: 'p', iceTransportPolicy: 'relay' });
 */
export function rtcConfigurationFromFlags(flags: IceFlags = {}): RTCConfiguration {
  const stun = flags.stun?.includes('none') ? [] : (flags.stun ?? [...DEFAULT_STUN_URLS]);
  const turn = flags.turn ?? [];
  const policy = flags.iceTransportPolicy ?? 'all';
  for (const url of stun) {
    if (!STUN_RE.test(url)) {
      throw new TypeError(
        `--stun ${JSON.stringify(url)} is not a STUN URL; expected e.g. stun:stun.example.org:3478`,
      );
    }
  }
  for (const url of turn) {
    if (!TURN_RE.test(url)) {
      throw new TypeError(
        `--turn ${JSON.stringify(url)} is not a TURN URL; expected e.g. turn:turn.example.org:3478?transport=udp`,
      );
    }
  }
  if (turn.length > 0 && (flags.turnUser === undefined || flags.turnPass === undefined)) {
    throw new TypeError('--turn needs --turn-user and --turn-pass (the TURN server credentials)');
  }
  if (policy !== 'all' && policy !== 'relay') {
    throw new TypeError(`--ice-transport-policy must be "all" or "relay", not ${JSON.stringify(policy)}`);
  }
  // Relay without --turn counts on the TURN server the signaling server gives (its join ack, a WHIP/WHEP
  // server's Link headers); a room server that gives none is an error at join (peer.ts).
  const iceServers: RTCIceServer[] = [];
  if (stun.length > 0) iceServers.push({ urls: stun });
  if (turn.length > 0) iceServers.push({ urls: turn, username: flags.turnUser, credential: flags.turnPass });
  return { iceServers, iceTransportPolicy: policy };
}
