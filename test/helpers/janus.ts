/**
 * A real WHIP server that rtc-peer did not write: Janus (Debian's `janus`, its VideoRoom plugin) behind
 * meetecho's simple-whip-server, with Janus recording every publisher (`.mjr`, converted by `janus-pp-rec`
 * from `janus-tools`). Janus leaves loopback out of ICE, so it runs in a network namespace of its own, joined
 * to this machine's by a veth pair on a private /30 picked from this process's pid (parallel runs do not
 * collide), and gathers on that interface only (`ice_enforce_list`).
 *
 *     [this process] 10.201.X.Y+1 --veth-- 10.201.X.Y+2 [namespace: janus :8188 (ws), simple-whip-server :7080]
 *
 * simple-whip-server's Debian package depends on Debian's `nodejs`, which conflicts with the Node here: its
 * `.deb` is fetched with `apt-get download` (cached under node_modules/.cache), unpacked with `dpkg -x`, and run
 * on this Node with its npm dependencies (devDependencies of rtc-peer) on NODE_PATH. `stop()` ends both
 * processes and deletes the namespace (and with it both ends of the veth); it is safe to call on a half-started
 * lab.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
  cpSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { systemCommand } from '../system/find-command.js';
import { ROOT } from './dist.js';

/** A running Janus + simple-whip-server. */
export interface JanusLab {
  /** The address of this machine's end of the veth (what Janus sees us as). */
  hostIp: string;
  /** The namespace's address: Janus and the WHIP server listen there. */
  labIp: string;
  /** `http://LAB:7080`. */
  whipBase: string;
  /** Creates a WHIP endpoint publishing into VideoRoom room `room`; resolves with its URL. */
  createEndpoint(id: string, room?: number, options?: { token?: string }): Promise<string>;
  /** Where Janus writes its recordings. */
  recordingsDir: string;
  /** The recordings' `.mjr` files of video, in the order they were made. */
  videoRecordings(): string[];
  /** Converts a `.mjr` to `.webm` with janus-pp-rec; resolves with its path. */
  convert(mjr: string): string;
  /** Janus's log and simple-whip-server's, so far. */
  logs(): { janus: string; whip: string };
  stop(): Promise<void>;
}

/** The VideoRoom room the lab makes: VP8 only, recorded, a bitrate cap that keeps 640x480 sharp. */
export const JANUS_ROOM = 4242;

const SIMPLE_WHIP_SERVER_VERSION = '0.0~git20230201-1';

/** simple-whip-server's source, unpacked from its Debian package once per machine. */
function simpleWhipServerSource(): string {
  const cache = path.join(ROOT, 'node_modules', '.cache', `simple-whip-server-${SIMPLE_WHIP_SERVER_VERSION}`);
  const src = path.join(cache, 'usr', 'share', 'simple-whip-server', 'src');
  if (existsSync(path.join(src, 'server.js'))) return src;
  const download = mkdtempSync(path.join(tmpdir(), 'rtc-peer-simple-whip-'));
  try {
    try {
      execFileSync('apt-get', ['download', `simple-whip-server=${SIMPLE_WHIP_SERVER_VERSION}`], {
        cwd: download,
        stdio: ['ignore', 'ignore', 'pipe'],
      });
    } catch (error) {
      throw new Error(
        `cannot fetch Debian's simple-whip-server (apt-get download simple-whip-server): ` +
          `${String((error as { stderr?: Buffer }).stderr ?? error).trim()}; run apt-get update, or check the Debian mirror`,
        { cause: error },
      );
    }
    const deb = readdirSync(download).find((f) => f.endsWith('.deb'));
    if (deb === undefined) throw new Error('apt-get download simple-whip-server produced no .deb');
    mkdirSync(cache, { recursive: true });
    execFileSync('dpkg', ['-x', path.join(download, deb), cache]);
  } finally {
    rmSync(download, { recursive: true, force: true });
  }
  return src;
}

/** The /30 of this process: 10.201.X.Y, from the pid. */
function subnet(): { host: string; lab: string } {
  const n = process.pid % 16384;
  const x = n >> 6;
  const y = (n & 63) * 4;
  return { host: `10.201.${x}.${y + 1}`, lab: `10.201.${x}.${y + 2}` };
}

