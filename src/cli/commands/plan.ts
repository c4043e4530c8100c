import { Command } from "commander";
import { explainFormula, type TagExplanation } from "../../mirror/plan.ts";
import { prepareReadOnly } from "../../mirror/prepare.ts";
import { formatBytes, missingDependencyLines, newRunId } from "../../mirror/report.ts";
import { openDestination, resolveMirror, upstreamClients } from "../../mirror/setup.ts";
import type { CliContext } from "../context.ts";
import { addMirrorOptions, mirrorFlags } from "./sync.ts";

/** `hbsync plan`: what a sync would move (bottles and bytes per tag), without writing anything. */
export function register(program: Command, ctx: CliContext): void {
  const command = new Command("plan")
    .description(
      "Show what a sync would move: bottles and bytes per tag, keeps, superseded and pruned (writes nothing)",
    )
    .option(
      "--explain <name>",
      "say, per tag, why formula NAME is in the mirror (the chain of dependents that brings it) or why not",
    );
  addMirrorOptions(command).action(async (_options: unknown, self: Command) => {
    const flags = mirrorFlags(self);
    const explain = (self.opts() as { explain?: string }).explain;
    const resolved = await resolveMirror(flags, ctx.cwd);
    for (const warning of resolved.warnings) ctx.output.err(`warning: ${warning}`);
    const { api, registry } = await upstreamClients(resolved.upstream, ctx.cwd, ctx.env);
    const store = openDestination(resolved.dest, ctx.cwd, ctx.env);
    try {
      const prepared = await prepareReadOnly({
        store,
        api,
        registry,
        settings: resolved.settings,
        runId: newRunId(),
      });
      const plan = prepared.plan;
      if (explain !== undefined) {
        const explanations = explainFormula(prepared.planInput(), explain);
        if (flags.json) ctx.output.json({ formula: explain, tags: explanations });
        else
          for (const explanation of explanations) ctx.output.out(describeExplanation(explain, explanation));
        return;
      }
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
          missingDependencies: plan.missingDependencies ?? [],
          sources: plan.sources ?? {},
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
      for (const line of missingDependencyLines(plan.missingDependencies ?? [])) ctx.output.err(line);
      for (const error of plan.manifestErrors.slice(0, 20))
        ctx.output.err(`manifest error: ${error.message}`);
    } finally {
      await store.close?.();
    }
  });
  program.addCommand(command);
}

/** One line per tag: `openssl@3 on x86_64_linux: mirrored, needed by wget → openssl@3; bottles/…`. */
export function describeExplanation(name: string, explanation: TagExplanation): string {
  const where = `${name} on ${explanation.tag}`;
  const from = explanation.source === "internal" ? `internal/packages.${explanation.tag}` : "formula.json";
  const chain = explanation.chain ?? [name];
  const why =
    chain.length > 1
      ? `needed by ${chain.slice(0, -1).join(" → ")} → ${name}`
      : "asked for (mirror.formulae.include, or every formula when it is empty)";
  const needed = (list: string[] | undefined): string =>
    list && list.length > 0 ? `; ${list.join(", ")} ${list.length === 1 ? "needs" : "need"} it` : "";
  switch (explanation.status) {
    case "mirrored":
      return `${where}: mirrored, ${why}; ${(explanation.bottles ?? []).join(", ")} (from ${from})`;
    case "no-bottle":
      return `${where}: not mirrored, ${why}, but ${from} lists no bottle brew could pour there`;
    case "excluded":
      return `${where}: not mirrored, mirror.formulae.exclude matches it${needed(explanation.neededBy)}`;
    case "not-in-index":
      return `${where}: not mirrored, ${from} has no formula ${name}${needed(explanation.neededBy)}`;
    case "rejected":
      return `${where}: not mirrored, the index entry was refused (${explanation.reason ?? "unsafe"})`;
    default:
      return `${where}: not mirrored, mirror.formulae.include does not ask for it and nothing mirrored needs it on ${explanation.tag}`;
  }
}
