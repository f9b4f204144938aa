/**
 * Where the browser gets its Socket.IO client: the signaling server runs with `serveClient: false`, so the
 * page does not load `/socket.io/socket.io.js`; the web handler serves the same bundle from the installed
 * `socket.io-client` package (a runtime dependency) under its own path instead.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

/** The minified browser bundle of the installed `socket.io-client` (same major version as the server). */
export function readSocketIoClientBundle(): Buffer {
  const require = createRequire(import.meta.url);
  let file: string;
  try {
    // The package's `exports` map lists package.json, not the minified bundle: locate the folder through it.
    file = path.join(
      path.dirname(require.resolve('socket.io-client/package.json')),
      'dist',
      'socket.io.min.js',
    );
    return readFileSync(file);
  } catch (error) {
    throw new Error(
      'cannot read the Socket.IO browser bundle (socket.io-client/dist/socket.io.min.js) for the web page; ' +
        'reinstall the dependencies (npm ci)',
      { cause: error },
    );
  }
}
