/**
 * The status model: everything the status page and `/status.json` show, computed from the store's own
 * files (`_sync/state.json`, `_sync/runs/*.json`, `_sync/plans/*.json`, `api/formula.jws.json`), the
 * deployment ledger and config.yaml. Field names are stable (monitoring systems read `/status.json`);
 * every time is an ISO 8601 string in UTC, every size an exact byte count.
 */
export const STATUS_SCHEMA_VERSION = 1;

export type HealthLevel = "ok" | "warning" | "critical";

export interface StatusModel {
  schemaVersion: typeof STATUS_SCHEMA_VERSION;
  generatedAt: string;
  /** The mirror: `/abs/path` or `s3://bucket/prefix`. */
  location: string;
  health: { status: HealthLevel; reasons: string[] };
  freshness: Freshness;
  mirror: MirrorSummary;
  runs: RunsSummary;
  /** Null when no ledger was given. */
  deployments: DeploymentsSummary | null;
  /** Null when no config was given. */
  costs: CostsSummary | null;
  /** Files that could not be read or parsed (the page still renders what it could). */
  problems: string[];
}

export interface Freshness {
  /** `finishedAt` of the newest successful run, or null when no run has succeeded. */
  lastSuccessfulSyncAt: string | null;
  lastSuccessfulRunId: string | null;
  /** Seconds from the last successful sync to `generatedAt`. */
  ageSeconds: number | null;
  /** The mirror counts as stale after this many seconds without a successful sync. */
  staleAfterSeconds: number;
  stale: boolean;
  /** The newest run of any status. */
  lastRunAt: string | null;
  lastRunStatus: "succeeded" | "failed" | null;
  /** Date of the upstream index the mirror serves (Last-Modified of formula.jws.json). */
  upstreamIndexDate: string | null;
  /**
   * Where `upstreamIndexDate` comes from: the upstream's Last-Modified header as the run's plan recorded
   * it, or (when the plan is gone or had none) the modification time of `api/formula.jws.json` in the store.
   */
  upstreamIndexDateSource: "upstream-last-modified" | "stored-mtime" | null;
  /** `updatedAt` of `_sync/state.json` (null when the mirror has no state yet). */
  stateUpdatedAt: string | null;
}

export interface TagSummary {
  tag: string;
  bottles: number;
  bytes: number;
}

export interface MirrorSummary {
  /** Current bottles (state entries without `supersededAt`). */
  bottles: number;
  bytes: number;
  /** Current bottles per tag, sorted by tag. */
  tags: TagSummary[];
  /** Superseded bottles still kept for the retention period. */
  superseded: { bottles: number; bytes: number };
  manifests: number;
  apiFiles: number;
}

export interface RunError {
  key: string;
  message: string;
  status?: number;
}

export interface RunSummary {
  runId: string;
  status: "succeeded" | "failed";
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  tags: string[];
  /** Bottles downloaded and verified by the run (`counts.transferred`). */
  bottles: number;
  /** Bytes those downloads stored (`bytes.transferred`). */
  bytes: number;
  adopted: number;
  kept: number;
  failed: number;
  pruned: number;
  errorCount: number;
}

export interface RunDetail extends RunSummary {
  /** The run's errors, at most `MAX_ERRORS_PER_RUN` (see `errorCount` for the total). */
  errors: RunError[];
}

export interface RunsSummary {
  /** Run reports in the store. */
  total: number;
  /** The last runs, oldest first (the charts). */
  history: RunSummary[];
  /** The last runs with their errors, newest first. */
  recent: RunDetail[];
}

export interface DeploymentSummary {
  id: string;
  version: string;
  status: string;
  startedAt: string;
  finishedAt: string;
  actor: string;
  /** The id of the deployment this one rolled back, when it is a rollback. */
  rollbackOf: string | null;
  rollbackOfVersion: string | null;
  changes: { add: number; change: number; destroy: number } | null;
  errors: string[];
}

export interface EnvironmentDeployments {
  env: string;
  /** The version of the newest successful deployment. */
  current: string | null;
  /** Newest first. */
  records: DeploymentSummary[];
  total: number;
}

export interface DeploymentsSummary {
  environments: EnvironmentDeployments[];
}

export interface EnvironmentCost {
  env: string;
  region: string;
  totalUsd: number;
  budgetUsd: number;
  overBudget: boolean;
  worker: "lambda" | "ecs";
  /** Monthly cost per AWS service, largest first. */
  services: Array<{ service: string; costUsd: number }>;
  notes: string[];
}

export interface CostsSummary {
  currency: "USD";
  pricesAsOf: string;
  totalUsd: number;
  environments: EnvironmentCost[];
}
