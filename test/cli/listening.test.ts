/**
 * What `rtc-peer signal` prints once it listens: the formatting, and the real CLI on loopback (a test never
 * listens on other interfaces) with the page served at its Local URL.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { listeningEvent, listeningText } from '../../src/cli/listening.js';
import { killAll, startCli } from '../helpers/cli.js';

afterEach(killAll);

describe('listeningText', () => {
  it('prints the URL for peers, then the page from this machine and from others', () => {
    const urls = {
      local: 'http://127.0.0.1:8080',
      network: ['http://192.168.1.20:8080', 'http://[fd00::2]:8080'],
    };
    expect(listeningText('http://127.0.0.1:8080', urls)).toBe(
      'listening on http://127.0.0.1:8080\n' +
        '  Local:   http://127.0.0.1:8080/?room=default\n' +
        '  Network: http://192.168.1.20:8080/?room=default\n' +
        '           http://[fd00::2]:8080/?room=default\n',
    );
    expect(listeningEvent('http://127.0.0.1:8080', urls)).toEqual({
      event: 'listening',
      url: 'http://127.0.0.1:8080',
      local: 'http://127.0.0.1:8080',
      network: ['http://192.168.1.20:8080', 'http://[fd00::2]:8080'],
    });
  });

  it('says why there is no Network URL, and prints no Local one where 127.0.0.1 would not answer', () => {
    expect(
      listeningText('http://127.0.0.1:9000', {
        local: 'http://127.0.0.1:9000',
        network: [],
        networkNote: 'listening on 127.0.0.1 only; --host 0.0.0.0 listens on every interface',
      }),
    ).toBe(
      'listening on http://127.0.0.1:9000\n' +
        '  Local:   http://127.0.0.1:9000/?room=default\n' +
        '  Network: none (listening on 127.0.0.1 only; --host 0.0.0.0 listens on every interface)\n',
    );
    expect(listeningText('http://10.1.2.3:9000', { network: ['http://10.1.2.3:9000'] })).toBe(
      'listening on http://10.1.2.3:9000\n  Network: http://10.1.2.3:9000/?room=default\n',
    );
    expect(listeningEvent('http://10.1.2.3:9000', { network: ['http://10.1.2.3:9000'] })).toMatchObject({
      local: null,
    });
  });
});

describe('rtc-peer signal', () => {
  it(
    'prints its Local page URL, which serves the page, and exits 0 on SIGINT',
    { timeout: 20_000 },
    async () => {
      const proc = startCli(['signal', '--host', '127.0.0.1', '--port', '0']);
      await proc.waitForLine(/^ {2}Network: .*\n/m);
      const lines = proc.stdout().split('\n');
      const url = /^listening on (http:\/\/127\.0\.0\.1:\d+)$/.exec(lines[0] ?? '')?.[1];
      expect(url).toBeDefined();
      expect(lines.slice(1, 3)).toEqual([
        `  Local:   ${url}/?room=default`,
        '  Network: none (listening on 127.0.0.1 only; --host 0.0.0.0 listens on every interface)',
      ]);
      const page = await fetch(`${url}/?room=default`);
      expect(page.status).toBe(200);
      expect(page.headers.get('content-type')).toMatch(/^text\/html/);
      expect(await page.text()).toContain('<script src="rtc-peer.js" defer></script>');
      proc.child.kill('SIGINT');
      expect((await proc.exited).code).toBe(0);
    },
  );

  it('--json: one listening event with url, local and network', { timeout: 20_000 }, async () => {
    const proc = startCli(['signal', '--host', '127.0.0.1', '--port', '0', '--json']);
    const event = await proc.waitFor('listening');
    expect(Object.keys(event)).toEqual(['event', 'url', 'local', 'network']);
    expect(event.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(event.local).toBe(event.url);
    expect(event.network).toEqual([]);
    const health = (await (await fetch(`${String(event.url)}/healthz`)).json()) as { status: string };
    expect(health.status).toBe('ok');
    proc.child.kill('SIGINT');
    expect((await proc.exited).code).toBe(0);
    expect(proc.stdout().trim().split('\n')).toHaveLength(1);
  });
});
