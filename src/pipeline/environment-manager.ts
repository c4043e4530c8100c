/**
 * EnvironmentManager (the user's name): one environment's Terraform lifecycle over the real CLI.
 *
 * - validate: config (loadConfigOrThrow + the environment exists) + `terraform init -backend=false` +
 *   `terraform validate -json` (diagnostics carry file:line for annotations).
 * - plan: tfvars from config (toTfvars → `<dir>/terraform.tfvars.json`), init, `plan -out`, then
 *   `show -json` summarised (add/change/destroy/replace/resources).
 * - deploy: plan + apply + outputs, recorded in the ledger (status, times, change summary, artifact
 *   checksums); on failure the PipelineErrorHandler rolls back when it can and notifies.
 * - destroy: refuses prod without `forceProd`.
 * - status: outputs, state resource count, last ledger record, schedule state.
 * - pause/resume: see schedule.ts.
 */
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { loadConfigOrThrow } from "../config/load.ts";
import { resolveEnvironment } from "../config/resolve.ts";
import { type TfvarValue, toTfvars } from "../config/tfvars.ts";
import type { PipelineConfig } from "../config/types.ts";
import { errorMessage } from "../shared/errors.ts";
import { type ArtifactChecksum, artifactChecksumsFor } from "./artifacts.ts";
import {
  backendConfigArgs,
  declaresVariable,
  diagnosticText,
  environmentDir,
  parseValidate,
  readTerraformSources,
  type TerraformSources,
  varArgs,
  writeTfvars,
} from "./environment-dir.ts";
import type {
  DeployOptions,
  DeployResult,
  DestroyResult,
  EnvironmentManagerOptions,
  PlanOptions,
  PlanResult,
  StatusResult,
} from "./environment-types.ts";
import { type Notifier, PipelineErrorHandler } from "./error-handler.ts";
import { DeploymentError, PipelineError } from "./errors.ts";
import {
  type DeploymentLedger,
  type DeploymentRecord,
  type DeploymentRecordStatus,
  toDeploymentResult,
} from "./ledger.ts";
import { emptySummary, type PlanSummary, summarisePlan } from "./plan-summary.ts";
import { RollbackManager } from "./rollback.ts";
import { readScheduleState, SCHEDULE_VARIABLE } from "./schedule.ts";
import { TerraformRunner } from "./terraform.ts";

export type * from "./environment-types.ts";

export const PROD_ENVIRONMENTS = new Set(["prod", "production"]);
const PLAN_FILE = "hbsync.tfplan";

export class EnvironmentManager {
  readonly options: EnvironmentManagerOptions;
  readonly terraform: TerraformRunner;
  readonly ledger: DeploymentLedger | undefined;
  private readonly env: NodeJS.ProcessEnv;
  private readonly handler: PipelineErrorHandler;
  private config: PipelineConfig | undefined;
  private readonly initialised = new Set<string>();

  constructor(options: EnvironmentManagerOptions) {
    this.options = options;
    this.env = options.env ?? process.env;
    this.config = options.config;
    this.ledger = options.ledger;
    this.terraform =
      options.terraform ??
      new TerraformRunner({
        env: this.env,
        ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
        ...(options.onLine ? { onLine: options.onLine } : {}),
      });
    this.handler =
      options.errorHandler ??
      new PipelineErrorHandler({
        env: this.env,
        ...(options.notifier ? { notifier: options.notifier } : {}),
      });
  }

  dirFor(env: string): string {
    return environmentDir(this.options.cwd, env, this.options.dir);
  }

  /** The config (loaded once); HBS-CFG-001/002 when it is invalid or lacks `env`. */
  async loadConfig(env: string): Promise<PipelineConfig> {
    try {
      this.config ??= (
        await loadConfigOrThrow(this.options.configPath ?? "config.yaml", { cwd: this.options.cwd })
      ).config;
      resolveEnvironment(this.config, env);
      return this.config;
    } catch (error) {
      throw this.handler.handleConfigurationError(error);
    }
  }

  async validate(env: string): Promise<{ env: string; dir: string; valid: true; warnings: string[] }> {
    const { dir } = await this.prepare(env, "unversioned");
    this.phase("init", env);
    await this.terraform.run("init", ["-backend=false"], { cwd: dir, failureCode: "HBS-INF-005" });
    this.phase("validate", env);
    const result = await this.terraform.run("validate", ["-json"], {
      cwd: dir,
      stream: false,
      allowFailure: true,
    });
    const report = parseValidate(result.stdout);
    const errors = report.diagnostics.filter((d) => d.severity === "error");
    if (!report.valid || errors.length > 0 || result.exitCode !== 0) {
      const first = errors[0];
      throw new PipelineError(
        "HBS-CFG-004",
        `terraform validate found ${errors.length || 1} error(s) in ${dir}: ${first ? diagnosticText(first) : result.stderr.trim()}`,
        {
          details: errors.map(diagnosticText),
          ...(first?.range ? { file: join(dir, first.range.filename), line: first.range.start.line } : {}),
        },
      );
    }
    const warnings = report.diagnostics.filter((d) => d.severity === "warning").map(diagnosticText);
    return { env, dir, valid: true, warnings };
  }

