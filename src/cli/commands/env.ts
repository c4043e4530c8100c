import cliProgress from "cli-progress";
import { type Command, Option } from "commander";
import { loadConfigOrThrow } from "../../config/load.ts";
import type { PipelineConfig } from "../../config/types.ts";
import { notificationManagerFromEnv } from "../../notify/from-env.ts";
import type { NotifyLogger } from "../../notify/logger.ts";
import type { NotificationManager } from "../../notify/manager.ts";
import { EnvironmentManager } from "../../pipeline/environment-manager.ts";
import { PipelineErrorHandler } from "../../pipeline/error-handler.ts";
import { PipelineError } from "../../pipeline/errors.ts";
import { DeploymentLedger } from "../../pipeline/ledger.ts";
import { describeSummary, type PlanSummary } from "../../pipeline/plan-summary.ts";
import { setScheduleEnabled } from "../../pipeline/schedule.ts";
import { workerDryRunSmokeTest } from "../../pipeline/smoke-test.ts";
import { ledgerLocation, openPipelineStore } from "../../pipeline/stores.ts";
import { UsageError } from "../../shared/errors.ts";
import type { BlobStore } from "../../storage/blob-store.ts";
import type { CliContext } from "../context.ts";
import { EXIT } from "../exit-codes.ts";
import type { Output } from "../output.ts";

export interface PipelineFlags {
  config: string;
  dir?: string;
  version?: string;
  artifactVersion?: string;
  ledger?: string;
  artifacts?: string;
  artifactCheck?: boolean;
  backendConfig: string[];
  timeout?: string;
  forceProd?: boolean;
  rollback?: boolean;
  notify?: boolean;
  actor?: string;
  json?: boolean;
  /** `worker` (default): the worker Lambda's dry run after every apply; `none`: records stay `applied`. */
  smokeTest?: "worker" | "none";
  /** plan: where to save the plan file. */
  out?: string;
  /** deploy: apply this saved plan instead of planning again. */
  savedPlan?: string;
  planSha256?: string;
}

const ACTIONS = {
  validate: "check config.yaml and the environment's Terraform (init -backend=false + validate)",
  plan: "write tfvars from config.yaml, init, plan; print the change summary",
  deploy:
    "plan + apply + smoke test, record the deployment in the ledger; refuse an older commit; roll back and notify on failure",
  destroy: "destroy the environment (prod needs --force-prod)",
  status: "terraform outputs, resource count, last deployment, schedule state",
  pause: "disable the environment's sync schedule (Terraform: schedule_enabled = false)",
  resume: "enable the environment's sync schedule again",
} as const;
type Action = keyof typeof ACTIONS;

/** Steps each action reports, for the progress bar. */
const STEPS: Record<Action, number> = {
  validate: 2,
  plan: 2,
  deploy: 4,
  destroy: 2,
  status: 2,
  pause: 4,
  resume: 4,
};

/** `--smoke-test`, for the commands that apply a version (env deploy, rollback). */
export function addSmokeTestOption(command: Command): Command {
  return command.addOption(
    new Option(
      "--smoke-test <kind>",
      "after apply: `worker` invokes the worker Lambda in dry run (verified/failed in the ledger); `none` skips it (the record stays applied, never a rollback target)",
    )
      .choices(["worker", "none"])
      .default("worker"),
  );
}

/** Options shared by `hbsync env …` and `hbsync rollback`. */
export function addPipelineOptions(command: Command): Command {
  return command
    .option("--config <file>", "config file", "config.yaml")
    .option(
      "--dir <dir>",
      "the environment's Terraform directory ({env} is replaced); default infra/terraform/environments/<env>",
    )
    .option(
      "--ledger <location>",
      "deployment ledger: a folder or s3://bucket/prefix (default $HBSYNC_LEDGER or .hbsync)",
    )
    .option(
      "--artifacts <location>",
      "artifact store with artifacts/<version>/ (default: the ledger's store)",
    )
    .option("--no-artifact-check", "do not check that a rollback target's artifacts still exist")
    .option(
      "--backend-config <file|key=value>",
      "passed to terraform init -backend-config (repeatable); S3 backends also read TF_STATE_BUCKET/TF_STATE_REGION",
      (value: string, previous: string[]) => [...previous, value],
      [] as string[],
    )
    .option("--timeout <seconds>", "per terraform command (default 1800)")
    .option("--actor <name>", "who deploys, for the ledger (default $GITHUB_ACTOR or $USER)")
    .option("--no-notify", "do not send Slack/email notifications")
    .option("--json", "print one JSON document on stdout");
}

