/**
 * The signaling wire protocol: one Socket.IO event, `signal`, in both directions, carrying a discriminated
 * union on `type`. The zod schemas here are the single source of truth: the server validates every client
 * message with them and the client validates every server message; the TypeScript types are inferred from
 * them. docs/protocol.md describes the same protocol for implementers in other languages.
 */
// zod's tree-shakeable build: the same schemas, and the browser page's bundle stays small (18 KB, not 440).
import * as z from 'zod/mini';

/** The Socket.IO event name used for every protocol message, in both directions. */
export const SIGNAL_EVENT = 'signal';

/** Default room name when a client does not pick one. */
export const DEFAULT_ROOM = 'default';

/**
 * The protocol version a client announces in its `join` (`protocol: 2`). A join without it is version 1,
 * the original one caller / one answerer protocol, which the server keeps serving unchanged.
 */
export const PROTOCOL_VERSION = 2;

/** Default of the server's `maxViewers`: answerers a protocol-2 caller serves at once. */
export const DEFAULT_MAX_VIEWERS = 4;

/** Protocol limits. The server's `maxSdpBytes` option overrides `maxSdpBytes`; the rest are fixed. */
export const LIMITS = {
  /** Largest SDP (offer or answer) the server accepts by default, in UTF-8 bytes: 64 KiB. */
  maxSdpBytes: 64 * 1024,
  /** Largest ICE candidate line, in UTF-8 bytes: 1 KiB. */
  maxCandidateBytes: 1024,
  /** Largest `sdpMid` / `usernameFragment`, in characters. */
  maxShortFieldChars: 256,
  /** Socket.IO `maxHttpBufferSize`: a larger packet closes the connection. 256 KiB. */
  maxMessageBytes: 256 * 1024,
  /** Caller candidates held per offer until an answerer takes it; more are dropped (counted, logged). */
  maxHeldCandidates: 200,
  /** Room names: 1..64 characters of `[A-Za-z0-9_.-]`. */
  maxRoomChars: 64,
  /** Member ids (`to`, `from`, `id`): 1..64 characters of `[A-Za-z0-9_-]`. */
  maxIdChars: 64,
} as const;

/** Stable error codes carried by `{ ok: false, error }` acks and `{ type: 'error' }` messages. */
export const ERROR_CODES = [
  'BAD_MESSAGE', // the message does not match the schema (missing/mistyped field, unknown type, not an object)
  'TOO_LARGE', // an SDP or candidate over its size limit
  'UNKNOWN_EVENT', // a Socket.IO event other than `signal`
  'NOT_JOINED', // offer/answer/candidate/bye before a successful join
  'ALREADY_JOINED', // join while already in a room (send `bye` first)
  'ROLE_TAKEN', // the requested role is held by another client in that room
  'WRONG_ROLE', // offer from an answerer, or answer from a caller
  'ROOM_FULL', // protocol 2: the room's caller already serves the server's maxViewers answerers
  'NO_SUCH_PEER', // protocol 2: `to` names no member of the room (it left), or one that cannot take it
  'REPLACED', // protocol 2: another connection joined with this connection's session (pushed, then no longer a member)
  'UNAVAILABLE', // a server of several (--redis) cannot reach the shared state in Redis now: nothing changed, retry
  'BUSY', // too many messages of this connection are waiting to be applied: the newest was dropped, slow down
  'UNAUTHORIZED', // missing or wrong token (connect_error message prefix, never an ack)
  'INTERNAL', // a bug in the server; the message was dropped
  // Limits (server-guard.ts): each says which limit, and the message was dropped.
  'RATE_LIMITED', // over the connection's message rate; sustained, the connection is cut
  'TOO_MANY_CONNECTIONS', // over the connections per address or in total (connect_error message prefix)
  'TOO_MANY_ROOMS', // a join that would create a room over the rooms per address or in total
  'OVER_BUDGET', // an offer or candidate that would be held over the held-bytes budget
  'FORBIDDEN_ORIGIN', // a browser page from an origin the server does not allow (refused handshake)
  'TOKEN_EXPIRED', // the join's room token has expired
  'TOKEN_WRONG_ROOM', // the join's room token is for another room
  'TOKEN_WRONG_ROLE', // the join's room token is for the other role
  'TOKEN_INVALID', // a room token with a bad signature or malformed (handshake connect_error prefix, or join ack)
] as const;

/** One of {@link ERROR_CODES}. */
export type SignalErrorCode = (typeof ERROR_CODES)[number];

