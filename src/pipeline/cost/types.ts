import type { Schedule } from "../../config/schedule.ts";

export type Architecture = "x86_64" | "arm64";

/**
 * Everything the estimator needs about one environment, independent of the config file's shape.
 * `fromConfig.ts` is the one place that maps config.yaml onto it.
 */
export interface CostInput {
  env: string;
  region: string;
  schedule: Schedule;
  /** Runs whose bytes to move exceed this go to ECS Fargate instead of the worker Lambda. */
  sizeThresholdGb: number;
  enableFargateSpot: boolean;
  lambda: {
    orchestratorMemoryMb: number;
    syncMemoryMb: number;
    timeoutSeconds: number;
    architecture: Architecture;
  };
  ecs: {
    /** CPU units; 1024 = 1 vCPU. */
    cpu: number;
    memoryMb: number;
    ephemeralGb: number;
    architecture: Architecture;
  };
  mirror: {
    /** Configured bottle tags (the `all` tag always comes along and is modelled separately). */
    tags: string[];
    /** `mirror.formulae.include`; empty = every formula. */
    include: string[];
    exclude: string[];
    retentionDays: number;
    transfersConcurrency: number;
    /** mirror.layouts (default flat): with `oci` the bucket holds each bottle and manifest twice. */
    layouts?: Array<"flat" | "oci">;
  };
  network: {
    /** The functions and the task reach the internet through a NAT gateway. */
    nat: boolean;
    natGateways: number;
    /** An S3 gateway VPC endpoint keeps S3 traffic off the NAT gateway. */
    s3GatewayEndpoint: boolean;
  };
  /**
   * What infra/terraform deploys besides the functions and the task, priced per month: the CloudWatch
   * dashboard and metric alarms (modules/monitoring), the Slack webhook secret (modules/notifications,
   * when Slack is on) and Container Insights on the ECS cluster (modules/ecs).
   */
  monitoring: {
    dashboards: number;
    /** Standard-resolution metric alarms. */
    alarms: number;
    secrets: number;
    containerInsights: boolean;
  };
  /** Monthly budget in USD; 0 = none. */
  budgetUsd: number;
}

/** One priced quantity. Money is carried as integer micro-dollars; `costUsd` is derived from it. */
export interface LineItem {
  service: string;
  item: string;
  quantity: number;
  unit: string;
  unitPriceUsd: number;
  costMicros: number;
  costUsd: number;
  source: string;
  note?: string;
}

export interface AssumptionLine {
  key: string;
  value: string;
  description: string;
}

export interface Recommendation {
  id: "arm64" | "fargate-spot" | "lambda-memory" | "s3-gateway-endpoint" | "storage-tiering" | "pause-dev";
  title: string;
  detail: string;
  /** Estimated monthly saving in micro-dollars, and rounded to the cent in USD. */
  savingMicros: number;
  savingUsd: number;
  /** A command or config change that applies it. */
  action: string;
}
