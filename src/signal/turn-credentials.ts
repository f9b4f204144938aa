/**
 * Expiring TURN credentials (issue 15), the "TURN REST API" scheme of draft-uberti-behave-turn-rest-00
 * (its response's `username`, `password`, `ttl`) as coturn implements it with `--use-auth-secret --static-auth-secret=SECRET`: the signaling
 * server and coturn share a secret, and the server hands each admitted client credentials it computes
 * itself, with no call to coturn and nothing stored (so every server of a `--redis` cluster computes them
 * alone):
 *
 * - username = `<expiry, seconds since the epoch>:<label>`; coturn's README.turnserver ("TURN REST API"):
 *   `temporary-username="timestamp" + ":" + "username"`, the separator being `--rest-api-separator` (default
 *   `:`). coturn reads the timestamp as the end of validity: `get_user_key()` (src/apps/relay/userdb.c)
 *   refuses the key once `time(NULL)` is past it, and the request is refused with a 401 (its log: `Cannot find
 *   credentials of user <...>`).
 * - credential = `base64(HMAC-SHA1(secret, username))`; README.turnserver: `temporary-password =
 *   base64_encode(hmac-sha1(shared-secret, temporary-username))`.
 *
 * The label is the draft's optional user id, "to be associated with the credentials": coturn keeps it as the
 * session's user, so its logs and quotas name who relays. rtc-peer uses the member id of the join (protocol
 * 2: the id the server's own logs use) or a random id (protocol 1, WHIP/WHEP), never the room name (a TURN
 * username travels in clear in every STUN request).
 *
 * coturn checks the expiry when an allocation authenticates first; its refreshes keep the key it found
 * (`check_stun_auth()`, src/server/ns_turn_server.c), so a call relayed already goes on past the expiry, and
 * only a new allocation (a new call, an ICE restart) needs credentials still valid. Pure: no I/O.
 */
import { createHmac, randomBytes } from 'node:crypto';
import type { SignalAck } from './types.js';

/** The TURN server a signaling server hands credentials for (`startSignalServer({ turn })`). */
export interface TurnOptions {
  /** Its URLs (`turn:host:3478?transport=udp`, `turns:host:5349?transport=tcp`), at least one. */
  urls: string[];
  /** coturn's `static-auth-secret`, at least {@link MIN_TURN_SECRET_BYTES} bytes. */
  secret: string;
  /** How long the credentials of one join are valid, seconds. Default {@link TURN_TTL_DEFAULT_S} (a day). */
  ttlSeconds?: number;
}

/** An ICE server with credentials, as `RTCPeerConnection` and the join ack take it. */
export interface TurnIceServer {
  urls: string[];
  username: string;
  credential: string;
}

/**
 * Default lifetime of the credentials: a day, the draft's recommendation (its `ttl`: "A value of one day
 * (86400 seconds) is recommended") and the default (and longest) TTL of Twilio's Network Traversal Service
 * tokens (twilio.com/docs/stun-turn/api). Credentials are minted at each join and
 * matter only when an allocation starts, so the TTL bounds two things: how long a leaked credential opens the
 * relay, and how late in a call an ICE restart without a rejoin (a failed path) can still allocate. A client
 * that rejoins (a lost connection, a network change) gets fresh ones. A day keeps a day-long call able to
 * restart; lower it (`--turn-ttl`) where leaks matter more than that.
 */
export const TURN_TTL_DEFAULT_S = 86_400;
/** The longest TTL accepted: 30 days (the point of the scheme is that credentials expire). */
export const TURN_TTL_MAX_S = 30 * 86_400;
/**
 * The shortest secret accepted, in bytes. One credential (a username and its HMAC, both seen by whoever holds
 * it) lets an attacker try secrets offline; 16 random bytes are out of reach.
 */
export const MIN_TURN_SECRET_BYTES = 16;

