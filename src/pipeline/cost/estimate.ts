import { type Assumptions, describeAssumptions } from "./assumptions.ts";
import type { Price, RegionPrices } from "./prices.ts";
import type { AssumptionLine, CostInput, LineItem } from "./types.ts";
import {
  deriveUsage,
  OCI_COPIES_PER_BOTTLE,
  putsPerTransferredBottle,
  type Usage,
  type UsageOverrides,
} from "./usage.ts";

/**
 * Prices one environment's monthly usage. Money is integer micro-dollars: each line is
 * round(quantity × unit price × 10^6), lines are summed as integers, and only the total is rounded
 * to the cent, so the result does not drift with the order of floating-point additions.
 */
export interface CostEstimate {
  env: string;
  region: string;
  pricesAsOf: string;
  lineItems: LineItem[];
  totalMicros: number;
  /** The total rounded to the cent. */
  totalUsd: number;
  /** 0 = no budget. */
  budgetUsd: number;
  overBudget: boolean;
  /** The one-off first full sync, not part of the monthly total. */
  initialSync: { gb: number; worker: "lambda" | "ecs"; costUsd: number };
  usage: Usage;
  assumptions: AssumptionLine[];
  /** How the runs were counted, and other facts the reader should know. */
  notes: string[];
}

const MICROS_PER_USD = 1_000_000;
const MICROS_PER_CENT = 10_000;
const MB_PER_GB = 1024;

export function toMicros(usd: number): number {
  return Math.round(usd * MICROS_PER_USD);
}

/** Micro-dollars to USD rounded to the cent (half away from zero on whole micro-dollars). */
export function microsToUsd(micros: number): number {
  const cents = Math.sign(micros) * Math.round(Math.abs(micros) / MICROS_PER_CENT);
  return cents / 100;
}

export function estimateMonthlyCost(
  input: CostInput,
  prices: RegionPrices,
  assumptions: Assumptions,
  overrides: UsageOverrides = {},
): CostEstimate {
  const usage = deriveUsage(input, assumptions, overrides);
  const lineItems = priceUsage(input, usage, prices, assumptions);
  const totalMicros = lineItems.reduce((sum, line) => sum + line.costMicros, 0);
  const totalUsd = microsToUsd(totalMicros);
  const notes = [
    `runs per month: ${usage.scheduleBasis}`,
    `each run moves ${fixed(usage.perRun.bottles, 1)} bottles (${fixed(usage.perRun.bottleGb, 3)} GB) + ${fixed(usage.perRun.apiGb, 3)} GB of API files → ${usage.worker === "ecs" ? `ECS Fargate (above size_threshold_gb ${input.sizeThresholdGb})` : `worker Lambda (within size_threshold_gb ${input.sizeThresholdGb})`}`,
    `mirror: ${fixed(usage.mirror.bottles, 0)} bottles over ${usage.mirror.tags} tag(s) + all ≈ ${fixed(usage.mirror.gb, 1)} GB`,
    "free tiers are not applied (they are per account and shared with other workloads)",
  ];
  return {
    env: input.env,
    region: input.region,
    pricesAsOf: prices.lambda.x86_64.gbSecond.asOf,
    lineItems,
    totalMicros,
    totalUsd,
    budgetUsd: input.budgetUsd,
    overBudget: input.budgetUsd > 0 && totalUsd > input.budgetUsd,
    initialSync: {
      gb: usage.initialSync.gb,
      worker: usage.initialSync.worker,
      costUsd: microsToUsd(initialSyncMicros(input, usage, prices, assumptions)),
    },
    usage,
    assumptions: describeAssumptions(assumptions),
    notes,
  };
}

