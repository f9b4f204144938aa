#!/usr/bin/env node
/**
 * The `rtc-peer` command: parse, run the command (`cli/program.ts`, `cli/commands/`), exit with a documented
 * code. Everything it runs lives in the rooms: src/signal, src/capture, src/record, src/peer.
 */
import { ExitCode } from './cli/exit-codes.js';
import { runCli } from './cli/program.js';
import { awaitGo, startHeartbeat, watchSupervisor } from './cli/supervised.js';

// Under `rtc-peer ... --restart`, this process is the supervised peer: it ends when its supervisor is gone,
// it may be started ahead, in standby (its modules loaded), to run when the supervisor says so, and once it
// runs it tells the supervisor that its main thread turns (the supervisor's watchdog).
watchSupervisor();
const extra = await awaitGo();
startHeartbeat();

// An explicit exit after everything is closed: @roamhq/wrtc can crash in its native teardown when the
// process ends by draining its event loop (see README, "Exit codes").
runCli([...process.argv, ...extra]).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(
      `rtc-peer: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(ExitCode.FAILURE);
  },
);
