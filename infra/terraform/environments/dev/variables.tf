# Exactly the variables `hbsync config tfvars --env <env>` writes (src/config/tfvars-variables.ts).
# No defaults: the generated tfvars sets every one, so a missing value is an error, not a silent default.
# Validation lives in modules/homebrew-sync/variables.tf. tests/unit/infra checks both sides agree.

variable "project_name" {
  description = "Project name; prefixes every resource name."
  type        = string
}

variable "environment" {
  description = "Environment name: dev, staging or prod."
  type        = string
}

variable "aws_region" {
  description = "AWS region to deploy into."
  type        = string
}

variable "artifact_version" {
  description = "Version (git SHA) of the Lambda and container artifacts to deploy."
  type        = string
}

variable "size_threshold_gb" {
  description = "Runs moving more than this many GB go to ECS Fargate instead of the worker Lambda."
  type        = number
}

variable "schedule_expression" {
  description = "EventBridge cron(...) or rate(...) expression for the sync schedule."
  type        = string
}

variable "enable_fargate_spot" {
  description = "Run the ECS task on FARGATE_SPOT capacity."
  type        = bool
}

variable "orchestrator_memory_mb" {
  description = "Orchestrator Lambda memory in MB."
  type        = number
}

variable "sync_memory_mb" {
  description = "Sync worker Lambda memory in MB."
  type        = number
}

variable "lambda_timeout_seconds" {
  description = "Lambda timeout in seconds (at most 900)."
  type        = number
}

variable "ecs_task_cpu" {
  description = "Fargate task CPU units (1024 = 1 vCPU)."
  type        = number
}

variable "ecs_task_memory_mb" {
  description = "Fargate task memory in MiB."
  type        = number
}

variable "ecs_ephemeral_storage_gb" {
  description = "Fargate ephemeral storage in GiB (21-200)."
  type        = number
}

variable "mirror_tags" {
  description = "Bottle tags to mirror; `all` bottles always come along."
  type        = list(string)
}

variable "mirror_formulae_include" {
  description = "Formulae to mirror; empty means every formula."
  type        = list(string)
}

variable "mirror_formulae_exclude" {
  description = "Formulae never to mirror."
  type        = list(string)
}

variable "upstream_api_url" {
  description = "Upstream Homebrew JSON API base URL."
  type        = string
}

variable "upstream_registry_url" {
  description = "Upstream OCI registry base URL for bottles."
  type        = string
}

variable "mirror_layouts" {
  description = "Trees the sync writes: flat always; oci adds v2/homebrew/core/ for HOMEBREW_ARTIFACT_DOMAIN."
  type        = list(string)
}

variable "retention_days" {
  description = "Days to keep superseded bottles before pruning."
  type        = number
}

variable "checkers_concurrency" {
  description = "Concurrent manifest/metadata requests."
  type        = number
}

variable "transfers_concurrency" {
  description = "Concurrent bottle transfers."
  type        = number
}

variable "ecs_shards_max" {
  description = "Most ECS tasks one run is split over (1: never split)."
  type        = number
}

variable "ecs_shard_gb" {
  description = "Planned GiB per ECS task of a split run."
  type        = number
}

variable "slack_enabled" {
  description = "Send Slack notifications."
  type        = bool
}

variable "slack_channel" {
  description = "Slack channel named in messages."
  type        = string
}

variable "email_enabled" {
  description = "Send email notifications."
  type        = bool
}

variable "notification_emails" {
  description = "Email recipients."
  type        = list(string)
}

variable "budget_usd" {
  description = "Monthly budget in USD for cost alarms; 0 disables."
  type        = number
}

variable "schedule_enabled" {
  description = "Whether the sync schedule fires; toggled by `hbsync env pause|resume`, not by config.yaml."
  type        = bool
  default     = true
}