function line(
  service: string,
  item: string,
  quantity: number,
  price: Price,
  options: { unitPriceUsd?: number; note?: string } = {},
): LineItem {
  const unitPriceUsd = options.unitPriceUsd ?? price.usd;
  const result: LineItem = {
    service,
    item,
    quantity,
    unit: price.unit,
    unitPriceUsd,
    costMicros: Math.round(quantity * unitPriceUsd * MICROS_PER_USD),
    costUsd: 0,
    source: price.assumedFrom ? `${price.source} (assumed equal to ${price.assumedFrom})` : price.source,
  };
  result.costUsd = result.costMicros / MICROS_PER_USD;
  const note = [price.note, options.note].filter(Boolean).join("; ");
  if (note) result.note = note;
  return result;
}

function priceUsage(input: CostInput, usage: Usage, prices: RegionPrices, a: Assumptions): LineItem[] {
  const lambda = prices.lambda[input.lambda.architecture];
  const items: LineItem[] = [
    line(
      "Lambda",
      `orchestrator compute (${input.lambda.orchestratorMemoryMb} MB, ${input.lambda.architecture})`,
      usage.orchestrator.gbSecondsPerMonth,
      lambda.gbSecond,
    ),
    line("Lambda", "orchestrator requests", usage.orchestrator.requestsPerMonth, lambda.request),
  ];
  if (usage.worker === "lambda") {
    items.push(
      line(
        "Lambda",
        `sync worker compute (${input.lambda.syncMemoryMb} MB, ${input.lambda.architecture})`,
        usage.lambdaWorker.gbSecondsPerMonth,
        lambda.gbSecond,
      ),
      line("Lambda", "sync worker requests", usage.lambdaWorker.requestsPerMonth, lambda.request),
    );
  } else {
    items.push(...fargateItems(input, usage.ecsTask.taskHoursPerMonth, prices, a));
  }
  items.push(
    line(
      "S3",
      usage.s3.copies > 1
        ? "Standard storage (bottles twice: flat and OCI layout copies)"
        : "Standard storage",
      usage.s3.storedGb,
      prices.s3.standardGbMonth,
    ),
    line(
      "S3",
      `noncurrent versions (pruned bottles, rewritten API and state; ${a.noncurrentVersionDays} days)`,
      usage.s3.noncurrentGb,
      prices.s3.standardGbMonth,
    ),
    line("S3", "PUT/LIST requests", usage.s3.putsPerMonth, prices.s3.putRequest),
    line("S3", "GET requests (sync + clients)", usage.s3.getsPerMonth, prices.s3.getRequest),
    line("Data transfer", "out to the internet (brew clients)", usage.egressGb, prices.dataTransferOutGb),
    line("CloudWatch Logs", "ingestion", usage.logs.ingestedGb, prices.cloudwatchLogs.ingestionGb),
    line(
      "CloudWatch Logs",
      `storage (${a.logRetentionDays}-day retention)`,
      usage.logs.storedGb,
      prices.cloudwatchLogs.storageGbMonth,
    ),
    line("EventBridge", "schedule invocations", usage.runsPerMonth, prices.eventbridge.scheduledInvocation),
  );
  items.push(...monitoringItems(usage, prices));
  if (input.network.nat) {
    items.push(
      line(
        "VPC",
        `NAT gateway hours (${input.network.natGateways})`,
        usage.nat.gatewayHours,
        prices.nat.hour,
      ),
      line("VPC", "NAT gateway data processed", usage.nat.processedGb, prices.nat.gbProcessed),
    );
  }
  return items;
}

/** The dashboard, alarms, secret and Container Insights; a line only for what the stack deploys. */
function monitoringItems(usage: Usage, prices: RegionPrices): LineItem[] {
  const m = usage.monitoring;
  const items: LineItem[] = [];
  if (m.dashboards > 0) {
    items.push(line("CloudWatch", "dashboard", m.dashboards, prices.cloudwatch.dashboardMonth));
  }
  if (m.alarms > 0) {
    items.push(line("CloudWatch", `metric alarms (${m.alarms})`, m.alarms, prices.cloudwatch.alarmMonth));
  }
  if (m.secrets > 0) {
    items.push(
      line("Secrets Manager", "Slack webhook secret", m.secrets, prices.secretsManager.secretMonth),
      line("Secrets Manager", "GetSecretValue calls", m.secretCalls, prices.secretsManager.apiCall),
    );
  }
  if (m.insightsMetricMonths > 0 || m.insightsLogGb > 0) {
    items.push(
      line(
        "CloudWatch",
        "Container Insights metrics (hours a task runs)",
        m.insightsMetricMonths,
        prices.cloudwatch.metricMonth,
      ),
      line(
        "CloudWatch Logs",
        "Container Insights performance events",
        m.insightsLogGb,
        prices.cloudwatchLogs.ingestionGb,
      ),
    );
  }
  return items;
}

