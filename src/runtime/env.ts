import { MIRROR_LAYOUTS, MirrorSchema } from "../config/schema.ts";
import type { Layout } from "../mirror/layouts.ts";
import type { MirrorSettings } from "../mirror/prepare.ts";
import type { ShardSettings, ShardSpec } from "../mirror/shards.ts";
import type { NotifyConfig } from "../notify/index.ts";
import type { EcsSettings } from "./dispatch.ts";
import { InvalidEnvError, MissingEnvError } from "./errors.ts";

/**
 * Configuration of the AWS functions, from the environment Terraform sets
 * (infra/terraform/modules/lambda/README.md, modules/ecs/README.md). Each handler reads it ONCE at module
 * scope, so a missing variable fails the function's init with `MIRROR_BUCKET is required`.
 */
export type Env = Readonly<Record<string, string | undefined>>;

/** The value of `name`; throws MissingEnvError (`NAME is required`) when unset or blank. */
export function requireEnv(name: string, env: Env = process.env): string {
  const value = env[name]?.trim();
  if (!value) throw new MissingEnvError(name);
  return value;
}

/** The value of `name`, or `fallback` when unset or blank. */
export function optionalEnv(name: string, fallback: string, env: Env = process.env): string {
  const value = env[name]?.trim();
  return value ? value : fallback;
}

/** A comma-separated list (blank items dropped); `fallback` when unset or blank. */
export function listEnv(name: string, fallback: readonly string[], env: Env = process.env): string[] {
  const value = env[name]?.trim();
  if (!value) return [...fallback];
  return value
    .split(",")
    .map((item) => item.trim())
    .filter(Boolean);
}

/** MIRROR_LAYOUTS (`flat` or `flat,oci`; default flat): mirror.layouts, rendered by Terraform. */
export function layoutsEnv(env: Env = process.env): Layout[] {
  const layouts = listEnv("MIRROR_LAYOUTS", ["flat"], env);
  if (
    !layouts.includes("flat") ||
    layouts.some((layout) => !(MIRROR_LAYOUTS as readonly string[]).includes(layout))
  ) {
    throw new InvalidEnvError(
      "MIRROR_LAYOUTS",
      `must be "flat" or "flat,oci", got ${JSON.stringify(env.MIRROR_LAYOUTS)}`,
    );
  }
  return [...new Set(layouts)] as Layout[];
}

/** A number within [min, max]; `fallback` when unset. */
export function numberEnv(
  name: string,
  fallback: number,
  range: { min?: number; max?: number; integer?: boolean } = {},
  env: Env = process.env,
): number {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  const value = Number(raw);
  const { min = Number.NEGATIVE_INFINITY, max = Number.POSITIVE_INFINITY, integer = false } = range;
  if (!Number.isFinite(value) || value < min || value > max || (integer && !Number.isInteger(value))) {
    const kind = integer ? "a whole number" : "a number";
    throw new InvalidEnvError(name, `must be ${kind} from ${min} to ${max}, got ${JSON.stringify(raw)}`);
  }
  return value;
}

/** `true`/`false` (also 1/0, yes/no); `fallback` when unset. */
export function booleanEnv(name: string, fallback: boolean, env: Env = process.env): boolean {
  const raw = env[name]?.trim().toLowerCase();
  if (!raw) return fallback;
  if (["true", "1", "yes"].includes(raw)) return true;
  if (["false", "0", "no"].includes(raw)) return false;
  throw new InvalidEnvError(name, `must be true or false, got ${JSON.stringify(env[name])}`);
}

/** What every function needs: the mirror, the mirror settings, the upstream, notifications. */
export interface BaseConfig {
  /** ENVIRONMENT (dev, staging, prod), for notifications and log keys. */
  environment: string;
  mirrorBucket: string;
  /** `s3://<MIRROR_BUCKET>` (optionally `/<MIRROR_PREFIX>`). */
  dest: string;
  settings: MirrorSettings;
  upstream: { api: string; registry: string; trustedKey: string };
  notify: NotifyConfig;
  /** Lease on `_sync/lock` (LEASE_MINUTES, default 30): outlives the hand-over to a worker or task. */
  leaseMs: number;
  artifactVersion: string;
}

