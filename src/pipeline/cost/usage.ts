import type { Assumptions } from "./assumptions.ts";
import { countRuns } from "./schedule-runs.ts";
import type { CostInput } from "./types.ts";

/**
 * What one environment uses in an average month, derived from its config and the assumptions.
 * Pure: the estimator prices it, the recommender re-derives it with one setting changed.
 *
 * Model: the mirror holds (bottles per tag × tags + the `all` bottles) × average size. Each week a
 * share of it is replaced upstream (churn); each run moves what changed since the previous run, so
 * bytes per run = monthly churn / runs per month (never more than the whole mirror). A run whose
 * bottle bytes exceed `size_threshold_gb` goes to ECS Fargate, otherwise to the worker Lambda.
 *
 * S3 requests and bytes follow src/storage/s3.ts: each bottle is written once, to its own key (one
 * checksummed PutObject, or a multipart upload above 64 MiB), so a bottle is stored once and leaves no
 * temp object. The bucket is versioned: what is deleted or overwritten stays as a noncurrent version
 * for `noncurrentVersionDays` — pruned bottles, and the API files and state rewritten by every run.
 *
 * With `mirror.layouts: [flat, oci]` the OCI names are server-side copies (CopyObject; a website-redirect
 * object would not work through the REST endpoint, src/storage/s3.ts): the bottle and manifest bytes are
 * stored twice (and pruned twice, so noncurrent twice), each transferred bottle costs two more PUT-class
 * requests (the copies of the bottle and of its manifest), and each run lists `v2/` twice (write, prune).
 */
export interface Usage {
  runsPerMonth: number;
  workingHourRunsPerMonth: number;
  scheduleBasis: string;
  mirror: { tags: number; bottles: number; gb: number };
  perRun: { bottles: number; bottleGb: number; apiGb: number; totalGb: number };
  worker: "lambda" | "ecs";
  orchestrator: { secondsPerRun: number; gbSecondsPerMonth: number; requestsPerMonth: number };
  /** Zero when runs go to ECS. */
  lambdaWorker: {
    secondsPerRun: number;
    invocationsPerRun: number;
    gbSecondsPerMonth: number;
    requestsPerMonth: number;
  };
  /** Zero when runs go to the Lambda worker. */
  ecsTask: { secondsPerRun: number; taskHoursPerMonth: number };
  s3: {
    /** 2 with the OCI layout (every bottle and manifest stored under both names), else 1. */
    copies: number;
    storedGb: number;
    supersededGb: number;
    /** Noncurrent versions kept (GB-month): pruned bottles + rewritten API files and state. */
    noncurrentGb: number;
    putsPerMonth: number;
    getsPerMonth: number;
  };
  egressGb: number;
  logs: { ingestedGb: number; storedGb: number };
  nat: { gatewayHours: number; processedGb: number; s3ProcessedGb: number };
  /**
   * The monitoring the stack deploys: dashboards, alarms and secrets bill per month; Container Insights
   * bills its metrics only for the hours a task sends them (none when runs go to the Lambda worker) and
   * its performance log events as log ingestion.
   */
  monitoring: {
    dashboards: number;
    alarms: number;
    secrets: number;
    secretCalls: number;
    insightsMetricMonths: number;
    insightsLogGb: number;
  };
  initialSync: { gb: number; worker: "lambda" | "ecs"; seconds: number };
}

export interface UsageOverrides {
  /** Replaces the schedule's runs per month (the pause-dev recommendation). */
  runsPerMonth?: number;
}

const MB_PER_GB = 1024;
/** S3Store's multipart part size (src/storage/s3.ts). */
const PART_MB = 8;
const KB_PER_GB = 1024 * 1024;
/** Fargate bills at least one minute per task. */
const FARGATE_MINIMUM_SECONDS = 60;
/** PUT-class requests per transferred bottle for its OCI names: CopyObject of the bottle and of its manifest. */
export const OCI_COPIES_PER_BOTTLE = 2;
/** Keys per ListObjectsV2 page. */
const LIST_PAGE = 1000;

