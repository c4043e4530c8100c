import { UnknownEnvironmentError } from "./errors.ts";
import type { EnvironmentConfig, PipelineConfig } from "./types.ts";

/** The environment names config.yaml defines, in file order. */
export function environmentNames(config: PipelineConfig): string[] {
  return Object.keys(config.environments);
}

/**
 * Merges the top-level defaults with one environment's overrides. Pure; an environment the config does
 * not define throws UnknownEnvironmentError (a usage error listing the defined ones).
 */
export function resolveEnvironment(config: PipelineConfig, env: string): EnvironmentConfig {
  const entry = Object.hasOwn(config.environments, env) ? config.environments[env] : undefined;
  if (!entry) throw new UnknownEnvironmentError(env, environmentNames(config));
  const overrides = entry.resources;
  return {
    name: env,
    project: config.project,
    aws_region: entry.aws_region,
    size_threshold_gb: entry.size_threshold_gb,
    schedule_expression: entry.schedule_expression,
    enable_fargate_spot: entry.enable_fargate_spot,
    budget_usd: entry.budget_usd,
    resources: {
      lambda: { ...config.resources.lambda, ...definedOnly(overrides?.lambda) },
      ecs: { ...config.resources.ecs, ...definedOnly(overrides?.ecs) },
    },
    mirror: config.mirror,
    notifications: config.notifications,
  };
}

function definedOnly<T extends object>(value: T | undefined): Partial<T> {
  if (!value) return {};
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
