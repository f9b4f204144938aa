/**
 * All rooms of a server and which client is in which: validated client messages in, acknowledgements and
 * deliveries out. A client can only speak in the room it joined, in its role. {@link Registry} is what the
 * server needs of it; {@link RoomRegistry} keeps the rooms in this process, as pure logic (the default),
 * redis-registry.ts keeps them in Redis, shared by several servers. Both apply the rules of room.ts.
 */
import { Room, type Delivery, type RoomOptions } from './room.js';
import { utf8Length, type ClientMessage, type Role, type SignalAck, type SignalErrorBody } from './types.js';

/** What the server must do for one client message: answer with `ack`, then send `deliveries` in order. */
export interface DispatchResult {
  ack: SignalAck;
  deliveries: Delivery[];
  /** What the message did to the room it concerned, for the limits (server-guard.ts); none when refused. */
  usage?: RoomUsage;
}

/**
 * The room a message concerned after it was applied (joined, spoken in, left), as the limits account it
 * (server-guard.ts): which room, whether the sender is still a member and in which role, whether the
 * message created the room, and the bytes the room holds for its next answerer.
 */
export interface RoomUsage {
  room: string;
  /** The sender is a member after the message (false after a bye). */
  member: boolean;
  role: Role;
  /** The message (a join) created the room. */
  created: boolean;
  /** Bytes of the room's held offer and candidates after the message ({@link heldBytes}). */
  heldBytes: number;
  /** A connection this join replaced (same session): it is no longer a member. */
  replaced?: string;
}

/** What the limits ask of one message's dispatch (server-guard.ts). */
export interface DispatchLimits {
  /**
   * Set when the sender may not create a room (over the rooms per address or in total): a join that would
   * create one is refused with this error; a join to an existing room goes on.
   */
  newRoom?: SignalErrorBody;
}

/** Counts of a registry, for `/metrics`. */
export interface RegistryCounts {
  /** Rooms with at least one member (with Redis: in the whole cluster). */
  rooms: number;
  /** Rooms holding an unanswered offer for the next answerer (with Redis: in the whole cluster). */
  heldOffers: number;
  /** Connections of this server that are in a room. */
  members: number;
}

/**
 * The rooms of a server, wherever they are kept. The server calls it from one queue per connection: the
 * messages of one connection are applied one after the other, in order, even when the registry is async.
 */
export interface Registry {
  /** Applies one validated message from connection `clientId`, under the limits' `limits`. */
  dispatch(
    clientId: string,
    message: ClientMessage,
    limits?: DispatchLimits,
  ): DispatchResult | Promise<DispatchResult>;
  /** The connection is gone: it leaves its room, if any; returns what to tell the others. */
  disconnect(clientId: string): Delivery[] | Promise<Delivery[]>;
  /** The held offer `sdp` of caller `clientId` expired: dropped if still held ({@link Room.expireHeld}). */
  expireHeld(clientId: string, sdp: string): DispatchResult | Promise<DispatchResult>;
  /** Rooms in which a connection of this server is a member (`/healthz`). */
  readonly roomCount: number;
  /** Counts for `/metrics`. */
  counts(): RegistryCounts | Promise<RegistryCounts>;
}

/** Rooms by name, in this process: created on first join and forgotten when empty. */
export class RoomRegistry implements Registry {
  private readonly rooms = new Map<string, Room>();
  private readonly roomOfClient = new Map<string, Room>();

  constructor(private readonly options: RoomOptions = {}) {}

  /** Rooms with at least one member. */
  get roomCount(): number {
    return this.rooms.size;
  }

  /** The room a client is in, if any. */
  roomOf(clientId: string): Room | undefined {
    return this.roomOfClient.get(clientId);
  }

  /** Counts for `/metrics`. */
  counts(): RegistryCounts {
    let heldOffers = 0;
    for (const room of this.rooms.values()) if (holdsOffer(room)) heldOffers++;
    return { rooms: this.rooms.size, heldOffers, members: this.roomOfClient.size };
  }

  /** Total candidates dropped over the held bound, across live rooms. */
  get droppedCandidates(): number {
    let n = 0;
    for (const room of this.rooms.values()) n += room.droppedCandidates;
    return n;
  }

