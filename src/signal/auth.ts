/**
 * Who may connect: the shared token of a server started with `--token`, checked in the Socket.IO handshake
 * (`auth: { token }`) before any socket exists.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Server } from 'socket.io';
import { logger } from '../util/log.js';

const log = logger('signal:auth');

function sha256(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

/** The outcome of checking a handshake's credentials: admitted, or refused with a message for the client. */
export type AuthResult = { ok: true } | { ok: false; message: string };

/**
 * Checks a handshake's `auth` object against the server's token. Pure: no I/O.
 * The comparison is of fixed-length hashes in constant time: neither the token nor its length leaks through
 * timing. Refusal messages start with `UNAUTHORIZED: ` (the protocol's code for it).
 */
export function checkToken(expected: string, auth: unknown): AuthResult {
  const given = typeof auth === 'object' && auth !== null ? (auth as { token?: unknown }).token : undefined;
  if (typeof given === 'string' && timingSafeEqual(sha256(given), sha256(expected))) return { ok: true };
  return {
    ok: false,
    message:
      given === undefined
        ? 'UNAUTHORIZED: this signaling server requires a token; pass --token (or set RTC_PEER_TOKEN)'
        : 'UNAUTHORIZED: wrong token; pass the token the server was started with (--token / RTC_PEER_TOKEN)',
  };
}

/** Installs the token check as Socket.IO middleware: a refused handshake gets a `connect_error`. */
export function requireToken(io: Server, token: string): void {
  io.use((socket, next) => {
    const result = checkToken(token, socket.handshake.auth);
    if (result.ok) {
      next();
      return;
    }
    log('refused %s: %s', socket.handshake.address, result.message);
    next(new Error(result.message));
  });
}
