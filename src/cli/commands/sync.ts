import cliProgress from "cli-progress";
import { Command } from "commander";
import type { SyncProgress } from "../../mirror/progress.ts";
import {
  formatBytes,
  missingDependencyLines,
  newRunId,
  type RunReport,
  summarize,
} from "../../mirror/report.ts";
import {
  brewGitWorkDir,
  type MirrorFlags,
  openDestination,
  type ResolvedMirror,
  resolveMirror,
  upstreamClients,
} from "../../mirror/setup.ts";
import { syncMirror } from "../../mirror/sync.ts";
import { onUnexpectedError } from "../../shared/process-guard.ts";
import type { BlobStore } from "../../storage/blob-store.ts";
import type { CliContext } from "../context.ts";
import { EXIT } from "../exit-codes.ts";
import type { Output } from "../output.ts";

/** The flags every mirror command shares (DESIGN.md §8). */
export function addMirrorOptions(command: Command): Command {
  return command
    .option("--config <path>", "config file", "config.yaml")
    .option("--env <name>", "environment (checked against config.yaml)")
    .option("--dest <dir|s3://bucket/prefix>", "the mirror: a folder or s3://bucket/prefix", "./mirror")
    .option("--tags <a,b>", "bottle tags to mirror (overrides mirror.tags)")
    .option("--upstream-api <url>", "Homebrew API base URL (overrides mirror.upstream.api)")
    .option("--upstream-registry <url>", "OCI registry base URL (overrides mirror.upstream.registry)")
    .option("--trusted-key <pem>", "`builtin` or a PEM file the API must be signed with")
    .option("--checkers <n>", "concurrent manifest requests (overrides mirror.concurrency.checkers)")
    .option("--transfers <n>", "concurrent bottle transfers (overrides mirror.concurrency.transfers)")
    .option("--json", "print one JSON document");
}

/** Mirror flags from a command, with whether --config was given explicitly. */
export function mirrorFlags(command: Command): MirrorFlags & { json?: boolean } {
  const options = command.opts<MirrorFlags & { json?: boolean }>();
  return { ...options, configExplicit: command.getOptionValueSource("config") === "cli" };
}

interface SyncFlags {
  dryRun?: boolean;
  runId?: string;
  verifyExisting?: boolean;
  replan?: boolean;
}

export function register(program: Command, ctx: CliContext): void {
  const command = new Command("sync")
    .description("Mirror the bottles and the signed API: plan, transfer, publish the API last, prune")
    .option("--dry-run", "plan and print what would move; write nothing")
    .option("--run-id <id>", "run id (default: time-based)")
    .option(
      "--verify-existing",
      "re-hash every object already mirrored first, and fetch again each one whose bytes do not match",
    )
    .option(
      "--replan",
      "plan from the parsed index even when the last run settled the mirror for the same signed index and selection",
    )
    .option(
      "--upstream-brew-git <url>",
      "brew's git repository to mirror when mirror.brew_git is true (overrides mirror.upstream.brew_git)",
    );
  addMirrorOptions(command).action(async (_options: SyncFlags, self: Command) => {
    const flags = mirrorFlags(self);
    const syncFlags = self.opts<SyncFlags>();
    const resolved = await resolveMirror(flags, ctx.cwd);
    for (const warning of resolved.warnings) ctx.output.err(`warning: ${warning}`);
    const store = openDestination(resolved.dest, ctx.cwd, ctx.env);
    try {
      const report = await runSync(ctx, resolved, store, {
        print: flags.json ? "json" : "text",
        dryRun: Boolean(syncFlags.dryRun),
        verifyExisting: Boolean(syncFlags.verifyExisting),
        replan: Boolean(syncFlags.replan),
        brewGit: true,
        ...(syncFlags.runId ? { runId: syncFlags.runId } : {}),
      });
      if (report.status === "failed") ctx.exitCode = EXIT.FAILED;
    } finally {
      await store.close?.();
    }
  });
  program.addCommand(command);
}

export interface RunSyncOptions {
  /** stdout: the report as JSON, the summary lines, or nothing (a caller that prints its own). */
  print: "json" | "text" | "none";
  dryRun?: boolean;
  runId?: string;
  verifyExisting?: boolean;
  /** Plan in full even when the mirror is settled for these inputs (src/mirror/settled.ts). */
  replan?: boolean;
  /** Recorded keys known to be damaged (verify --repair). */
  forget?: readonly string[];
  /** Run the brew git phase when mirror.brew_git is on (`sync`; not `verify --repair`). */
  brewGit?: boolean;
}

/**
 * One sync into an open store, with progress on stderr and the summary (or `--json`, the report) on
 * stdout; a failed run also prints why and what to do. Shared by `sync` and `verify --repair`.
 */
