import { PRODUCTION_ENVIRONMENTS } from "../../config/constants.ts";
import type { Assumptions } from "./assumptions.ts";
import { type CostEstimate, estimateMonthlyCost, microsToUsd, toMicros } from "./estimate.ts";
import type { RegionPrices } from "./prices.ts";
import type { CostInput, Recommendation } from "./types.ts";
import { neededSyncMemoryMb } from "./usage.ts";

/**
 * Savings advice for one environment. Each recommendation has a condition on the config that
 * warrants it, and is only made when it also saves money: its saving is the difference between the
 * estimate as configured and the estimate with the change applied (same model, same assumptions).
 */
export function recommend(
  input: CostInput,
  prices: RegionPrices,
  assumptions: Assumptions,
  base: CostEstimate = estimateMonthlyCost(input, prices, assumptions),
): Recommendation[] {
  const result: Recommendation[] = [];
  const alternativeEstimate = (alternative: CostInput, runsPerMonth?: number): CostEstimate =>
    estimateMonthlyCost(alternative, prices, assumptions, runsPerMonth === undefined ? {} : { runsPerMonth });
  const savingAgainst = (alternative: CostInput, runsPerMonth?: number): number =>
    base.totalMicros - alternativeEstimate(alternative, runsPerMonth).totalMicros;
  // Only advice worth at least a cent a month is given.
  const add = (recommendation: Omit<Recommendation, "savingUsd">): void => {
    const savingUsd = microsToUsd(recommendation.savingMicros);
    if (savingUsd >= 0.01) result.push({ ...recommendation, savingUsd });
  };

  // 1. Graviton: the same work at a lower price per GB-second and per vCPU-hour.
  const x86Parts = [
    input.lambda.architecture === "x86_64" ? "The Lambda functions" : "",
    input.ecs.architecture === "x86_64"
      ? input.lambda.architecture === "x86_64"
        ? "the ECS task"
        : "The ECS task"
      : "",
  ].filter(Boolean);
  if (x86Parts.length > 0) {
    add({
      id: "arm64",
      title: "Run on arm64 (Graviton)",
      detail: `${x86Parts.join(" and ")} run on x86_64; arm64 Lambda costs ~20% less per GB-second and arm64 Fargate ~20% less per vCPU- and GB-hour. The sync is I/O-bound Node.js with no native code, so it runs unchanged.`,
      action:
        "build the Lambda zips and the task image for linux/arm64 and set the Lambda and ECS architecture to arm64",
      savingMicros: savingAgainst({
        ...input,
        lambda: { ...input.lambda, architecture: "arm64" },
        ecs: { ...input.ecs, architecture: "arm64" },
      }),
    });
  }

  // 2. Fargate Spot outside production: a sync is idempotent and resumes after an interruption.
  if (!input.enableFargateSpot && !PRODUCTION_ENVIRONMENTS.includes(input.env)) {
    add({
      id: "fargate-spot",
      title: `Use Fargate Spot in ${input.env}`,
      detail: `${input.env} is not production and runs its large syncs on on-demand Fargate; Spot is up to 70% cheaper (${assumptions.spotDiscount * 100}% assumed). An interrupted sync resumes on the next run because every step is idempotent.`,
      action: `set environments.${input.env}.enable_fargate_spot: true`,
      savingMicros: savingAgainst({ ...input, enableFargateSpot: true }),
    });
  }

  // 3. Lambda memory: the sync is network-bound; memory beyond its buffers buys nothing.
  const needed = neededSyncMemoryMb(input, assumptions);
  const syncTooBig = input.lambda.syncMemoryMb >= 2 * needed;
  const orchestratorTooBig = input.lambda.orchestratorMemoryMb > 512;
  if (syncTooBig || orchestratorTooBig) {
    const changes = [
      syncTooBig
        ? `sync worker ${input.lambda.syncMemoryMb} → ${needed} MB (${assumptions.lambdaMemoryBaseMb} MB + ${assumptions.lambdaMemoryPerTransferMb} MB × ${input.mirror.transfersConcurrency} transfers)`
        : "",
      orchestratorTooBig ? `orchestrator ${input.lambda.orchestratorMemoryMb} → 512 MB` : "",
    ].filter(Boolean);
    add({
      id: "lambda-memory",
      title: "Right-size Lambda memory",
      detail: `${changes.join("; ")}. Assumes run time stays the same, which holds while the copy is limited by the network, not the CPU (measure with AWS Lambda Power Tuning).`,
      action: [
        syncTooBig ? `resources.lambda.sync_memory: ${needed}` : "",
        orchestratorTooBig ? "resources.lambda.orchestrator_memory: 512" : "",
      ]
        .filter(Boolean)
        .join(", "),
      savingMicros: savingAgainst({
        ...input,
        lambda: {
          ...input.lambda,
          syncMemoryMb: syncTooBig ? needed : input.lambda.syncMemoryMb,
          orchestratorMemoryMb: orchestratorTooBig ? 512 : input.lambda.orchestratorMemoryMb,
        },
      }),
    });
  }

  // 4. S3 through NAT: a gateway endpoint carries it for free.
  if (input.network.nat && !input.network.s3GatewayEndpoint) {
    add({
      id: "s3-gateway-endpoint",
      title: "Add an S3 gateway VPC endpoint",
      detail: `uploads to S3 pass through the NAT gateway (${fixed(base.usage.nat.s3ProcessedGb)} GB/month at $${prices.nat.gbProcessed.usd}/GB processed); an S3 gateway endpoint has no hourly or per-GB charge.`,
      action:
        "add an aws_vpc_endpoint of type Gateway for com.amazonaws.<region>.s3 to the private route tables",
      savingMicros: savingAgainst({ ...input, network: { ...input.network, s3GatewayEndpoint: true } }),
    });
  }

  // 5. Old bottles: superseded versions and rarely fetched bottles sit in S3 Standard.
  const { mirror, s3 } = base.usage;
  if (input.mirror.retentionDays >= assumptions.longRetentionDays || mirror.gb >= assumptions.largeMirrorGb) {
    const coldGb = s3.supersededGb + mirror.gb * assumptions.coldFraction;
    const objects = mirror.bottles * (1 + assumptions.weeklyChurnFraction * (input.mirror.retentionDays / 7));
    const savingUsd =
      coldGb * (prices.s3.standardGbMonth.usd - prices.s3.intelligentTieringInfrequentGbMonth.usd) -
      objects * prices.s3.intelligentTieringMonitoringObject.usd;
    add({
      id: "storage-tiering",
      title: "Move old bottles to S3 Intelligent-Tiering",
      detail: `${fixed(s3.storedGb)} GB stored (${fixed(s3.supersededGb)} GB of it superseded bottles kept ${input.mirror.retentionDays} days); about ${fixed(coldGb)} GB is rarely read and would drop to the Infrequent Access tier ($${prices.s3.intelligentTieringInfrequentGbMonth.usd}/GB-month) after 30 days, minus the monitoring fee for ${fixed(objects)} objects.`,
      action:
        "add an S3 lifecycle rule transitioning bottles/ to INTELLIGENT_TIERING (or lower mirror.retention_days)",
      savingMicros: toMicros(savingUsd),
    });
  }

  // 6. A dev schedule firing at night and at weekends: pause it outside working hours.
  const { runsPerMonth, workingHourRunsPerMonth } = base.usage;
  const outside = runsPerMonth - workingHourRunsPerMonth;
  // A rate of a day or more fires at the time of day it was created, which the config does not say.
  const unknownTimeOfDay = input.schedule.kind === "rate" && input.schedule.unit.startsWith("day");
  if (/^dev/i.test(input.env) && outside > 1e-9 && !unknownTimeOfDay) {
    // With no run inside working hours, pausing means moving the run into them: one per working day at most.
    const workingDays = (assumptions.daysPerMonth * 5) / 7;
    const remaining =
      workingHourRunsPerMonth > 0 ? workingHourRunsPerMonth : Math.min(runsPerMonth, workingDays);
    const window = `Mon-Fri ${hour(assumptions.workingHoursStartUtc)}-${hour(assumptions.workingHoursEndUtc)} UTC`;
    const paused = alternativeEstimate(input, remaining);
    const moves =
      paused.usage.worker === base.usage.worker
        ? ""
        : ` (bigger runs then go to ${paused.usage.worker === "ecs" ? "ECS Fargate" : "the worker Lambda"})`;
    add({
      id: "pause-dev",
      title: `Pause the ${input.env} schedule outside working hours`,
      detail: `${fixed(outside)} of ${fixed(runsPerMonth)} runs a month fall outside ${window}. Pausing it at night and at weekends leaves ${fixed(remaining)} runs${moves}; each carries more changes, but the fixed cost per run is paid less often.`,
      action: `hbsync env pause ${input.env} at the end of the working day and hbsync env resume ${input.env} at its start (e.g. from a scheduled workflow)`,
      savingMicros: base.totalMicros - paused.totalMicros,
    });
  }

  return result;
}

function fixed(value: number): string {
  return value.toLocaleString("en-US", { maximumFractionDigits: 1 });
}

function hour(value: number): string {
  return `${String(value).padStart(2, "0")}:00`;
}
