/**
 * ICE configuration from command-line style options. Pure: no I/O.
 */

/** The STUN server the walk-through uses; reachable from most networks, harmless when it is not. */
export const DEFAULT_STUN_URLS = ['stun:stun.l.google.com:19302'];

/** ICE options as the CLI takes them. */
export interface IceOptions {
  /** STUN URLs (`stun:host:port`). Default: {@link DEFAULT_STUN_URLS}. An empty array means no STUN. */
  stun?: string[];
  /** TURN URLs (`turn:host:port[?transport=udp|tcp]` or `turns:`). Default: none. */
  turn?: string[];
  /** TURN username, required with `turn`. */
  turnUser?: string;
  /** TURN password (credential), required with `turn`. */
  turnPass?: string;
  /** `relay` uses TURN only; `all` (default) tries every candidate. */
  iceTransportPolicy?: 'all' | 'relay';
}

/** What `new RTCPeerConnection(config)` needs of ICE. */
export interface IceConfig {
  iceServers: RTCIceServer[];
  iceTransportPolicy: 'all' | 'relay';
}

const STUN_RE = /^stuns?:[^\s?#]+$/;
const TURN_RE = /^turns?:[^\s#]+$/;

/**
 * Checks ICE options and turns them into an RTCPeerConnection configuration.
 * Throws `TypeError` with a message naming the bad option.
 *
 * @example
 * buildIceConfig({ stun: ['stun:stun.example.org:3478'], turn: ['turn:turn.example.org:3478'],
 *   turnUser: 'u', turnPass: 'p', iceTransportPolicy: 'relay' });
 */
export function buildIceConfig(options: IceOptions = {}): IceConfig {
  const stun = options.stun ?? DEFAULT_STUN_URLS;
  const turn = options.turn ?? [];
  const policy = options.iceTransportPolicy ?? 'all';
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
  if (turn.length > 0 && (options.turnUser === undefined || options.turnPass === undefined)) {
    throw new TypeError('--turn needs --turn-user and --turn-pass (the TURN server credentials)');
  }
  if (policy !== 'all' && policy !== 'relay') {
    throw new TypeError(`--ice-transport-policy must be "all" or "relay", not ${JSON.stringify(policy)}`);
  }
  if (policy === 'relay' && turn.length === 0) {
    throw new TypeError(
      '--ice-transport-policy relay needs a TURN server (--turn URL); without one no path exists',
    );
  }
  const iceServers: RTCIceServer[] = [];
  if (stun.length > 0) iceServers.push({ urls: stun });
  if (turn.length > 0)
    iceServers.push({ urls: turn, username: options.turnUser, credential: options.turnPass });
  return { iceServers, iceTransportPolicy: policy };
}