  /** Applies one validated message from `clientId`. */
  dispatch(clientId: string, message: ClientMessage, limits: DispatchLimits = {}): DispatchResult {
    const current = this.roomOfClient.get(clientId);
    if (message.type === 'join') {
      if (current !== undefined) {
        return refuse(alreadyJoined(current, clientId));
      }
      let room = this.rooms.get(message.room);
      const created = room === undefined;
      if (created && limits.newRoom !== undefined) return refuse(limits.newRoom);
      room ??= new Room(message.room, this.options);
      const { type: _type, room: _room, ...request } = message;
      const result = room.join(clientId, request);
      if (!result.ok) return refuse(result.error);
      if (created) this.rooms.set(room.name, room);
      this.roomOfClient.set(clientId, room);
      // The member moved to this connection: its old one (told REPLACED) is in no room any more.
      if (result.replaced !== undefined) this.roomOfClient.delete(result.replaced);
      const usage = usageOf(room, clientId, { created, replaced: result.replaced });
      return { ack: result.ack, deliveries: result.deliveries, usage };
    }
    if (current === undefined) {
      return refuse(notJoined(message.type));
    }
    if (message.type === 'bye') {
      const role = current.roleOf(clientId) ?? 'answerer';
      const deliveries = this.leave(clientId, 'bye');
      const usage = { ...usageOf(current, clientId, { created: false }), member: false, role };
      return { ack: { ok: true }, deliveries, usage };
    }
    const result = current.relay(clientId, message);
    if (!result.ok) return refuse(result.error);
    return {
      ack: { ok: true, delivered: result.delivered },
      deliveries: result.deliveries,
      usage: usageOf(current, clientId, { created: false }),
    };
  }

  expireHeld(clientId: string, sdp: string): DispatchResult {
    const room = this.roomOfClient.get(clientId);
    if (room === undefined) return { ack: { ok: true }, deliveries: [] };
    const result = room.expireHeld(clientId, sdp);
    return {
      ack: { ok: true },
      deliveries: result.ok ? result.deliveries : [],
      usage: usageOf(room, clientId, { created: false }),
    };
  }

  /** The client's connection is gone: it leaves its room, if any. */
  disconnect(clientId: string): Delivery[] {
    return this.leave(clientId, 'disconnected');
  }

  private leave(clientId: string, reason: 'bye' | 'disconnected'): Delivery[] {
    const room = this.roomOfClient.get(clientId);
    if (room === undefined) return [];
    this.roomOfClient.delete(clientId);
    const deliveries = room.leave(clientId, reason);
    if (room.isEmpty) this.rooms.delete(room.name);
    return deliveries;
  }
}

/** A refusal: the ack says why, nothing is delivered. */
export function refuse(error: SignalErrorBody): DispatchResult {
  return { ack: { ok: false, error }, deliveries: [] };
}

/** The refusal of a join from a connection that is in `room` already. */
export function alreadyJoined(room: Room, clientId: string): SignalErrorBody {
  return {
    code: 'ALREADY_JOINED',
    message:
      `already in room "${room.name}" as ${room.roleOf(clientId) ?? '?'}; ` + 'send bye before joining again',
  };
}

/** The refusal of a message other than join from a connection in no room. */
export function notJoined(type: ClientMessage['type']): SignalErrorBody {
  return { code: 'NOT_JOINED', message: `${type} before join; send join first` };
}

/** Bytes a room keeps for its next answerer: its held offer and candidates, as the limits count them. */
export function heldBytes(room: Room): number {
  const held = room.heldState();
  let bytes = held.sdp === null ? 0 : utf8Length(held.sdp);
  for (const c of held.candidates) {
    bytes += utf8Length(c.candidate) + (c.sdpMid?.length ?? 0) + (c.usernameFragment?.length ?? 0);
  }
  return bytes;
}

/** The {@link RoomUsage} of `clientId` in `room`, after a message. */
export function usageOf(
  room: Room,
  clientId: string,
  extra: { created: boolean; replaced?: string | undefined },
): RoomUsage {
  const role = room.roleOf(clientId);
  return {
    room: room.name,
    member: role !== undefined,
    role: role ?? 'answerer',
    created: extra.created,
    heldBytes: heldBytes(room),
    ...(extra.replaced !== undefined ? { replaced: extra.replaced } : {}),
  };
}

/** True when the room holds an unanswered offer for the next answerer. */
export function holdsOffer(room: Room): boolean {
  const held = room.heldState();
  return held.sdp !== null && !held.answered;
}
