import { resolveEnvironment } from "./resolve.ts";
import { TFVARS } from "./tfvars-variables.ts";
import type { PipelineConfig } from "./types.ts";

export type TfvarValue = string | number | boolean | string[];

export interface TfvarsOptions {
  /** The build's git SHA (or "unversioned"). */
  artifactVersion: string;
}

/**
 * The Terraform input values for one environment, keyed and ordered exactly as TFVARS declares them.
 * Pure. Throws UnknownEnvironmentError for an environment the config does not define.
 */
export function toTfvars(
  config: PipelineConfig,
  env: string,
  options: TfvarsOptions,
): Record<string, TfvarValue> {
  const resolved = resolveEnvironment(config, env);
  const { lambda, ecs } = resolved.resources;
  const { mirror, notifications } = resolved;
  const values: Record<string, TfvarValue> = {
    project_name: resolved.project.name,
    environment: resolved.name,
    aws_region: resolved.aws_region,
    artifact_version: options.artifactVersion,
    size_threshold_gb: resolved.size_threshold_gb,
    schedule_expression: resolved.schedule_expression,
    enable_fargate_spot: resolved.enable_fargate_spot,
    orchestrator_memory_mb: lambda.orchestrator_memory,
    sync_memory_mb: lambda.sync_memory,
    lambda_timeout_seconds: lambda.timeout,
    ecs_task_cpu: ecs.task_cpu,
    ecs_task_memory_mb: ecs.task_memory,
    ecs_ephemeral_storage_gb: ecs.ephemeral_storage,
    mirror_tags: [...mirror.tags],
    mirror_formulae_include: [...mirror.formulae.include],
    mirror_formulae_exclude: [...mirror.formulae.exclude],
    upstream_api_url: mirror.upstream.api,
    upstream_registry_url: mirror.upstream.registry,
    mirror_layouts: [...mirror.layouts],
    retention_days: mirror.retention_days,
    checkers_concurrency: mirror.concurrency.checkers,
    transfers_concurrency: mirror.concurrency.transfers,
    ecs_shards_max: mirror.shards.max_tasks,
    ecs_shard_gb: mirror.shards.gb_per_task,
    slack_enabled: notifications.slack.enabled,
    slack_channel: notifications.slack.channel ?? "",
    email_enabled: notifications.email.enabled,
    notification_emails: [...notifications.email.addresses],
    budget_usd: resolved.budget_usd,
  };
  // Emit in the declared order; a name missing here (or extra) is a programming error the tests catch.
  return Object.fromEntries(TFVARS.map((spec) => [spec.name, values[spec.name] as TfvarValue]));
}

/** An HCL string literal: quotes, backslashes and control characters escaped; `${`/`%{` not interpolated. */
export function hclString(value: string): string {
  const escaped = value
    .replace(/\\/g, "\\\\")
    .replace(/"/g, '\\"')
    .replace(/\n/g, "\\n")
    .replace(/\r/g, "\\r")
    .replace(/\t/g, "\\t")
    .replace(/[\u0000-\u001f\u007f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`)
    // Function replacements: in a replacement string "$$" would collapse to "$".
    .replace(/\$\{/g, () => "$${")
    .replace(/%\{/g, () => "%%{");
  return `"${escaped}"`;
}

function hclValue(value: TfvarValue): string {
  if (Array.isArray(value)) return `[${value.map(hclString).join(", ")}]`;
  if (typeof value === "string") return hclString(value);
  return String(value);
}

/** terraform.tfvars text: a header comment, then one aligned `name = value` line per variable. */
export function renderTfvarsHcl(values: Record<string, TfvarValue>, header: readonly string[] = []): string {
  const names = Object.keys(values);
  const width = Math.max(0, ...names.map((name) => name.length));
  const lines = names.map((name) => `${name.padEnd(width)} = ${hclValue(values[name] as TfvarValue)}`);
  const comments = header.map((line) => `# ${line}`.trimEnd());
  return `${[...comments, ...(comments.length ? [""] : []), ...lines].join("\n")}\n`;
}

/** terraform.tfvars.json text. */
export function renderTfvarsJson(values: Record<string, TfvarValue>): string {
  return `${JSON.stringify(values, null, 2)}\n`;
}
