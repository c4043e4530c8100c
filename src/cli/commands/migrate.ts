import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { Command } from "commander";
import { MigrationError } from "../../mirror/errors.ts";
import { migrateBottlesHash } from "../../mirror/migrate.ts";
import { newRunId } from "../../mirror/report.ts";
import { openDestination, resolveMirror, splitList, upstreamClients } from "../../mirror/setup.ts";
import { errorMessage } from "../../shared/errors.ts";
import type { CliContext } from "../context.ts";
import { addMirrorOptions, mirrorFlags } from "./sync.ts";

/**
 * `hbsync migrate --from bottles_hash.json --dest …`: adopt bottles the original Python system already
 * mirrored, after checking each against the verified index and re-hashing the stored bytes.
 */
export function register(program: Command, ctx: CliContext): void {
  const command = new Command("migrate")
    .description(
      "Import the original system's bottles_hash.json: adopt stored bottles after a sha256 re-hash",
    )
    .requiredOption("--from <file>", "the original system's bottles_hash.json")
    .option(
      "--legacy-prefix <a,b>",
      "also look for bottle files under these store prefixes (copied into bottles/)",
      "",
    );
  addMirrorOptions(command).action(async (_options: unknown, self: Command) => {
    const flags = mirrorFlags(self);
    const { from, legacyPrefix } = self.opts<{ from: string; legacyPrefix: string }>();
    let legacy: string;
    try {
      legacy = await readFile(resolve(ctx.cwd, from), "utf8");
    } catch (error) {
      throw new MigrationError(`cannot read ${from}: ${errorMessage(error)}`, {
        kind: "usage",
        fix: "pass --from the path of the original system's bottles_hash.json",
      });
    }
    const resolved = await resolveMirror(flags, ctx.cwd);
    const { api } = await upstreamClients(resolved.upstream, ctx.cwd, ctx.env);
    const index = await api.fetchIndex();
    const store = openDestination(resolved.dest, ctx.cwd, ctx.env);
    try {
      const report = await migrateBottlesHash({
        store,
        formulae: index.formulae,
        tags: resolved.settings.tags,
        legacy,
        fileName: from,
        runId: newRunId(),
        legacyPrefixes: splitList(legacyPrefix),
      });
      if (flags.json) {
        ctx.output.json(report);
        return;
      }
      const c = report.counts;
      ctx.output.out(
        `${from}: ${report.entries} entries — adopted ${c.adopted}, already mirrored ${c["already-mirrored"]}, ` +
          `absent ${c.absent} (the next sync downloads them), stale ${c.stale}, unknown ${c.unknown}, ` +
          `mismatched ${c.mismatch}, invalid ${c.invalid}`,
      );
      for (const detail of report.details
        .filter((d) => d.outcome === "mismatch" || d.outcome === "invalid")
        .slice(0, 20)) {
        ctx.output.err(`${detail.outcome}: ${detail.id}${detail.reason ? ` (${detail.reason})` : ""}`);
      }
    } finally {
      await store.close?.();
    }
  });
  program.addCommand(command);
}
