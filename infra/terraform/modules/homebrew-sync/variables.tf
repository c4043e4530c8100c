################################################################################
# The TFVARS list (src/config/tfvars-variables.ts): written by `hbsync config tfvars --env E`
################################################################################

variable "project_name" {
  description = "Project name; prefixes every resource name."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,38}[a-z0-9]$", var.project_name))
    error_message = "project_name must be 2-40 lowercase letters, digits or hyphens, starting with a letter."
  }

  # S3 bucket names stop at 63 characters: <project>-<env>-artifacts-<12-digit account id>.
  validation {
    condition     = length("${var.project_name}-${var.environment}") <= 40
    error_message = "\"<project_name>-<environment>\" must be at most 40 characters: it prefixes S3 bucket names (<project>-<env>-artifacts-<account id>, 63 characters at most). Shorten project.name in config.yaml."
  }
}

variable "environment" {
  description = "Environment name: dev, staging or prod."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,15}$", var.environment))
    error_message = "environment must be 1-16 lowercase letters, digits or hyphens, starting with a letter (e.g. dev, staging, prod)."
  }
}

variable "aws_region" {
  description = "AWS region to deploy into."
  type        = string

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", var.aws_region))
    error_message = "aws_region must be a region code such as eu-west-1."
  }
}

variable "artifact_version" {
  description = "Version (git SHA) of the Lambda and container artifacts to deploy."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$", var.artifact_version))
    error_message = "artifact_version must be letters, digits, . _ - (at most 128), e.g. the build's git SHA."
  }
}

variable "size_threshold_gb" {
  description = "Runs moving more than this many GB go to ECS Fargate instead of the worker Lambda."
  type        = number

  validation {
    condition     = var.size_threshold_gb > 0
    error_message = "size_threshold_gb must be greater than 0."
  }
}

variable "schedule_expression" {
  description = "EventBridge cron(...) or rate(...) expression for the sync schedule."
  type        = string

  validation {
    condition     = can(regex("^(cron\\(.+\\)|rate\\([1-9][0-9]* (minute|minutes|hour|hours|day|days)\\))$", var.schedule_expression))
    error_message = "schedule_expression must be cron(...) or rate(N unit), e.g. rate(6 hours)."
  }
}

variable "enable_fargate_spot" {
  description = "Run the ECS task on FARGATE_SPOT capacity."
  type        = bool
  default     = true
}

variable "orchestrator_memory_mb" {
  description = "Orchestrator Lambda memory in MB."
  type        = number

  validation {
    condition     = var.orchestrator_memory_mb >= 128 && var.orchestrator_memory_mb <= 10240
    error_message = "orchestrator_memory_mb must be between 128 and 10240."
  }
}

variable "sync_memory_mb" {
  description = "Sync worker Lambda memory in MB."
  type        = number

  validation {
    condition     = var.sync_memory_mb >= 128 && var.sync_memory_mb <= 10240
    error_message = "sync_memory_mb must be between 128 and 10240."
  }
}

variable "lambda_timeout_seconds" {
  description = "Lambda timeout in seconds (at most 900)."
  type        = number

  validation {
    condition     = var.lambda_timeout_seconds >= 1 && var.lambda_timeout_seconds <= 900
    error_message = "lambda_timeout_seconds must be between 1 and 900."
  }
}

variable "ecs_task_cpu" {
  description = "Fargate task CPU units (1024 = 1 vCPU)."
  type        = number

  validation {
    condition     = contains([256, 512, 1024, 2048, 4096, 8192, 16384], var.ecs_task_cpu)
    error_message = "ecs_task_cpu must be one of 256, 512, 1024, 2048, 4096, 8192, 16384."
  }
}

variable "ecs_task_memory_mb" {
  description = "Fargate task memory in MiB."
  type        = number

  validation {
    condition     = var.ecs_task_memory_mb >= 512 && var.ecs_task_memory_mb <= 122880
    error_message = "ecs_task_memory_mb must be between 512 and 122880."
  }
}

variable "ecs_ephemeral_storage_gb" {
  description = "Fargate ephemeral storage in GiB (21-200)."
  type        = number

  validation {
    condition     = var.ecs_ephemeral_storage_gb >= 21 && var.ecs_ephemeral_storage_gb <= 200
    error_message = "ecs_ephemeral_storage_gb must be between 21 and 200."
  }
}

variable "mirror_tags" {
  description = "Bottle tags to mirror; `all` bottles always come along."
  type        = list(string)

  validation {
    condition     = length(var.mirror_tags) > 0 && alltrue([for t in var.mirror_tags : can(regex("^[a-z0-9_]+$", t))])
    error_message = "mirror_tags must be a non-empty list of bottle tags such as arm64_sequoia."
  }
}

variable "mirror_formulae_include" {
  description = "Formulae to mirror; empty means every formula."
  type        = list(string)
  default     = []
}

variable "mirror_formulae_exclude" {
  description = "Formulae never to mirror."
  type        = list(string)
  default     = []
}

variable "upstream_api_url" {
  description = "Upstream Homebrew JSON API base URL."
  type        = string
  default     = "https://formulae.brew.sh/api"

  validation {
    condition     = can(regex("^https?://", var.upstream_api_url))
    error_message = "upstream_api_url must be an http(s) URL."
  }
}

