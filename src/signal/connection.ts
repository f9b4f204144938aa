/**
 * One client connection: every `signal` event validated with the wire schema at the boundary, dispatched to
 * the rooms, answered with exactly one acknowledgement, and the deliveries it causes sent in order. Other
 * events are refused with UNKNOWN_EVENT; a dropped connection leaves its room.
 */
import type { Server, Socket } from 'socket.io';
import type { $ZodError as ZodError } from 'zod/v4/core';
import { logger } from '../util/log.js';
import type { Delivery } from './room.js';
import type { RoomRegistry } from './room-registry.js';
import { truncate } from './limits.js';
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

/** What a connection needs from the server it belongs to. */
export interface ConnectionContext {
  io: Server<ClientToServerEvents, ServerToClientEvents>;
  registry: RoomRegistry;
  schema: ReturnType<typeof makeClientMessageSchema>;
  /** True once the server is shutting down: departures are then not announced. */
  shuttingDown: () => boolean;
  /**
   * The limits' hook (server-guard.ts): `check` may refuse a valid message before the rooms apply it,
   * `settled` accounts for what the rooms did. Default: none.
   */
  guard?: {
    check(connId: string, message: ClientMessage): SignalErrorBody | undefined;
    settled(connId: string): void;
  };
}

/** Serves one connected socket until it disconnects. */
export function serveConnection(
  ctx: ConnectionContext,
  socket: Socket<ClientToServerEvents, ServerToClientEvents>,
): void {
  const { io, registry, schema } = ctx;
  log('%s connected from %s', socket.id, socket.handshake.address);
  const deliver = (deliveries: Delivery[]): void => {
    for (const { to, message } of deliveries) io.to(to).emit(SIGNAL_EVENT, message);
  };
  const reply = (ack: unknown, response: SignalAck): void => {
    if (typeof ack === 'function') {
      (ack as (r: SignalAck) => void)(response);
    } else if (!response.ok) {
      // No ack to answer: push the refusal as an error message instead.
      const message: ServerMessage = { type: 'error', ...response.error };
      socket.emit(SIGNAL_EVENT, message);
    }
  };

  socket.on(SIGNAL_EVENT, (...args: unknown[]) => {
    // Exactly one ack whatever the shape: the ack is the last argument when it is a function (Socket.IO
    // puts it there), the message the one before; anything else is refused, not half-applied.
    const ack = typeof args.at(-1) === 'function' ? args.pop() : undefined;
    const raw = args[0];
    try {
      if (args.length !== 1) {
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
        const error = describeInvalid(parsed.error, raw);
        log('%s: dropped invalid message: %s', socket.id, error.message);
        reply(ack, { ok: false, error });
        return;
      }
      // Limits (server-guard.ts): a new room or held bytes over their budget are refused here.
      const limited = ctx.guard?.check(socket.id, parsed.data);
      if (limited !== undefined) {
        reply(ack, { ok: false, error: limited });
        return;
      }
      const { ack: response, deliveries } = registry.dispatch(socket.id, parsed.data);
      ctx.guard?.settled(socket.id);
      log(
        '%s: %s -> %s',
        socket.id,
        parsed.data.type,
        response.ok ? `ok, ${deliveries.length} deliveries` : response.error.code,
      );
      reply(ack, response);
      deliver(deliveries);
    } catch (error) {
      // Never let a client's message take the server down; the message is dropped.
      log('%s: internal error on a message: %O', socket.id, error);
      reply(ack, {
        ok: false,
        error: { code: 'INTERNAL', message: 'the server failed on this message; it was dropped' },
      });
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
    try {
      const deliveries = registry.disconnect(socket.id);
      // Shutting down: nobody left, the server is going; clients see their own disconnect and rejoin.
      if (!ctx.shuttingDown()) deliver(deliveries);
    } catch (error) {
      log('%s: internal error on disconnect: %O', socket.id, error);
    }
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
