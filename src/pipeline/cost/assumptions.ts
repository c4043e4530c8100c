import { CostError } from "./errors.ts";
import type { AssumptionLine } from "./types.ts";

/**
 * Everything the estimate assumes that config.yaml does not say. Each default is a round, documented
 * guess (docs/cost.md says where it comes from); every one is printed with the estimate and can be
 * overridden with `hbsync cost --assume key=value`.
 */
export interface Assumptions {
  /** Bottles per mirrored tag when `mirror.formulae.include` is empty (DESIGN.md §1: ~8,400). */
  bottlesPerTag: number;
  /** The `all` tag's bottles, as a fraction of one tag's. */
  allTagFraction: number;
  averageBottleMb: number;
  /** Share of the mirror's bytes replaced by new bottle versions each week. */
  weeklyChurnFraction: number;
  /** API files (formula/cask JWS, packages.<tag>) fetched and published per run. */
  apiMbPerRun: number;
  /** Orchestrator time per run before any bottle: index fetch, signature check, plan. */
  orchestratorBaseSeconds: number;
  /** Orchestrator time per changed bottle (manifest size lookups, in parallel). */
  orchestratorSecondsPerBottle: number;
  /** Sustained copy rate of the worker Lambda, upstream → store, MB/s. */
  lambdaThroughputMbPerSecond: number;
  /** Sustained copy rate of the ECS task, MB/s. */
  ecsThroughputMbPerSecond: number;
  /** Worker Lambda time per run besides copying (read plan, publish API, write state). */
  workerOverheadSeconds: number;
  /** ECS task time per run besides copying; Fargate bills from the image pull. */
  ecsOverheadSeconds: number;
  /**
   * S3 PUT-class requests per transferred bottle up to the single-PUT size (64 MiB): the bottle's one
   * checksummed PutObject and its manifest's (no temp object, no copy: src/storage/s3.ts).
   */
  putsPerBottle: number;
  /** Share of transferred bottles above 64 MiB, which go up as multipart uploads. */
  multipartBottleFraction: number;
  /** Average size of those bottles, MB (parts of 8 MiB: create + parts + complete). */
  multipartBottleMb: number;
  /** Size of `_sync/state.json`, MB: rewritten at least once per run. */
  stateMb: number;
  /** Days S3 keeps a noncurrent version (the storage module's noncurrent_version_expiration_days). */
  noncurrentVersionDays: number;
  /** Other S3 PUT/LIST per run: lock, plan, state, run report, API files. */
  putsPerRun: number;
  /** S3 GETs per run by the sync itself (state, plan, lock checks). */
  getsPerRun: number;
  /** Bottles and API files downloaded from the mirror by brew clients, GB/month (internet egress). */
  clientEgressGbPerMonth: number;
  logKbPerRun: number;
  logKbPerBottle: number;
  /** CloudWatch Logs retention in days (logs stored ≈ monthly ingestion × retention / 30.4375). */
  logRetentionDays: number;
  /** Metric time series Container Insights publishes for the cluster while a sync task runs. */
  containerInsightsMetrics: number;
  /** Container Insights performance log events per task-hour, KB (CloudWatch Logs ingestion). */
  containerInsightsKbPerTaskHour: number;
  /** Secrets Manager GetSecretValue calls per run (the Slack webhook, read once per notifying function). */
  secretCallsPerRun: number;
  /** Fraction off on-demand Fargate vCPU/memory on FARGATE_SPOT. */
  spotDiscount: number;
  /** Memory the worker needs: a base plus a buffer per concurrent transfer. */
  lambdaMemoryBaseMb: number;
  lambdaMemoryPerTransferMb: number;
  /** Working hours (UTC, Monday–Friday, [start, end)) for the pause-dev recommendation. */
  workingHoursStartUtc: number;
  workingHoursEndUtc: number;
  /** Share of mirror bytes not downloaded for 30 days (moves to Intelligent-Tiering's cheaper tier). */
  coldFraction: number;
  /** Mirror size from which storage tiering is worth recommending. */
  largeMirrorGb: number;
  /** Retention from which storage tiering is worth recommending. */
  longRetentionDays: number;
  /** Billing month: hours (AWS's 730) and days (365.25 / 12). */
  hoursPerMonth: number;
  daysPerMonth: number;
}

export const DEFAULT_ASSUMPTIONS: Readonly<Assumptions> = Object.freeze({
  bottlesPerTag: 8400,
  allTagFraction: 0.05,
  averageBottleMb: 12,
  weeklyChurnFraction: 0.1,
  apiMbPerRun: 40,
  orchestratorBaseSeconds: 30,
  orchestratorSecondsPerBottle: 0.05,
  lambdaThroughputMbPerSecond: 40,
  ecsThroughputMbPerSecond: 80,
  workerOverheadSeconds: 15,
  ecsOverheadSeconds: 60,
  putsPerBottle: 2,
  multipartBottleFraction: 0.03,
  multipartBottleMb: 200,
  stateMb: 10,
  noncurrentVersionDays: 30,
  putsPerRun: 20,
  getsPerRun: 10,
  clientEgressGbPerMonth: 10,
  logKbPerRun: 20,
  logKbPerBottle: 0.5,
  logRetentionDays: 30,
  containerInsightsMetrics: 24,
  containerInsightsKbPerTaskHour: 120,
  secretCallsPerRun: 2,
  spotDiscount: 0.7,
  lambdaMemoryBaseMb: 512,
  lambdaMemoryPerTransferMb: 128,
  workingHoursStartUtc: 8,
  workingHoursEndUtc: 18,
  coldFraction: 0.5,
  largeMirrorGb: 500,
  longRetentionDays: 30,
  hoursPerMonth: 730,
  daysPerMonth: 30.4375,
});

