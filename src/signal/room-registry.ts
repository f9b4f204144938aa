/**
 * All rooms of a server and which client is in which, as pure logic: validated client messages in,
 * acknowledgements and deliveries out. A client can only speak in the room it joined, in its role.
 */
import { Room, type Delivery, type RoomOptions } from './room.js';
import type { ClientMessage, SignalAck, SignalErrorBody } from './types.js';

/** What the server must do for one client message: answer with `ack`, then send `deliveries` in order. */
export interface DispatchResult {
  ack: SignalAck;
  deliveries: Delivery[];
}

/** Rooms by name, created on first join and forgotten when empty. */
export class RoomRegistry {
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

  /** Total candidates dropped over the held bound, across live rooms. */
  get droppedCandidates(): number {
    let n = 0;
    for (const room of this.rooms.values()) n += room.droppedCandidates;
    return n;
  }

  /** Applies one validated message from `clientId`. */
  dispatch(clientId: string, message: ClientMessage): DispatchResult {
    const current = this.roomOfClient.get(clientId);
    if (message.type === 'join') {
      if (current !== undefined) {
        return refuse({
          code: 'ALREADY_JOINED',
          message:
            `already in room "${current.name}" as ${current.roleOf(clientId) ?? '?'}; ` +
            'send bye before joining again',
        });
      }
      let room = this.rooms.get(message.room);
      const created = room === undefined;
      room ??= new Room(message.room, this.options);
      const { type: _type, room: _room, ...request } = message;
      const result = room.join(clientId, request);
      if (!result.ok) return refuse(result.error);
      if (created) this.rooms.set(room.name, room);
      this.roomOfClient.set(clientId, room);
      // The member moved to this connection: its old one (told REPLACED) is in no room any more.
      if (result.replaced !== undefined) this.roomOfClient.delete(result.replaced);
      return { ack: result.ack, deliveries: result.deliveries };
    }
    if (current === undefined) {
      return refuse({ code: 'NOT_JOINED', message: `${message.type} before join; send join first` });
    }
    if (message.type === 'bye') return { ack: { ok: true }, deliveries: this.leave(clientId, 'bye') };
    const result = current.relay(clientId, message);
    if (!result.ok) return refuse(result.error);
    return { ack: { ok: true, delivered: result.delivered }, deliveries: result.deliveries };
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

function refuse(error: SignalErrorBody): DispatchResult {
  return { ack: { ok: false, error }, deliveries: [] };
}