/** Length of a string in UTF-8 bytes, without allocating. */
export function utf8Length(s: string): number {
  let bytes = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      // A surrogate pair is one 4-byte code point.
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

/** A string of at most `max` UTF-8 bytes; a longer one fails with `params.code = 'TOO_LARGE'`. */
function boundedString(what: string, max: number) {
  return z.string().check(
    z.refine((s) => utf8Length(s) <= max, {
      message: `${what} is over the limit of ${max} bytes`,
      params: { code: 'TOO_LARGE' },
    }),
  );
}

/** A role in a room: the caller sends the offer, the answerer sends the answer. */
export const roleSchema = z.enum(['caller', 'answerer']);
/** `'caller' | 'answerer'`. */
export type Role = z.infer<typeof roleSchema>;

/** A room name: 1..64 characters of `[A-Za-z0-9_.-]`. */
export const roomNameSchema = z
  .string()
  .check(
    z.minLength(1, 'room name is empty'),
    z.maxLength(LIMITS.maxRoomChars, `room name is longer than ${LIMITS.maxRoomChars} characters`),
    z.regex(/^[A-Za-z0-9_.-]+$/, 'room name may only contain letters, digits, "_", "." and "-"'),
  );

/** A member id as the server gives it (the `id` of a join ack, `from`, `to`). */
export const memberIdSchema = z
  .string()
  .check(
    z.regex(/^[A-Za-z0-9_-]+$/, 'a member id is made of letters, digits, "_" and "-"'),
    z.maxLength(LIMITS.maxIdChars, `a member id is at most ${LIMITS.maxIdChars} characters`),
  );

/**
 * A protocol-2 client's session: a secret it draws once (at least 128 random bits, e.g. 22 base64url
 * characters) and presents on every join for its whole life. The server derives the client's member id from
 * it, so the id survives reconnections and server restarts, and only the holder of the session can rejoin
 * as that member. Never shown to other members.
 */
export const sessionSchema = z
  .string()
  .check(
    z.regex(/^[A-Za-z0-9_-]{16,128}$/, 'a session is 16..128 characters of letters, digits, "_" and "-"'),
  );

/** The protocol versions a `join` may announce. */
export const protocolSchema = z.literal(PROTOCOL_VERSION);

/** An ICE candidate, the JSON form of `RTCIceCandidateInit` (`candidate.toJSON()`). */
const shortField = z.string().check(z.maxLength(LIMITS.maxShortFieldChars));
export const iceCandidateSchema = z.strictObject({
  candidate: boundedString('candidate', LIMITS.maxCandidateBytes),
  sdpMid: z.optional(z.nullable(shortField)),
  sdpMLineIndex: z.optional(z.nullable(z.int().check(z.minimum(0), z.maximum(1023)))),
  usernameFragment: z.optional(z.nullable(shortField)),
});
/** An ICE candidate as carried on the wire (`RTCIceCandidateInit`). */
export type IceCandidateMessage = z.infer<typeof iceCandidateSchema>;

/**
 * Builds the schema of client -> server messages for a given SDP limit (the server's `maxSdpBytes`).
 * Objects are strict: an unknown field is a `BAD_MESSAGE`, so typos do not pass silently.
 */
export function makeClientMessageSchema(maxSdpBytes: number = LIMITS.maxSdpBytes) {
  const sdp = boundedString('sdp', maxSdpBytes).check(z.minLength(1, 'sdp is empty'));
  // The fields after the first line of each message are protocol 2; every one is optional, so a protocol-1
  // message is valid as it always was.
  return z.discriminatedUnion('type', [
    z.strictObject({
      type: z.literal('join'),
      room: roomNameSchema,
      role: roleSchema,
      protocol: z.optional(protocolSchema),
      session: z.optional(sessionSchema),
      inCall: z.optional(z.boolean()),
      /** An answerer that makes its own offers (a WHEP session bridged into the room). */
      offers: z.optional(z.boolean()),
    }),
    z.strictObject({
      type: z.literal('offer'),
      sdp,
      to: z.optional(memberIdSchema),
      renegotiate: z.optional(z.boolean()),
    }),
    z.strictObject({ type: z.literal('answer'), sdp, to: z.optional(memberIdSchema) }),
    z.strictObject({
      type: z.literal('candidate'),
      candidate: iceCandidateSchema,
      to: z.optional(memberIdSchema),
    }),
    /** Ends the call with one member (`to`; an answerer may omit it: its caller); both stay in the room. */
    z.strictObject({ type: z.literal('hangup'), to: z.optional(memberIdSchema) }),
    z.strictObject({ type: z.literal('bye') }),
  ]);
}

/** Client -> server messages with the default limits. */
export const clientMessageSchema = makeClientMessageSchema();
/** A client -> server message. */
export type ClientMessage = z.infer<typeof clientMessageSchema>;
/** The client messages that are relayed to the other peer. */
export type RelayMessage = Extract<ClientMessage, { type: 'offer' | 'answer' | 'candidate' | 'hangup' }>;
/** A `join` message. */
export type JoinMessage = Extract<ClientMessage, { type: 'join' }>;

/** Why the other peer left: it sent `bye`, or its connection dropped. */
export const leaveReasonSchema = z.enum(['bye', 'disconnected']);
/** `'bye' | 'disconnected'`. */
export type LeaveReason = z.infer<typeof leaveReasonSchema>;

/** Server -> client messages. SDPs are bounded by the message size, not the server's SDP limit. */
/**
 * Protocol-2 fields (`from`, `id`, `renegotiate`, ...) are sent to protocol-2 members only: a protocol-1
 * member gets exactly the messages it always got.
 */
export const serverMessageSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('offer'),
    sdp: z.string().check(z.minLength(1)),
    /** The sender's member id. */
    from: z.optional(z.string()),
    /** Apply to the connection you already have with `from` (an ICE restart), instead of a new call. */
    renegotiate: z.optional(z.boolean()),
  }),
  z.object({
    type: z.literal('answer'),
    sdp: z.string().check(z.minLength(1)),
    from: z.optional(z.string()),
  }),
  z.object({ type: z.literal('candidate'), candidate: iceCandidateSchema, from: z.optional(z.string()) }),
  z.object({
    type: z.literal('peer-joined'),
    role: roleSchema,
    id: z.optional(z.string()),
    protocol: z.optional(z.number()),
    /** It says it is in a call already (a rejoin after a lost connection or a server restart). */
    inCall: z.optional(z.boolean()),
    /** To the caller: it took your held offer (the answer to it will come from this member). */
    tookOffer: z.optional(z.boolean()),
    /** It makes its own offers (a WHEP session): do not offer to it, answer its offer. */
    offers: z.optional(z.boolean()),
  }),
  z.object({
    type: z.literal('peer-left'),
    role: roleSchema,
    reason: leaveReasonSchema,
    id: z.optional(z.string()),
  }),
  z.object({ type: z.literal('error'), code: z.string(), message: z.string() }),
  /** Protocol 2: `from` ended its call with you; it stays in the room. */
  z.object({ type: z.literal('hangup'), from: z.optional(z.string()) }),
  /** Protocol 2, to the caller: your held offer (and its candidates) expired; hold a fresh one. */
  z.object({ type: z.literal('held-expired') }),
]);
/** A server -> client message. */
export type ServerMessage = z.infer<typeof serverMessageSchema>;