function ip(args: string[]): void {
  try {
    execFileSync(systemCommand('ip'), args, { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (error) {
    throw new Error(
      `ip ${args.join(' ')} failed: ${String((error as { stderr?: Buffer }).stderr ?? '').trim()}`,
      {
        cause: error,
      },
    );
  }
}

function janusConfig(dir: string, recordings: string, iface: string): void {
  const plugins = '/usr/lib/x86_64-linux-gnu/janus';
  const others = (folder: string, keep: string): string =>
    readdirSync(path.join(plugins, folder))
      .filter((f) => f.endsWith('.so') && f !== keep)
      .join(',');
  writeFileSync(
    path.join(dir, 'janus.jcfg'),
    `general: {
  configs_folder = "${dir}"
  plugins_folder = "${plugins}/plugins"
  transports_folder = "${plugins}/transports"
  events_folder = "${plugins}/events"
  loggers_folder = "${plugins}/loggers"
  debug_level = 4
  session_timeout = 60
}
media: {
  rtp_port_range = "20000-40000"
}
nat: {
  nice_debug = false
  ice_enforce_list = "${iface}"
}
plugins: {
  disable = "${others('plugins', 'libjanus_videoroom.so')}"
}
transports: {
  disable = "${others('transports', 'libjanus_websockets.so')}"
}
loggers: {
  disable = "${others('loggers', '')}"
}
events: {
  broadcast = false
}
`,
  );
  writeFileSync(
    path.join(dir, 'janus.transport.websockets.jcfg'),
    `general: {
  json = "plain"
  ws = true
  ws_port = 8188
  ws_ip = "127.0.0.1"
  wss = false
}
admin: {
  admin_ws = false
}
`,
  );
  writeFileSync(
    path.join(dir, 'janus.plugin.videoroom.jcfg'),
    `general: {
}
room-${JANUS_ROOM}: {
  description = "rtc-peer WHIP tests"
  publishers = 4
  bitrate = 2000000
  fir_freq = 2
  videocodec = "vp8"
  record = true
  rec_dir = "${recordings}"
}
`,
  );
}

/** Waits until `check()` holds, polling, or throws `what` with `context()` after `ms`. */
async function until(what: string, check: () => boolean, ms: number, context: () => string): Promise<void> {
  const deadline = performance.now() + ms;
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`${what} within ${ms} ms:\n${context()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Starts the lab; on any failure, what was started is stopped before the error is thrown. */
export async function startJanusLab(): Promise<JanusLab> {
  const tag = `rtcp${process.pid}`;
  const netns = `${tag}-janus`;
  const hostIf = `${tag}j0`.slice(0, 15);
  const labIf = 'janus0';
  const { host: hostIp, lab: labIp } = subnet();
  const dir = mkdtempSync(path.join(tmpdir(), 'rtc-peer-janus-'));
  const recordingsDir = path.join(dir, 'recordings');
  mkdirSync(recordingsDir);
  const children: ChildProcess[] = [];
  const output = { janus: '', whip: '' };
  const stop = async (): Promise<void> => {
    await Promise.all(
      children.map(async (child) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
        await exited;
        clearTimeout(timer);
      }),
    );
    try {
      execFileSync(systemCommand('ip'), ['netns', 'del', netns], { stdio: 'ignore' });
    } catch {
      // not there (any more)
    }
  };
  try {
    const src = simpleWhipServerSource();
    ip(['netns', 'add', netns]);
    ip(['-n', netns, 'link', 'set', 'lo', 'up']);
    ip(['link', 'add', hostIf, 'type', 'veth', 'peer', 'name', labIf, 'netns', netns]);
    ip(['addr', 'add', `${hostIp}/30`, 'dev', hostIf]);
    ip(['-n', netns, 'addr', 'add', `${labIp}/30`, 'dev', labIf]);
    ip(['link', 'set', hostIf, 'up']);
    ip(['-n', netns, 'link', 'set', labIf, 'up']);

    const conf = path.join(dir, 'conf');
    mkdirSync(conf);
    janusConfig(conf, recordingsDir, labIf);
    // Its log goes to a file (-L), read for readiness and on failures; stderr: what it says before that.
    const janusLog = path.join(dir, 'janus.log');
    const janus = spawn(
      systemCommand('ip'),
      [
        'netns',
        'exec',
        netns,
        systemCommand('janus'),
        '-F',
        conf,
        '-C',
        path.join(conf, 'janus.jcfg'),
        '-o',
        '-L',
        janusLog,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    children.push(janus);
    janus.stderr.setEncoding('utf8').on('data', (t: string) => (output.janus += t));
    const readJanus = (): string => {
      try {
        return readFileSync(janusLog, 'utf8');
      } catch {
        return '';
      }
    };
    await until(
      'Janus did not start its WebSockets transport',
      () => /WebSockets server started|websockets.*started/i.test(readJanus()) || janus.exitCode !== null,
      10_000,
      readJanus,
    );
    if (janus.exitCode !== null)
      throw new Error(`janus exited with ${janus.exitCode}:\n${readJanus()}${output.janus}`);

    // simple-whip-server, on this Node, its config next to it, its dependencies from rtc-peer's node_modules.
    const whipDir = path.join(dir, 'simple-whip-server');
    cpSync(src, whipDir, { recursive: true, dereference: false, filter: (f) => !f.endsWith('config.js') });
    writeFileSync(
      path.join(whipDir, 'config.js'),
      `module.exports = {
  janus: { address: 'ws://127.0.0.1:8188' },
  port: 7080,
  rest: '/whip',
  allowTrickle: true,
  strictETags: false,
  iceServers: [],
};
`,
    );
    const whip = spawn(
      systemCommand('ip'),
      ['netns', 'exec', netns, process.execPath, path.join(whipDir, 'server.js')],
      {
        cwd: whipDir,
        env: { ...process.env, NODE_PATH: path.join(ROOT, 'node_modules'), DEBUG: 'whip:*' },
        // stdin: unused; stdout and stderr: its log
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    children.push(whip);
    whip.stdout.setEncoding('utf8').on('data', (t: string) => (output.whip += t));
    whip.stderr.setEncoding('utf8').on('data', (t: string) => (output.whip += t));
    await until(
      'simple-whip-server did not start',
      () => output.whip.includes('WHIP server prototype started') || whip.exitCode !== null,
      10_000,
      () => output.whip,
    );
    if (whip.exitCode !== null)
      throw new Error(`simple-whip-server exited with ${whip.exitCode}:\n${output.whip}`);
  } catch (error) {
    await stop();
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  const whipBase = `http://${labIp}:7080`;
  return {
    hostIp,
    labIp,
    whipBase,
    recordingsDir,
    async createEndpoint(id, room = JANUS_ROOM, options = {}) {
      const response = await fetch(`${whipBase}/whip/create`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ id, room, ...(options.token ? { token: options.token } : {}) }),
      });
      if (!response.ok)
        throw new Error(`simple-whip-server /whip/create: ${response.status} ${await response.text()}`);
      return `${whipBase}/whip/endpoint/${id}`;
    },
    videoRecordings() {
      // videoroom-ROOM-user-ID-TIMESTAMP-video-N.mjr: in the order of their timestamps.
      const at = (f: string): bigint => BigInt(/-(\d+)-video/.exec(f)?.[1] ?? '0');
      return readdirSync(recordingsDir)
        .filter((f) => /-video(-\d+)?\.mjr$/.test(f))
        .sort((a, b) => (at(a) < at(b) ? -1 : at(a) > at(b) ? 1 : 0))
        .map((f) => path.join(recordingsDir, f));
    },
    convert(mjr) {
      const out = mjr.replace(/\.mjr$/, '.webm');
      execFileSync(systemCommand('janus-pp-rec'), [mjr, out], { stdio: ['ignore', 'ignore', 'pipe'] });
      return out;
    },
    logs: () => {
      let janus = output.janus;
      try {
        janus = readFileSync(path.join(dir, 'janus.log'), 'utf8') + janus;
      } catch {
        // no log yet
      }
      return { janus, whip: output.whip };
    },
    stop: async () => {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
