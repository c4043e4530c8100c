/**
 * The one list of Terraform input variables that `hbsync config tfvars --env E` writes.
 * infra/terraform/environments/<env>/variables.tf declares exactly these (and the root module accepts
 * them); tests/unit/infra checks both sides agree. Change a name here and there in the same commit.
 */
export type TfvarType = "string" | "number" | "bool" | "list(string)";

export interface TfvarSpec {
  name: string;
  type: TfvarType;
  /** Where the value comes from in config.yaml (or the command line), for docs and error messages. */
  source: string;
  description: string;
}

export const TFVARS: readonly TfvarSpec[] = [
  {
    name: "project_name",
    type: "string",
    source: "project.name",
    description: "Project name; prefixes every resource name.",
  },
  {
    name: "environment",
    type: "string",
    source: "environments.<env> key",
    description: "Environment name: dev, staging or prod.",
  },
  {
    name: "aws_region",
    type: "string",
    source: "environments.<env>.aws_region",
    description: "AWS region to deploy into.",
  },
  {
    name: "artifact_version",
    type: "string",
    source: "--artifact-version (the build's git SHA)",
    description: "Version (git SHA) of the Lambda and container artifacts to deploy.",
  },
  {
    name: "size_threshold_gb",
    type: "number",
    source: "environments.<env>.size_threshold_gb",
    description: "Runs moving more than this many GB go to ECS Fargate instead of the worker Lambda.",
  },
  {
    name: "schedule_expression",
    type: "string",
    source: "environments.<env>.schedule_expression",
    description: "EventBridge cron(...) or rate(...) expression for the sync schedule.",
  },
  {
    name: "enable_fargate_spot",
    type: "bool",
    source: "environments.<env>.enable_fargate_spot",
    description: "Run the ECS task on FARGATE_SPOT capacity.",
  },
  {
    name: "orchestrator_memory_mb",
    type: "number",
    source: "resources.lambda.orchestrator_memory",
    description: "Orchestrator Lambda memory in MB.",
  },
  {
    name: "sync_memory_mb",
    type: "number",
    source: "resources.lambda.sync_memory",
    description: "Sync worker Lambda memory in MB.",
  },
  {
    name: "lambda_timeout_seconds",
    type: "number",
    source: "resources.lambda.timeout",
    description: "Lambda timeout in seconds (at most 900).",
  },
  {
    name: "ecs_task_cpu",
    type: "number",
    source: "resources.ecs.task_cpu",
    description: "Fargate task CPU units (1024 = 1 vCPU).",
  },
  {
    name: "ecs_task_memory_mb",
    type: "number",
    source: "resources.ecs.task_memory",
    description: "Fargate task memory in MiB.",
  },
  {
    name: "ecs_ephemeral_storage_gb",
    type: "number",
    source: "resources.ecs.ephemeral_storage",
    description: "Fargate ephemeral storage in GiB (21-200).",
  },
  {
    name: "mirror_tags",
    type: "list(string)",
    source: "mirror.tags",
    description: "Bottle tags to mirror; `all` bottles always come along.",
  },
  {
    name: "mirror_formulae_include",
    type: "list(string)",
    source: "mirror.formulae.include",
    description: "Formulae to mirror; empty means every formula.",
  },
  {
    name: "mirror_formulae_exclude",
    type: "list(string)",
    source: "mirror.formulae.exclude",
    description: "Formulae never to mirror.",
  },
  {
    name: "upstream_api_url",
    type: "string",
    source: "mirror.upstream.api",
    description: "Upstream Homebrew JSON API base URL.",
  },
  {
    name: "upstream_registry_url",
    type: "string",
    source: "mirror.upstream.registry",
    description: "Upstream OCI registry base URL for bottles.",
  },
  {
    name: "mirror_layouts",
    type: "list(string)",
    source: "mirror.layouts",
    description:
      "Trees the sync writes: flat always; oci adds v2/homebrew/core/ for HOMEBREW_ARTIFACT_DOMAIN.",
  },
  {
    name: "retention_days",
    type: "number",
    source: "mirror.retention_days",
    description: "Days to keep superseded bottles before pruning.",
  },
  {
    name: "checkers_concurrency",
    type: "number",
    source: "mirror.concurrency.checkers",
    description: "Concurrent manifest/metadata requests.",
  },
  {
    name: "transfers_concurrency",
    type: "number",
    source: "mirror.concurrency.transfers",
    description: "Concurrent bottle transfers.",
  },
  {
    name: "ecs_shards_max",
    type: "number",
    source: "mirror.shards.max_tasks",
    description: "Most ECS tasks one run is split over (1: never split).",
  },
  {
    name: "ecs_shard_gb",
    type: "number",
    source: "mirror.shards.gb_per_task",
    description: "Planned GiB per ECS task of a split run.",
  },
  {
    name: "slack_enabled",
    type: "bool",
    source: "notifications.slack.enabled",
    description: "Send Slack notifications.",
  },
  {
    name: "slack_channel",
    type: "string",
    source: "notifications.slack.channel",
    description: "Slack channel named in messages.",
  },
  {
    name: "email_enabled",
    type: "bool",
    source: "notifications.email.enabled",
    description: "Send email notifications.",
  },
  {
    name: "notification_emails",
    type: "list(string)",
    source: "notifications.email.addresses",
    description: "Email recipients.",
  },
  {
    name: "budget_usd",
    type: "number",
    source: "environments.<env>.budget_usd",
    description: "Monthly budget in USD for cost alarms; 0 disables.",
  },
];

export const TFVAR_NAMES: readonly string[] = TFVARS.map((spec) => spec.name);

/**
 * Variables every environment also declares, WITH a default, that `hbsync config tfvars` never writes:
 * `hbsync env` passes them on the terraform command line (`-var`) from state it keeps beside the ledger.
 */
export const COMMAND_LINE_TFVARS: readonly (TfvarSpec & { default: boolean | number | string })[] = [
  {
    name: "schedule_enabled",
    type: "bool",
    source: "hbsync env pause|resume <env> (kept in _schedule/<env>.json beside the ledger)",
    description: "Whether the sync schedule fires; toggled by `hbsync env pause|resume`, not by config.yaml.",
    default: true,
  },
];