/** The body of a refusal: a stable code and a sentence saying what to do. */
export interface SignalErrorBody {
  code: SignalErrorCode;
  message: string;
}

/**
 * The acknowledgement of every client message. A `join` ack adds `room`, `role` and `peerPresent`; an
 * offer/answer/candidate ack adds `delivered` (false: held for a later answerer, or dropped; see the protocol).
 */
export type SignalAck =
  | {
      ok: true;
      room?: string;
      role?: Role;
      peerPresent?: boolean;
      delivered?: boolean;
      /** Protocol 2 join: this member's id. */
      id?: string;
      /** Protocol 2 join: who is in the room (for a caller: every answerer; for an answerer: the caller). */
      peers?: PeerInfo[];
      /** Protocol 2 join: answerers a caller may serve at once here. */
      maxViewers?: number;
      /**
       * Join, on a server given a TURN server (`turn`): that server with credentials minted for this join,
       * expiring (signal/turn-credentials.ts). Use them for the calls of this membership; a rejoin brings fresh
       * ones.
       */
      iceServers?: AckIceServer[];
    }
  | { ok: false; error: SignalErrorBody };

/** An ICE server in a join ack, as `RTCPeerConnection` takes it. */
export interface AckIceServer {
  urls: string[];
  username?: string;
  credential?: string;
}

/** A member as another member sees it (protocol 2). */
export interface PeerInfo {
  id: string;
  role: Role;
  /** The protocol it joined with: 1 or 2. */
  protocol: number;
  /** It said it is in a call already when it joined. */
  inCall: boolean;
  /** It makes its own offers (a WHEP session bridged into the room). */
  offers?: boolean;
}

/** The schema of {@link SignalAck}, used by the client to check what the server answers. */
export const signalAckSchema = z.union([
  z.object({
    ok: z.literal(true),
    room: z.optional(z.string()),
    role: z.optional(roleSchema),
    peerPresent: z.optional(z.boolean()),
    delivered: z.optional(z.boolean()),
    id: z.optional(z.string()),
    peers: z.optional(
      z.array(
        z.object({
          id: z.string(),
          role: roleSchema,
          protocol: z.number(),
          inCall: z.boolean(),
          offers: z.optional(z.boolean()),
        }),
      ),
    ),
    maxViewers: z.optional(z.number()),
    iceServers: z.optional(
      z.array(
        z.object({
          urls: z.array(z.string()),
          username: z.optional(z.string()),
          credential: z.optional(z.string()),
        }),
      ),
    ),
  }),
  z.object({ ok: z.literal(false), error: z.object({ code: z.string(), message: z.string() }) }),
]);

/** Socket.IO event map, client -> server (`Server<ClientToServerEvents, ServerToClientEvents>`). */
export interface ClientToServerEvents {
  signal: (message: ClientMessage, ack: (response: SignalAck) => void) => void;
}

/** Socket.IO event map, server -> client. */
export interface ServerToClientEvents {
  signal: (message: ServerMessage) => void;
}
