/**
 * A protocol-1 client for the tests of the server's protocol-1 rules (docs/protocol.md): join, offer, answer,
 * candidate and bye by hand over one Socket.IO connection, with no ids, no rejoin and no re-sending. rtc-peer's
 * own client speaks protocol 2 (src/signal/room-signaling.ts); this one stands for the clients written against
 * protocol 1, which the server keeps serving.
 */
import { io, type Socket } from 'socket.io-client';
import { SignalError } from '../../src/errors.js';
import { SIGNAL_EVENT, type IceCandidateMessage, type Role, type SignalAck } from '../../src/signal/index.js';
import { TypedEmitter } from '../../src/util/typed-emitter.js';

/** What a {@link V1Client} hears, as the server sends it (protocol 1: no `from`). */
export type V1ClientEvents = {
  offer: [sdp: string];
  answer: [sdp: string];
  candidate: [candidate: IceCandidateMessage];
  'peer-joined': [role: Role];
  'peer-left': [role: Role, reason: string];
  'server-error': [code: string, message: string];
  disconnected: [reason: string];
};

/** Options of a {@link V1Client}. */
export interface V1ClientOptions {
  url: string;
  role: Role;
  /** Default `default`. */
  room?: string;
  token?: string;
}

/** A protocol-1 member of a room. */
export class V1Client extends TypedEmitter<V1ClientEvents> {
  readonly role: Role;
  readonly room: string;
  readonly #socket: Socket;
  readonly #url: string;
  #joined = false;

  constructor(options: V1ClientOptions) {
    super();
    this.role = options.role;
    this.room = options.room ?? 'default';
    this.#url = options.url;
    this.#socket = io(options.url, {
      autoConnect: false,
      forceNew: true,
      reconnection: false,
      transports: ['websocket'],
      auth: options.token === undefined ? {} : { token: options.token },
    });
    this.#socket.on(SIGNAL_EVENT, (m: Record<string, unknown>) => {
      switch (m.type) {
        case 'offer':
        case 'answer':
          this.emit(m.type, String(m.sdp));
          return;
        case 'candidate':
          this.emit('candidate', m.candidate as IceCandidateMessage);
          return;
        case 'peer-joined':
          this.emit('peer-joined', m.role as Role);
          return;
        case 'peer-left':
          this.emit('peer-left', m.role as Role, String(m.reason));
          return;
        case 'error':
          this.emit('server-error', String(m.code), String(m.message));
      }
    });
    this.#socket.on('disconnect', (reason) => {
      this.#joined = false;
      this.emit('disconnected', reason);
    });
  }

  /** Connects (once) and joins; resolves with the join's `peerPresent`. */
  async connect(): Promise<{ peerPresent: boolean }> {
    if (!this.#socket.connected) {
      await new Promise<void>((resolve, reject) => {
        this.#socket.once('connect', () => resolve());
        this.#socket.once('connect_error', (error) =>
          reject(
            new SignalError(
              error.message.startsWith('UNAUTHORIZED') ? 'UNAUTHORIZED' : 'UNREACHABLE',
              error.message,
              this.#url,
            ),
          ),
        );
        this.#socket.connect();
      });
    }
    let ack: Extract<SignalAck, { ok: true }>;
    try {
      ack = await this.#emit({ type: 'join', room: this.room, role: this.role });
    } catch (error) {
      // A refused join ends the connection, as a client that gives up does.
      this.#socket.disconnect();
      throw error;
    }
    this.#joined = true;
    return { peerPresent: ack.peerPresent === true };
  }

  async sendOffer(sdp: string): Promise<boolean> {
    return (await this.#emit({ type: 'offer', sdp })).delivered === true;
  }

  async sendAnswer(sdp: string): Promise<boolean> {
    return (await this.#emit({ type: 'answer', sdp })).delivered === true;
  }

  async sendCandidate(candidate: IceCandidateMessage): Promise<boolean> {
    return (await this.#emit({ type: 'candidate', candidate })).delivered === true;
  }

  /** Leaves the room; the connection stays. */
  async bye(): Promise<void> {
    await this.#emit({ type: 'bye' });
    this.#joined = false;
  }

  /** Says bye if joined, then disconnects. */
  async close(): Promise<void> {
    if (this.#joined && this.#socket.connected) await this.bye().catch(() => undefined);
    this.#socket.disconnect();
    this.removeAllListeners();
  }

  async #emit(message: Record<string, unknown>): Promise<Extract<SignalAck, { ok: true }>> {
    const ack = (await this.#socket.timeout(3000).emitWithAck(SIGNAL_EVENT, message)) as SignalAck;
    if (!ack.ok) throw new SignalError(ack.error.code, ack.error.message, this.#url);
    return ack;
  }
}
