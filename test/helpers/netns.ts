/**
 * A small NAT made of network namespaces, for the tests that need a server-reflexive address: on loopback a
 * STUN server sees a client at its own host address, and libwebrtc drops such a srflx candidate as redundant.
 *
 *     [inside] 10.100.0.2 --veth-- 10.100.0.1 [router] 10.200.0.1 --veth-- 10.200.0.2 [outside]
 *                                       masquerade onto 10.200.0.1
 *
 * `inside` routes everything through `router`, which masquerades it: seen from `outside`, a process inside is
 * 10.200.0.1. `outside` has no route back to 10.100.0.0/24, so it reaches `inside` only through the NAT. The
 * private addresses exist only inside these namespaces. Needs root (`ip netns`), as CI and the machines are.
 */
import { execFileSync } from 'node:child_process';
import { systemCommand } from '../system/find-command.js';

/** The three namespaces' names and the addresses a test uses. */
export interface Nat {
  inside: string;
  router: string;
  outside: string;
  /** The inside host's own address. */
  insideIp: string;
  /** The outside host's address. */
  outsideIp: string;
  /** What the outside sees as the inside's address: the router's outer address. */
  natIp: string;
  /** Deletes the namespaces (and with them their interfaces and rules). Idempotent. */
  remove(): void;
}

/** `ip` and `nft` by the suite's one lookup (test/system/packages.ts). */
function binary(name: string): string {
  return name === 'ip' || name === 'nft' ? systemCommand(name) : name;
}

function run(args: string[], input?: string): void {
  try {
    execFileSync(binary(args[0]!), args.slice(1), { input, stdio: ['pipe', 'ignore', 'pipe'] });
  } catch (error) {
    const stderr = String((error as { stderr?: Buffer }).stderr ?? '').trim();
    throw new Error(
      `${args.join(' ')} failed: ${stderr || (error as Error).message}` +
        (process.getuid?.() === 0 ? '' : ' (network namespaces need root)'),
      { cause: error },
    );
  }
}

/** Builds the NAT; names are unique to this process, so tests on one machine do not collide. */
export function createNat(): Nat {
  const tag = `rtcp${process.pid}`;
  const nat: Nat = {
    inside: `${tag}-in`,
    router: `${tag}-nat`,
    outside: `${tag}-out`,
    insideIp: '10.100.0.2',
    outsideIp: '10.200.0.2',
    natIp: '10.200.0.1',
    remove: () => {
      for (const ns of [nat.inside, nat.router, nat.outside]) {
        try {
          execFileSync(binary('ip'), ['netns', 'del', ns], { stdio: 'ignore' });
        } catch {
          // not there (any more)
        }
      }
    },
  };
  const { inside, router, outside } = nat;
  try {
    for (const ns of [inside, router, outside]) {
      run(['ip', 'netns', 'add', ns]);
      run(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
    }
    // Each veth is created in one namespace with its peer in the other: never in the machine's own.
    run(['ip', '-n', inside, 'link', 'add', 'in0', 'type', 'veth', 'peer', 'name', 'nat0', 'netns', router]);
    run([
      'ip',
      '-n',
      outside,
      'link',
      'add',
      'out0',
      'type',
      'veth',
      'peer',
      'name',
      'nat1',
      'netns',
      router,
    ]);
    run(['ip', '-n', inside, 'addr', 'add', `${nat.insideIp}/24`, 'dev', 'in0']);
    run(['ip', '-n', router, 'addr', 'add', '10.100.0.1/24', 'dev', 'nat0']);
    run(['ip', '-n', router, 'addr', 'add', `${nat.natIp}/24`, 'dev', 'nat1']);
    run(['ip', '-n', outside, 'addr', 'add', `${nat.outsideIp}/24`, 'dev', 'out0']);
    for (const [ns, dev] of [
      [inside, 'in0'],
      [router, 'nat0'],
      [router, 'nat1'],
      [outside, 'out0'],
    ] as const)
      run(['ip', '-n', ns, 'link', 'set', dev, 'up']);
    run(['ip', '-n', inside, 'route', 'add', 'default', 'via', '10.100.0.1']);
    run(['ip', 'netns', 'exec', router, 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
    run(
      ['ip', 'netns', 'exec', router, systemCommand('nft'), '-f', '-'],
      'table ip nat {\n  chain post {\n    type nat hook postrouting priority srcnat;\n' +
        '    oifname "nat1" masquerade\n  }\n}\n',
    );
  } catch (error) {
    nat.remove();
    throw error;
  }
  return nat;
}