const TURN_URL = /^turns?:[^\s<>]+$/i;
const LABEL = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * The credentials for `label`, valid `ttlSeconds` from `now`.
 *
 * @example
 * turnCredentials('s3cret-s3cret-s3cret', 'k3Xq', 86400, new Date('2026-01-01T00:00:00Z'))
 * // { username: '1767312000:k3Xq', credential: base64(HMAC-SHA1(secret, username)), expiresAt: Date }
 */
export function turnCredentials(
  secret: string,
  label: string,
  ttlSeconds: number = TURN_TTL_DEFAULT_S,
  now: Date = new Date(),
): { username: string; credential: string; expiresAt: Date } {
  if (!LABEL.test(label)) {
    throw new TypeError(
      `TURN credential label ${JSON.stringify(label).slice(0, 80)}: expected 1..64 letters, digits, "_" or "-"`,
    );
  }
  const expiry = Math.floor(now.getTime() / 1000) + ttlSeconds;
  const username = `${expiry}:${label}`;
  const credential = createHmac('sha1', secret).update(username).digest('base64');
  return { username, credential, expiresAt: new Date(expiry * 1000) };
}

/**
 * The ICE server entry for one client: `turn`'s URLs with fresh credentials for `label` (default: a random
 * 96-bit id).
 */
export function turnIceServer(
  turn: TurnOptions,
  label: string = randomBytes(12).toString('base64url'),
  now: Date = new Date(),
): TurnIceServer {
  const { username, credential } = turnCredentials(turn.secret, label, turn.ttlSeconds, now);
  return { urls: [...turn.urls], username, credential };
}

/**
 * Checks TURN options: at least one `turn:`/`turns:` URL, a secret of {@link MIN_TURN_SECRET_BYTES} bytes or
 * more, a whole TTL in 1..{@link TURN_TTL_MAX_S}. Returns them with the TTL's default filled in.
 *
 * @throws TypeError saying which field is wrong and how to fix it.
 */
export function checkTurnOptions(turn: TurnOptions): Required<TurnOptions> {
  if (typeof turn !== 'object' || turn === null) {
    throw new TypeError('turn must be { urls, secret, ttlSeconds? }');
  }
  const urls = Array.isArray(turn.urls) ? turn.urls : [];
  if (urls.length === 0) {
    throw new TypeError('turn.urls is empty: name the TURN server, e.g. turn:turn.example.org:3478');
  }
  for (const url of urls) {
    if (typeof url !== 'string' || !TURN_URL.test(url)) {
      throw new TypeError(
        `turn URL ${JSON.stringify(url)} is not a TURN URL; expected e.g. turn:turn.example.org:3478?transport=udp`,
      );
    }
  }
  checkTurnSecret(turn.secret);
  const ttlSeconds = turn.ttlSeconds ?? TURN_TTL_DEFAULT_S;
  if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1 || ttlSeconds > TURN_TTL_MAX_S) {
    throw new TypeError(
      `turn.ttlSeconds must be a whole number of seconds in 1..${TURN_TTL_MAX_S} (30 days), got ${String(ttlSeconds)}`,
    );
  }
  return { urls: [...urls], secret: turn.secret, ttlSeconds };
}

/** Throws a TypeError unless `secret` is a string of at least {@link MIN_TURN_SECRET_BYTES} bytes. */
export function checkTurnSecret(secret: unknown): void {
  const bytes = typeof secret === 'string' ? Buffer.byteLength(secret) : 0;
  if (bytes < MIN_TURN_SECRET_BYTES) {
    throw new TypeError(
      `the TURN secret has ${bytes} bytes, fewer than ${MIN_TURN_SECRET_BYTES}; make one with: ` +
        'openssl rand -base64 32 > turn-secret, and give coturn the same (static-auth-secret)',
    );
  }
}

/**
 * A join's ack with `turn`'s credentials added (`iceServers`), labelled with the member id when the ack has
 * one (protocol 2); any other ack, or no `turn`, as it is.
 */
export function withTurnServers(turn: TurnOptions | undefined, ack: SignalAck): SignalAck {
  if (turn === undefined || !ack.ok) return ack;
  return { ...ack, iceServers: [turnIceServer(turn, ack.id)] };
}
