import { Command } from "commander";
import { type LeaseDocument, LOCK_KEY, releaseLock } from "../../mirror/lock.ts";
import { openDestination } from "../../mirror/setup.ts";
import type { CliContext } from "../context.ts";
import { EXIT } from "../exit-codes.ts";

interface UnlockFlags {
  dest: string;
  force?: boolean;
  json?: boolean;
}

/**
 * `hbsync unlock --dest … [--force]`: shows who holds `_sync/lock` and releases it. A holder that
 * still looks alive (its lease unexpired and its process not known to be gone) is left alone without
 * --force (exit 75): releasing a running sync's lease lets a second one run beside it.
 */
export function register(program: Command, ctx: CliContext): void {
  program
    .command("unlock")
    .description(
      "Show who holds the sync lock (_sync/lock) and release it; --force for a holder that looks alive",
    )
    .option("--dest <dir|s3://bucket/prefix>", "the mirror", "./mirror")
    .option("--force", "release even if the holder looks alive (make sure it is not running)")
    .option("--config <path>", "config file (unused; accepted for a uniform command line)")
    .option("--env <name>", "environment (unused; accepted for a uniform command line)")
    .option("--json", "print one JSON document")
    .action(async (flags: UnlockFlags) => {
      const store = openDestination(flags.dest, ctx.cwd, ctx.env);
      try {
        const result = await releaseLock(store, { force: Boolean(flags.force) });
        const refused = result.holder !== null && !result.released;
        if (refused) ctx.exitCode = EXIT.LOCKED;
        if (flags.json) {
          ctx.output.json(result);
          return;
        }
        if (result.holder === null) {
          ctx.output.out(`no lease: ${LOCK_KEY} is absent in ${store.location}`);
          return;
        }
        ctx.output.out(`${LOCK_KEY} in ${store.location}: ${describeHolder(result.holder)}`);
        ctx.output.out(`state: ${result.state?.state} (${result.state?.reason})`);
        if (result.released) ctx.output.out(`released ${LOCK_KEY}`);
        else {
          ctx.output.err(
            `error: not released: the holder looks alive (${result.state?.reason}); if you are sure it is not running, re-run with --force`,
          );
        }
      } finally {
        await store.close?.();
      }
    });
}

function describeHolder(holder: LeaseDocument): string {
  const process = holder.process
    ? `, process ${holder.process.pid} on ${holder.process.host}${holder.process.startTime ? ` (started at tick ${holder.process.startTime})` : ""}`
    : "";
  return `run ${holder.runId}, owner ${holder.owner}${process}, expires ${holder.expiresAt}`;
}