export async function runSync(
  ctx: CliContext,
  resolved: ResolvedMirror,
  store: BlobStore,
  options: RunSyncOptions,
): Promise<RunReport> {
  const { api, registry } = await upstreamClients(resolved.upstream, ctx.cwd, ctx.env);
  const controller = new AbortController();
  const onSignal = (): void => controller.abort(new Error("interrupted"));
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  // An error outside any await chain (src/shared/process-guard.ts) stops this run as failed.
  const stopWatching = onUnexpectedError((error) => controller.abort(error));
  const progress = progressReporter(ctx.output, options.print === "json");
  try {
    const runId = options.runId ?? newRunId();
    const { report, plan } = await syncMirror({
      store,
      api,
      registry,
      settings: resolved.settings,
      runId,
      dryRun: Boolean(options.dryRun),
      onProgress: progress.onProgress,
      signal: controller.signal,
      ...(options.verifyExisting ? { verifyExisting: true } : {}),
      ...(options.replan ? { replan: true } : {}),
      ...(options.forget ? { forget: options.forget } : {}),
      ...(options.brewGit && resolved.brewGit && !options.dryRun
        ? {
            brewGit: {
              upstream: resolved.brewGit.upstream,
              workDir: brewGitWorkDir(store.location, resolved.brewGit.upstream, ctx.env),
            },
          }
        : {}),
    });
    progress.stop();
    if (options.print === "json") {
      ctx.output.json(options.dryRun ? { ...report, byTag: plan.byTag } : report);
    } else if (options.print === "text") {
      ctx.output.out(`hbsync sync ${report.runId} → ${store.location}`);
      if (options.dryRun) {
        ctx.output.out(
          `would transfer ${plan.transfers.length} bottles (${formatBytes(plan.totals.bytes)}), keep ${plan.keeps.length}, supersede ${plan.supersede.length}, prune ${plan.prunes.length}`,
        );
      }
      ctx.output.out(summarize(report));
      for (const rejected of report.rejected.slice(0, 20)) {
        ctx.output.err(`rejected ${JSON.stringify(rejected.name)}: ${rejected.reason}`);
      }
      for (const line of missingDependencyLines(report.missingDependencies ?? [])) ctx.output.err(line);
      // The same message for many keys (an aborted run's "not started") is one line with a count.
      const byMessage = new Map<string, number>();
      for (const error of report.errors)
        byMessage.set(error.message, (byMessage.get(error.message) ?? 0) + 1);
      const lines = [...byMessage].map(([message, count]) =>
        count > 1 ? `${message} (×${count})` : message,
      );
      for (const line of lines.slice(0, 20)) ctx.output.err(`error: ${line}`);
      if (lines.length > 20) ctx.output.err(`… and ${lines.length - 20} more errors`);
    }
    if (report.status === "failed") {
      const onlyGit = report.git?.status === "failed" && report.errors.length === 1;
      ctx.output.err(
        onlyGit
          ? `error: the sync failed in its brew git phase only: the bottles and the API were published, and clients keep the git refs published before. See _sync/runs/${report.runId}.json, then re-run.`
          : `error: the sync failed; the API was not published and nothing was pruned. See _sync/runs/${report.runId}.json, then re-run (completed bottles are kept).`,
      );
    }
    return report;
  } finally {
    progress.stop();
    stopWatching();
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

/** A cli-progress bar (bytes, rate, ETA) on a TTY; otherwise a plain line every ~10% or on each phase. */
function progressReporter(
  output: Output,
  json: boolean,
): { onProgress: (event: SyncProgress) => void; stop: () => void } {
  let bar: cliProgress.SingleBar | undefined;
  let lastPercent = -10;
  let stopped = false;
  const stop = (): void => {
    if (bar && !stopped) bar.stop();
    stopped = true;
  };
  const onProgress = (event: SyncProgress): void => {
    if (event.type === "phase") {
      if (event.phase === "done") return;
      if (!bar) output.err(`${event.phase}: ${event.detail ?? ""}`.trim());
      return;
    }
    if (event.type === "retry") {
      if (!bar) output.err(`retry ${event.attempt} in ${Math.round(event.delayMs)} ms: ${event.error}`);
      return;
    }
    if (event.type === "file") {
      if (event.outcome === "failed" && !bar) output.err(`failed: ${event.error ?? event.key}`);
      return;
    }
    if (output.isTTY && !json) {
      if (!bar && !stopped) {
        bar = new cliProgress.SingleBar(
          {
            format:
              "{bar} {percentage}% | {done}/{files} bottles | {value_h}/{total_h} | {rate}/s | ETA {eta_formatted}",
            hideCursor: true,
            stream: process.stderr,
            etaBuffer: 50,
            formatValue: (value, _options, type) =>
              type === "value" || type === "total" ? formatBytes(value) : String(value),
          },
          cliProgress.Presets.shades_classic,
        );
        bar.start(Math.max(event.totalBytes, 1), 0, {
          done: 0,
          files: event.total,
          rate: "0 B",
          value_h: "0 B",
          total_h: formatBytes(event.totalBytes),
        });
        startedAt = Date.now();
      }
      const seconds = Math.max((Date.now() - startedAt) / 1000, 0.001);
      // The total grows while manifests read beside the transfers size their bottles.
      if (bar && bar.getTotal() !== Math.max(event.totalBytes, 1))
        bar.setTotal(Math.max(event.totalBytes, 1));
      bar?.update(Math.min(event.bytes, Math.max(event.totalBytes, 1)), {
        done: event.done,
        files: event.total,
        rate: formatBytes(Math.round(event.bytes / seconds)),
        value_h: formatBytes(event.bytes),
        total_h: formatBytes(event.totalBytes),
      });
      return;
    }
    const percent = event.total === 0 ? 100 : Math.floor((event.done / event.total) * 100);
    if (percent >= lastPercent + 10 || event.done === event.total) {
      lastPercent = percent;
      output.err(
        `transfers: ${event.done}/${event.total} bottles, ${formatBytes(event.bytes)} of ${formatBytes(event.totalBytes)}`,
      );
    }
  };
  let startedAt = Date.now();
  return { onProgress, stop };
}
