/**
 * The signaling server's life: listening (a busy port or a bad address as a {@link ListenError} that says
 * what to do) and closing within a bounded time whatever the clients do.
 */
import type { Server as HttpServer } from 'node:http';
import type { Socket } from 'node:net';
import type { Server } from 'socket.io';
import { ListenError } from '../errors.js';
import { logger } from '../util/log.js';

const log = logger('signal');

/** How long close() lets clients answer the websocket close handshake before it cuts their connection, ms. */
const CLOSE_GRACE_MS = 500;

/** Listens on `host:port`; rejects with PORT_IN_USE or LISTEN_FAILED. */
export function listen(http: HttpServer, host: string, port: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => {
      http.off('listening', onListening);
      if (error.code === 'EADDRINUSE') {
        reject(
          new ListenError(
            'PORT_IN_USE',
            `port ${port} on ${host} is already in use; stop the other server or pass --port 0 for a free port`,
            host,
            port,
            { cause: error },
          ),
        );
      } else {
        reject(
          new ListenError(
            'LISTEN_FAILED',
            `cannot listen on ${host}:${port} (${error.code ?? error.message}); ` +
              'check --host is an address of this machine and --port is allowed (ports < 1024 need root)',
            host,
            port,
            { cause: error },
          ),
        );
      }
    };
    const onListening = (): void => {
      http.off('error', onError);
      resolve();
    };
    http.once('error', onError);
    http.once('listening', onListening);
    http.listen(port, host);
  });
}

/**
 * Tracks every TCP connection of `http` (websockets included once upgraded) and returns the server's close:
 * disconnects every client, stops listening, and cuts within {@link CLOSE_GRACE_MS} the connections whose
 * peer does not answer.
 */
export function closer(http: HttpServer, io: Server): () => Promise<void> {
  const connections = new Set<Socket>();
  http.on('connection', (socket: Socket) => {
    connections.add(socket);
    socket.once('close', () => connections.delete(socket));
  });
  return async () => {
    log('closing (%d clients)', io.of('/').sockets.size);
    // Keep-alive HTTP connections would hold http.close() open.
    const closed = io.close();
    http.closeAllConnections();
    // A websocket closes with a handshake: the server sends a close frame and waits for the client's, up
    // to 30 s (ws's close timeout) for a client that cannot answer (frozen, or behind a dead network). A
    // live client answers within milliseconds; after a short grace, cut what is left.
    const grace = setTimeout(() => {
      if (connections.size > 0)
        log('closing: %d connections did not close, destroying them', connections.size);
      for (const socket of connections) socket.destroy();
    }, CLOSE_GRACE_MS);
    await closed;
    clearTimeout(grace);
    log('closed');
  };
}
