/**
 * The network lab: a caller and an answerer, each on a LAN of its own behind a router, and a "public" middle
 * where the servers (coturn as STUN and TURN, the signaling server) live. Every piece is a network namespace
 * this module creates; every address is private and exists only inside them.
 *
 *     [caller]  eth0 192.168.1.2 --- lan 192.168.1.1 [caller router] wan 10.77.1.2 --- 10.77.1.1 ┐
 *                                                                                               [public] lo 10.77.0.1
 *     [answerer] eth0 192.168.2.2 --- lan 192.168.2.1 [answerer router] wan 10.77.2.2 --- 10.77.2.1 ┘
 *
 * On demand, per side, on its router:
 * - NAT (nftables masquerade onto the router's wan address). `port-preserving`: Linux keeps the LAN source
 *   port when it is free, so one socket has one public address for every destination (endpoint-independent
 *   mapping), and the router drops unsolicited packets from the wan before they create a connection-tracking
 *   entry, as a home router's firewall does. `port-preserving-open`: the same NAT without that firewall (the
 *   router's own stack answers unsolicited packets; see docs/network-lab.md for why hole punching then
 *   fails). `symmetric`: `masquerade random`, a new random port for every destination. `none`: plain routing,
 *   the LAN address is reachable from the middle.
 * - random loss in either direction (nftables `numgen`), with nftables' own counters as the witness;
 * - a rate cap in either direction (tc `tbf`; these kernels have no netem);
 * - a blackout (everything through the router dropped) and a change of the peer's address.
 *
 * `up` is from the peer towards the middle, `down` towards the peer.
 *
 * Clean-up: {@link Lab.close} kills what still runs in the lab's namespaces and deletes them (their
 * interfaces, nftables tables and qdiscs go with them). Names carry the creating process's pid and start
 * time, so a lab left by a killed run is provably stale once that process is gone: {@link sweepStaleLabs}
 * (called by {@link createLab}) removes those, and nothing else.
 *
 * Needs root (`ip netns`). {@link labUnavailable} says why the lab cannot run here, without throwing.
 * No vitest here: `npm run bench` uses the lab too.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { findCommand } from '../system/find-command.js';

/** What stands between a peer and the middle. */
export type NatKind = 'none' | 'port-preserving' | 'port-preserving-open' | 'symmetric';

/** A rate cap, kbit/s per direction; undefined: uncapped. */
export interface RateCap {
  up?: number;
  down?: number;
}

/** Random loss, % per direction (0-100, steps of 0.1). */
export interface Loss {
  up?: number;
  down?: number;
}

/** nftables' own count of what crossed a side's router, and what the lab dropped there. */
export interface LinkCounters {
  /** Packets that reached the router from the peer (`up`) and from the middle (`down`). */
  upPackets: number;
  downPackets: number;
  /** Of those, dropped by the random loss. */
  upLost: number;
  downLost: number;
  /** Of those, dropped by a blackout. */
  upBlackedOut: number;
  downBlackedOut: number;
  /** Unsolicited packets from the middle the firewall dropped (`port-preserving` NAT only). */
  unsolicited: number;
}

/** What a tbf rate cap passed and dropped, by tc's counters (since the cap was set). */
export interface ShaperCounters {
  rateKbit: number;
  bytes: number;
  packets: number;
  dropped: number;
}

/** One side of the lab: a peer's namespace and its router. */
export interface LabSide {
  readonly role: 'caller' | 'answerer';
  /** Namespace the peer runs in (`startCli(..., { netns })`). */
  readonly ns: string;
  /** Namespace of its router. */
  readonly router: string;
  /** The peer's address on its LAN now (changes with {@link changeAddress}). */
  readonly ip: string;
  /** The router's address in the middle: what the middle sees behind a NAT. */
  readonly publicIp: string;
  /** The NAT now. */
  readonly nat: NatKind;
  setNat(kind: NatKind): void;
  setLoss(loss: Loss): void;
  /** Caps the rate (tbf); `{}` lifts it. */
  setRate(cap: RateCap): void;
  /** Drops everything through the router (`true`) or nothing any more (`false`). */
  setBlackout(on: boolean): void;
  /**
   * Moves the peer to another address on its LAN (the old one is removed: its sockets can send no more), as
   * when a device changes networks. Returns the new address.
   */
  changeAddress(): string;
  counters(): LinkCounters;
  /** tc's own count of what each rate cap let through and dropped (undefined: no cap that way). */
  shaped(): { up?: ShaperCounters; down?: ShaperCounters };
  /** The router's connection-tracking table (UDP), as `conntrack -L` prints it: its NAT mappings. */
  mappings(): string;
}