function fargateItems(input: CostInput, taskHours: number, prices: RegionPrices, a: Assumptions): LineItem[] {
  const fargate = prices.fargate[input.ecs.architecture];
  const spot = input.enableFargateSpot;
  const factor = spot ? 1 - a.spotDiscount : 1;
  const spotNote = spot ? `Fargate Spot: ${a.spotDiscount * 100}% off on-demand (assumption)` : undefined;
  const label = `${spot ? "Spot, " : ""}${input.ecs.architecture}`;
  const extraStorageGb = Math.max(0, input.ecs.ephemeralGb - 20);
  const items = [
    line(
      "ECS Fargate",
      `task vCPU (${input.ecs.cpu / 1024} vCPU, ${label})`,
      taskHours * (input.ecs.cpu / 1024),
      fargate.vcpuHour,
      {
        unitPriceUsd: fargate.vcpuHour.usd * factor,
        ...(spotNote ? { note: spotNote } : {}),
      },
    ),
    line(
      "ECS Fargate",
      `task memory (${input.ecs.memoryMb / MB_PER_GB} GB, ${label})`,
      taskHours * (input.ecs.memoryMb / MB_PER_GB),
      fargate.gbHour,
      {
        unitPriceUsd: fargate.gbHour.usd * factor,
        ...(spotNote ? { note: spotNote } : {}),
      },
    ),
  ];
  if (extraStorageGb > 0) {
    items.push(
      line(
        "ECS Fargate",
        `ephemeral storage above 20 GB (${extraStorageGb} GB)`,
        taskHours * extraStorageGb,
        prices.fargate.ephemeralGbHour,
      ),
    );
  }
  return items;
}

/** The first full sync: compute plus one PUT per object, priced like a run. */
function initialSyncMicros(input: CostInput, usage: Usage, prices: RegionPrices, a: Assumptions): number {
  const { gb, worker, seconds } = usage.initialSync;
  const ociCopies = usage.s3.copies > 1 ? OCI_COPIES_PER_BOTTLE : 0;
  const puts = usage.mirror.bottles * (putsPerTransferredBottle(a) + ociCopies) + a.putsPerRun;
  let usd = puts * prices.s3.putRequest.usd;
  if (worker === "ecs") {
    const hours = Math.max(60, seconds) / 3600;
    const fargate = prices.fargate[input.ecs.architecture];
    const factor = input.enableFargateSpot ? 1 - a.spotDiscount : 1;
    usd +=
      hours *
        factor *
        ((input.ecs.cpu / 1024) * fargate.vcpuHour.usd +
          (input.ecs.memoryMb / MB_PER_GB) * fargate.gbHour.usd) +
      hours * Math.max(0, input.ecs.ephemeralGb - 20) * prices.fargate.ephemeralGbHour.usd;
  } else {
    const lambda = prices.lambda[input.lambda.architecture];
    usd += seconds * (input.lambda.syncMemoryMb / MB_PER_GB) * lambda.gbSecond.usd;
    usd += Math.ceil(seconds / input.lambda.timeoutSeconds) * lambda.request.usd;
  }
  if (input.network.nat) usd += gb * (input.network.s3GatewayEndpoint ? 1 : 2) * prices.nat.gbProcessed.usd;
  return toMicros(usd);
}

function fixed(value: number, digits: number): string {
  return value.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}