export function register(program: Command, ctx: CliContext): void {
  const env = program.command("env").description("Manage one environment's infrastructure with Terraform");
  for (const [action, description] of Object.entries(ACTIONS) as Array<[Action, string]>) {
    const command = addPipelineOptions(
      env.command(action).argument("<env>", "environment name").description(description),
    );
    if (action === "plan" || action === "deploy") {
      command
        .option("--version <sha>", "artifact version (git SHA) to deploy (default $GITHUB_SHA)")
        .option("--artifact-version <sha>", "same as --version (the name `hbsync config tfvars` uses)");
    }
    if (action === "plan") {
      command.option(
        "--out <file>",
        "save the plan file here (to review it and apply exactly it later with `env deploy --plan`); its SHA-256 is printed",
      );
    }
    if (action === "deploy") {
      command.addOption(new Option("--no-rollback", "do not roll back automatically on failure"));
      addSmokeTestOption(command);
      command
        .option(
          "--saved-plan <file>",
          "apply this saved plan (`env plan --out`) instead of planning again; it must be for this env and --version",
        )
        .option(
          "--plan-sha256 <hex>",
          "with --saved-plan: refuse unless the file has this SHA-256 (the plan job's)",
        );
    }
    if (action === "destroy") command.option("--force-prod", "allow destroying prod");
    command.action(async (name: string, flags: PipelineFlags) => {
      await runAction(action, name, flags, ctx);
    });
  }
}

export interface PipelineSetup {
  manager: EnvironmentManager;
  ledger: DeploymentLedger;
  ledgerStore: BlobStore;
  artifacts: BlobStore | null;
  handler: PipelineErrorHandler;
  progress: Progress;
  close(): Promise<void>;
}

/** Builds the manager, ledger, handler and progress display a pipeline command needs. */
export async function setupPipeline(
  ctx: CliContext,
  flags: PipelineFlags,
  steps: number,
): Promise<PipelineSetup> {
  const timeoutSeconds = flags.timeout === undefined ? undefined : Number(flags.timeout);
  if (timeoutSeconds !== undefined && !(Number.isFinite(timeoutSeconds) && timeoutSeconds > 0)) {
    throw new UsageError(`--timeout must be a number of seconds, got "${flags.timeout}"`);
  }
  const progress = progressDisplay(ctx.output, Boolean(flags.json), steps);
  let config: PipelineConfig | undefined;
  let notifier: NotificationManager | undefined;
  const handler0 = new PipelineErrorHandler({ env: ctx.env, print: (line) => progress.log(line) });
  try {
    config = (await loadConfigOrThrow(flags.config, { cwd: ctx.cwd })).config;
  } catch (error) {
    progress.stop();
    throw handler0.handleConfigurationError(error);
  }
  if (flags.notify !== false) {
    notifier = await notificationManagerFromEnv(config, ctx.env, { logger: outputLogger(ctx.output) });
  }
  const handler = new PipelineErrorHandler({
    env: ctx.env,
    print: (line) => progress.log(line),
    ...(notifier ? { notifier } : {}),
  });
  const ledgerStore = openPipelineStore(ledgerLocation(flags.ledger, ctx.env), ctx.cwd, ctx.env);
  const artifacts =
    flags.artifactCheck === false
      ? null
      : flags.artifacts
        ? openPipelineStore(flags.artifacts, ctx.cwd, ctx.env)
        : ledgerStore;
  const ledger = new DeploymentLedger(ledgerStore);
  const manager = new EnvironmentManager({
    cwd: ctx.cwd,
    configPath: flags.config,
    config,
    env: ctx.env,
    ...(flags.dir ? { dir: flags.dir } : {}),
    ...(timeoutSeconds ? { timeoutMs: timeoutSeconds * 1000 } : {}),
    onLine: (line) => progress.line(line),
    onPhase: (phase, env) => progress.phase(`terraform ${phase} (${env})`),
    backendConfig: flags.backendConfig,
    ledger,
    stateStore: ledgerStore,
    artifacts,
    ...(notifier ? { notifier } : {}),
    errorHandler: handler,
    ...(flags.smokeTest === "worker" ? { smokeTest: workerDryRunSmokeTest() } : {}),
  });
  return {
    manager,
    ledger,
    ledgerStore,
    artifacts,
    handler,
    progress,
    close: async () => {
      progress.stop();
      notifier?.close();
      await ledgerStore.close?.();
      if (artifacts && artifacts !== ledgerStore) await artifacts.close?.();
    },
  };
}

