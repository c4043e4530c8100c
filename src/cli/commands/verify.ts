import { Command } from "commander";
import { VerifyFailedError } from "../../mirror/errors.ts";
import { openDestination } from "../../mirror/setup.ts";
import { describeProblem, verifyMirror } from "../../mirror/verify.ts";
import type { CliContext } from "../context.ts";

interface VerifyFlags {
  dest: string;
  concurrency: string;
  json?: boolean;
}

/** `hbsync verify --dest …`: re-hash every object the state records; exit 1 on any problem. */
export function register(program: Command, ctx: CliContext): void {
  program
    .command("verify")
    .description(
      "Re-hash every mirrored object against _sync/state.json; exit 1 on any missing or corrupted object",
    )
    .option("--dest <dir|s3://bucket/prefix>", "the mirror", "./mirror")
    .option("--concurrency <n>", "objects re-hashed at once", "4")
    .option("--config <path>", "config file (unused; accepted for a uniform command line)")
    .option("--env <name>", "environment (unused; accepted for a uniform command line)")
    .option("--json", "print one JSON document")
    .action(async (flags: VerifyFlags) => {
      const concurrency = Number(flags.concurrency);
      const store = openDestination(flags.dest, ctx.cwd, ctx.env);
      try {
        const report = await verifyMirror({
          store,
          concurrency: Number.isInteger(concurrency) && concurrency > 0 ? concurrency : 4,
        });
        if (flags.json) ctx.output.json(report);
        else {
          for (const problem of report.problems) ctx.output.err(describeProblem(problem));
          ctx.output.out(`verified ${report.ok} of ${report.checked} objects in ${report.location}`);
        }
        if (report.problems.length > 0) {
          if (flags.json) ctx.exitCode = 1;
          else throw new VerifyFailedError(report.problems.length, report.location);
        }
      } finally {
        await store.close?.();
      }
    });
}
