import { access } from "node:fs/promises";
import { resolve } from "node:path";
import type { Command } from "commander";
import { formatDiagnostic } from "../../config/diagnostics.ts";
import { loadConfigOrThrow } from "../../config/load.ts";
import type { PipelineConfig } from "../../config/types.ts";
import { openDestination } from "../../mirror/setup.ts";
import { DeploymentLedger } from "../../pipeline/ledger.ts";
import { UsageError } from "../../shared/errors.ts";
import { humanBytes, humanDuration } from "../../status/format.ts";
import { collectStatus } from "../../status/model.ts";
import { writeStatusFolder, writeStatusObjects } from "../../status/publish.ts";
import type { CliContext } from "../context.ts";

interface ReportFlags {
  dest: string;
  out: string;
  config: string;
  ledger?: string;
  env?: string[];
  staleAfter: string;
  json?: boolean;
}

/**
 * `hbsync report --dest … --out DIR`: the status page as static files (index.html, status.css,
 * status.json) to publish beside the mirror, e.g. in the same bucket.
 */
export function register(program: Command, ctx: CliContext): void {
  program
    .command("report")
    .description(
      "Write the mirror's status page (freshness, bottles per tag, runs, deployments, costs) as static index.html, status.css and status.json",
    )
    .option("--dest <dir|s3://bucket/prefix>", "the mirror to report on", "./mirror")
    .requiredOption("--out <dir|s3://bucket/prefix>", "where to write index.html, status.css and status.json")
    .option("--config <path>", "config file (for the cost estimate and the environment names)", "config.yaml")
    .option("--ledger <dir|s3://bucket/prefix>", "the deployment ledger to show")
    .option(
      "--env <name>",
      "environment to show in the ledger section (repeatable; default: the config's, then any other the ledger has)",
      (value: string, previous: string[] | undefined) => [...(previous ?? []), value],
    )
    .option("--stale-after <hours>", "hours without a successful sync after which the mirror is stale", "48")
    .option("--json", "print one JSON document (the files written and the health)")
    .action(async (flags: ReportFlags, command: Command) => {
      const staleAfterHours = Number(flags.staleAfter);
      if (!Number.isFinite(staleAfterHours) || staleAfterHours <= 0) {
        throw new UsageError(
          `--stale-after ${JSON.stringify(flags.staleAfter)} is not a positive number of hours`,
          {
            fix: "give hours, e.g. --stale-after 26 for a daily schedule",
          },
        );
      }
      const config = await loadOptionalConfig(
        flags.config,
        command.getOptionValueSource("config") === "cli",
        ctx,
      );
      const store = await openDestination(flags.dest, ctx.cwd);
      const ledgerStore =
        flags.ledger === undefined ? undefined : await openDestination(flags.ledger, ctx.cwd);
      try {
        const ledger = ledgerStore ? new DeploymentLedger(ledgerStore) : undefined;
        const model = await collectStatus({
          store,
          now: new Date(),
          staleAfterSeconds: Math.round(staleAfterHours * 3600),
          ...(ledger ? { ledger } : {}),
          ...(config ? { config } : {}),
          ...(flags.env ? { environments: flags.env } : {}),
        });
        const files = await writeFiles(model, flags.out, ctx.cwd);
        if (flags.json) {
          ctx.output.json({ out: flags.out, files, health: model.health, freshness: model.freshness });
        } else {
          const f = model.freshness;
          ctx.output.out(`hbsync report: ${store.location} → ${flags.out}`);
          for (const file of files) ctx.output.out(`  wrote ${file}`);
          ctx.output.out(
            `${model.health.status}: ${model.mirror.bottles} bottles (${humanBytes(model.mirror.bytes)}) over ${model.mirror.tags.length} tag(s); last successful sync ${f.lastSuccessfulSyncAt === null ? "never" : `${humanDuration(f.ageSeconds ?? 0)} ago`}`,
          );
          for (const problem of model.problems) ctx.output.err(`warning: ${problem}`);
        }
      } finally {
        await store.close?.();
        await ledgerStore?.close?.();
      }
    });
}

async function writeFiles(
  model: Awaited<ReturnType<typeof collectStatus>>,
  out: string,
  cwd: string,
): Promise<string[]> {
  if (!out.startsWith("s3://")) return writeStatusFolder(model, resolve(cwd, out));
  const target = await openDestination(out, cwd);
  try {
    return await writeStatusObjects(model, target);
  } finally {
    await target.close?.();
  }
}

/** config.yaml when given with --config, or when the default one exists; otherwise none. */
export async function loadOptionalConfig(
  path: string,
  explicit: boolean,
  ctx: CliContext,
): Promise<PipelineConfig | undefined> {
  const exists = await access(resolve(ctx.cwd, path)).then(
    () => true,
    () => false,
  );
  if (!exists && !explicit) return undefined;
  const { config, warnings } = await loadConfigOrThrow(path, { cwd: ctx.cwd });
  for (const warning of warnings) ctx.output.err(formatDiagnostic(warning));
  return config;
}