export function deriveUsage(input: CostInput, a: Assumptions, overrides: UsageOverrides = {}): Usage {
  const counted = countRuns(input.schedule, a);
  const runs = overrides.runsPerMonth ?? counted.runsPerMonth;
  const workingRuns = Math.min(runs, counted.workingHourRunsPerMonth);

  const tags = new Set(input.mirror.tags.filter((tag) => tag !== "all")).size;
  const formulae =
    input.mirror.include.length > 0
      ? input.mirror.include.length
      : Math.max(0, a.bottlesPerTag - input.mirror.exclude.length);
  const mirrorBottles = formulae * tags + formulae * a.allTagFraction;
  const mirrorGb = (mirrorBottles * a.averageBottleMb) / MB_PER_GB;

  const churnBottlesPerMonth = mirrorBottles * a.weeklyChurnFraction * (a.daysPerMonth / 7);
  const bottlesPerRun = runs > 0 ? Math.min(mirrorBottles, churnBottlesPerMonth / runs) : 0;
  const bottleGbPerRun = (bottlesPerRun * a.averageBottleMb) / MB_PER_GB;
  const apiGbPerRun = a.apiMbPerRun / MB_PER_GB;
  const gbPerRun = bottleGbPerRun + apiGbPerRun;
  const worker = bottleGbPerRun > input.sizeThresholdGb ? "ecs" : "lambda";

  const orchestratorSeconds = a.orchestratorBaseSeconds + a.orchestratorSecondsPerBottle * bottlesPerRun;
  const lambdaSeconds = a.workerOverheadSeconds + (gbPerRun * MB_PER_GB) / a.lambdaThroughputMbPerSecond;
  const invocationsPerRun = Math.max(1, Math.ceil(lambdaSeconds / input.lambda.timeoutSeconds));
  const ecsSeconds = Math.max(
    FARGATE_MINIMUM_SECONDS,
    a.ecsOverheadSeconds + (gbPerRun * MB_PER_GB) / a.ecsThroughputMbPerSecond,
  );

  const oci = (input.mirror.layouts ?? []).includes("oci");
  const copies = oci ? 2 : 1;
  // The layout phase and the OCI prune each list v2/homebrew/core/ (blobs + one manifest per formula).
  const ociListsPerRun = oci ? 2 * Math.ceil((mirrorBottles + formulae) / LIST_PAGE) : 0;
  const supersededGb = mirrorGb * a.weeklyChurnFraction * (input.mirror.retentionDays / 7);
  // Pruned bottles (the month's churn, deleted after retention) and each run's rewritten API files and
  // state, each kept noncurrentVersionDays.
  const noncurrentShare = a.noncurrentVersionDays / a.daysPerMonth;
  const prunedNoncurrentGb = mirrorGb * a.weeklyChurnFraction * (a.noncurrentVersionDays / 7);
  const rewrittenNoncurrentGb = runs * noncurrentShare * ((a.apiMbPerRun + a.stateMb) / MB_PER_GB);
  const clientGets = a.averageBottleMb > 0 ? (a.clientEgressGbPerMonth * MB_PER_GB) / a.averageBottleMb : 0;
  const logsIngestedGb = (runs * (a.logKbPerRun + bottlesPerRun * a.logKbPerBottle)) / KB_PER_GB;

  const natHours = input.network.nat ? input.network.natGateways * a.hoursPerMonth : 0;
  // Through NAT: the upstream download, and the upload to S3 unless a gateway endpoint carries it.
  const s3ViaNat = input.network.nat && !input.network.s3GatewayEndpoint ? runs * gbPerRun : 0;
  const natProcessed = input.network.nat ? runs * gbPerRun + s3ViaNat : 0;

  // A metric is billed for each hour in which it is sent: a run's task touches ⌈its length in hours⌉ hours.
  const taskHoursPerMonth = worker === "ecs" ? (runs * ecsSeconds) / 3600 : 0;
  const insightsHours =
    input.monitoring.containerInsights && worker === "ecs"
      ? Math.min(a.hoursPerMonth, runs * Math.ceil(ecsSeconds / 3600))
      : 0;
  const insightsMetricMonths =
    a.hoursPerMonth > 0 ? (a.containerInsightsMetrics * insightsHours) / a.hoursPerMonth : 0;
  const insightsLogGb = input.monitoring.containerInsights
    ? (taskHoursPerMonth * a.containerInsightsKbPerTaskHour) / KB_PER_GB
    : 0;

  const initialGb = mirrorGb + apiGbPerRun;
  const initialWorker = mirrorGb > input.sizeThresholdGb ? "ecs" : "lambda";
  const initialSeconds =
    initialWorker === "ecs"
      ? a.ecsOverheadSeconds + (initialGb * MB_PER_GB) / a.ecsThroughputMbPerSecond
      : a.workerOverheadSeconds + (initialGb * MB_PER_GB) / a.lambdaThroughputMbPerSecond;

  const onLambda = worker === "lambda";
  return {
    runsPerMonth: runs,
    workingHourRunsPerMonth: workingRuns,
    scheduleBasis:
      overrides.runsPerMonth === undefined
        ? counted.basis
        : `${counted.basis}; replaced by ${overrides.runsPerMonth} runs`,
    mirror: { tags, bottles: mirrorBottles, gb: mirrorGb },
    perRun: { bottles: bottlesPerRun, bottleGb: bottleGbPerRun, apiGb: apiGbPerRun, totalGb: gbPerRun },
    worker,
    orchestrator: {
      secondsPerRun: orchestratorSeconds,
      gbSecondsPerMonth: runs * orchestratorSeconds * (input.lambda.orchestratorMemoryMb / MB_PER_GB),
      requestsPerMonth: runs,
    },
    lambdaWorker: onLambda
      ? {
          secondsPerRun: lambdaSeconds,
          invocationsPerRun,
          gbSecondsPerMonth: runs * lambdaSeconds * (input.lambda.syncMemoryMb / MB_PER_GB),
          requestsPerMonth: runs * invocationsPerRun,
        }
      : { secondsPerRun: 0, invocationsPerRun: 0, gbSecondsPerMonth: 0, requestsPerMonth: 0 },
    ecsTask: onLambda
      ? { secondsPerRun: 0, taskHoursPerMonth: 0 }
      : { secondsPerRun: ecsSeconds, taskHoursPerMonth },
    s3: {
      copies,
      storedGb: (mirrorGb + supersededGb) * copies + apiGbPerRun,
      supersededGb,
      noncurrentGb: prunedNoncurrentGb * copies + rewrittenNoncurrentGb,
      putsPerMonth:
        runs *
        (bottlesPerRun * (putsPerTransferredBottle(a) + (oci ? OCI_COPIES_PER_BOTTLE : 0)) +
          a.putsPerRun +
          ociListsPerRun),
      getsPerMonth: runs * a.getsPerRun + clientGets,
    },
    egressGb: a.clientEgressGbPerMonth,
    logs: {
      ingestedGb: logsIngestedGb,
      storedGb: logsIngestedGb * (a.logRetentionDays / a.daysPerMonth),
    },
    nat: { gatewayHours: natHours, processedGb: natProcessed, s3ProcessedGb: s3ViaNat },
    monitoring: {
      dashboards: input.monitoring.dashboards,
      alarms: input.monitoring.alarms,
      secrets: input.monitoring.secrets,
      secretCalls: input.monitoring.secrets > 0 ? runs * a.secretCallsPerRun : 0,
      insightsMetricMonths,
      insightsLogGb,
    },
    initialSync: { gb: initialGb, worker: initialWorker, seconds: initialSeconds },
  };
}

/**
 * PUT-class requests per transferred bottle: `putsPerBottle` (its PutObject and its manifest's), and for
 * the share above 64 MiB a multipart upload instead of the PutObject (create + 8 MiB parts + complete).
 */
export function putsPerTransferredBottle(a: Assumptions): number {
  const multipartRequests = 2 + Math.ceil(a.multipartBottleMb / PART_MB);
  return a.putsPerBottle + a.multipartBottleFraction * (multipartRequests - 1);
}

/** The smallest worker memory that the throughput assumption needs, rounded up to 256 MB. */
export function neededSyncMemoryMb(input: CostInput, a: Assumptions): number {
  const need = a.lambdaMemoryBaseMb + a.lambdaMemoryPerTransferMb * input.mirror.transfersConcurrency;
  return Math.max(512, Math.ceil(need / 256) * 256);
}
