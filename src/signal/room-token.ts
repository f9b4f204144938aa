/**
 * Room-scoped, expiring tokens (issue 15; LiveKit's access tokens are the model): an HS256 JWT, signed with
 * the server's token secret, whose claims name one room and one role (`caller` or `answerer`, the roles of
 * docs/protocol.md; a protocol-2 viewer joins as `answerer`) and an expiry. Verifying gives one of four
 * distinct refusal codes: TOKEN_EXPIRED, TOKEN_WRONG_ROOM, TOKEN_WRONG_ROLE, TOKEN_INVALID.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { errors, jwtVerify, SignJWT } from 'jose';

/** The roles a token can grant: the `role` of a `join`. */
export type TokenRole = 'caller' | 'answerer';

/** The claims of a verified room token. */
export interface RoomTokenClaims {
  room: string;
  role: TokenRole;
  /** Expiry, seconds since the epoch. */
  exp: number;
}

/** A refused room token: its code and a message that says what to do. */
export interface TokenRefusal {
  code: 'TOKEN_EXPIRED' | 'TOKEN_WRONG_ROOM' | 'TOKEN_WRONG_ROLE' | 'TOKEN_INVALID';
  message: string;
}

/** Allowed clock difference between the signer and the server when checking `exp`, in seconds. */
export const CLOCK_TOLERANCE_S = 5;
/** The shortest and the longest secret accepted, in bytes (HS256 wants at least 256 bits). */
const MIN_SECRET_BYTES = 32;
const ISSUER = 'rtc-peer';
/** What a TOKEN_INVALID refusal says (in a join ack, a handshake's `connect_error`, a 401). */
export const INVALID_ROOM_TOKEN =
  'the room token is not valid for this server (bad signature, malformed, or signed with another secret); ' +
  "make one with rtc-peer token and the server's secret";

/** Does `token` look like a JWT (three base64url parts), as opposed to a shared `--token`? */
export function looksLikeJwt(token: string): boolean {
  return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(token);
}

/**
 * Is `token` an HS256 JWT signed with `secret`? Only the header's `alg` and the signature are checked
 * (claims: {@link verifyRoomToken}, at join, where the room is known). Synchronous, for the handshake
 * middleware, which counts connections and wrong tokens in one step (jose verifies asynchronously only):
 * a forged or foreign token is refused there, as a wrong shared token is, and meets the same back-off.
 * The comparison is in constant time. Never throws.
 */
export function roomTokenSigned(secret: string, token: string): boolean {
  if (!looksLikeJwt(token)) return false;
  const [header = '', payload = '', signature = ''] = token.split('.');
  try {
    const parsed: unknown = JSON.parse(Buffer.from(header, 'base64url').toString('utf8'));
    if (typeof parsed !== 'object' || parsed === null || (parsed as { alg?: unknown }).alg !== 'HS256') {
      return false;
    }
  } catch {
    return false;
  }
  const expected = createHmac('sha256', keyOf(secret)).update(`${header}.${payload}`).digest();
  const given = Buffer.from(signature, 'base64url');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

function keyOf(secret: string): Uint8Array {
  const key = new TextEncoder().encode(secret);
  if (key.length < MIN_SECRET_BYTES) {
    throw new TypeError(
      `the token secret has ${key.length} bytes, fewer than ${MIN_SECRET_BYTES}; ` +
        'make one with: openssl rand -base64 48 > secret-file',
    );
  }
  return key;
}

/**
 * Reads the token secret: from `file` (its content, trailing newline removed) if given, else from the
 * environment variable `envName`. Never from the command line (argv is visible to every user of the machine).
 * Returns undefined if neither is set; throws a clear error for an unreadable or empty file, and what `check`
 * throws for a secret it refuses (default: a room-token secret of fewer than 32 bytes).
 */
export function readSecret(
  file: string | undefined,
  envName: string,
  flag: string,
  check: (secret: string) => void = keyOf,
): string | undefined {
  if (file !== undefined) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      throw new TypeError(
        `${flag} ${file}: cannot read it (${error instanceof Error ? error.message : String(error)})`,
        { cause: error },
      );
    }
    const secret = text.replace(/\r?\n$/, '');
    if (secret.length === 0) throw new TypeError(`${flag} ${file}: the file is empty; put the secret in it`);
    check(secret);
    return secret;
  }
  const env = process.env[envName];
  if (env === undefined || env.length === 0) return undefined;
  check(env);
  return env;
}

