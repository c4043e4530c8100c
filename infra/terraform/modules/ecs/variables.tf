variable "name_prefix" {
  description = "Prefix of resource names, usually <project>-<environment>."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]*$", var.name_prefix))
    error_message = "name_prefix must be lowercase letters, digits and hyphens."
  }
}

variable "artifact_version" {
  description = "Image tag to run (the build's git SHA): <ecr_repository_name>:<artifact_version>."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$", var.artifact_version))
    error_message = "artifact_version must be a valid image tag (letters, digits, . _ -; at most 128)."
  }
}

variable "ecr_repository_name" {
  description = "ECR repository this module creates for the sync image, usually <project>-<environment>-sync."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9._/-]*$", var.ecr_repository_name))
    error_message = "ecr_repository_name must be a valid ECR repository name."
  }
}

variable "ecr_max_image_count" {
  description = "Images the ECR lifecycle policy keeps (older ones are expired; keep enough for rollbacks)."
  type        = number
  default     = 100

  validation {
    condition     = var.ecr_max_image_count >= 10
    error_message = "ecr_max_image_count must be at least 10 so rollbacks find their image."
  }
}

variable "task_cpu" {
  description = "Fargate task CPU units (1024 = 1 vCPU)."
  type        = number

  validation {
    condition     = contains([256, 512, 1024, 2048, 4096, 8192, 16384], var.task_cpu)
    error_message = "task_cpu must be one of 256, 512, 1024, 2048, 4096, 8192, 16384."
  }
}

variable "task_memory_mb" {
  description = "Fargate task memory in MiB (must be a combination Fargate accepts for task_cpu)."
  type        = number

  validation {
    condition     = var.task_memory_mb >= 512 && var.task_memory_mb <= 122880
    error_message = "task_memory_mb must be between 512 and 122880."
  }
}

variable "ephemeral_storage_gb" {
  description = "Fargate ephemeral storage in GiB, mounted for the container at /scratch."
  type        = number

  validation {
    condition     = var.ephemeral_storage_gb >= 21 && var.ephemeral_storage_gb <= 200
    error_message = "ephemeral_storage_gb must be between 21 and 200."
  }
}

variable "enable_fargate_spot" {
  description = "Make FARGATE_SPOT the cluster's default capacity provider (FARGATE stays available)."
  type        = bool
  default     = true
}

variable "container_user" {
  description = "UID:GID the container runs as; never root."
  type        = string
  default     = "1000:1000"

  validation {
    condition     = can(regex("^[1-9][0-9]*:[1-9][0-9]*$", var.container_user))
    error_message = "container_user must be a non-root numeric UID:GID such as 1000:1000."
  }
}

variable "environment_variables" {
  description = "Non-secret environment variables for the container (secrets are read at run time by ARN)."
  type        = map(string)
  default     = {}
}

variable "mirror_bucket_arn" {
  description = "ARN of the mirror bucket the task reads and writes."
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

variable "enable_slack_secret_access" {
  description = "Grant the task secretsmanager:GetSecretValue on slack_webhook_secret_arn."
  type        = bool
  default     = false
}

variable "slack_webhook_secret_arn" {
  description = "ARN of the Slack webhook secret (used when enable_slack_secret_access)."
  type        = string
  default     = null
}

variable "enable_ses_send" {
  description = "Grant the task ses:SendEmail from ses_identity_arn."
  type        = bool
  default     = false
}

variable "ses_identity_arn" {
  description = "ARN of the SES identity email is sent from (used when enable_ses_send)."
  type        = string
  default     = null
}

variable "log_retention_days" {
  description = "Days CloudWatch keeps the task logs."
  type        = number
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a value CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, ...)."
  }
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
