variable "name_prefix" {
  description = "Prefix of resource names, usually <project>-<environment>."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]*$", var.name_prefix))
    error_message = "name_prefix must be lowercase letters, digits and hyphens."
  }
}

variable "artifact_version" {
  description = "Version (git SHA) whose zips are deployed: s3://<artifacts bucket>/artifacts/<artifact_version>/<function>.zip."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$", var.artifact_version))
    error_message = "artifact_version must be letters, digits, . _ - (at most 128)."
  }
}

variable "artifacts_bucket_name" {
  description = "Bucket holding the Lambda zips."
  type        = string

  validation {
    condition     = length(var.artifacts_bucket_name) >= 3
    error_message = "artifacts_bucket_name must be a bucket name."
  }
}

variable "ledger_arn_pattern" {
  description = "ARN pattern of the deployment ledger objects (read-only for the functions, to report the deployed version)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:s3:::.+/_ledger/\\*$", var.ledger_arn_pattern))
    error_message = "ledger_arn_pattern must look like arn:aws:s3:::<bucket>/_ledger/*."
  }
}

variable "handler" {
  description = "Handler inside each zip (the build writes index.mjs exporting handler)."
  type        = string
  default     = "index.handler"

  validation {
    condition     = can(regex("^[A-Za-z0-9_./-]+\\.[A-Za-z0-9_]+$", var.handler))
    error_message = "handler must look like file.export, e.g. index.handler."
  }
}

variable "orchestrator_memory_mb" {
  description = "Orchestrator memory in MB."
  type        = number

  validation {
    condition     = var.orchestrator_memory_mb >= 128 && var.orchestrator_memory_mb <= 10240
    error_message = "orchestrator_memory_mb must be between 128 and 10240."
  }
}

variable "sync_memory_mb" {
  description = "Sync worker memory in MB."
  type        = number

  validation {
    condition     = var.sync_memory_mb >= 128 && var.sync_memory_mb <= 10240
    error_message = "sync_memory_mb must be between 128 and 10240."
  }
}

variable "timeout_seconds" {
  description = "Timeout of both functions in seconds."
  type        = number

  validation {
    condition     = var.timeout_seconds >= 1 && var.timeout_seconds <= 900
    error_message = "timeout_seconds must be between 1 and 900."
  }
}

variable "orchestrator_reserved_concurrency" {
  description = "Reserved concurrency of the orchestrator (1: one planning run at a time; -1: unreserved)."
  type        = number
  default     = 1

  validation {
    condition     = var.orchestrator_reserved_concurrency >= -1
    error_message = "orchestrator_reserved_concurrency must be -1 (unreserved) or at least 0."
  }
}

variable "worker_reserved_concurrency" {
  description = "Reserved concurrency of the worker (a run is one self-re-invoking chain; -1: unreserved)."
  type        = number
  default     = 2

  validation {
    condition     = var.worker_reserved_concurrency >= -1
    error_message = "worker_reserved_concurrency must be -1 (unreserved) or at least 0."
  }
}

variable "log_retention_days" {
  description = "Days CloudWatch keeps the function logs."
  type        = number
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a value CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, ...)."
  }
}

variable "environment_variables" {
  description = "Non-secret environment variables shared by both functions (secrets are read at run time by ARN)."
  type        = map(string)
  default     = {}
}

variable "mirror_bucket_arn" {
  description = "ARN of the mirror bucket the functions read and write."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:s3:::[a-z0-9.-]+$", var.mirror_bucket_arn))
    error_message = "mirror_bucket_arn must be an S3 bucket ARN."
  }
}

variable "mirror_kms_key_arn" {
  description = "KMS key encrypting the mirror bucket, or null for SSE-S3."
  type        = string
  default     = null
}

variable "ecs_cluster_arn" {
  description = "ARN of the ECS cluster the orchestrator may run the sync task in."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:ecs:", var.ecs_cluster_arn))
    error_message = "ecs_cluster_arn must be an ECS cluster ARN."
  }
}

variable "ecs_task_definition_family_arn" {
  description = "ARN pattern of the sync task definition family (…:task-definition/<family>:*), the only task the orchestrator may run."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:ecs:.+:task-definition/[A-Za-z0-9_-]+:\\*$", var.ecs_task_definition_family_arn))
    error_message = "ecs_task_definition_family_arn must look like arn:aws:ecs:<region>:<account>:task-definition/<family>:*."
  }
}

variable "ecs_task_role_arn" {
  description = "ARN of the ECS task role the orchestrator passes to RunTask."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:iam::", var.ecs_task_role_arn))
    error_message = "ecs_task_role_arn must be an IAM role ARN."
  }
}

variable "ecs_execution_role_arn" {
  description = "ARN of the ECS execution role the orchestrator passes to RunTask."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:iam::", var.ecs_execution_role_arn))
    error_message = "ecs_execution_role_arn must be an IAM role ARN."
  }
}

variable "enable_slack_secret_access" {
  description = "Grant both functions secretsmanager:GetSecretValue on slack_webhook_secret_arn."
  type        = bool
  default     = false
}

variable "slack_webhook_secret_arn" {
  description = "ARN of the Slack webhook secret (used when enable_slack_secret_access)."
  type        = string
  default     = null
}

variable "enable_ses_send" {
  description = "Grant both functions ses:SendEmail from ses_identity_arn."
  type        = bool
  default     = false
}

variable "ses_identity_arn" {
  description = "ARN of the SES identity email is sent from (used when enable_ses_send)."
  type        = string
  default     = null
}

variable "permissions_boundary_arn" {
  description = "Permissions boundary attached to every IAM role this module creates (the deploy role may only create bounded roles); null attaches none."
  type        = string
  default     = null

  validation {
    condition     = var.permissions_boundary_arn == null || can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:policy/.+$", var.permissions_boundary_arn))
    error_message = "permissions_boundary_arn must be an IAM policy ARN (arn:aws:iam::<account>:policy/<name>) or null."
  }
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