/** A running lab. */
export interface Lab {
  /** Unique to this lab: the prefix of its namespaces. */
  readonly id: string;
  /** The middle: its namespace and the address its servers listen on. */
  readonly middle: { ns: string; ip: string };
  readonly caller: LabSide;
  readonly answerer: LabSide;
  /** Every namespace of the lab. */
  readonly namespaces: readonly string[];
  /** Pids of the processes running in the lab's namespaces now. */
  pids(): number[];
  /** Kills what still runs in the lab, deletes its namespaces. Idempotent. */
  close(): Promise<void>;
}

/** Options of {@link createLab}. */
export interface LabOptions {
  /** NAT in front of the caller. Default `none`. */
  callerNat?: NatKind;
  /** NAT in front of the answerer. Default `none`. */
  answererNat?: NatKind;
}

const PREFIX = 'rtclab';
const MIDDLE_IP = '10.77.0.1';
/** tbf's queue: how long a packet may wait for its turn before it is dropped, as a shaped uplink does. */
const TBF_LATENCY = '200ms';

function tool(name: 'ip' | 'nft' | 'tc' | 'conntrack'): string {
  const found = findCommand(name);
  if (!found.found) throw new Error(`network lab: ${name} not found (${found.reason})`);
  return found.path;
}

function run(args: string[], input?: string): string {
  try {
    return execFileSync(tool(args[0] as 'ip' | 'nft' | 'tc'), args.slice(1), {
      input,
      encoding: 'utf8',
      stdio: ['pipe', 'pipe', 'pipe'],
    });
  } catch (error) {
    const stderr = String((error as { stderr?: string }).stderr ?? '').trim();
    throw new Error(`network lab: ${args.join(' ')} failed: ${stderr || (error as Error).message}`, {
      cause: error,
    });
  }
}

const inNs = (ns: string, cmd: 'nft' | 'tc' | 'conntrack', args: string[], input?: string): string =>
  run(['ip', 'netns', 'exec', ns, tool(cmd), ...args] as never, input);

/** `starttime` of a process (clock ticks since boot, /proc/PID/stat field 22), or undefined if gone. */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** The name prefix of labs this process creates: `rtclab-PID-STARTTIME-`. */
function ownerTag(): string {
  return `${PREFIX}-${process.pid}-${processStartTime(process.pid) ?? '0'}`;
}

/** The lab namespaces on this machine, with whether the process that created each is gone. */
export function labNamespaces(): { name: string; stale: boolean }[] {
  const listed = spawnSync(tool('ip'), ['netns', 'list'], { encoding: 'utf8' }).stdout ?? '';
  const out: { name: string; stale: boolean }[] = [];
  for (const line of listed.split('\n')) {
    const name = line.split(' ')[0] ?? '';
    const m = new RegExp(`^${PREFIX}-(\\d+)-(\\d+)-`).exec(name);
    if (!m) continue;
    out.push({ name, stale: processStartTime(Number(m[1])) !== m[2] });
  }
  return out;
}

function nsPids(ns: string): number[] {
  const r = spawnSync(tool('ip'), ['netns', 'pids', ns], { encoding: 'utf8' });
  return (r.stdout ?? '')
    .split('\n')
    .filter((l) => /^\d+$/.test(l.trim()))
    .map(Number);
}

