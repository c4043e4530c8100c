import type * as z from "zod";
import type {
  ConfigSchema,
  EcsResourcesSchema,
  LambdaResourcesSchema,
  MirrorSchema,
  NotificationsSchema,
  ProjectSchema,
  ResourceOverridesSchema,
  ResourcesSchema,
} from "./schema.ts";

/**
 * The user's data models (seed "Data Models › Configuration Models"), inferred from the zod schema so
 * they cannot drift from what validation accepts. Field names are the config.yaml keys.
 */

/** The whole validated config.yaml, defaults applied. */
export type PipelineConfig = z.output<typeof ConfigSchema>;
/** config.yaml as written (before defaults). */
export type PipelineConfigInput = z.input<typeof ConfigSchema>;

export type ProjectConfig = z.output<typeof ProjectSchema>;
export type LambdaConfig = z.output<typeof LambdaResourcesSchema>;
export type EcsConfig = z.output<typeof EcsResourcesSchema>;
/** Lambda and ECS sizing (the seed's ResourceConfig{lambda_config, ecs_config}). */
export type ResourceConfig = z.output<typeof ResourcesSchema>;
export type ResourceOverrides = z.output<typeof ResourceOverridesSchema>;
export type NotificationConfig = z.output<typeof NotificationsSchema>;
export type MirrorConfig = z.output<typeof MirrorSchema>;
/** One environment as written under `environments.<name>` (overrides not yet merged). */
export type EnvironmentEntry = PipelineConfig["environments"][string];

/**
 * One environment resolved: its own settings, the top-level resources merged with its overrides, and
 * the shared project, mirror and notification settings. What `hbsync config show --env E` prints.
 */
export interface EnvironmentConfig {
  name: string;
  project: ProjectConfig;
  aws_region: string;
  size_threshold_gb: number;
  schedule_expression: string;
  enable_fargate_spot: boolean;
  /** Monthly budget in USD; 0 = no budget. */
  budget_usd: number;
  resources: ResourceConfig;
  mirror: MirrorConfig;
  notifications: NotificationConfig;
}
