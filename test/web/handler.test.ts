import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { startSignalServer, type SignalServer } from '../../src/signal/index.js';
import { webPageHandler } from '../../src/web/index.js';
import { readFileSync } from 'node:fs';

/** The page's script as the build bundled it (the tests run after npm test's build). */
const BUILT_SCRIPT = readFileSync(new URL('../../dist/web/page.js', import.meta.url), 'utf8');

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function fetchRaw(url: string, method = 'GET'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.setTimeout(3000, () => req.destroy(new Error(`no answer from ${method} ${url} within 3 s`)));
    req.on('error', reject);
    req.end();
  });
}

describe('webPageHandler', () => {
  let server: SignalServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  async function serve(): Promise<string> {
    server = await startSignalServer({ host: '127.0.0.1', port: 0, httpHandler: webPageHandler() });
    return server.url;
  }

  it('serves the page at / (with a query) and /index.html, with a CSP that forbids inline code', async () => {
    const url = await serve();
    for (const path of ['/', '/?room=demo&role=call', '/index.html']) {
      const reply = await fetchRaw(url + path);
      expect(reply.status, path).toBe(200);
      expect(reply.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(reply.headers['content-security-policy']).toContain("script-src 'self'");
      expect(reply.body).toContain('<video id="remote"');
      expect(reply.body).toContain('src="rtc-peer.js"');
      expect(reply.body).not.toMatch(/<script>|\son[a-z]+=/); // no inline code: the CSP would block it
    }
  });

  it('serves the bundled script with its source map, and the style, with their types', async () => {
    const url = await serve();
    const script = await fetchRaw(`${url}/rtc-peer.js`);
    expect(script.status).toBe(200);
    expect(script.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(script.body).toBe(BUILT_SCRIPT);
    // One bundle: the signaling client, the negotiation rules and Socket.IO's client are in it.
    expect(script.body).toMatch(/renegotiate/);
    expect(script.body).toContain('//# sourceMappingURL=page.js.map');
    const map = await fetchRaw(`${url}/page.js.map`);
    expect(map.status).toBe(200);
    expect(JSON.parse(map.body).sources).toContain('../../src/web/page/main.ts');
    const style = await fetchRaw(`${url}/rtc-peer.css`);
    expect(style.headers['content-type']).toBe('text/css; charset=utf-8');
    expect(style.body).toContain('#remote');
    expect((await fetchRaw(`${url}/vendor/socket.io.min.js`)).status).toBe(404);
    expect((await fetchRaw(`${url}/favicon.ico`)).status).toBe(204);
  });

  it('answers HEAD without a body and other methods with 405', async () => {
    const url = await serve();
    const head = await fetchRaw(`${url}/`, 'HEAD');
    expect(head.status).toBe(200);
    expect(Number(head.headers['content-length'])).toBeGreaterThan(500);
    expect(head.body).toBe('');
    const post = await fetchRaw(`${url}/`, 'POST');
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe('GET, HEAD');
  });

  it('declines other paths (the server answers 404) and leaves /healthz to the server', async () => {
    const url = await serve();
    expect((await fetchRaw(`${url}/nope`)).status).toBe(404);
    expect((await fetchRaw(`${url}/rtc-peer.js/x`)).status).toBe(404);
    const health = await fetchRaw(`${url}/healthz`);
    expect(health.status).toBe(200);
    expect(JSON.parse(health.body)).toMatchObject({ status: 'ok' });
  });

  it('returns false, without touching the response, for paths it does not own', () => {
    const handler = webPageHandler();
    const res = {
      writeHead: () => {
        throw new Error('must not write');
      },
    };
    expect(handler({ url: '/other?x=1', method: 'GET' } as never, res as never)).toBe(false);
  });

  it('ships a page script that parses as a classic script', () => {
    // A syntax error would only show in a browser; compile it here (not run: it needs a DOM).
    expect(() => new Function(BUILT_SCRIPT)).not.toThrow();
  });
});
