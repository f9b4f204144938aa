/** `rtc-peer signal`: the signaling server with the browser page, until SIGINT/SIGTERM. */
import { randomBytes } from 'node:crypto';
import { networkInterfaces } from 'node:os';
import { Command, Option } from 'commander';
import { listenUrls, startSignalServer } from '../../signal/index.js';
import { isLoopback } from '../../signal/listen-urls.js';
import { checkAllowedOrigins } from '../../signal/whip/cors.js';
import { parseLimit, type SignalLimits } from '../../signal/limits.js';
import { SIGNAL_SERVER_DEFAULTS } from '../../signal/server.js';
import { webPageHandler } from '../../web/index.js';
import { parseTtl, readSecret } from '../../signal/room-token.js';
import { checkTurnSecret, TURN_TTL_DEFAULT_S, type TurnOptions } from '../../signal/turn-credentials.js';
import { ExitCode } from '../exit-codes.js';
import { TOKEN_SECRET_ENV } from './token.js';
import { listeningEvent, listeningText } from '../listening.js';
import { parsePort, parsePositiveInteger } from '../options.js';
import { onTermination } from '../termination.js';

/** The environment variable that holds coturn's static-auth-secret when `--turn-secret-file` is not given. */
export const TURN_SECRET_ENV = 'RTC_PEER_TURN_SECRET';

/** The flags of `signal`, as commander gives them. */
export interface SignalFlags {
  host: string;
  port: string;
  token?: string;
  tokenSecretFile?: string;
  turnUrl: string[];
  turnSecretFile?: string;
  turnTtl?: string;
  maxViewers: string;
  redis?: string;
  limit: string[];
  allowOrigin: string[];
  open?: boolean;
  cert?: string;
  key?: string;
  json?: boolean;
}

/** `rtc-peer signal`; `done` gets its exit code. */
export function signalCommand(done: (code: Promise<number>) => void): Command {
  return new Command('signal')
    .description('run the signaling server (holds the offer and candidates until the other side joins)')
    .option('--host <address>', 'address to listen on', SIGNAL_SERVER_DEFAULTS.host)
    .option('--port <port>', 'port (0 picks a free one)', String(SIGNAL_SERVER_DEFAULTS.port))
    .addOption(new Option('--token <secret>', 'require this token from every client').env('RTC_PEER_TOKEN'))
    .option(
      '--token-secret-file <file>',
      'admit room tokens signed with this secret (rtc-peer token), checked at join; else the environment ' +
        'variable RTC_PEER_TOKEN_SECRET',
    )
    .option(
      '--turn-url <url>',
      'hand every client this TURN server (repeatable; coturn with use-auth-secret) with fresh credentials ' +
        'in its join ack; with --turn-secret-file',
      (value: string, previous: string[]) => [...previous, value],
      [] as string[],
    )
    .option(
      '--turn-secret-file <file>',
      `coturn's static-auth-secret, for --turn-url; else the environment variable ${TURN_SECRET_ENV}`,
    )
    .option(
      '--turn-ttl <duration>',
      `how long the credentials of one join last, e.g. 1h, 2d (default ${TURN_TTL_DEFAULT_S / 3600}h)`,
    )
    .option(
      '--max-viewers <n>',
      'answerers (viewers) one caller serves at once in a room, with protocol 2; one more is refused',
      String(SIGNAL_SERVER_DEFAULTS.maxViewers),
    )
    .addOption(
      new Option('--redis <url>', 'share rooms with the servers of this Redis (redis://HOST:PORT)').env(
        'RTC_PEER_REDIS',
      ),
    )
    .option(
      '--limit <name=value>',
      "set one of the server's limits (repeatable), e.g. connectionsPerAddress=64, heldBytes=128Mi; " +
        'see docs/security.md',
      (value: string, previous: string[]) => [...previous, value],
      [] as string[],
    )
    .option(
      '--allow-origin <origin>',
      'let pages from this origin (e.g. https://example.org; repeatable; * for any) use the server ' +
        'besides its own page',
      (value: string, previous: string[]) => [...previous, value],
      [] as string[],
    )
    .option(
      '--open',
      'serve without a token even on a non-loopback address (anyone who reaches the port can watch); ' +
        'without it, such a server gets a generated token',
    )
    .addOption(
      new Option(
        '--cert <file>',
        'serve https and wss with this PEM certificate (full chain); with --key',
      ).env('RTC_PEER_CERT'),
    )
    .addOption(
      new Option('--key <file>', 'the PEM private key of --cert; SIGHUP reloads both').env('RTC_PEER_KEY'),
    )
    .option('--json', 'print the listening line as JSON')
    .addHelpText(
      'after',
      `
Examples:
  rtc-peer signal
  rtc-peer signal --host 127.0.0.1 --port 0        # loopback only: no token needed
  rtc-peer signal --host 0.0.0.0 --open            # the LAN, without a token (explicitly)
  rtc-peer signal --max-viewers 8
  rtc-peer signal --limit connectionsPerAddress=64 --limit heldBytes=256Mi
  RTC_PEER_TOKEN=s3cret rtc-peer signal --host 0.0.0.0 --port 8443
  rtc-peer signal --redis redis://10.0.0.5:6379      # one of several servers (docs/deploy.md)
  rtc-peer signal --turn-url turn:turn.example.org:3478 --turn-secret-file turn-secret   # expiring TURN
  rtc-peer signal --cert cert.pem --key key.pem      # https and wss; kill -HUP reloads the certificate`,
    )
    .action((flags: SignalFlags) => done(runSignal(flags)));
}