async function runAction(action: Action, env: string, flags: PipelineFlags, ctx: CliContext): Promise<void> {
  const setup = await setupPipeline(ctx, flags, STEPS[action]);
  const { manager, progress } = setup;
  const out = ctx.output;
  const actor = flags.actor ?? ctx.env.GITHUB_ACTOR ?? ctx.env.USER ?? "unknown";
  try {
    switch (action) {
      case "validate": {
        const result = await manager.validate(env);
        progress.stop();
        if (flags.json) out.json(result);
        else {
          out.out(`${env}: configuration and Terraform are valid (${result.dir})`);
          for (const warning of result.warnings) out.out(`  warning: ${warning}`);
        }
        break;
      }
      case "plan": {
        const version = flags.version ?? flags.artifactVersion;
        const result = await manager.plan(env, {
          ...(version ? { version } : {}),
          ...(flags.out ? { out: flags.out } : {}),
        });
        progress.stop();
        if (flags.json) out.json(result);
        else {
          printPlan(out, `Plan for ${env} at ${result.version}`, result.summary);
          if (result.savedTo) out.out(`plan file: ${result.savedTo} (sha256 ${result.planSha256})`);
        }
        break;
      }
      case "deploy": {
        const version = flags.version ?? flags.artifactVersion ?? ctx.env.GITHUB_SHA;
        if (!version) {
          throw new UsageError("deploy needs the version to deploy", {
            fix: "pass --version <git SHA> (CI: $GITHUB_SHA)",
          });
        }
        if (flags.planSha256 !== undefined && !flags.savedPlan) {
          throw new UsageError("--plan-sha256 needs --saved-plan FILE", {
            fix: "pass the saved plan with --saved-plan FILE",
          });
        }
        if (flags.planSha256 !== undefined && !/^[0-9a-fA-F]{64}$/.test(flags.planSha256.trim())) {
          throw new UsageError(`--plan-sha256 must be 64 hex digits, got "${flags.planSha256}"`, {
            fix: "pass the checksum `hbsync env plan --out` printed (sha256sum of the plan file)",
          });
        }
        const result = await manager.deploy(env, {
          version,
          actor,
          autoRollback: flags.rollback !== false,
          ...(flags.savedPlan
            ? {
                savedPlan: {
                  file: flags.savedPlan,
                  ...(flags.planSha256 !== undefined ? { sha256: flags.planSha256 } : {}),
                },
              }
            : {}),
        });
        progress.stop();
        if (flags.json) out.json(result);
        else {
          printDeploy(out, `Deployed ${version} to ${env} in ${result.durationSeconds} s`, result);
        }
        break;
      }
      case "destroy": {
        const result = await manager.destroy(env, { forceProd: Boolean(flags.forceProd) });
        progress.stop();
        if (flags.json) out.json(result);
        else out.out(`Destroyed ${env}: ${result.destroyed} resource(s) removed`);
        break;
      }
      case "status": {
        const result = await manager.status(env);
        progress.stop();
        if (flags.json) out.json(result);
        else printStatus(out, result);
        break;
      }
      case "pause":
      case "resume": {
        const enabled = action === "resume";
        const result = await setScheduleEnabled(manager, env, enabled, { actor });
        progress.stop();
        if (flags.json) out.json(result);
        else if (result.applied) {
          out.out(
            `${enabled ? "Resumed" : "Paused"} the sync schedule of ${env} (applied at ${result.version})`,
          );
        } else {
          out.out(
            `${enabled ? "Resumed" : "Paused"} the sync schedule of ${env}: not deployed yet, applies at the first deploy`,
          );
        }
        break;
      }
    }
    ctx.exitCode = EXIT.OK;
  } catch (error) {
    reportFailure(error, setup);
    throw error;
  } finally {
    await setup.close();
  }
}

