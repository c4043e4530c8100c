import { parseSchedule } from "../../../src/config/schedule.ts";
import type { CostInput } from "../../../src/pipeline/cost/types.ts";

/** A small, explicit environment for cost tests; each test overrides what it is about. */
export function costInput(
  overrides: Partial<Omit<CostInput, "schedule">> & { schedule?: string } = {},
): CostInput {
  const { schedule = "rate(1 day)", ...rest } = overrides;
  const parsed = parseSchedule(schedule);
  if (!parsed.ok) throw new Error(`${schedule}: ${parsed.message}`);
  return {
    env: "dev",
    region: "us-east-1",
    sizeThresholdGb: 5,
    enableFargateSpot: false,
    lambda: { orchestratorMemoryMb: 512, syncMemoryMb: 1024, timeoutSeconds: 900, architecture: "x86_64" },
    ecs: { cpu: 2048, memoryMb: 8192, ephemeralGb: 21, architecture: "x86_64" },
    mirror: { tags: ["arm64_sequoia"], include: [], exclude: [], retentionDays: 7, transfersConcurrency: 4 },
    network: { nat: false, natGateways: 0, s3GatewayEndpoint: false },
    // Nothing besides the run's own resources unless a test is about them (the hand computations).
    monitoring: { dashboards: 0, alarms: 0, secrets: 0, containerInsights: false },
    budgetUsd: 0,
    ...rest,
    schedule: parsed.schedule,
  };
}