const DESCRIPTIONS: Record<keyof Assumptions, string> = {
  bottlesPerTag: "bottles per mirrored tag when formulae.include is empty",
  allTagFraction: "`all`-tag bottles as a fraction of one tag's",
  averageBottleMb: "average bottle size, MB",
  weeklyChurnFraction: "share of the mirror replaced by new bottle versions per week",
  apiMbPerRun: "API files fetched and published per run, MB",
  orchestratorBaseSeconds: "orchestrator seconds per run (index, signature, plan)",
  orchestratorSecondsPerBottle: "orchestrator seconds per changed bottle (manifest lookups)",
  lambdaThroughputMbPerSecond: "worker Lambda copy rate, MB/s",
  ecsThroughputMbPerSecond: "ECS task copy rate, MB/s",
  workerOverheadSeconds: "worker Lambda seconds per run besides copying",
  ecsOverheadSeconds: "ECS task seconds per run besides copying (image pull, start)",
  putsPerBottle: "S3 PUTs per transferred bottle up to 64 MiB (its PutObject + its manifest's)",
  multipartBottleFraction: "share of transferred bottles above 64 MiB (multipart uploads)",
  multipartBottleMb: "average size of the bottles above 64 MiB, MB (8 MiB parts)",
  stateMb: "size of _sync/state.json, MB (rewritten every run)",
  noncurrentVersionDays:
    "days S3 keeps noncurrent versions (storage module's noncurrent_version_expiration_days)",
  putsPerRun: "other S3 PUT/LIST per run (lock, plan, state, report, API)",
  getsPerRun: "S3 GETs per run by the sync",
  clientEgressGbPerMonth: "downloads by brew clients from the mirror, GB/month (internet egress)",
  logKbPerRun: "log volume per run, KB",
  logKbPerBottle: "log volume per transferred bottle, KB",
  logRetentionDays: "CloudWatch Logs retention, days",
  containerInsightsMetrics: "Container Insights metric time series sent while a sync task runs",
  containerInsightsKbPerTaskHour: "Container Insights performance log events per task-hour, KB",
  secretCallsPerRun: "Secrets Manager GetSecretValue calls per run",
  spotDiscount: "Fargate Spot discount off on-demand vCPU and memory",
  lambdaMemoryBaseMb: "worker memory need: base, MB",
  lambdaMemoryPerTransferMb: "worker memory need: per concurrent transfer, MB",
  workingHoursStartUtc: "working hours start (UTC, Mon-Fri)",
  workingHoursEndUtc: "working hours end (UTC, Mon-Fri)",
  coldFraction: "share of mirror bytes not downloaded for 30 days",
  largeMirrorGb: "mirror size from which storage tiering is recommended, GB",
  longRetentionDays: "retention from which storage tiering is recommended, days",
  hoursPerMonth: "hours per billing month",
  daysPerMonth: "days per average month (365.25 / 12)",
};

const FRACTIONS: ReadonlySet<keyof Assumptions> = new Set([
  "allTagFraction",
  "weeklyChurnFraction",
  "multipartBottleFraction",
  "spotDiscount",
  "coldFraction",
]);

/** Applies `key=value` overrides (from `--assume`) to the defaults; rejects unknown keys and bad values. */
export function resolveAssumptions(
  overrides: readonly string[] = [],
  base: Readonly<Assumptions> = DEFAULT_ASSUMPTIONS,
): Assumptions {
  const result: Assumptions = { ...base };
  for (const text of overrides) {
    const match = /^([A-Za-z]+)=(.+)$/.exec(text.trim());
    if (!match) {
      throw new CostError(`--assume ${text}: expected key=value`, {
        fix: "write it like --assume clientEgressGbPerMonth=100",
        kind: "usage",
      });
    }
    const [, key = "", raw = ""] = match;
    if (!(key in DESCRIPTIONS)) {
      throw new CostError(`--assume ${text}: unknown assumption \`${key}\``, {
        fix: `use one of: ${Object.keys(DESCRIPTIONS).join(", ")}`,
        kind: "usage",
      });
    }
    const name = key as keyof Assumptions;
    const value = Number(raw);
    const max = FRACTIONS.has(name) ? 1 : Number.POSITIVE_INFINITY;
    if (!Number.isFinite(value) || value < 0 || value > max) {
      throw new CostError(`--assume ${text}: \`${raw}\` must be a number from 0 to ${max}`, {
        fix: `give ${key} a ${FRACTIONS.has(name) ? "fraction such as 0.5" : "non-negative number"}`,
        kind: "usage",
      });
    }
    result[name] = value;
  }
  for (const name of ["lambdaThroughputMbPerSecond", "ecsThroughputMbPerSecond", "daysPerMonth"] as const) {
    if (result[name] <= 0) {
      throw new CostError(`--assume ${name}=0: this assumption must be greater than 0`, {
        fix: `give ${name} a positive number`,
        kind: "usage",
      });
    }
  }
  return result;
}

/** Every assumption with its value, for printing next to the estimate. */
export function describeAssumptions(assumptions: Assumptions): AssumptionLine[] {
  return (Object.keys(DESCRIPTIONS) as Array<keyof Assumptions>).map((key) => ({
    key,
    value: String(assumptions[key]),
    description: DESCRIPTIONS[key],
  }));
}
