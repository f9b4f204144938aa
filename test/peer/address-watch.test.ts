/**
 * The address watch: which addresses count (no loopback, no IPv6 link-local), and a change said once, with
 * what went and what came, from made-up interface lists (no network touched).
 */
import type { NetworkInterfaceInfo } from 'node:os';
import { describe, expect, test } from 'vitest';
import { AddressWatch, usableAddresses } from '../../src/peer/address-watch.js';

const info = (address: string, family: 'IPv4' | 'IPv6', internal = false): NetworkInterfaceInfo =>
  ({ address, family, internal, netmask: '', mac: '', cidr: null, scopeid: 0 }) as NetworkInterfaceInfo;

describe('usableAddresses', () => {
  test('every interface address but loopback and IPv6 link-local, sorted, once', () => {
    expect(
      usableAddresses({
        lo: [info('127.0.0.1', 'IPv4', true), info('::1', 'IPv6', true)],
        eth0: [info('192.168.1.7', 'IPv4'), info('fe80::1', 'IPv6'), info('2001:db8::7', 'IPv6')],
        wlan0: [info('10.0.0.3', 'IPv4'), info('192.168.1.7', 'IPv4')],
      }),
    ).toEqual(['10.0.0.3', '192.168.1.7', '2001:db8::7']);
  });
});

describe('AddressWatch', () => {
  test('says a change once, with what went and what came; nothing when only the order or link-local changes', () => {
    let now: NodeJS.Dict<NetworkInterfaceInfo[]> = { eth0: [info('192.168.1.2', 'IPv4')] };
    const watch = new AddressWatch({ intervalMs: 60_000, read: () => now });
    const changes: Array<[string[], string[], string[]]> = [];
    watch.on('change', (...c) => changes.push(c));
    watch.start();
    watch.check();
    now = { eth0: [info('fe80::9', 'IPv6'), info('192.168.1.2', 'IPv4')] };
    watch.check();
    expect(changes).toEqual([]);
    now = { eth0: [info('192.168.1.3', 'IPv4')] };
    watch.check();
    watch.check();
    expect(changes).toEqual([[['192.168.1.3'], ['192.168.1.2'], ['192.168.1.3']]]);
    watch.stop();
    watch.stop();
  });

  test('a bad interval is a TypeError', () => {
    expect(() => new AddressWatch({ intervalMs: 0 })).toThrow(TypeError);
  });
});
