/**
 * One client connection: every `signal` event validated with the wire schema at the boundary, dispatched to
 * the rooms, answered with exactly one acknowledgement, and the deliveries it causes sent in order. Other
 * events are refused with UNKNOWN_EVENT; a dropped connection leaves its room. A connection's messages go
 * through one queue: with rooms in Redis each waits for the one before it, so they apply in the order sent.
 */
import { looksLikeJwt, verifyRoomToken } from './room-token.js';
import type { Socket } from 'socket.io';
import type { $ZodError as ZodError } from 'zod/v4/core';
import { logger } from '../util/log.js';
import type { SignalMetrics } from './metrics.js';
import type { Delivery } from './room.js';
import { truncate } from './limits.js';
import type { DispatchLimits, DispatchResult, Registry } from './room-registry.js';
import { SerialQueue } from './serial-queue.js';
import { withTurnServers, type TurnOptions } from './turn-credentials.js';
import {
  SIGNAL_EVENT,
  type ClientMessage,
  type ClientToServerEvents,
  type makeClientMessageSchema,
  type ServerMessage,
  type ServerToClientEvents,
  type SignalAck,
  type SignalErrorBody,
} from './types.js';

const log = logger('signal');

/** Messages of one connection waiting for the one being applied; more are refused with BUSY. */
export const MAX_QUEUED_MESSAGES = 256;

/** What a connection needs from the server it belongs to. */
export interface ConnectionContext {
  registry: Registry;
  schema: ReturnType<typeof makeClientMessageSchema>;
  /** Sends messages to connections, of this server or (through the adapter) of the others. */
  deliver: (deliveries: Delivery[]) => void;
  /** False once departures need not be announced (one server shutting down: nobody is left to hear). */
  announceDepartures: () => boolean;
  metrics: SignalMetrics;
  /** The queues of the connections being served, so that close() can wait for them. */
  queues: Set<SerialQueue>;
  /** The limits (server-guard.ts): rooms and held bytes per address, checked and accounted. Default: none. */
  guard?: ConnectionGuard;
  /** The room tokens' secret: a connection that presented a room token has it checked at each join. */
  tokenSecret?: string;
  /** The TURN server whose fresh credentials every successful join's ack carries (turn-credentials.ts). */
  turn?: TurnOptions;
  /** A caller's held offer is dropped this long after it was held, ms (limits.ts); 0 or none: never. */
  heldOfferTtlMs?: number;
}

/**
 * The limits' hook into a connection (server-guard.ts). Each is called from the connection's queue, so it
 * sees the messages in the order they are applied, whichever registry applies them.
 */
export interface ConnectionGuard {
  /** Before the rooms apply a valid message: a refusal, or the limits the registry applies it under. */
  check(connId: string, message: ClientMessage): { refusal: SignalErrorBody } | { limits: DispatchLimits };
  /** After the rooms applied it: what it changed (its room, the bytes held there), accounted. */
  settled(connId: string, message: ClientMessage, result: DispatchResult): void;
  /** The connection left its room by disconnecting (after the registry applied the departure). */
  left(connId: string): void;
  /** A join refused for its room token (expired, another room or role): counted, reported, backed off. */
  tokenRefused(connId: string, refusal: SignalErrorBody): void;
}