async function runSignal(flags: SignalFlags): Promise<number> {
  // SIGHUP (a closed terminal, or an operator's reload) does not end the server; installed before the
  // listening line, which is when a supervisor may start sending signals. With --cert, it reloads the
  // certificate (connections in progress keep theirs).
  let reload = (): void => undefined;
  const onHangup = (): void => reload();
  process.on('SIGHUP', onHangup);
  if ((flags.cert === undefined) !== (flags.key === undefined)) {
    throw new TypeError(
      `${flags.cert === undefined ? '--key' : '--cert'} needs ${flags.cert === undefined ? '--cert' : '--key'}: ` +
        'TLS takes both the certificate and its private key',
    );
  }
  const port = parsePort('--port', flags.port);
  const maxViewers = parsePositiveInteger('--max-viewers', flags.maxViewers);
  const limits: Partial<SignalLimits> = Object.fromEntries(flags.limit.map((l) => parseLimit(l)));
  const tokenSecret = readSecret(flags.tokenSecretFile, TOKEN_SECRET_ENV, '--token-secret-file');
  const turn = turnFromFlags(flags);
  // Safe default (issue 15), as Jupyter does: a server others can reach gets a token unless --open says
  // otherwise; a generated one is printed with ready-to-use page links.
  if (flags.token !== undefined && flags.open === true) {
    throw new TypeError('--open and --token contradict each other: --open serves without a token');
  }
  const generated =
    flags.token === undefined && tokenSecret === undefined && flags.open !== true && !isLoopback(flags.host)
      ? randomBytes(18).toString('base64url')
      : undefined;
  const token = flags.token ?? generated;
  // The browser page at / speaks the same protocol (watch: /?room=NAME, call: &role=call).
  const server = await startSignalServer({
    host: flags.host,
    port,
    token,
    tokenSecret,
    ...(turn !== undefined ? { turn } : {}),
    maxViewers,
    redis: flags.redis,
    limits,
    allowOrigin: flags.allowOrigin.includes('*') ? '*' : checkAllowedOrigins(flags.allowOrigin),
    // Refused connections and messages, one line each (rate-limited): an operator sees an attack.
    securityLog: (line) => process.stderr.write(`rtc-peer: security: ${line}\n`),
    httpHandler: webPageHandler(),
    ...(flags.cert !== undefined && flags.key !== undefined
      ? { tls: { certFile: flags.cert, keyFile: flags.key } }
      : {}),
  });
  if (server.certificate !== undefined) {
    reload = () => {
      try {
        const next = server.reloadTls();
        const event = { event: 'certificate', names: next.names, validTo: next.validTo.toISOString() };
        if (flags.json) process.stdout.write(`${JSON.stringify(event)}\n`);
        process.stderr.write(
          `rtc-peer: signal: certificate reloaded (${next.names}, valid to ${event.validTo})\n`,
        );
        for (const warning of next.warnings) process.stderr.write(`rtc-peer: warning: ${warning}\n`);
      } catch (error) {
        process.stderr.write(
          `rtc-peer: signal: certificate NOT reloaded, still serving the previous one: ${(error as Error).message}\n`,
        );
      }
    };
  }
  for (const warning of server.warnings) process.stderr.write(`rtc-peer: warning: ${warning}\n`);
  // With --redis: say when this server stops being able to serve (Redis away) and when it can again.
  server.events.on('readiness', (ready: boolean, reason: string) => {
    if (flags.json) process.stdout.write(`${JSON.stringify({ event: 'readiness', ready, reason })}\n`);
    process.stderr.write(`rtc-peer: signal: ${ready ? 'ready' : 'NOT READY'}: ${reason}\n`);
  });
  // Where this machine and others reach it: the page's URLs, as Vite prints Local and Network.
  const urls = listenUrls(
    server.host,
    server.port,
    networkInterfaces(),
    server.certificate === undefined ? 'http' : 'https',
  );
  process.stdout.write(
    flags.json
      ? `${JSON.stringify({ ...listeningEvent(server.url, urls), ...(generated ? { token: generated } : {}) })}\n`
      : listeningText(server.url, urls, generated),
  );
  const stop = onTermination();
  await new Promise<void>((resolve) =>
    stop.signal.addEventListener('abort', () => resolve(), { once: true }),
  );
  stop.dispose();
  process.off('SIGHUP', onHangup);
  await server.close();
  if (!flags.json) process.stdout.write('signaling server stopped\n');
  return ExitCode.OK;
}

