import type { Command } from "commander";
import { loadConfigOrThrow } from "../../config/load.ts";
import { notificationManagerFromEnv } from "../../notify/from-env.ts";
import type { NotificationManager } from "../../notify/manager.ts";
import { PipelineErrorHandler } from "../../pipeline/error-handler.ts";
import { PipelineError } from "../../pipeline/errors.ts";
import { isTestType, TestOrchestrator } from "../../pipeline/test-orchestrator.ts";
import type { CliContext } from "../context.ts";
import { EXIT } from "../exit-codes.ts";

interface TestFlags {
  report: string;
  coverage?: boolean;
  notify?: boolean;
  config: string;
  env?: string;
  critical?: boolean;
  json?: boolean;
}

export function register(program: Command, ctx: CliContext): void {
  program
    .command("test")
    .argument("[suite]", "unit, integration, security or all", "all")
    .description(
      "Run a test suite through Vitest; write JUnit XML and a Markdown summary; block deploys on failure",
    )
    .option("--report <dir>", "write junit-<suite>.xml and summary-<suite>.md here", "reports/tests")
    .option("--coverage", "collect line coverage (v8)")
    .option("--notify", "send the results to Slack/email (channels from --config and the environment)")
    .option("--config <file>", "config file (for --notify)", "config.yaml")
    .option("--env <name>", "environment named in the notification")
    .option("--no-critical", "report failures without blocking the deployment (exit 1 still)")
    .option("--json", "print the TestResult as JSON")
    .action(async (suite: string, flags: TestFlags) => {
      if (!isTestType(suite)) throw new PipelineError("HBS-TST-003", `unknown test suite \`${suite}\``);
      let notifier: NotificationManager | undefined;
      if (flags.notify) {
        const { config } = await loadConfigOrThrow(flags.config, { cwd: ctx.cwd });
        notifier = await notificationManagerFromEnv(config, ctx.env);
      }
      const orchestrator = new TestOrchestrator({
        root: ctx.cwd,
        env: ctx.env,
        showProgress: !flags.json,
        ...(notifier ? { notifier } : {}),
      });
      let outcome: Awaited<ReturnType<TestOrchestrator["run"]>>;
      try {
        outcome = await orchestrator.run(suite, {
          reportDir: flags.report,
          coverage: Boolean(flags.coverage),
          notify: Boolean(flags.notify),
          ...(flags.env ? { environment: flags.env } : {}),
        });
      } finally {
        notifier?.close();
      }
      const { result } = outcome;
      if (flags.json) ctx.output.json(result);
      else {
        ctx.output.out(
          `${result.testType} tests ${result.status}: ${result.passed} passed, ${result.failed} failed, ${result.skipped} skipped in ${result.duration.toFixed(1)} s${result.coverage === null ? "" : `, ${result.coverage}% lines covered`}`,
        );
        if (outcome.files.junit) ctx.output.out(`JUnit: ${outcome.files.junit}`);
        if (outcome.files.summary) ctx.output.out(`summary: ${outcome.files.summary}`);
      }
      const handler = new PipelineErrorHandler({ env: ctx.env, print: (line) => ctx.output.err(line) });
      const failure = handler.handleTestFailure(result, {
        critical: flags.critical !== false,
        modules: outcome.report.modules,
      });
      if (failure.error) throw failure.error;
      ctx.exitCode = EXIT.OK;
    });
}
