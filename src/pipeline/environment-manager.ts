/**
 * EnvironmentManager (the user's name): one environment's Terraform lifecycle over the real CLI.
 *
 * - validate: config (loadConfigOrThrow + the environment exists) + `terraform init -backend=false` +
 *   `terraform validate -json` (diagnostics carry file:line for annotations).
 * - plan: tfvars from config (toTfvars → `<dir>/terraform.tfvars.json`), init, `plan -out`, then
 *   `show -json` summarised (add/change/destroy/replace/resources).
 * - deploy: refuse a commit older than the deployed one (HBS-DEP-010, unless it is a rollback), plan (or
 *   a saved, reviewed plan: checksum, environment and version checked, HBS-DEP-013) + apply + outputs, then the smoke test; recorded in the ledger as in_progress → applied → verified or
 *   failed, with the git revision of infra/ and config.yaml, times, change summary and artifact
 *   checksums; on failure the PipelineErrorHandler rolls back when it can and notifies.
 * - forCheckout: the same manager over a worktree of a recorded revision (what a rollback applies).
 * - destroy: refuses prod without `forceProd`.
 * - status: outputs, state resource count, last ledger record, schedule state.
 * - pause/resume: see schedule.ts.
 */
import { createHash, randomUUID } from "node:crypto";
import { copyFile, mkdir, readFile } from "node:fs/promises";
import { dirname, isAbsolute, join, resolve } from "node:path";
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
  SavedPlan,
  StatusResult,
} from "./environment-types.ts";
import { type Notifier, PipelineErrorHandler } from "./error-handler.ts";
import { DeploymentError, PipelineError } from "./errors.ts";
import {
  currentDeployment,
  type DeploymentLedger,
  type DeploymentRecord,
  type DeploymentRecordStatus,
  type DeploymentStage,
  toDeploymentResult,
} from "./ledger.ts";
import { emptySummary, type PlanSummary, summarisePlan } from "./plan-summary.ts";
import {
  type GitRepo,
  inCheckout,
  isAncestor,
  openRepo,
  resolveCommit,
  type SourceRevision,
  sourceRevision,
} from "./revision.ts";
import { newestFirst, RollbackManager } from "./rollback.ts";
import { readScheduleState, SCHEDULE_VARIABLE } from "./schedule.ts";
import type { SmokeTestResult } from "./smoke-test.ts";
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
    const planSha256 = sha256(await readFile(planFile));
    let savedTo: string | undefined;
    if (options.out) {
      savedTo = resolve(this.options.cwd, options.out);
      await mkdir(dirname(savedTo), { recursive: true });
      await copyFile(planFile, savedTo);
    }
    return {
      env,
      dir,
      version,
      planFile,
      planSha256,
      ...(savedTo ? { savedTo } : {}),
      summary,
      ...(scheduleEnabled === undefined ? {} : { scheduleEnabled }),
    };
  }

  /**
   * A plan made earlier by plan() with `out` (the reviewed plan of a gated deploy), ready to apply as it
   * is: its bytes must have the SHA-256 the plan job recorded, and it must be for this environment and
   * `version` (its environment and artifact_version variables). Terraform itself then refuses it if the
   * state changed since it was made ("Saved plan is stale").
   */
  async savedPlan(env: string, version: string, saved: SavedPlan): Promise<PlanResult> {
    const planFile = resolve(this.options.cwd, saved.file);
    const rejected = (why: string): PipelineError =>
      new PipelineError("HBS-DEP-013", `saved plan ${saved.file}: ${why}`);
    let bytes: Buffer;
    try {
      bytes = await readFile(planFile);
    } catch (error) {
      throw rejected(`cannot be read (${errorMessage(error)})`);
    }
    const planSha256 = sha256(bytes);
    if (saved.sha256 !== undefined && planSha256 !== saved.sha256.trim().toLowerCase()) {
      throw rejected(`its SHA-256 is ${planSha256}, the plan job recorded ${saved.sha256}`);
    }
    await this.loadConfig(env);
    const dir = this.dirFor(env);
    const sources = await readTerraformSources(dir);
    await this.init(env, dir, sources);
    const show = await this.terraform.run("show", ["-json", planFile], { cwd: dir, stream: false });
    const json = JSON.parse(show.stdout) as { variables?: Record<string, { value?: unknown }> };
    const planned = json.variables ?? {};
    const expected: Record<string, unknown> = { artifact_version: version, environment: env };
    for (const [name, value] of Object.entries(expected)) {
      if (name in planned && planned[name]?.value !== value) {
        throw rejected(`it was made with ${name} = ${JSON.stringify(planned[name]?.value)}, not ${value}`);
      }
    }
    return { env, dir, version, planFile, planSha256, summary: summarisePlan(json) };
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
      reached: "plan",
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
    const repo = await openRepo(this.options.cwd);
    if (repo) {
      run.revision = await sourceRevision(repo, {
        infraDir: join(repo.root, "infra"),
        configFile: resolve(this.options.cwd, this.options.configPath ?? "config.yaml"),
      });
      if (run.revision?.dirty) {
        notes.push(
          `infra/ or the config file has uncommitted changes: the ledger's revision ${run.revision.commit} does not reproduce this deploy`,
        );
      }
    } else
      notes.push(
        "not a git checkout: no source revision recorded (a rollback to this version applies the current infra/)",
      );
    // A rollback goes back on purpose; any other deploy of an older commit is a slower pipeline run
    // arriving late, and must not overwrite the newer deployment.
    if (!options.rollbackOf && repo) await this.refuseOlder(env, options.version, run.revision, repo, notes);
    // Recorded before terraform runs: an unreachable ledger stops the deploy rather than hiding it, and a
    // crashed run stays visible as in_progress.
    await this.record(run, "in_progress", undefined, []);
    let plan: PlanResult;
    try {
      plan = options.savedPlan
        ? await this.savedPlan(env, options.version, options.savedPlan)
        : await this.plan(env, options);
      run.summary = plan.summary;
      run.reached = "apply";
      await this.applyPlan(plan);
    } catch (error) {
      if (!(error instanceof PipelineError)) throw error;
      throw await this.deploymentFailed(error, run);
    }
    const outputs = await this.outputs(plan.dir);
    let record = await this.record(run, "applied", new Date(), []);
    let verification: SmokeTestResult | undefined;
    if (this.options.smokeTest) {
      run.reached = "verify";
      this.phase("smoke test", env);
      const verdict: SmokeTestResult = await this.options.smokeTest
        .run({ env, version: options.version, outputs })
        .catch((error: unknown) => ({ passed: false, detail: `smoke test crashed: ${errorMessage(error)}` }));
      verification = verdict;
      run.verification = verdict;
      if (!verdict.passed) {
        throw await this.deploymentFailed(
          new PipelineError("HBS-DEP-011", `${this.options.smokeTest.name}: ${verdict.detail}`),
          run,
        );
      }
      record = await this.record(run, "verified", new Date(), []);
    } else {
      notes.push("not verified (no smoke test): an unverified version is never a rollback target");
    }
    const finished = new Date();
    const durationSeconds = seconds(started, finished);
    await this.notify({
      type: "deployment_success",
      environment: env,
      version: options.version,
      commit: run.revision?.commit ?? options.version,
      durationSeconds,
      actor,
    });
    return {
      env,
      version: options.version,
      status: verification ? "verified" : "applied",
      summary: run.summary,
      outputs,
      durationSeconds,
      record,
      ...(verification ? { verification } : {}),
      ...(run.revision ? { revision: run.revision } : {}),
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

  /**
   * HBS-DEP-010 when `version` (or the checked-out infra/) is an ancestor of what the environment runs.
   * Versions that are not commits of this clone (a tag-less build name) cannot be compared: noted.
   */
  private async refuseOlder(
    env: string,
    version: string,
    revision: SourceRevision | undefined,
    repo: GitRepo,
    notes: string[],
  ): Promise<void> {
    if (!this.ledger) return;
    let records: DeploymentRecord[];
    try {
      records = newestFirst(await this.ledger.list(env));
    } catch (error) {
      return ledgerError(error);
    }
    const deployed = currentDeployment(records);
    if (!deployed) return;
    const pairs: Array<{
      what: string;
      mine: string | undefined;
      theirs: string | undefined;
      named: string;
    }> = [
      {
        what: "version",
        mine: await resolveCommit(repo, version),
        theirs: await resolveCommit(repo, deployed.version),
        named: deployed.version,
      },
      {
        what: "infra/ and config revision",
        mine: revision?.commit,
        theirs: deployed.revision?.commit,
        named: deployed.revision?.commit ?? "",
      },
    ];
    for (const { what, mine, theirs, named } of pairs) {
      if (named !== "" && theirs === undefined && /^[0-9a-f]{40}$/.test(named)) {
        throw new PipelineError(
          "HBS-DEP-010",
          `cannot tell whether ${version} is older than ${named}, the ${what} ${env} runs: that commit is not in this clone`,
        );
      }
      if (!mine || !theirs) continue;
      if (await isAncestor(repo, mine, theirs)) {
        throw new PipelineError(
          "HBS-DEP-010",
          `refusing to deploy ${version} to ${env}: its ${what} ${mine.slice(0, 12)} is older than the deployed ${theirs.slice(0, 12)} (an ancestor of it); to go back on purpose run \`hbsync rollback ${env} --to ${version}\``,
        );
      }
    }
    if (!(await resolveCommit(repo, version)) && !revision) {
      notes.push(
        `${version} is not a commit of this clone: not checked against the deployed ${deployed.version}`,
      );
    }
  }

  /**
   * This manager over `checkout`, a worktree of another revision of the same repository: its config file,
   * environment directory and working directory are the checkout's copies; the ledger, stores, notifier
   * and smoke test are shared. Paths outside the repository (and backend config files) stay as they are.
   */
  forCheckout(repo: GitRepo, checkout: string): EnvironmentManager {
    const cwd = this.options.cwd;
    const configPath = this.options.configPath ?? "config.yaml";
    const { config: _loaded, ...rest } = this.options;
    return new EnvironmentManager({
      ...rest,
      cwd: inCheckout(repo, checkout, cwd, ".") ?? checkout,
      configPath: inCheckout(repo, checkout, cwd, configPath) ?? resolve(cwd, configPath),
      ...(this.options.dir
        ? { dir: inCheckout(repo, checkout, cwd, this.options.dir) ?? resolve(cwd, this.options.dir) }
        : {}),
      ...(this.options.backendConfig
        ? {
            backendConfig: this.options.backendConfig.map((value) =>
              /^[\w.-]+=/.test(value) || isAbsolute(value) ? value : resolve(cwd, value),
            ),
          }
        : {}),
      terraform: this.terraform,
      errorHandler: this.handler,
    });
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
    const records = this.ledger ? newestFirst(await this.ledger.list(env).catch(ledgerError)) : [];
    const lastDeployment = records[0];
    const schedule = this.options.stateStore
      ? await readScheduleState(this.options.stateStore, env)
      : undefined;
    return {
      env,
      dir,
      deployed: resourceCount > 0,
      outputs,
      resourceCount,
      lastDeployment,
      current: currentDeployment(records),
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
        ...(run.revision ? { revision: run.revision } : {}),
        reached: run.reached,
        ...(run.verification ? { verification: run.verification } : {}),
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
  revision?: SourceRevision;
  reached: DeploymentStage;
  verification?: SmokeTestResult;
}

function ledgerError(error: unknown): never {
  if (error instanceof PipelineError) throw error;
  throw new PipelineError("HBS-INF-007", `deployment ledger: ${errorMessage(error)}`, { cause: error });
}

function sha256(bytes: Buffer): string {
  return createHash("sha256").update(bytes).digest("hex");
}

function seconds(from: Date, to: Date): number {
  return Math.max(0, Math.round((to.getTime() - from.getTime()) / 100) / 10);
}