/**
 * `--turn-url`, `--turn-secret-file` (or {@link TURN_SECRET_ENV}) and `--turn-ttl` into the server's `turn`
 * option; the URLs themselves are checked by the server. A TypeError (exit 2) names the flag at fault.
 */
export function turnFromFlags(
  flags: Pick<SignalFlags, 'turnUrl' | 'turnSecretFile' | 'turnTtl'>,
): TurnOptions | undefined {
  if (flags.turnUrl.length === 0) {
    const lone =
      flags.turnSecretFile !== undefined
        ? '--turn-secret-file'
        : flags.turnTtl !== undefined
          ? '--turn-ttl'
          : undefined;
    if (lone !== undefined)
      throw new TypeError(`${lone} needs --turn-url: name the TURN server the credentials are for`);
    return undefined;
  }
  const where =
    flags.turnSecretFile !== undefined ? `--turn-secret-file ${flags.turnSecretFile}` : TURN_SECRET_ENV;
  const secret = readSecret(flags.turnSecretFile, TURN_SECRET_ENV, '--turn-secret-file', (value) => {
    try {
      checkTurnSecret(value);
    } catch (error) {
      throw new TypeError(`${where}: ${(error as Error).message}`, { cause: error });
    }
  });
  if (secret === undefined) {
    throw new TypeError(
      `--turn-url needs coturn's static-auth-secret: --turn-secret-file FILE or ${TURN_SECRET_ENV} ` +
        '(not on the command line, where every user of the machine can read it)',
    );
  }
  if (flags.turnTtl === undefined) return { urls: flags.turnUrl, secret };
  return { urls: flags.turnUrl, secret, ttlSeconds: parseTurnTtl(flags.turnTtl) };
}

function parseTurnTtl(text: string): number {
  try {
    return parseTtl(text);
  } catch (error) {
    throw new TypeError(
      `--turn-ttl ${JSON.stringify(text)}: expected a positive duration such as 90s, 15m, 1h, 2d`,
      {
        cause: error,
      },
    );
  }
}