  async plan(env: string, options: PlanOptions = {}): Promise<PlanResult> {
    const version = options.version ?? this.env.GITHUB_SHA ?? "unversioned";
    const { dir, sources } = await this.prepare(env, version);
    await this.init(env, dir, sources);
    const vars: Record<string, TfvarValue> = { ...(options.vars ?? {}) };
    let scheduleEnabled: boolean | undefined;
    if (declaresVariable(sources, SCHEDULE_VARIABLE) && !(SCHEDULE_VARIABLE in vars)) {
      const state = this.options.stateStore
        ? await readScheduleState(this.options.stateStore, env)
        : undefined;
      scheduleEnabled = state?.enabled ?? true;
      vars[SCHEDULE_VARIABLE] = scheduleEnabled;
    } else if (typeof vars[SCHEDULE_VARIABLE] === "boolean") {
      scheduleEnabled = vars[SCHEDULE_VARIABLE] as boolean;
    }
    const planFile = join(dir, ".terraform", PLAN_FILE);
    this.phase("plan", env);
    await this.terraform.run("plan", [`-out=${planFile}`, ...varArgs(vars)], {
      cwd: dir,
      failureCode: "HBS-DEP-002",
    });
    const show = await this.terraform.run("show", ["-json", planFile], { cwd: dir, stream: false });
    const summary = summarisePlan(JSON.parse(show.stdout) as unknown);
    return {
      env,
      dir,
      version,
      planFile,
      summary,
      ...(scheduleEnabled === undefined ? {} : { scheduleEnabled }),
    };
  }

  async deploy(env: string, options: DeployOptions): Promise<DeployResult> {
    const started = new Date();
    const actor = options.actor ?? this.env.GITHUB_ACTOR ?? this.env.USER ?? "unknown";
    const notes: string[] = [];
    const run: RunContext = {
      id: randomUUID(),
      env,
      options,
      started,
      actor,
      summary: emptySummary(),
      artifacts: [],
    };
    await this.loadConfig(env);
    if (options.artifacts) run.artifacts = options.artifacts;
    else {
      const found = await artifactChecksumsFor(
        this.options.manifestPath ?? "dist/manifest.json",
        options.version,
        this.options.cwd,
      );
      run.artifacts = found.artifacts;
      if (found.note) notes.push(found.note);
    }
    // Recorded before terraform runs: an unreachable ledger stops the deploy rather than hiding it, and a
    // crashed run stays visible as in_progress.
    await this.record(run, "in_progress", undefined, []);
    let plan: PlanResult;
    try {
      plan = await this.plan(env, options);
      run.summary = plan.summary;
      await this.applyPlan(plan);
    } catch (error) {
      if (!(error instanceof PipelineError)) throw error;
      throw await this.deploymentFailed(error, run);
    }
    const outputs = await this.outputs(plan.dir);
    const finished = new Date();
    const record = await this.record(run, "succeeded", finished, []);
    const durationSeconds = seconds(started, finished);
    await this.notify({
      type: "deployment_success",
      environment: env,
      version: options.version,
      commit: options.version,
      durationSeconds,
      actor,
    });
    return {
      env,
      version: options.version,
      status: "succeeded",
      summary: run.summary,
      outputs,
      durationSeconds,
      record,
      deployment: record
        ? toDeploymentResult(record, outputs)
        : {
            environment: env,
            status: "success",
            duration: Math.round(durationSeconds),
            commitSha: options.version,
            terraformOutputs: outputs,
            errors: [],
          },
      notes,
    };
  }

  /** `terraform apply <planfile>` for a plan made by plan(). */
  async applyPlan(plan: PlanResult): Promise<void> {
    this.phase("apply", plan.env);
    await this.terraform.run("apply", [plan.planFile], { cwd: plan.dir, failureCode: "HBS-DEP-001" });
  }

  /** Records the failure, lets the handler roll back and notify, and returns the error to throw. */
  private async deploymentFailed(error: PipelineError, run: RunContext): Promise<DeploymentError> {
    const finished = new Date();
    const failed = await this.record(run, "failed", finished, [errorMessage(error)]).catch(() => undefined);
    // A configuration problem (missing directory, bad backend settings) would stop a rollback too.
    if (error.category === "configuration") throw error;
    const rollback =
      run.options.autoRollback !== false && this.ledger && failed
        ? new RollbackManager({
            manager: this,
            ledger: this.ledger,
            artifacts: this.options.artifacts ?? null,
          })
        : undefined;
    return this.handler.handleDeploymentError(
      new DeploymentError(
        error.code,
        run.env,
        run.options.version,
        error.message.replace(/^HBS-[A-Z]+-\d+: /, ""),
        {
          cause: error,
          details: error.details,
          ...(error.fix ? { fix: error.fix } : {}),
        },
      ),
      {
        environment: run.env,
        version: run.options.version,
        actor: run.actor,
        durationSeconds: seconds(run.started, finished),
        ...(rollback && failed ? { rollback: rollback.forFailedDeployment(failed) } : {}),
      },
    );
  }

