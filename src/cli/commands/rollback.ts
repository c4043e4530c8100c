import type { Command } from "commander";
import { NothingToRollBack, RollbackManager, type RollbackOptions } from "../../pipeline/rollback.ts";
import type { CliContext } from "../context.ts";
import { EXIT } from "../exit-codes.ts";
import {
  addPipelineOptions,
  addSmokeTestOption,
  type PipelineFlags,
  printDeploy,
  printPlan,
  reportFailure,
  setupPipeline,
} from "./env.ts";

interface RollbackFlags extends PipelineFlags {
  to?: string;
  plan?: boolean;
  expectCurrent?: string;
  allowUnverified?: boolean;
}

export function register(program: Command, ctx: CliContext): void {
  addSmokeTestOption(
    addPipelineOptions(
      program
        .command("rollback")
        .argument("<env>", "environment name")
        .description(
          "Redeploy the newest verified earlier version (or --to VERSION) from the git revision its deploy recorded, and record it in the ledger",
        )
        .option("--to <version>", "the version to go back to (default: the newest earlier verified one)")
        .option(
          "--expect-current <version>",
          "refuse unless the environment runs this version (the deploy to undo); do nothing if it was never applied",
        )
        .option("--allow-unverified", "accept a target that was applied but never verified by a smoke test")
        .option("--plan", "only show what the rollback would change"),
    ),
  ).action(async (env: string, flags: RollbackFlags) => {
    const setup = await setupPipeline(ctx, flags, flags.plan ? 2 : 4);
    const rollback = new RollbackManager({
      manager: setup.manager,
      ledger: setup.ledger,
      artifacts: setup.artifacts,
    });
    const actor = flags.actor ?? ctx.env.GITHUB_ACTOR ?? ctx.env.USER ?? "unknown";
    const options: RollbackOptions = {
      ...(flags.to ? { to: flags.to } : {}),
      ...(flags.expectCurrent ? { expectCurrent: flags.expectCurrent } : {}),
      ...(flags.allowUnverified ? { allowUnverified: true } : {}),
    };
    const out = ctx.output;
    try {
      if (flags.plan) {
        const plan = await rollback.createRollbackPlan(env, options);
        setup.progress.stop();
        if (flags.json) out.json(plan);
        else printPlan(out, `Rollback of ${env} from ${plan.fromVersion} to ${plan.toVersion}`, plan.summary);
      } else {
        const result = await rollback.rollback(env, { ...options, actor });
        setup.progress.stop();
        if (flags.json) out.json(result);
        else
          printDeploy(
            out,
            `Rolled back ${env} from ${result.fromVersion} to ${result.toVersion}`,
            result.deploy,
          );
      }
      ctx.exitCode = EXIT.OK;
    } catch (error) {
      if (error instanceof NothingToRollBack) {
        setup.progress.stop();
        if (flags.json)
          out.json({ env, nothingToDo: true, running: error.running ?? null, reason: error.message });
        else out.out(`Nothing to roll back: ${error.message}`);
        ctx.exitCode = EXIT.OK;
        return;
      }
      reportFailure(error, setup);
      throw error;
    } finally {
      await setup.close();
    }
  });
}