export interface OrchestratorConfig extends BaseConfig {
  /** SIZE_THRESHOLD_GB in bytes (GiB). */
  thresholdBytes: number;
  workerFunctionName: string;
  ecs: EcsSettings;
  /** `mirror.shards`: ECS_SHARDS_MAX tasks at most (default 1), one per ECS_SHARD_GB planned GiB (default 50). */
  shards: ShardSettings;
}

export interface WorkerConfig extends BaseConfig {
  /** The function to re-invoke; default: the running function's own name (context.functionName). */
  workerFunctionName: string | undefined;
  /** Bottles per slice between deadline checks (WORKER_SLICE_SIZE; default 4 × TRANSFERS_CONCURRENCY). */
  sliceSize: number;
  /** Re-invoke once less than this is left (WORKER_SAFETY_MARGIN_SECONDS, default 120). */
  safetyMarginMs: number;
}

export interface TaskConfig extends BaseConfig {
  /** RUN_ID: the plan to execute (set by the orchestrator's containerOverrides). */
  runId: string;
  /** SHARD_INDEX and SHARD_COUNT (both or neither): this task executes one shard of a sharded run. */
  shard?: ShardSpec;
}

export const GIB = 1024 ** 3;

export function baseConfigFromEnv(env: Env = process.env): BaseConfig {
  // MIRROR_DEST (a folder or s3:// URL) stands in for the bucket where the task runs outside AWS.
  const explicitDest = env.MIRROR_DEST?.trim();
  const mirrorBucket = explicitDest
    ? optionalEnv("MIRROR_BUCKET", "", env)
    : requireEnv("MIRROR_BUCKET", env);
  const prefix = optionalEnv("MIRROR_PREFIX", "", env).replace(/^\/+|\/+$/g, "");
  const defaults = MirrorSchema.parse({});
  const settings: MirrorSettings = {
    tags: listEnv("MIRROR_TAGS", defaults.tags, env),
    include: listEnv("MIRROR_FORMULAE_INCLUDE", [], env),
    exclude: listEnv("MIRROR_FORMULAE_EXCLUDE", [], env),
    layouts: layoutsEnv(env),
    retentionDays: numberEnv(
      "RETENTION_DAYS",
      defaults.retention_days,
      { min: 0, max: 3650, integer: true },
      env,
    ),
    concurrency: {
      checkers: numberEnv(
        "CHECKERS_CONCURRENCY",
        defaults.concurrency.checkers,
        { min: 1, max: 64, integer: true },
        env,
      ),
      transfers: numberEnv(
        "TRANSFERS_CONCURRENCY",
        defaults.concurrency.transfers,
        { min: 1, max: 64, integer: true },
        env,
      ),
    },
  };
  const slackChannel = env.SLACK_CHANNEL?.trim();
  return {
    environment: optionalEnv("ENVIRONMENT", "aws", env),
    mirrorBucket,
    dest: explicitDest || `s3://${mirrorBucket}${prefix ? `/${prefix}` : ""}`,
    settings,
    upstream: {
      api: optionalEnv("UPSTREAM_API_URL", defaults.upstream.api, env),
      registry: optionalEnv("UPSTREAM_REGISTRY_URL", defaults.upstream.registry, env),
      trustedKey: optionalEnv("TRUSTED_KEY", defaults.upstream.trusted_key, env),
    },
    notify: {
      notifications: {
        slack: {
          enabled: booleanEnv("SLACK_ENABLED", false, env),
          ...(slackChannel ? { channel: slackChannel } : {}),
        },
        email: {
          enabled: booleanEnv("EMAIL_ENABLED", false, env),
          addresses: listEnv("NOTIFY_EMAIL_TO", [], env),
        },
      },
    },
    leaseMs: numberEnv("LEASE_MINUTES", 30, { min: 5, max: 24 * 60 }, env) * 60_000,
    artifactVersion: optionalEnv("ARTIFACT_VERSION", "unknown", env),
  };
}

