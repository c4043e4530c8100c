import { parseSchedule } from "../../config/schedule.ts";
import type { EnvironmentConfig } from "../../config/types.ts";
import { CostError } from "./errors.ts";
import type { Architecture, CostInput } from "./types.ts";

/**
 * What the estimate needs that config.yaml does not (yet) say: the CPU architecture the functions
 * and the task are built for, and whether the VPC sends traffic through a NAT gateway. The CLI takes
 * them from flags; the defaults match what is deployed when nothing says otherwise.
 */
export interface DeploymentFacts {
  /** Default arm64: what infra/terraform deploys for the functions and the ECS task. */
  architecture?: Architecture;
  network?: Partial<CostInput["network"]>;
}

/**
 * What infra/terraform/modules creates per environment, counted from the HCL (tests/unit/cost/from-config
 * counts the resources again, so a new alarm cannot go unpriced):
 * - modules/monitoring: per Lambda function (orchestrator, worker) an Errors, a Throttles and a Duration
 *   alarm, per function a dead-letter-queue depth alarm, and one alarm on failed ECS tasks; one dashboard;
 * - modules/ecs: Container Insights enabled on the cluster;
 * - modules/notifications: one Secrets Manager secret (the Slack webhook URL) when Slack is enabled.
 */
export const DEPLOYED_MONITORING = {
  functions: 2,
  alarmsPerFunction: 4,
  otherAlarms: 1,
  dashboards: 1,
  containerInsights: true,
} as const;

export const DEPLOYED_ALARMS =
  DEPLOYED_MONITORING.functions * DEPLOYED_MONITORING.alarmsPerFunction + DEPLOYED_MONITORING.otherAlarms;

/** The one mapping from a resolved environment of config.yaml to the estimator's input. */
export function costInputFromEnvironment(env: EnvironmentConfig, facts: DeploymentFacts = {}): CostInput {
  const parsed = parseSchedule(env.schedule_expression);
  if (!parsed.ok) {
    throw new CostError(
      `environments.${env.name}.schedule_expression \`${env.schedule_expression}\`: ${parsed.message}`,
      { fix: `write it like ${parsed.example}`, kind: "usage" },
    );
  }
  const architecture = facts.architecture ?? "arm64";
  const nat = facts.network?.nat ?? false;
  return {
    env: env.name,
    region: env.aws_region,
    schedule: parsed.schedule,
    sizeThresholdGb: env.size_threshold_gb,
    enableFargateSpot: env.enable_fargate_spot,
    lambda: {
      orchestratorMemoryMb: env.resources.lambda.orchestrator_memory,
      syncMemoryMb: env.resources.lambda.sync_memory,
      timeoutSeconds: env.resources.lambda.timeout,
      architecture,
    },
    ecs: {
      cpu: env.resources.ecs.task_cpu,
      memoryMb: env.resources.ecs.task_memory,
      ephemeralGb: env.resources.ecs.ephemeral_storage,
      architecture,
    },
    mirror: {
      tags: [...env.mirror.tags],
      include: [...env.mirror.formulae.include],
      exclude: [...env.mirror.formulae.exclude],
      retentionDays: env.mirror.retention_days,
      transfersConcurrency: env.mirror.concurrency.transfers,
      layouts: [...env.mirror.layouts],
    },
    network: {
      nat,
      natGateways: nat ? (facts.network?.natGateways ?? 1) : 0,
      s3GatewayEndpoint: facts.network?.s3GatewayEndpoint ?? false,
    },
    monitoring: {
      dashboards: DEPLOYED_MONITORING.dashboards,
      alarms: DEPLOYED_ALARMS,
      secrets: env.notifications.slack.enabled ? 1 : 0,
      containerInsights: DEPLOYED_MONITORING.containerInsights,
    },
    budgetUsd: env.budget_usd,
  };
}