/** Parses a duration such as `90s`, `15m`, `1h`, `2d` or plain seconds into seconds. */
export function parseTtl(text: string): number {
  const match = /^(\d+)\s*(s|m|h|d)?$/.exec(text.trim());
  const unit = { s: 1, m: 60, h: 3600, d: 86400 } as const;
  const seconds = match === null ? NaN : Number(match[1]) * unit[(match[2] ?? 's') as keyof typeof unit];
  if (!Number.isSafeInteger(seconds) || seconds <= 0) {
    throw new TypeError(
      `--ttl ${JSON.stringify(text)}: expected a positive duration such as 90s, 15m, 1h, 2d`,
    );
  }
  return seconds;
}

/** Signs a token for `room` and `role`, valid `ttlSeconds` from now. */
export async function signRoomToken(
  secret: string,
  claims: { room: string; role: TokenRole; ttlSeconds: number },
  now: Date = new Date(),
): Promise<string> {
  const iat = Math.floor(now.getTime() / 1000);
  return new SignJWT({ room: claims.room, role: claims.role })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuer(ISSUER)
    .setIssuedAt(iat)
    .setExpirationTime(iat + claims.ttlSeconds)
    .sign(keyOf(secret));
}

/**
 * Verifies `token` for a join of `want.room` in `want.role`: the signature (HS256 only), the expiry (with
 * {@link CLOCK_TOLERANCE_S} of tolerance; not with `anyExpiry`, for a session admitted while the token
 * was valid), the exact room and the role. Never throws.
 */
export async function verifyRoomToken(
  secret: string,
  token: string,
  want: { room: string; role: string; anyExpiry?: boolean },
  now: Date = new Date(),
): Promise<{ ok: true; claims: RoomTokenClaims } | { ok: false; refusal: TokenRefusal }> {
  const refuse = (code: TokenRefusal['code'], message: string) => ({
    ok: false as const,
    refusal: { code, message },
  });
  let payload: Record<string, unknown>;
  try {
    ({ payload } = await jwtVerify(token, keyOf(secret), {
      algorithms: ['HS256'],
      issuer: ISSUER,
      clockTolerance: CLOCK_TOLERANCE_S,
      currentDate: now,
      requiredClaims: ['exp'],
    }));
  } catch (error) {
    if (!(error instanceof errors.JWTExpired)) return refuse('TOKEN_INVALID', INVALID_ROOM_TOKEN);
    if (want.anyExpiry !== true) {
      const exp =
        typeof error.payload.exp === 'number' ? new Date(error.payload.exp * 1000).toISOString() : '?';
      return refuse('TOKEN_EXPIRED', `the room token expired at ${exp}; get a fresh one (rtc-peer token)`);
    }
    // jose checks the signature (and the issuer) before the expiry: an expired token is a signed one.
    payload = error.payload;
  }
  const { room, role, exp } = payload;
  if (typeof room !== 'string' || (role !== 'caller' && role !== 'answerer') || typeof exp !== 'number') {
    return refuse('TOKEN_INVALID', 'the room token lacks a room or role claim; make one with rtc-peer token');
  }
  if (room !== want.room) {
    return refuse(
      'TOKEN_WRONG_ROOM',
      `the room token is for room ${JSON.stringify(room)}, not ${JSON.stringify(want.room)}; join that room or ` +
        'get a token for this one',
    );
  }
  if (role !== want.role) {
    return refuse(
      'TOKEN_WRONG_ROLE',
      `the room token is for the ${role} role, not ${want.role}; ` +
        `use ${role === 'caller' ? 'rtc-peer call' : 'rtc-peer answer'} or get a token for this role`,
    );
  }
  return { ok: true, claims: { room, role, exp } };
}
