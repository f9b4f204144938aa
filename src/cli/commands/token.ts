/** `rtc-peer token`: prints a room-scoped, expiring token for a server started with a token secret. */
import { Command, Option } from 'commander';
import { parseTtl, readSecret, signRoomToken, type TokenRole } from '../../signal/room-token.js';
import { ExitCode } from '../exit-codes.js';

/** The environment variable holding the token secret, for `token` and `signal`. */
export const TOKEN_SECRET_ENV = 'RTC_PEER_TOKEN_SECRET';

interface TokenFlags {
  room: string;
  role: TokenRole;
  ttl: string;
  tokenSecretFile?: string;
}

/** `rtc-peer token`; `done` gets its exit code. */
export function tokenCommand(done: (code: Promise<number>) => void): Command {
  return new Command('token')
    .description('print a signed token that admits one room and one role until it expires (HS256 JWT)')
    .requiredOption('--room <name>', 'the room the token admits (exactly this name)')
    .addOption(
      new Option(
        '--role <role>',
        'the role it admits: caller (rtc-peer call) or answerer (rtc-peer answer, a viewer)',
      )
        .choices(['caller', 'answerer'])
        .makeOptionMandatory(),
    )
    .option('--ttl <duration>', 'how long it is valid: 90s, 15m, 1h, 2d', '1h')
    .option(
      '--token-secret-file <file>',
      `the server's token secret (at least 32 bytes); else the environment variable ${TOKEN_SECRET_ENV}`,
    )
    .addHelpText(
      'after',
      `
The secret is never taken from the command line (other users of the machine can read it there).

Examples:
  openssl rand -base64 48 > secret                            # once, for the server and the token maker
  rtc-peer token --room lab --role caller --ttl 1h --token-secret-file secret
  RTC_PEER_TOKEN_SECRET=... rtc-peer token --room lab --role answerer --ttl 15m`,
    )
    .action((flags: TokenFlags) => {
      done(
        (async () => {
          const ttlSeconds = parseTtl(flags.ttl);
          const secret = readSecret(flags.tokenSecretFile, TOKEN_SECRET_ENV, '--token-secret-file');
          if (secret === undefined) {
            throw new TypeError(
              `no token secret: pass --token-secret-file FILE or set ${TOKEN_SECRET_ENV} (the server's secret)`,
            );
          }
          const token = await signRoomToken(secret, { room: flags.room, role: flags.role, ttlSeconds });
          process.stdout.write(`${token}\n`);
          return ExitCode.OK;
        })(),
      );
    });
}
