import { Command } from "commander";
import { prepareSync } from "../../mirror/prepare.ts";
import { formatBytes, newRunId } from "../../mirror/report.ts";
import { openDestination, resolveMirror, upstreamClients } from "../../mirror/setup.ts";
import type { CliContext } from "../context.ts";
import { addMirrorOptions, mirrorFlags } from "./sync.ts";

/** `hbsync plan`: what a sync would move (bottles and bytes per tag), without writing anything. */
export function register(program: Command, ctx: CliContext): void {
  const command = new Command("plan").description(
    "Show what a sync would move: bottles and bytes per tag, keeps, superseded and pruned (writes nothing)",
  );
  addMirrorOptions(command).action(async (_options: unknown, self: Command) => {
    const flags = mirrorFlags(self);
    const resolved = await resolveMirror(flags, ctx.cwd);
    for (const warning of resolved.warnings) ctx.output.err(`warning: ${warning}`);
    const { api, registry } = await upstreamClients(resolved.upstream, ctx.cwd);
    const store = openDestination(resolved.dest, ctx.cwd, ctx.env);
    try {
      const prepared = await prepareSync({
        store,
        api,
        registry,
        settings: resolved.settings,
        runId: newRunId(),
      });
      const plan = prepared.plan;
      if (flags.json) {
        ctx.output.json({
          location: store.location,
          tags: plan.settings.tags,
          formulae: plan.formulaeCount,
          transfers: plan.totals,
          byTag: plan.byTag,
          keeps: plan.keeps.length,
          supersede: plan.supersede.length,
          prunes: plan.prunes.length,
          rejected: plan.rejected,
          manifestErrors: plan.manifestErrors,
        });
        return;
      }
      ctx.output.out(
        `plan for ${store.location} (${plan.formulaeCount} formulae, tags ${plan.settings.tags.join(", ")})`,
      );
      ctx.output.out("tag                  bottles        bytes");
      for (const [tag, total] of Object.entries(plan.byTag).sort(([a], [b]) => a.localeCompare(b))) {
        const unknown = total.unknownSizes > 0 ? ` (+${total.unknownSizes} of unknown size)` : "";
        ctx.output.out(
          `${tag.padEnd(20)} ${String(total.bottles).padStart(7)} ${formatBytes(total.bytes).padStart(12)}${unknown}`,
        );
      }
      ctx.output.out(
        `${"total".padEnd(20)} ${String(plan.totals.bottles).padStart(7)} ${formatBytes(plan.totals.bytes).padStart(12)}`,
      );
      ctx.output.out(
        `unchanged ${plan.keeps.length}, newly superseded ${plan.supersede.length}, to prune ${plan.prunes.length}, rejected ${plan.rejected.length}`,
      );
      for (const rejected of plan.rejected.slice(0, 20)) {
        ctx.output.err(`rejected ${JSON.stringify(rejected.name)}: ${rejected.reason}`);
      }
      for (const error of plan.manifestErrors.slice(0, 20))
        ctx.output.err(`manifest error: ${error.message}`);
    } finally {
      await store.close?.();
    }
  });
  program.addCommand(command);
}
