/**
 * Where the signaling server can be reached, from this machine's interfaces (given, not read: the tests
 * listen on loopback only).
 */
import type { NetworkInterfaceInfo } from 'node:os';
import { describe, expect, it } from 'vitest';
import { listenUrls } from '../../src/signal/listen-urls.js';

const nic = (address: string, internal = false): NetworkInterfaceInfo =>
  address.includes(':')
    ? {
        address,
        family: 'IPv6',
        internal,
        netmask: 'ffff::',
        mac: '00:00:00:00:00:00',
        cidr: null,
        scopeid: 0,
      }
    : { address, family: 'IPv4', internal, netmask: '255.255.255.0', mac: '00:00:00:00:00:00', cidr: null };

const LAPTOP = {
  lo: [nic('127.0.0.1', true), nic('::1', true)],
  eth0: [nic('192.168.1.20'), nic('fe80::fc:ff:fe00:1'), nic('fd00::2')],
  wlan0: [nic('10.0.0.5')],
};

describe('listenUrls', () => {
  it('0.0.0.0: this machine on 127.0.0.1, others on every IPv4 address of every interface', () => {
    expect(listenUrls('0.0.0.0', 8080, LAPTOP)).toEqual({
      local: 'http://127.0.0.1:8080',
      network: ['http://192.168.1.20:8080', 'http://10.0.0.5:8080'],
    });
  });

  it('::: IPv6 addresses too, in brackets, but not link-local ones', () => {
    expect(listenUrls('::', 8080, LAPTOP)).toEqual({
      local: 'http://[::1]:8080',
      network: ['http://192.168.1.20:8080', 'http://[fd00::2]:8080', 'http://10.0.0.5:8080'],
    });
  });

  it('a loopback address: this machine only, and says how to expose it', () => {
    expect(listenUrls('127.0.0.1', 41_000, LAPTOP)).toEqual({
      local: 'http://127.0.0.1:41000',
      network: [],
      networkNote: 'listening on 127.0.0.1 only; --host 0.0.0.0 listens on every interface',
    });
  });

  it('one address of this machine: that address, not 127.0.0.1 (which would not answer)', () => {
    expect(listenUrls('192.168.1.20', 8080, LAPTOP)).toEqual({ network: ['http://192.168.1.20:8080'] });
    expect(listenUrls('fd00::2', 8080, LAPTOP)).toEqual({ network: ['http://[fd00::2]:8080'] });
  });

  it('0.0.0.0 on a machine with loopback only: says there is no other interface', () => {
    expect(listenUrls('0.0.0.0', 8080, { lo: LAPTOP.lo })).toEqual({
      local: 'http://127.0.0.1:8080',
      network: [],
      networkNote: 'no network interface besides loopback',
    });
  });
});