variable "upstream_registry_url" {
  description = "Upstream OCI registry base URL for bottles."
  type        = string
  default     = "https://ghcr.io/v2/homebrew/core"

  validation {
    condition     = can(regex("^https?://", var.upstream_registry_url))
    error_message = "upstream_registry_url must be an http(s) URL."
  }
}

variable "mirror_layouts" {
  description = "Trees the sync writes (mirror.layouts): flat always; oci adds v2/homebrew/core/ for HOMEBREW_ARTIFACT_DOMAIN."
  type        = list(string)
  default     = ["flat"]

  validation {
    condition     = contains(var.mirror_layouts, "flat") && alltrue([for layout in var.mirror_layouts : contains(["flat", "oci"], layout)])
    error_message = "mirror_layouts must include flat, and hold only flat and oci."
  }
}

variable "retention_days" {
  description = "Days to keep superseded bottles before pruning."
  type        = number
  default     = 7

  validation {
    condition     = var.retention_days >= 0
    error_message = "retention_days must be 0 or more."
  }
}

variable "checkers_concurrency" {
  description = "Concurrent manifest/metadata requests."
  type        = number
  default     = 8

  validation {
    condition     = var.checkers_concurrency >= 1 && var.checkers_concurrency <= 256
    error_message = "checkers_concurrency must be between 1 and 256."
  }
}

variable "transfers_concurrency" {
  description = "Concurrent bottle transfers."
  type        = number
  default     = 4

  validation {
    condition     = var.transfers_concurrency >= 1 && var.transfers_concurrency <= 64
    error_message = "transfers_concurrency must be between 1 and 64."
  }
}

variable "ecs_shards_max" {
  description = "Most ECS tasks one run is split over (1: never split; mirror.shards.max_tasks)."
  type        = number
  default     = 1

  validation {
    condition     = var.ecs_shards_max >= 1 && var.ecs_shards_max <= 16 && floor(var.ecs_shards_max) == var.ecs_shards_max
    error_message = "ecs_shards_max must be a whole number between 1 and 16."
  }
}

variable "ecs_shard_gb" {
  description = "Planned GiB per ECS task of a split run (mirror.shards.gb_per_task)."
  type        = number
  default     = 50

  validation {
    condition     = var.ecs_shard_gb > 0 && var.ecs_shard_gb <= 10240
    error_message = "ecs_shard_gb must be more than 0 and at most 10240."
  }
}

variable "slack_enabled" {
  description = "Send Slack notifications."
  type        = bool
  default     = false
}

variable "slack_channel" {
  description = "Slack channel named in messages."
  type        = string
  default     = ""
}

variable "email_enabled" {
  description = "Send email notifications."
  type        = bool
  default     = false
}

variable "notification_emails" {
  description = "Email recipients."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for e in var.notification_emails : can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", e))])
    error_message = "notification_emails must be email addresses."
  }
}

variable "budget_usd" {
  description = "Monthly budget in USD for cost alarms; 0 disables."
  type        = number
  default     = 0

  validation {
    condition     = var.budget_usd >= 0
    error_message = "budget_usd must be 0 or more."
  }
}

################################################################################
# Knobs not in config.yaml (set literally in an environment's main.tf when needed)
################################################################################

variable "read_access" {
  description = "How brew clients read the mirror: none, cloudfront or cidr (see modules/storage)."
  type        = string
  default     = "none"

  validation {
    condition     = contains(["none", "cloudfront", "cidr"], var.read_access)
    error_message = "read_access must be one of none, cloudfront, cidr."
  }
}

variable "read_cidrs" {
  description = "With read_access = cidr: CIDRs allowed to GET bottles/*, api/*, v2/* and git/*."
  type        = list(string)
  default     = []
}

variable "read_vpce_ids" {
  description = "With read_access = cidr: VPC endpoint IDs allowed to GET bottles/*, api/*, v2/* and git/*."
  type        = list(string)
  default     = []
}

variable "kms_key_arn" {
  description = "KMS key for SSE-KMS on both buckets; null uses SSE-S3 (AES256)."
  type        = string
  default     = null
}

variable "ses_email_identity" {
  description = "Sender address or domain verified in SES for email notifications; null sends no email from AWS."
  type        = string
  default     = null
}

variable "vpc_cidr" {
  description = "IPv4 CIDR of the sync task VPC."
  type        = string
  default     = "10.42.0.0/16"
}

variable "log_retention_days" {
  description = "Days CloudWatch keeps Lambda and ECS logs."
  type        = number
  default     = 30
}

variable "schedule_enabled" {
  description = "Whether the sync schedule fires."
  type        = bool
  default     = true
}

variable "lambda_handler" {
  description = "Handler inside each function zip."
  type        = string
  default     = "index.handler"
}

variable "orchestrator_reserved_concurrency" {
  description = "Reserved concurrency of the orchestrator (-1: unreserved, for accounts with a low concurrency quota)."
  type        = number
  default     = 1
}

variable "worker_reserved_concurrency" {
  description = "Reserved concurrency of the worker (-1: unreserved)."
  type        = number
  default     = 2
}

variable "force_destroy_buckets" {
  description = "Let terraform destroy delete non-empty buckets (throwaway environments only)."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Extra tags added to every resource."
  type        = map(string)
  default     = {}
}