/** Serves one connected socket until it disconnects. */
export function serveConnection(
  ctx: ConnectionContext,
  socket: Socket<ClientToServerEvents, ServerToClientEvents>,
): void {
  const { registry, schema, metrics } = ctx;
  log('%s connected from %s', socket.id, socket.handshake.address);
  const queue = new SerialQueue(MAX_QUEUED_MESSAGES);
  ctx.queues.add(queue);
  const reply = (ack: unknown, response: SignalAck): void => {
    if (!response.ok) metrics.refusal(response.error.code);
    if (typeof ack === 'function') {
      (ack as (r: SignalAck) => void)(response);
    } else if (!response.ok) {
      // No ack to answer: push the refusal as an error message instead.
      const message: ServerMessage = { type: 'error', ...response.error };
      socket.emit(SIGNAL_EVENT, message);
    }
  };

  // The lease on this caller's held offer (limits.ts heldOfferTtlMs): each newly held offer starts it again;
  // at its end the room drops that offer if it is still held (the registry decides, as for any message).
  let heldTimer: NodeJS.Timeout | undefined;
  const leaseHeld = (message: ClientMessage, result: DispatchResult): void => {
    const ttl = ctx.heldOfferTtlMs ?? 0;
    if (ttl <= 0 || message.type !== 'offer' || message.to !== undefined) return;
    if (!result.ack.ok || result.ack.delivered !== false) return;
    const { sdp } = message;
    clearTimeout(heldTimer);
    heldTimer = setTimeout(() => {
      heldTimer = undefined;
      queue.push(() => {
        const settle = (expired: DispatchResult): void => {
          if (expired.deliveries.length > 0) log('%s: held offer expired after %d ms', socket.id, ttl);
          ctx.guard?.settled(socket.id, message, expired);
          ctx.deliver(expired.deliveries);
        };
        try {
          const expired = registry.expireHeld(socket.id, sdp);
          if (!(expired instanceof Promise)) return settle(expired);
          return expired.then(settle, (error: unknown) =>
            log('%s: held expiry failed: %O', socket.id, error),
          );
        } catch (error) {
          log('%s: held expiry failed: %O', socket.id, error);
          return undefined;
        }
      }, true);
    }, ttl);
    heldTimer.unref();
  };

  const internal = (ack: unknown, error: unknown): void => {
    // Never let a client's message take the server down; the message is dropped.
    log('%s: internal error on a message: %O', socket.id, error);
    reply(ack, {
      ok: false,
      error: { code: 'INTERNAL', message: 'the server failed on this message; it was dropped' },
    });
  };

  socket.on(SIGNAL_EVENT, (...args: unknown[]) => {
    const arrived = performance.now();
    // Exactly one ack whatever the shape: the ack is the last argument when it is a function (Socket.IO
    // puts it there), the message the one before; anything else is refused, not half-applied.
    const ack = typeof args.at(-1) === 'function' ? args.pop() : undefined;
    const raw = args[0];
    try {
      if (args.length !== 1) {
        metrics.message('invalid');
        reply(ack, {
          ok: false,
          error: {
            code: 'BAD_MESSAGE',
            message: `"signal" takes one message (and an ack), got ${args.length} arguments; see docs/protocol.md`,
          },
        });
        return;
      }
      const parsed = schema.safeParse(raw);
      if (!parsed.success) {
        metrics.message('invalid');
        const error = describeInvalid(parsed.error, raw);
        log('%s: dropped invalid message: %s', socket.id, error.message);
        reply(ack, { ok: false, error });
        return;
      }
      const message = parsed.data;
      metrics.message(message.type);
      const finish = (result: DispatchResult): void => {
        const { deliveries } = result;
        const response = message.type === 'join' ? withTurnServers(ctx.turn, result.ack) : result.ack;
        log(
          '%s: %s -> %s',
          socket.id,
          message.type,
          response.ok ? `ok, ${deliveries.length} deliveries` : response.error.code,
        );
        ctx.guard?.settled(socket.id, message, result);
        leaseHeld(message, result);
        reply(ack, response);
        ctx.deliver(deliveries);
        if (deliveries.length > 0) metrics.relayed(message.type, arrived);
      };
      const queued = queue.push(() => {
        try {
          // Limits (server-guard.ts): held bytes over their budget are refused here, a new room over
          // the room limits by the registry (which alone knows whether the join creates the room).
          const checked = ctx.guard?.check(socket.id, message);
          if (checked !== undefined && 'refusal' in checked) {
            reply(ack, { ok: false, error: checked.refusal });
            return undefined;
          }
          const roomToken = roomTokenOf(ctx, socket.handshake.auth);
          const apply = (): Promise<void> | void => {
            const result = registry.dispatch(socket.id, message, checked?.limits);
            if (!(result instanceof Promise)) return finish(result);
            return result.then(finish, (error: unknown) => internal(ack, error));
          };
          if (message.type !== 'join' || roomToken === undefined) return apply();
          return verifyRoomToken(roomToken.secret, roomToken.token, message).then(
            (verdict) => {
              if (verdict.ok) return apply();
              log('%s: join of %s refused: %s', socket.id, message.room, verdict.refusal.code);
              ctx.guard?.tokenRefused(socket.id, verdict.refusal);
              reply(ack, { ok: false, error: verdict.refusal });
              return undefined;
            },
            (error: unknown) => internal(ack, error),
          );
        } catch (error) {
          internal(ack, error);
          return undefined;
        }
      });
      if (!queued) {
        log('%s: %s dropped: %d messages waiting', socket.id, message.type, queue.waiting);
        reply(ack, {
          ok: false,
          error: {
            code: 'BUSY',
            message:
              `${MAX_QUEUED_MESSAGES} messages of this connection are waiting to be applied; this ` +
              `${message.type} was dropped: wait for the acknowledgements before sending more`,
          },
        });
      }
    } catch (error) {
      internal(ack, error);
    }
  });

  // Events other than `signal` are not part of the protocol.
  socket.onAny((event: unknown, ...args: unknown[]) => {
    if (event === SIGNAL_EVENT) return;
    reply(args.at(-1), {
      ok: false,
      error: {
        code: 'UNKNOWN_EVENT',
        message: `unknown event ${JSON.stringify(String(event)).slice(0, 80)}; use "signal"`,
      },
    });
  });

  socket.on('disconnect', (reason) => {
    // A client can emit an event named "disconnect" itself; only the real one counts.
    if (socket.connected) return;
    log('%s disconnected: %s', socket.id, reason);
    clearTimeout(heldTimer);
    const failed = (error: unknown): void => {
      log('%s: internal error on disconnect: %O', socket.id, error);
      ctx.guard?.left(socket.id);
    };
    // Shutting down alone: nobody left, the server is going; clients see their own disconnect and rejoin.
    const announce = (deliveries: Delivery[]): void => {
      if (ctx.announceDepartures()) ctx.deliver(deliveries);
    };
    // After the messages still waiting (force: a departure is never dropped).
    queue.push(() => {
      try {
        const result = registry.disconnect(socket.id);
        if (!(result instanceof Promise)) {
          ctx.guard?.left(socket.id);
          return announce(result);
        }
        return result.then((deliveries) => {
          ctx.guard?.left(socket.id);
          announce(deliveries);
        }, failed);
      } catch (error) {
        failed(error);
        return undefined;
      }
    }, true);
    void queue.idle().then(() => ctx.queues.delete(queue));
  });
}

