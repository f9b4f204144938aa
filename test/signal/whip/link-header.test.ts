/** Link headers: ICE servers read as RFC 9725 section 4.6 writes them; other rels and junk ignored. */
import { describe, expect, it } from 'vitest';
import {
  formatIceServerLinks,
  mergeIceServers,
  parseIceServerLinks,
  parseLinks,
} from '../../../src/signal/whip/link-header.js';

describe('Link headers', () => {
  it('reads the RFC example: STUN, then TURN with credentials, one header per link', () => {
    expect(
      parseIceServerLinks([
        '<stun:stun.example.net>; rel="ice-server"',
        '<turn:turn.example.net?transport=udp>; rel="ice-server"; username="user"; credential="myPassword"; credential-type="password"',
        '<turns:turn.example.net?transport=tcp>; rel="ice-server"; username="user"; credential="myPassword"; credential-type="password"',
      ]),
    ).toEqual([
      { urls: ['stun:stun.example.net'] },
      { urls: ['turn:turn.example.net?transport=udp'], username: 'user', credential: 'myPassword' },
      { urls: ['turns:turn.example.net?transport=tcp'], username: 'user', credential: 'myPassword' },
    ]);
  });

  it('reads several links in one header value (as fetch joins them), commas inside quotes kept', () => {
    expect(
      parseIceServerLinks(
        '<stun:a.example:3478>; rel="ice-server", <turn:b.example:3478>; rel="ice-server"; username="u,1"; credential="p\\"q"',
      ),
    ).toEqual([
      { urls: ['stun:a.example:3478'] },
      { urls: ['turn:b.example:3478'], username: 'u,1', credential: 'p"q' },
    ]);
  });

  it('ignores unknown rels, non-ICE targets, TURN without credentials and junk', () => {
    expect(
      parseIceServerLinks([
        '<urn:ietf:params:whip:ext:example:server-sent-events>; rel="urn:ietf:params:whip:ext:example:server-sent-events"',
        '<https://example.org/>; rel="ice-server"',
        '<turn:no-credentials.example>; rel="ice-server"',
        'garbage; rel="ice-server"',
        '<stun:ok.example>; rel=ice-server',
        '',
      ]),
    ).toEqual([{ urls: ['stun:ok.example'] }]);
    expect(parseIceServerLinks(null)).toEqual([]);
    expect(parseLinks('<x>; rel="next"; title="a;b"')).toEqual([
      { target: 'x', params: { rel: 'next', title: 'a;b' } },
    ]);
  });

  it('writes what it reads back', () => {
    const servers = [
      { urls: ['stun:127.0.0.1:3478'] },
      {
        urls: ['turn:127.0.0.1:3478?transport=udp', 'turn:127.0.0.1:3478?transport=tcp'],
        username: 'u',
        credential: 'p"w',
      },
    ];
    const links = formatIceServerLinks(servers);
    expect(links).toHaveLength(3);
    expect(links[1]).toBe(
      '<turn:127.0.0.1:3478?transport=udp>; rel="ice-server"; username="u"; credential="p\\"w"; credential-type="password"',
    );
    expect(parseIceServerLinks(links)).toEqual([
      servers[0],
      { urls: ['turn:127.0.0.1:3478?transport=udp'], username: 'u', credential: 'p"w' },
      { urls: ['turn:127.0.0.1:3478?transport=tcp'], username: 'u', credential: 'p"w' },
    ]);
  });

  it('merges the server list into the configured one without duplicates', () => {
    expect(
      mergeIceServers(
        [{ urls: ['stun:a:1'] }],
        [{ urls: ['stun:a:1', 'stun:b:2'] }, { urls: ['turn:c:3'], username: 'u', credential: 'p' }],
      ),
    ).toEqual([
      { urls: ['stun:a:1'] },
      { urls: ['stun:b:2'] },
      { urls: ['turn:c:3'], username: 'u', credential: 'p' },
    ]);
  });
});
