/**
 * A recording HTTP proxy for WHIP/WHEP tests: forwards every request to a target server and keeps what went
 * each way (method, path, headers, body, status). The witness of what a client sent, outside the client.
 */
import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One exchange as the proxy saw it. */
export interface Exchange {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  status: number;
  responseHeaders: IncomingHttpHeaders;
  responseBody: string;
}

/** A running proxy. */
export interface HttpRecorder {
  /** `http://127.0.0.1:PORT`. */
  url: string;
  readonly exchanges: Exchange[];
  close(): Promise<void>;
}

/** Starts a proxy to `target` (`http://host:port`) on a free port. */
export async function httpRecorder(target: string): Promise<HttpRecorder> {
  const to = new URL(target);
  const exchanges: Exchange[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const forward = request(
        {
          host: to.hostname,
          port: to.port,
          method: req.method,
          path: req.url,
          headers: { ...req.headers, host: to.host },
        },
        (upstream) => {
          const parts: Buffer[] = [];
          upstream.on('data', (c: Buffer) => parts.push(c));
          upstream.on('end', () => {
            const responseBody = Buffer.concat(parts);
            exchanges.push({
              method: req.method ?? '',
              path: req.url ?? '',
              headers: req.headers,
              body: body.toString('utf8'),
              status: upstream.statusCode ?? 0,
              responseHeaders: upstream.headers,
              responseBody: responseBody.toString('utf8'),
            });
            res.writeHead(upstream.statusCode ?? 502, upstream.headers);
            res.end(responseBody);
          });
        },
      );
      forward.on('error', (error) => {
        res.writeHead(502);
        res.end(String(error));
      });
      forward.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    exchanges,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