  async destroy(
    env: string,
    options: { forceProd?: boolean; version?: string } = {},
  ): Promise<DestroyResult> {
    if (PROD_ENVIRONMENTS.has(env) && !options.forceProd) {
      throw new PipelineError("HBS-DEP-003", `refusing to destroy ${env} without --force-prod`);
    }
    const dir = this.dirFor(env);
    const sources = await readTerraformSources(dir);
    await this.init(env, dir, sources);
    const before = await this.stateCount(dir);
    const outputs = await this.outputs(dir);
    const version =
      options.version ??
      (typeof outputs.artifact_version === "string" ? outputs.artifact_version : "unversioned");
    await this.prepare(env, version);
    this.phase("destroy", env);
    await this.terraform.run("destroy", ["-auto-approve"], { cwd: dir, failureCode: "HBS-DEP-007" });
    return { env, destroyed: before - (await this.stateCount(dir)) };
  }

  async status(env: string): Promise<StatusResult> {
    const dir = this.dirFor(env);
    const sources = await readTerraformSources(dir);
    await this.init(env, dir, sources);
    this.phase("status", env);
    const outputs = await this.outputs(dir);
    const resourceCount = await this.stateCount(dir);
    const lastDeployment = this.ledger ? await this.ledger.latest(env).catch(ledgerError) : undefined;
    const schedule = this.options.stateStore
      ? await readScheduleState(this.options.stateStore, env)
      : undefined;
    return {
      env,
      dir,
      deployed: resourceCount > 0,
      outputs,
      resourceCount,
      lastDeployment: lastDeployment ?? undefined,
      schedule,
    };
  }

  /** `terraform output -json`, flattened to name → value. */
  async outputs(dir: string): Promise<Record<string, unknown>> {
    const result = await this.terraform.run("output", ["-json"], { cwd: dir, stream: false });
    const parsed = JSON.parse(result.stdout || "{}") as Record<string, { value?: unknown }>;
    return Object.fromEntries(Object.entries(parsed).map(([name, output]) => [name, output.value ?? null]));
  }

  private async stateCount(dir: string): Promise<number> {
    const result = await this.terraform.run("state", ["list"], {
      cwd: dir,
      stream: false,
      allowFailure: true,
    });
    if (result.exitCode !== 0) {
      if (/No state file was found/i.test(result.stderr)) return 0;
      await this.terraform.run("state", ["list"], { cwd: dir, stream: false });
    }
    return result.stdout.split("\n").filter((line) => line.trim()).length;
  }

  /** Checks config and directory, writes tfvars. */
  private async prepare(env: string, version: string): Promise<{ dir: string; sources: TerraformSources }> {
    const config = await this.loadConfig(env);
    const dir = this.dirFor(env);
    const sources = await readTerraformSources(dir);
    await writeTfvars(dir, toTfvars(config, env, { artifactVersion: version }));
    return { dir, sources };
  }

  private async init(env: string, dir: string, sources: TerraformSources): Promise<void> {
    if (this.initialised.has(dir)) return;
    this.phase("init", env);
    const args = backendConfigArgs(sources, {
      env: this.env,
      cwd: this.options.cwd,
      ...(this.options.backendConfig ? { backendConfig: this.options.backendConfig } : {}),
    });
    await this.terraform.run("init", args, { cwd: dir, failureCode: "HBS-INF-005" });
    this.initialised.add(dir);
  }

  /** Appends a ledger record of this deployment (all records of one deployment share its id). */
  private async record(
    run: RunContext,
    status: DeploymentRecordStatus,
    finished: Date | undefined,
    errors: string[],
  ): Promise<DeploymentRecord | undefined> {
    if (!this.ledger) return undefined;
    try {
      return await this.ledger.append({
        id: run.id,
        env: run.env,
        version: run.options.version,
        artifacts: run.artifacts,
        started: run.started.toISOString(),
        finished: finished ? finished.toISOString() : null,
        status,
        actor: run.actor,
        changeSummary: { add: run.summary.add, change: run.summary.change, destroy: run.summary.destroy },
        errors,
        ...(run.options.rollbackOf ? { rollbackOf: run.options.rollbackOf } : {}),
      });
    } catch (error) {
      return ledgerError(error);
    }
  }

  private phase(phase: string, env: string): void {
    this.options.onPhase?.(phase, env);
  }

  private async notify(event: Parameters<Notifier["send"]>[0]): Promise<void> {
    try {
      await this.options.notifier?.send(event);
    } catch {
      // A notification failure never fails a deployment (NotificationManager already logs it).
    }
  }
}

/** One deploy() call, as its ledger records describe it. */
interface RunContext {
  id: string;
  env: string;
  options: DeployOptions;
  started: Date;
  actor: string;
  summary: PlanSummary;
  artifacts: ArtifactChecksum[];
}

function ledgerError(error: unknown): never {
  if (error instanceof PipelineError) throw error;
  throw new PipelineError("HBS-INF-007", `deployment ledger: ${errorMessage(error)}`, { cause: error });
}

function seconds(from: Date, to: Date): number {
  return Math.max(0, Math.round((to.getTime() - from.getTime()) / 100) / 10);
}