/** A zod failure as a protocol error: TOO_LARGE for size limits, BAD_MESSAGE for everything else. */
export function describeInvalid(error: ZodError, raw: unknown): SignalErrorBody {
  const issues = error.issues;
  const tooLarge = issues.find((i) => i.code === 'custom' && i.params?.['code'] === 'TOO_LARGE');
  if (tooLarge !== undefined) return { code: 'TOO_LARGE', message: tooLarge.message };
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw) || ArrayBuffer.isView(raw)) {
    return {
      code: 'BAD_MESSAGE',
      message:
        'invalid message: it must be a JSON object with a "type" field (join, offer, answer, candidate, bye)',
    };
  }
  const first = issues[0];
  const where = first && first.path.length > 0 ? ` at ${first.path.map(String).join('.')}` : '';
  return {
    code: 'BAD_MESSAGE',
    // Quoted input is cut short: a message with 20,000 unknown keys gets a sentence, not 190 KB back.
    message: `invalid message${truncate(where, 120)}: ${truncate(first?.message ?? 'does not match the protocol', 200)}; see docs/protocol.md`,
  };
}

/** The room token a connection presented in its handshake, if the server checks room tokens. */
function roomTokenOf(ctx: ConnectionContext, auth: unknown): { secret: string; token: string } | undefined {
  if (ctx.tokenSecret === undefined) return undefined;
  const given = typeof auth === 'object' && auth !== null ? (auth as { token?: unknown }).token : undefined;
  return typeof given === 'string' && looksLikeJwt(given)
    ? { secret: ctx.tokenSecret, token: given }
    : undefined;
}
