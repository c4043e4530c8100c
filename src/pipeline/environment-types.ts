/** The options and results of EnvironmentManager (src/pipeline/environment-manager.ts). */

import type { TfvarValue } from "../config/tfvars.ts";
import type { PipelineConfig } from "../config/types.ts";
import type { BlobStore } from "../storage/blob-store.ts";
import type { ArtifactChecksum } from "./artifacts.ts";
import type { Notifier, PipelineErrorHandler } from "./error-handler.ts";
import type { DeploymentLedger, DeploymentRecord } from "./ledger.ts";
import type { PlanSummary } from "./plan-summary.ts";
import type { SourceRevision } from "./revision.ts";
import type { ScheduleState } from "./schedule.ts";
import type { SmokeTest, SmokeTestResult } from "./smoke-test.ts";
import type { LineListener, TerraformRunner } from "./terraform.ts";
import type { DeploymentResult } from "./types.ts";

export interface EnvironmentManagerOptions {
  /** Where relative paths (config, --dir, dist/manifest.json) resolve. */
  cwd: string;
  configPath?: string;
  /** An already-loaded config (skips reading configPath). */
  config?: PipelineConfig;
  env?: NodeJS.ProcessEnv;
  /** The environment's Terraform directory; may contain `{env}`. Default infra/terraform/environments/<env>. */
  dir?: string;
  terraform?: TerraformRunner;
  timeoutMs?: number;
  onLine?: LineListener;
  /** Called when a step starts (`init`, `plan`, `apply`, …), for progress indicators. */
  onPhase?: (phase: string, env: string) => void;
  backendConfig?: string[];
  ledger?: DeploymentLedger;
  /** Where pause/resume keep the schedule state (normally the ledger's store). */
  stateStore?: BlobStore;
  /** Artifact store for rollback checks (`artifacts/<version>/`); null skips the check. */
  artifacts?: BlobStore | null;
  /** Default dist/manifest.json. */
  manifestPath?: string;
  notifier?: Notifier;
  errorHandler?: PipelineErrorHandler;
  /** Run after every apply; its verdict makes the record `verified` or `failed`. None: records stay `applied`. */
  smokeTest?: SmokeTest;
}

export interface PlanOptions {
  version?: string;
  /** Extra `-var` values (tests: `fail_apply`). Not recorded; never carried into a rollback. */
  vars?: Record<string, TfvarValue>;
  /** Also copy the plan file here (relative to cwd), to be reviewed and applied later (`deploy` savedPlan). */
  out?: string;
}

/** A plan made earlier (`plan` with `out`), applied as it is instead of planning again. */
export interface SavedPlan {
  /** The plan file, relative to cwd. */
  file: string;
  /** Its SHA-256 as the plan job recorded it: the file must still have it (hex, 64 digits). */
  sha256?: string;
}

export interface PlanResult {
  env: string;
  dir: string;
  version: string;
  planFile: string;
  /** SHA-256 of the plan file (hex): what a later apply of the saved plan checks. */
  planSha256: string;
  /** Where `out` copied the plan file (absolute). */
  savedTo?: string;
  summary: PlanSummary;
  /** The schedule_enabled value passed, when the environment declares it. */
  scheduleEnabled?: boolean;
}

export interface DeployOptions extends PlanOptions {
  version: string;
  actor?: string;
  /** Roll back automatically when the deploy fails (default true). */
  autoRollback?: boolean;
  /** Record these artifacts instead of reading dist/manifest.json (a rollback passes the old ones). */
  artifacts?: ArtifactChecksum[];
  /** The ledger id of the deployment this one rolls back. */
  rollbackOf?: string;
  /** Apply this reviewed plan instead of making a new one (it must be for `version` and this env). */
  savedPlan?: SavedPlan;
}

export interface DeployResult {
  env: string;
  version: string;
  /** `verified` when the smoke test passed; `applied` when there was none. */
  status: "applied" | "verified";
  summary: PlanSummary;
  outputs: Record<string, unknown>;
  durationSeconds: number;
  record: DeploymentRecord | undefined;
  verification?: SmokeTestResult;
  /** The git revision of infra/ and config.yaml applied (absent outside a git checkout). */
  revision?: SourceRevision;
  /** The user's DeploymentResult model (src/pipeline/types.ts). */
  deployment: DeploymentResult;
  notes: string[];
}

export interface StatusResult {
  env: string;
  dir: string;
  deployed: boolean;
  outputs: Record<string, unknown>;
  resourceCount: number;
  lastDeployment: DeploymentRecord | undefined;
  /** The deployment the environment runs: the newest that got as far as applying. */
  current: DeploymentRecord | undefined;
  schedule: ScheduleState | undefined;
}

export interface DestroyResult {
  env: string;
  destroyed: number;
}