/** Prints what the user could not see on a TTY (terraform's error block) and the annotations. */
export function reportFailure(error: unknown, setup: PipelineSetup): void {
  setup.progress.stop();
  if (error instanceof PipelineError && setup.progress.hidLines) {
    for (const line of error.details) setup.progress.log(`  ${line}`);
  }
  setup.handler.report(error);
}

/** The summary, the verdict and the ledger id of a deploy (or a rollback's deploy). */
export function printDeploy(
  out: Output,
  heading: string,
  result: Awaited<ReturnType<EnvironmentManager["deploy"]>>,
): void {
  printPlan(out, heading, result.summary);
  if (result.verification) out.out(`verified: ${result.verification.detail}`);
  if (result.revision)
    out.out(
      `revision: ${result.revision.commit}${result.revision.dirty ? " (with uncommitted changes)" : ""}`,
    );
  if (result.record) out.out(`ledger: ${result.record.id} (${result.record.status})`);
  for (const note of result.notes) out.out(`note: ${note}`);
}

export function printPlan(out: Output, heading: string, summary: PlanSummary): void {
  out.out(`${heading}: ${describeSummary(summary)}`);
  const symbol = { create: "+", update: "~", delete: "-", replace: "-/+" } as const;
  for (const resource of summary.resources)
    out.out(`  ${symbol[resource.action].padEnd(3)} ${resource.address}`);
}

function printStatus(out: Output, status: Awaited<ReturnType<EnvironmentManager["status"]>>): void {
  out.out(
    `${status.env}: ${status.deployed ? `${status.resourceCount} resource(s) in state` : "not deployed"} (${status.dir})`,
  );
  for (const [name, value] of Object.entries(status.outputs)) {
    out.out(`  ${name} = ${typeof value === "string" ? value : JSON.stringify(value)}`);
  }
  const current = status.current;
  if (current)
    out.out(
      `running: ${current.version} (${current.status}${current.reached && current.status === "failed" ? `, failed at ${current.reached}` : ""})`,
    );
  const last = status.lastDeployment;
  if (last)
    out.out(
      `last deployment: ${last.version} ${last.status} at ${last.finished} by ${last.actor}${last.rollbackOf ? ` (rollback of ${last.rollbackOf})` : ""}`,
    );
  else out.out("last deployment: none recorded");
  if (status.schedule)
    out.out(
      `schedule: ${status.schedule.enabled ? "enabled" : "paused"} since ${status.schedule.changed} by ${status.schedule.actor}`,
    );
}

export interface Progress {
  phase(name: string): void;
  line(text: string): void;
  log(text: string): void;
  stop(): void;
  /** True when terraform's lines were not printed (TTY bar), so errors must show its error block. */
  readonly hidLines: boolean;
}

/**
 * On a terminal: a cli-progress bar (step n/N, elapsed time, terraform's latest line) on stderr.
 * Otherwise (CI logs, --json): every terraform line streamed to stderr, prefixed per phase.
 */
export function progressDisplay(output: Output, json: boolean, steps: number): Progress {
  if (!output.isTTY || json) {
    return {
      phase: (name) => output.err(`==> ${name}`),
      line: (text) => {
        if (text.trim()) output.err(`    ${text}`);
      },
      log: (text) => output.err(text),
      stop: () => {},
      hidLines: false,
    };
  }
  const bar = new cliProgress.SingleBar(
    {
      format: "{bar} {value}/{total} {phase} | {duration}s | {last}",
      hideCursor: true,
      stream: process.stderr,
      barsize: 20,
      fps: 5,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  let stopped = false;
  let step = 0;
  const ensure = (): void => {
    if (!started && !stopped) {
      bar.start(steps, 0, { phase: "starting", last: "" });
      started = true;
    }
  };
  return {
    phase: (name) => {
      ensure();
      step = Math.min(step + 1, steps);
      bar.update(step - 1, { phase: name, last: "" });
    },
    line: (text) => {
      ensure();
      if (text.trim()) bar.update({ last: text.trim().slice(0, 60) });
    },
    log: (text) => {
      if (started && !stopped) bar.stop();
      stopped = true;
      output.err(text);
    },
    stop: () => {
      if (started && !stopped) {
        bar.update(steps);
        bar.stop();
      }
      stopped = true;
    },
    hidLines: true,
  };
}

function outputLogger(output: Output): NotifyLogger {
  return {
    info: () => {},
    warn: (message) => output.err(`notify: ${message}`),
    error: (message) => output.err(`notify: ${message}`),
  };
}
