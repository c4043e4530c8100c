import type { Command } from "commander";
import { RollbackManager } from "../../pipeline/rollback.ts";
import type { CliContext } from "../context.ts";
import { EXIT } from "../exit-codes.ts";
import { addPipelineOptions, type PipelineFlags, printPlan, reportFailure, setupPipeline } from "./env.ts";

interface RollbackFlags extends PipelineFlags {
  to?: string;
  plan?: boolean;
}

export function register(program: Command, ctx: CliContext): void {
  addPipelineOptions(
    program
      .command("rollback")
      .argument("<env>", "environment name")
      .description(
        "Redeploy the last good version (or --to VERSION) whose artifacts still exist, and record it in the ledger",
      )
      .option("--to <version>", "the version to go back to (default: the newest earlier successful one)")
      .option("--plan", "only show what the rollback would change"),
  ).action(async (env: string, flags: RollbackFlags) => {
    const setup = await setupPipeline(ctx, flags, flags.plan ? 2 : 3);
    const rollback = new RollbackManager({
      manager: setup.manager,
      ledger: setup.ledger,
      artifacts: setup.artifacts,
    });
    const actor = flags.actor ?? ctx.env.GITHUB_ACTOR ?? ctx.env.USER ?? "unknown";
    const out = ctx.output;
    try {
      if (flags.plan) {
        const plan = await rollback.createRollbackPlan(env, flags.to ? { to: flags.to } : {});
        setup.progress.stop();
        if (flags.json) out.json(plan);
        else printPlan(out, `Rollback of ${env} from ${plan.fromVersion} to ${plan.toVersion}`, plan.summary);
      } else {
        const result = await rollback.rollback(env, { actor, ...(flags.to ? { to: flags.to } : {}) });
        setup.progress.stop();
        if (flags.json) out.json(result);
        else {
          printPlan(
            out,
            `Rolled back ${env} from ${result.fromVersion} to ${result.toVersion}`,
            result.deploy.summary,
          );
          if (result.deploy.record) out.out(`ledger: ${result.deploy.record.id}`);
        }
      }
      ctx.exitCode = EXIT.OK;
    } catch (error) {
      reportFailure(error, setup);
      throw error;
    } finally {
      await setup.close();
    }
  });
}
