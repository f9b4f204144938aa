/**
 * Test helpers for the signaling room: a real server on a free port, real Socket.IO clients (raw sockets
 * speaking the protocol by hand, and RoomSignaling members), recorders with bounded waits, and one place
 * that closes everything.
 */
import { io, type ManagerOptions, type Socket, type SocketOptions } from 'socket.io-client';
import {
  SIGNAL_EVENT,
  RoomSignaling,
  startSignalServer,
  type ServerMessage,
  type SignalAck,
  type RoomSignalingOptions,
  type SignalServer,
  type SignalServerOptions,
  type SignalingEvent,
} from '../../src/signal/index.js';

/** A raw Socket.IO client socket, for speaking the protocol by hand (and sending junk). */
export type RawSocket = Socket;

/** Waits until `check()` returns a value other than undefined, polling every 10 ms, or fails after `ms`. */
export async function waitFor<T>(what: string, check: () => T | undefined, ms = 5000): Promise<T> {
  const deadline = performance.now() + ms;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (performance.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Everything a {@link RoomSignaling} reported, in order, and bounded waits on it. */
export interface SignalingMember {
  readonly s: RoomSignaling;
  readonly events: SignalingEvent[];
}

/** Waits for `count` events of one type in `events`, and resolves with them. */
export function waitEvent<T extends SignalingEvent['type']>(
  events: readonly SignalingEvent[],
  type: T,
  count = 1,
  ms = 5000,
): Promise<Extract<SignalingEvent, { type: T }>[]> {
  return waitFor(
    `${count} ${type} event(s)`,
    () => {
      const got = events.filter((e): e is Extract<SignalingEvent, { type: T }> => e.type === type);
      return got.length >= count ? got : undefined;
    },
    ms,
  );
}

/** A raw socket joined to a room by hand (protocol 1 unless the join's extra fields say otherwise). */
export interface RawMember {
  readonly socket: RawSocket;
  readonly rec: SocketRecorder;
  /** The join's acknowledgement. */
  readonly ack: SignalAck;
  /** Emits one message and resolves with its ack. */
  send(message: unknown): Promise<SignalAck>;
}

/** Everything a raw socket received on `signal`, in order. */
export class SocketRecorder {
  readonly messages: ServerMessage[] = [];

  constructor(readonly socket: RawSocket) {
    socket.on(SIGNAL_EVENT, (message: ServerMessage) => this.messages.push(message));
  }

  /** The messages of one type received so far. */
  of<T extends ServerMessage['type']>(type: T): Extract<ServerMessage, { type: T }>[] {
    return this.messages.filter((m): m is Extract<ServerMessage, { type: T }> => m.type === type);
  }

  /** Message types only, in order (for ordering assertions). */
  types(): string[] {
    return this.messages.map((m) => m.type);
  }

  /** Waits for `count` messages (optionally of one type). */
  wait(count = 1, type?: ServerMessage['type'], ms = 5000): Promise<ServerMessage[]> {
    return waitFor(
      `${count} message(s)${type ? ` of type ${type}` : ''}`,
      () => {
        const got = type ? this.messages.filter((m) => m.type === type) : this.messages;
        return got.length >= count ? got : undefined;
      },
      ms,
    );
  }
}

/**
 * Owns the servers, clients and sockets of one test and closes them all in `closeAll()` (call it in
 * afterEach), clients before servers.
 */
export class SignalTestKit {
  readonly #servers: SignalServer[] = [];
  readonly #clients: RoomSignaling[] = [];
  readonly #sockets: RawSocket[] = [];

  /** A real signaling server on 127.0.0.1 and a free port (unless `port` is given). */
  async server(options: SignalServerOptions = {}): Promise<SignalServer> {
    const server = await startSignalServer({ host: '127.0.0.1', port: 0, ...options });
    this.#servers.push(server);
    return server;
  }

  /**
   * A RoomSignaling (not connected) with a short connect timeout (3 s), its events recorded from before
   * connect.
   */
  signaling(options: RoomSignalingOptions): SignalingMember {
    const s = new RoomSignaling({ connectTimeoutMs: 3000, ...options });
    this.#clients.push(s);
    const events: SignalingEvent[] = [];
    s.on('signal', (e) => events.push(e));
    return { s, events };
  }

  /** A raw socket on `url`, recorded from before its join, joined to `room` as `role` with `extra` fields. */
  async join(
    url: string,
    room: string,
    role: 'caller' | 'answerer',
    extra: Record<string, unknown> = {},
  ): Promise<RawMember> {
    const socket = await this.socket(url);
    const rec = new SocketRecorder(socket);
    const ack = await emitWithAck(socket, { type: 'join', room, role, ...extra });
    return { socket, rec, ack, send: (message) => emitWithAck(socket, message) };
  }

  /** A raw socket.io-client socket, connected (resolves on `connect`), without reconnection. */
  async socket(
    url: string,
    auth: Record<string, unknown> = {},
    options: Partial<ManagerOptions & SocketOptions> = {},
  ): Promise<RawSocket> {
    const socket = this.rawSocket(url, auth, options);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`raw socket: no connect to ${url} within 3 s`)), 3000);
      socket.once('connect', () => {
        clearTimeout(timer);
        resolve();
      });
      socket.once('connect_error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      socket.connect();
    });
    return socket;
  }

  /**
   * A raw socket that is not connected yet (to observe `connect_error`). `options` go to socket.io-client
   * (e.g. `localAddress: '127.0.0.2'` to come from another address, `extraHeaders: { origin }`).
   */
  rawSocket(
    url: string,
    auth: Record<string, unknown> = {},
    options: Partial<ManagerOptions & SocketOptions> = {},
  ): RawSocket {
    const socket = io(url, {
      autoConnect: false,
      forceNew: true,
      reconnection: false,
      transports: ['websocket'],
      auth,
      ...options,
    });
    this.#sockets.push(socket);
    return socket;
  }

  /** Closes everything this kit opened, clients first. */
  async closeAll(): Promise<void> {
    await Promise.all(this.#clients.splice(0).map((c) => c.close()));
    for (const socket of this.#sockets.splice(0)) socket.disconnect();
    await Promise.all(this.#servers.splice(0).map((s) => s.close()));
  }
}

/** Emits one message on a raw socket and resolves with the ack (fails after `ms`). */
export async function emitWithAck(socket: RawSocket, message: unknown, ms = 3000): Promise<SignalAck> {
  return (await socket.timeout(ms).emitWithAck(SIGNAL_EVENT, message)) as SignalAck;
}

/**
 * Resolves after `ms`. Not for "nothing arrived": send a sentinel that must arrive after it instead (see
 * test/README.md).
 */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A fake but well-formed SDP of about `bytes` bytes. */
export function fakeSdp(tag: string, bytes = 200): string {
  const head = `v=0\r\no=- ${tag} 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n`;
  return head + 'a=x-pad:' + 'p'.repeat(Math.max(0, bytes - head.length - 10)) + '\r\n';
}

/** A well-formed host candidate numbered `n`. */
export function fakeCandidate(n: number): { candidate: string; sdpMid: string; sdpMLineIndex: number } {
  return {
    candidate: `candidate:${n} 1 udp 2122260223 192.168.1.${n % 250} ${50000 + n} typ host generation 0`,
    sdpMid: '0',
    sdpMLineIndex: 0,
  };
}
