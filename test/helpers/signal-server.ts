/**
 * Test helpers for the signaling room: a real server on a free port, real Socket.IO clients (raw sockets
 * and SignalClients), event recorders with bounded waits, and one place that closes everything.
 */
import { io, type ManagerOptions, type Socket, type SocketOptions } from 'socket.io-client';
import {
  SIGNAL_EVENT,
  SignalClient,
  startSignalServer,
  type ServerMessage,
  type SignalAck,
  type SignalClientEvents,
  type SignalClientOptions,
  type SignalServer,
  type SignalServerOptions,
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

/** Everything a SignalClient emitted, in order, as `[event, ...args]`. */
export class ClientRecorder {
  readonly events: Array<[keyof SignalClientEvents, ...unknown[]]> = [];

  constructor(readonly client: SignalClient) {
    const names: Array<keyof SignalClientEvents> = [
      'offer',
      'answer',
      'candidate',
      'peer-joined',
      'peer-left',
      'disconnected',
      'rejoined',
      'server-error',
    ];
    for (const name of names) {
      client.on(name, (...args: unknown[]) => this.events.push([name, ...args]));
    }
  }

  /** The recorded events of one kind, as argument lists. */
  of(name: keyof SignalClientEvents): unknown[][] {
    return this.events.filter(([n]) => n === name).map(([, ...args]) => args);
  }

  /** Waits for `count` events of a kind. */
  wait(name: keyof SignalClientEvents, count = 1, ms = 5000): Promise<unknown[][]> {
    return waitFor(
      `${count} "${name}" event(s) on ${this.client.role}`,
      () => {
        const got = this.of(name);
        return got.length >= count ? got : undefined;
      },
      ms,
    );
  }

  /** Event names only, in order (for ordering assertions). */
  names(): string[] {
    return this.events.map(([n]) => n);
  }
}

/** Everything a raw socket received on `signal`, in order. */
export class SocketRecorder {
  readonly messages: ServerMessage[] = [];

  constructor(readonly socket: RawSocket) {
    socket.on(SIGNAL_EVENT, (message: ServerMessage) => this.messages.push(message));
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
  readonly #clients: SignalClient[] = [];
  readonly #sockets: RawSocket[] = [];

  /** A real signaling server on 127.0.0.1 and a free port (unless `port` is given). */
  async server(options: SignalServerOptions = {}): Promise<SignalServer> {
    const server = await startSignalServer({ host: '127.0.0.1', port: 0, ...options });
    this.#servers.push(server);
    return server;
  }

  /** A SignalClient (not connected) with a short connect timeout, and a recorder attached before connect. */
  client(
    url: string,
    role: SignalClientOptions['role'],
    options: Partial<SignalClientOptions> = {},
  ): { client: SignalClient; rec: ClientRecorder } {
    const client = new SignalClient({ url, role, connectTimeoutMs: 3000, ...options });
    this.#clients.push(client);
    return { client, rec: new ClientRecorder(client) };
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
