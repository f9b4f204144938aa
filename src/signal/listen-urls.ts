/**
 * Where a signaling server can be reached, for the operator to read (the way Vite prints Local and Network
 * URLs): from this machine, and from other machines through each network interface it listens on.
 */
import type { NetworkInterfaceInfo } from 'node:os';

/** The URLs of a server listening on one address and port. */
export interface ListenUrls {
  /** From this machine, e.g. `http://127.0.0.1:8080`; absent when it listens on one non-loopback address. */
  local?: string;
  /** From other machines: one per address of this machine's interfaces that the server listens on. */
  network: string[];
  /** Why `network` is empty, e.g. that it listens on loopback only. */
  networkNote?: string;
}

/**
 * The URLs (origins, no path) of a server on `host:port`, from this machine's network interfaces (as
 * `os.networkInterfaces()` gives them), with `scheme` `https` for a server with a certificate. `0.0.0.0` listens on every IPv4 address, `::` on every IPv6 and IPv4
 * address (link-local IPv6 ones are left out: they need a zone id a browser will not take).
 *
 * @example
 * listenUrls('0.0.0.0', 8080, os.networkInterfaces());
 * // { local: 'http://127.0.0.1:8080', network: ['http://192.168.1.20:8080'] }
 */
export function listenUrls(
  host: string,
  port: number,
  interfaces: NodeJS.Dict<NetworkInterfaceInfo[]>,
  scheme: 'http' | 'https' = 'http',
): ListenUrls {
  const url = (address: string): string =>
    `${scheme}://${address.includes(':') ? `[${address}]` : address}:${port}`;
  const wildcardV4 = host === '0.0.0.0' || host === '';
  const wildcardV6 = host === '::';
  if (!wildcardV4 && !wildcardV6) {
    if (isLoopback(host)) {
      return {
        local: url(host),
        network: [],
        networkNote: `listening on ${host} only; --host 0.0.0.0 listens on every interface`,
      };
    }
    return { network: [url(host)] };
  }
  const network: string[] = [];
  for (const entries of Object.values(interfaces)) {
    for (const entry of entries ?? []) {
      if (entry.internal) continue;
      if (entry.family === 'IPv4') network.push(url(entry.address));
      else if (wildcardV6 && !/^fe[89ab]/i.test(entry.address)) network.push(url(entry.address));
    }
  }
  return {
    local: url(wildcardV6 ? '::1' : '127.0.0.1'),
    network,
    ...(network.length === 0 ? { networkNote: 'no network interface besides loopback' } : {}),
  };
}

/** True for an address that only this machine can reach. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}
