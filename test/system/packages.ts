/**
 * The Debian packages the test suite and `npm run bench` need: the one list. Before anything runs, `npm test`
 * and the bench install what is missing (as root on Debian/Ubuntu), or say in one line what to run and stop
 * (see ensure-packages.ts); the tests find the binaries with `systemCommand()` (find-command.ts).
 *
 * Adding a package is one line: the Debian package, the commands (found on PATH, then in /usr/local/sbin,
 * /usr/sbin, /sbin) or absolute file paths whose presence proves it is installed, and what uses it:
 *
 *   { name: 'nftables', provides: ['nft'], usedBy: 'the network lab (test/net)' },
 *
 * A test then calls `systemCommand('nft')`. Each command can be pointed elsewhere with an environment variable
 * (RTC_PEER_ + the command in capitals, `-` as `_`: RTC_PEER_CHROMIUM, RTC_PEER_REDIS_SERVER), which also
 * counts as installed: the way to run the suite where these are not Debian packages.
 */

/** One Debian package the suite needs. */
export interface SystemPackage {
  /** The Debian package, as `apt-get install` takes it. */
  readonly name: string;
  /** Commands (bare names) or absolute file paths; all present means the package is installed. */
  readonly provides: readonly string[];
  /** What uses it, said when it is missing. */
  readonly usedBy: string;
}

/** The packages, in the order they are installed and named. */
export const SYSTEM_PACKAGES = [
  { name: 'chromium', provides: ['chromium'], usedBy: 'browser interop tests and bench' },
  { name: 'coturn', provides: ['turnserver'], usedBy: 'TURN relay tests' },
  { name: 'iproute2', provides: ['ip', 'tc'], usedBy: "the network lab and the STUN test's NAT" },
  { name: 'nftables', provides: ['nft'], usedBy: "the network lab's NATs and loss, the STUN test's NAT" },
  { name: 'conntrack', provides: ['conntrack'], usedBy: "the network lab's NAT mappings" },
  { name: 'janus', provides: ['janus'], usedBy: 'the WHIP tests against a real SFU' },
  {
    name: 'janus-tools',
    provides: ['janus-pp-rec'],
    usedBy: "the WHIP tests, to convert Janus's recordings",
  },
  { name: 'redis-server', provides: ['redis-server'], usedBy: 'several signaling servers sharing rooms' },
  { name: 'haproxy', provides: ['haproxy'], usedBy: 'clients failing over behind a load balancer' },
  { name: 'openssl', provides: ['openssl'], usedBy: 'the TLS tests, which make their certificates' },
  {
    name: 'libnss3-tools',
    provides: ['certutil'],
    usedBy: 'the TLS browser test: Chromium trusts the test CA through an NSS database of its own',
  },
] as const satisfies readonly SystemPackage[];

/** A command one of the listed packages provides: what `systemCommand()` accepts. */
export type SystemCommand = Exclude<(typeof SYSTEM_PACKAGES)[number]['provides'][number], `/${string}`>;