async function killAndDelete(namespaces: readonly string[]): Promise<void> {
  // The processes first (a namespace lives on while a process is in it), then the namespaces.
  for (let attempt = 0; attempt < 50; attempt++) {
    const pids = namespaces.flatMap(nsPids);
    if (pids.length === 0) break;
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone already
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  for (const ns of namespaces) spawnSync(tool('ip'), ['netns', 'del', ns], { stdio: 'ignore' });
}

/**
 * Removes the labs whose creating process is gone (a run killed before its clean-up): their processes, then
 * their namespaces. Only names of this harness's form whose pid and start time match no living process.
 * Returns the namespaces removed.
 */
export async function sweepStaleLabs(): Promise<string[]> {
  const stale = labNamespaces()
    .filter((n) => n.stale)
    .map((n) => n.name);
  if (stale.length > 0) await killAndDelete(stale);
  return stale;
}

let unavailable: string | null | undefined;

/**
 * Why the lab cannot run on this machine (not root, no `ip`/`nft`/`tc`, network namespaces refused), or
 * undefined when it can. Tries a namespace for real, once per process.
 */
export function labUnavailable(): string | undefined {
  if (unavailable !== undefined) return unavailable ?? undefined;
  unavailable = null;
  if (process.platform !== 'linux')
    unavailable = `network namespaces are Linux only (this is ${process.platform})`;
  else if (process.getuid?.() !== 0) unavailable = 'network namespaces need root';
  else {
    for (const name of ['ip', 'nft', 'tc', 'conntrack'] as const) {
      const found = findCommand(name);
      if (!found.found) {
        unavailable = `${name} not found (${found.reason}); install iproute2, nftables and conntrack`;
        break;
      }
    }
  }
  if (unavailable === null) {
    const probe = `${ownerTag()}-probe`;
    const r = spawnSync(tool('ip'), ['netns', 'add', probe], { encoding: 'utf8' });
    if (r.status !== 0) unavailable = `ip netns add failed: ${(r.stderr ?? '').trim()}`;
    else spawnSync(tool('ip'), ['netns', 'del', probe]);
  }
  return unavailable ?? undefined;
}

let labSeq = 0;

/** Builds a lab (sweeping stale ones first). Throws, with what failed, when it cannot. */
export async function createLab(options: LabOptions = {}): Promise<Lab> {
  await sweepStaleLabs();
  const id = `${ownerTag()}-${++labSeq}`;
  const middle = `${id}-pub`;
  const namespaces = [middle, `${id}-cr`, `${id}-c`, `${id}-ar`, `${id}-a`];
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => (closing ??= killAndDelete(namespaces));
  try {
    for (const ns of namespaces) {
      run(['ip', 'netns', 'add', ns]);
      run(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
    }
    run(['ip', '-n', middle, 'addr', 'add', `${MIDDLE_IP}/32`, 'dev', 'lo']);
    // The rest of the internet, where a packet to an address nobody routes (a peer's LAN address, tried by
    // ICE or by coturn's relay) goes and vanishes, as it would out there. Without a default route the sender
    // would get ENETUNREACH at once, and coturn closes a relay allocation on such an error.
    // (A veth whose far end stays down, towards a gateway whose MAC is written in: nothing answers, nothing
    // errs. These kernels have no dummy interfaces.)
    run(['ip', '-n', middle, 'link', 'add', 'void', 'type', 'veth', 'peer', 'name', 'void-end']);
    run(['ip', '-n', middle, 'addr', 'add', '10.77.255.1/24', 'dev', 'void']);
    run(['ip', '-n', middle, 'link', 'set', 'void', 'up']);
    run([
      'ip',
      '-n',
      middle,
      'neigh',
      'add',
      '10.77.255.2',
      'lladdr',
      '02:00:00:00:00:02',
      'dev',
      'void',
      'nud',
      'permanent',
    ]);
    run(['ip', '-n', middle, 'route', 'add', 'default', 'via', '10.77.255.2']);
    sysctl(middle, 'net.ipv4.ip_forward', '1');
    const caller = buildSide(id, 'caller', 1, middle, options.callerNat ?? 'none');
    const answerer = buildSide(id, 'answerer', 2, middle, options.answererNat ?? 'none');
    return {
      id,
      middle: { ns: middle, ip: MIDDLE_IP },
      caller,
      answerer,
      namespaces,
      pids: () => namespaces.flatMap(nsPids),
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

function sysctl(ns: string, key: string, value: string): void {
  run(['ip', 'netns', 'exec', ns, 'sysctl', '-qw', `${key}=${value}`] as never);
}

/** One side: the peer's namespace `ID-c`/`ID-a` behind the router `ID-cr`/`ID-ar`, on subnet `n`. */
function buildSide(
  id: string,
  role: 'caller' | 'answerer',
  n: number,
  middle: string,
  nat: NatKind,
): LabSide {
  const letter = role === 'caller' ? 'c' : 'a';
  const ns = `${id}-${letter}`;
  const router = `${id}-${letter}r`;
  const lanNet = `192.168.${n}`;
  const wanNet = `10.77.${n}`;
  const publicIp = `${wanNet}.2`;
  // Each veth is created in one namespace with its peer in the other: never in the machine's own.
  run(['ip', '-n', ns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'lan', 'netns', router]);
  run([
    'ip',
    '-n',
    router,
    'link',
    'add',
    'wan',
    'type',
    'veth',
    'peer',
    'name',
    `to-${letter}`,
    'netns',
    middle,
  ]);
  run(['ip', '-n', ns, 'addr', 'add', `${lanNet}.2/24`, 'dev', 'eth0']);
  run(['ip', '-n', router, 'addr', 'add', `${lanNet}.1/24`, 'dev', 'lan']);
  run(['ip', '-n', router, 'addr', 'add', `${publicIp}/24`, 'dev', 'wan']);
  run(['ip', '-n', middle, 'addr', 'add', `${wanNet}.1/24`, 'dev', `to-${letter}`]);
  for (const [where, dev] of [
    [ns, 'eth0'],
    [router, 'lan'],
    [router, 'wan'],
    [middle, `to-${letter}`],
  ] as const)
    run(['ip', '-n', where, 'link', 'set', dev, 'up']);
  run(['ip', '-n', ns, 'route', 'add', 'default', 'via', `${lanNet}.1`]);
  run(['ip', '-n', router, 'route', 'add', 'default', 'via', `${wanNet}.1`]);
  sysctl(router, 'net.ipv4.ip_forward', '1');
  // A removed primary address hands over to the next one instead of taking it along (changeAddress).
  sysctl(ns, 'net.ipv4.conf.all.promote_secondaries', '1');
  sysctl(ns, 'net.ipv4.conf.eth0.promote_secondaries', '1');

  let ip = `${lanNet}.2`;
  let hostId = 2;
  let current: NatKind = nat;
  let loss: Loss = {};
  let blackout = false;

  // One table, rewritten whole on each change (`nft -f` applies a file atomically); the named counters live
  // in it and survive a rewrite of the chains.
  const rules = (): string => {
    const drop = (p: number | undefined, counter: string): string =>
      p && p > 0 ? `    numgen random mod 1000 < ${Math.round(p * 10)} counter name "${counter}" drop\n` : '';
    const black = (counter: string): string => (blackout ? `    counter name "${counter}" drop\n` : '');
    const masquerade = current === 'none' ? '' : current === 'symmetric' ? 'masquerade random' : 'masquerade';
    const firewall =
      current === 'port-preserving' || current === 'symmetric'
        ? // A home router's firewall: nothing unsolicited from the wan reaches the router's own stack. Dropped
          // here, before the connection-tracking entry is confirmed, such a packet leaves no entry behind.
          '    iifname "wan" ct state new counter name "unsolicited" drop\n'
        : '';
    return (
      `flush chain inet lab up\nflush chain inet lab down\nflush chain inet lab in\nflush chain ip labnat post\n` +
      `table inet lab {\n` +
      `  chain up {\n    counter name "up_packets"\n${black('up_blackout')}${drop(loss.up, 'up_lost')}  }\n` +
      `  chain down {\n    counter name "down_packets"\n${black('down_blackout')}${drop(loss.down, 'down_lost')}  }\n` +
      `  chain in {\n${firewall}  }\n` +
      `}\n` +
      (masquerade ? `table ip labnat {\n  chain post {\n    oifname "wan" ${masquerade}\n  }\n}\n` : '')
    );
  };
  inNs(
    router,
    'nft',
    ['-f', '-'],
    `table inet lab {\n` +
      ['up_packets', 'down_packets', 'up_lost', 'down_lost', 'up_blackout', 'down_blackout', 'unsolicited']
        .map((c) => `  counter ${c} {}\n`)
        .join('') +
      `  chain up {}\n  chain down {}\n` +
      `  chain forward {\n    type filter hook forward priority 0; policy accept;\n` +
      `    iifname "lan" jump up\n    iifname "wan" jump down\n  }\n` +
      `  chain in {}\n` +
      `  chain input {\n    type filter hook input priority 0; policy accept;\n    jump in\n  }\n` +
      `}\n` +
      `table ip labnat {\n  chain post {\n    type nat hook postrouting priority srcnat;\n  }\n}\n`,
  );
  const apply = (): void => {
    inNs(router, 'nft', ['-f', '-'], rules());
    // Without NAT the middle routes to the LAN itself; behind one it must not know the way.
    const route = ['ip', '-n', middle, 'route'];
    if (current === 'none') run([...route, 'replace', `${lanNet}.0/24`, 'via', `${wanNet}.2`]);
    else spawnSync(tool('ip'), ['-n', middle, 'route', 'del', `${lanNet}.0/24`], { stdio: 'ignore' });
    // A NAT change leaves no old mapping behind: the router forgets its connections.
    spawnSync(tool('ip'), ['netns', 'exec', router, tool('conntrack'), '-F'], { stdio: 'ignore' });
  };
  apply();

  const counter = (json: unknown[], name: string): number => {
    for (const item of json) {
      const c = (item as { counter?: { name: string; packets: number } }).counter;
      if (c?.name === name) return c.packets;
    }
    throw new Error(`network lab: no nftables counter ${name} in ${router}`);
  };
  const shape = (dev: 'lan' | 'wan', kbit: number | undefined): void => {
    if (kbit === undefined) {
      spawnSync(tool('ip'), ['netns', 'exec', router, tool('tc'), 'qdisc', 'del', 'dev', dev, 'root'], {
        stdio: 'ignore',
      });
      return;
    }
    // burst: a few full packets, as on a shaped line (a bigger bucket would let key frames through unshaped)
    const burst = Math.max(3200, Math.round((kbit * 1000) / 8 / 50));
    inNs(router, 'tc', [
      'qdisc',
      'replace',
      'dev',
      dev,
      'root',
      'tbf',
      'rate',
      `${kbit}kbit`,
      'burst',
      String(burst),
      'latency',
      TBF_LATENCY,
    ]);
  };

  const side: LabSide = {
    role,
    ns,
    router,
    get ip() {
      return ip;
    },
    publicIp,
    get nat() {
      return current;
    },
    setNat(kind) {
      current = kind;
      apply();
    },
    setLoss(l) {
      for (const p of [l.up, l.down])
        if (p !== undefined && !(p >= 0 && p <= 100)) throw new TypeError(`loss must be 0-100 %, not ${p}`);
      loss = { ...l };
      apply();
    },
    setRate(cap) {
      shape('wan', cap.up);
      shape('lan', cap.down);
    },
    setBlackout(on) {
      blackout = on;
      inNs(router, 'nft', ['-f', '-'], rules());
    },
    changeAddress() {
      const old = ip;
      hostId++;
      ip = `${lanNet}.${hostId}`;
      run(['ip', '-n', ns, 'addr', 'add', `${ip}/24`, 'dev', 'eth0']);
      run(['ip', '-n', ns, 'addr', 'del', `${old}/24`, 'dev', 'eth0']);
      run(['ip', '-n', ns, 'route', 'replace', 'default', 'via', `${lanNet}.1`]);
      return ip;
    },
    shaped() {
      const read = (dev: 'lan' | 'wan'): ShaperCounters | undefined => {
        const qdiscs = JSON.parse(inNs(router, 'tc', ['-s', '-j', 'qdisc', 'show', 'dev', dev])) as {
          kind: string;
          options?: { rate?: number };
          bytes: number;
          packets: number;
          drops: number;
        }[];
        const tbf = qdiscs.find((q) => q.kind === 'tbf');
        if (!tbf) return undefined;
        // tc -j gives the rate in bytes per second
        const rateKbit = ((tbf.options?.rate ?? 0) * 8) / 1000;
        return { rateKbit, bytes: tbf.bytes, packets: tbf.packets, dropped: tbf.drops };
      };
      return { up: read('wan'), down: read('lan') };
    },
    mappings() {
      return inNs(router, 'conntrack', ['-L', '-p', 'udp'])
        .split('\n')
        .filter((l) => !/ dport=53 /.test(l))
        .join('\n');
    },
    counters() {
      const json = (
        JSON.parse(inNs(router, 'nft', ['-j', 'list', 'counters', 'table', 'inet', 'lab'])) as {
          nftables: unknown[];
        }
      ).nftables;
      return {
        upPackets: counter(json, 'up_packets'),
        downPackets: counter(json, 'down_packets'),
        upLost: counter(json, 'up_lost'),
        downLost: counter(json, 'down_lost'),
        upBlackedOut: counter(json, 'up_blackout'),
        downBlackedOut: counter(json, 'down_blackout'),
        unsolicited: counter(json, 'unsolicited'),
      };
    },
  };
  return side;
}
