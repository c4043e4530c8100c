import { Command } from "commander";
import { VerifyFailedError } from "../../mirror/errors.ts";
import { openExistingDestination, parseTagsFlag, resolveMirror } from "../../mirror/setup.ts";
import { loadState } from "../../mirror/state.ts";
import {
  describeProblem,
  recordedObjects,
  summarizeVerify,
  type VerifyProblem,
  type VerifyReport,
  verifyMirror,
} from "../../mirror/verify.ts";
import type { BlobStore } from "../../storage/blob-store.ts";
import type { CliContext } from "../context.ts";
import { EXIT } from "../exit-codes.ts";
import { addMirrorOptions, mirrorFlags, runSync } from "./sync.ts";

interface VerifyFlags {
  concurrency: string;
  repair?: boolean;
}

/**
 * `hbsync verify --dest …`: re-hash every object the state records; exit 1 on any problem. With
 * `--repair`, a sync then fetches again every object that did not match (the mirror flags say from
 * where), and the command exits 0 only when each one is right again.
 */
export function register(program: Command, ctx: CliContext): void {
  const command = new Command("verify")
    .description(
      "Re-hash every object against _sync/state.json; exit 1 on any missing or corrupted object (--repair re-fetches them)",
    )
    .option("--concurrency <n>", "objects re-hashed at once", "4")
    .option(
      "--repair",
      "re-fetch every missing or corrupted object with a sync (config and --upstream-… flags as for sync)",
    );
  addMirrorOptions(command).action(async (_options: unknown, self: Command) => {
    const flags = mirrorFlags(self);
    const verifyFlags = self.opts<VerifyFlags>();
    // Without --repair nothing is fetched, so config.yaml is not read; a --tags typo is still an error.
    if (!verifyFlags.repair && flags.tags !== undefined) parseTagsFlag(flags.tags);
    const resolved = verifyFlags.repair ? await resolveMirror(flags, ctx.cwd) : undefined;
    for (const warning of resolved?.warnings ?? []) ctx.output.err(`warning: ${warning}`);
    const dest = flags.dest ?? "./mirror";
    const concurrency = Number(verifyFlags.concurrency);
    const store = await openExistingDestination(dest, ctx.cwd, ctx.env);
    try {
      const verify = (keys?: ReadonlySet<string>): Promise<VerifyReport> =>
        verifyMirror({
          store,
          concurrency: Number.isInteger(concurrency) && concurrency > 0 ? concurrency : 4,
          ...(keys ? { keys } : {}),
        });
      const report = await verify();
      if (!resolved || report.problems.length === 0) {
        printVerify(ctx, report, Boolean(flags.json));
        if (report.problems.length > 0) {
          if (flags.json) ctx.exitCode = EXIT.FAILED;
          else throw new VerifyFailedError(report.problems.length, report.location, dest);
        }
        return;
      }
      if (!flags.json) {
        printVerify(ctx, report, false);
        ctx.output.err(`repair: fetching ${report.problems.length} object(s) again with a sync`);
      }
      const sync = await runSync(ctx, resolved, store, {
        print: flags.json ? "none" : "text",
        forget: report.problems.map((problem) => problem.key),
      });
      const after = await afterRepair(store, report.problems, verify);
      if (flags.json) {
        ctx.output.json({ ...report, repair: { sync, ...after } });
      } else {
        for (const problem of after.remaining) ctx.output.err(`still damaged: ${describeProblem(problem)}`);
        ctx.output.out(
          `repaired ${after.repaired.length} of ${report.problems.length} damaged objects` +
            (after.removed.length > 0
              ? `; removed ${after.removed.length} the index no longer names (nothing can fetch them again)`
              : ""),
        );
      }
      if (sync.status === "failed" || after.remaining.length > 0) ctx.exitCode = EXIT.FAILED;
    } finally {
      await store.close?.();
    }
  });
  program.addCommand(command);
}

function printVerify(ctx: CliContext, report: VerifyReport, json: boolean): void {
  if (json) {
    ctx.output.json(report);
    return;
  }
  for (const problem of report.problems) ctx.output.err(describeProblem(problem));
  ctx.output.out(summarizeVerify(report));
}

/**
 * After the repair sync, each damaged object is one of: repaired (recorded again, and its bytes match),
 * removed (pruned: the index no longer names it, so nothing could fetch it again), or remaining (still
 * wrong, or not fetched: the sync's errors say why).
 */
async function afterRepair(
  store: BlobStore,
  problems: readonly VerifyProblem[],
  verify: (keys: ReadonlySet<string>) => Promise<VerifyReport>,
): Promise<{ repaired: string[]; removed: string[]; remaining: VerifyProblem[] }> {
  const again = await verify(new Set(problems.map((problem) => problem.key)));
  const wrong = new Map(again.problems.map((problem) => [problem.key, problem]));
  const recorded = new Set(recordedObjects(await loadState(store)).map((object) => object.key));
  const result = { repaired: [] as string[], removed: [] as string[], remaining: [] as VerifyProblem[] };
  for (const problem of problems) {
    const still = wrong.get(problem.key);
    if (still) result.remaining.push(still);
    else if (recorded.has(problem.key)) result.repaired.push(problem.key);
    else if ((await store.stat(problem.key)) === null) result.removed.push(problem.key);
    else result.remaining.push(problem);
  }
  return result;
}