export function orchestratorConfigFromEnv(env: Env = process.env): OrchestratorConfig {
  const base = baseConfigFromEnv(env);
  const capacityProvider = optionalEnv("ECS_CAPACITY_PROVIDER", "FARGATE", env);
  if (capacityProvider !== "FARGATE" && capacityProvider !== "FARGATE_SPOT") {
    throw new InvalidEnvError(
      "ECS_CAPACITY_PROVIDER",
      `must be FARGATE or FARGATE_SPOT, got ${JSON.stringify(capacityProvider)}`,
    );
  }
  const assignPublicIp = optionalEnv("ECS_ASSIGN_PUBLIC_IP", "DISABLED", env).toUpperCase();
  if (assignPublicIp !== "ENABLED" && assignPublicIp !== "DISABLED") {
    throw new InvalidEnvError(
      "ECS_ASSIGN_PUBLIC_IP",
      `must be ENABLED or DISABLED, got ${JSON.stringify(assignPublicIp)}`,
    );
  }
  const subnets = listEnv("ECS_SUBNETS", [], env);
  if (subnets.length === 0) throw new MissingEnvError("ECS_SUBNETS");
  const securityGroups = listEnv("ECS_SECURITY_GROUPS", [], env);
  if (securityGroups.length === 0) throw new MissingEnvError("ECS_SECURITY_GROUPS");
  return {
    ...base,
    thresholdBytes: Math.round(requireNumber("SIZE_THRESHOLD_GB", env) * GIB),
    workerFunctionName: requireEnv("WORKER_FUNCTION_NAME", env),
    ecs: {
      cluster: requireEnv("ECS_CLUSTER", env),
      taskDefinition: requireEnv("ECS_TASK_DEFINITION", env),
      containerName: requireEnv("ECS_CONTAINER_NAME", env),
      capacityProvider,
      subnets,
      securityGroups,
      assignPublicIp,
    },
    shards: {
      maxTasks: numberEnv("ECS_SHARDS_MAX", 1, { min: 1, max: 16, integer: true }, env),
      bytesPerTask: Math.round(numberEnv("ECS_SHARD_GB", 50, { min: 0.000001, max: 10_240 }, env) * GIB),
    },
  };
}

export function workerConfigFromEnv(env: Env = process.env): WorkerConfig {
  const base = baseConfigFromEnv(env);
  const name = env.WORKER_FUNCTION_NAME?.trim();
  return {
    ...base,
    workerFunctionName: name ? name : undefined,
    sliceSize: numberEnv(
      "WORKER_SLICE_SIZE",
      base.settings.concurrency.transfers * 4,
      { min: 1, max: 10_000, integer: true },
      env,
    ),
    safetyMarginMs: numberEnv("WORKER_SAFETY_MARGIN_SECONDS", 120, { min: 1, max: 900 }, env) * 1000,
  };
}

export function taskConfigFromEnv(env: Env = process.env): TaskConfig {
  const config: TaskConfig = { ...baseConfigFromEnv(env), runId: requireEnv("RUN_ID", env) };
  if (env.SHARD_INDEX?.trim() || env.SHARD_COUNT?.trim()) {
    const count = numberEnv("SHARD_COUNT", 0, { min: 1, max: 16, integer: true }, env);
    if (count === 0) throw new MissingEnvError("SHARD_COUNT");
    if (!env.SHARD_INDEX?.trim()) throw new MissingEnvError("SHARD_INDEX");
    const index = numberEnv("SHARD_INDEX", 0, { min: 0, max: count - 1, integer: true }, env);
    config.shard = { index, count };
  }
  return config;
}

function requireNumber(name: string, env: Env): number {
  requireEnv(name, env);
  return numberEnv(name, 0, { min: 0, max: 10_240 }, env);
}
