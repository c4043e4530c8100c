variable "name_prefix" {
  description = "Prefix of resource names, usually <project>-<environment>."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]*$", var.name_prefix))
    error_message = "name_prefix must be lowercase letters, digits and hyphens."
  }
}

variable "lambda_function_names" {
  description = "Functions to alarm on, by role: { orchestrator = name, worker = name }."
  type        = map(string)

  validation {
    condition     = length(var.lambda_function_names) > 0
    error_message = "lambda_function_names must name at least one function."
  }
}

variable "lambda_timeout_seconds" {
  description = "Timeout of the functions; the duration alarm fires at duration_alarm_ratio of it."
  type        = number

  validation {
    condition     = var.lambda_timeout_seconds >= 1 && var.lambda_timeout_seconds <= 900
    error_message = "lambda_timeout_seconds must be between 1 and 900."
  }
}

variable "duration_alarm_ratio" {
  description = "Fraction of the timeout a single invocation may reach before the duration alarm fires."
  type        = number
  default     = 0.8

  validation {
    condition     = var.duration_alarm_ratio > 0 && var.duration_alarm_ratio < 1
    error_message = "duration_alarm_ratio must be between 0 and 1."
  }
}

variable "worker_safety_margin_seconds" {
  description = "How long before its timeout the worker Lambda saves progress and re-invokes itself (WORKER_SAFETY_MARGIN_SECONDS); its duration alarm fires only past half of it."
  type        = number
  default     = 120

  validation {
    condition     = var.worker_safety_margin_seconds >= 1 && var.worker_safety_margin_seconds <= 900
    error_message = "worker_safety_margin_seconds must be between 1 and 900."
  }
}

variable "sqs_dlq_names" {
  description = "Dead-letter queues to alarm on, by role: { orchestrator = name, worker = name }."
  type        = map(string)
  default     = {}
}

variable "ecs_cluster_arn" {
  description = "ARN of the ECS cluster whose failed (non-zero exit or failed to start) tasks alert."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:ecs:", var.ecs_cluster_arn))
    error_message = "ecs_cluster_arn must be an ECS cluster ARN."
  }
}

variable "ecs_cluster_name" {
  description = "Name of the ECS cluster (for the dashboard)."
  type        = string

  validation {
    condition     = length(var.ecs_cluster_name) > 0
    error_message = "ecs_cluster_name must not be empty."
  }
}

variable "alarm_emails" {
  description = "Email addresses subscribed to the alarm topic (each must confirm the subscription)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for e in var.alarm_emails : can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", e))])
    error_message = "alarm_emails must be email addresses."
  }
}

variable "sns_kms_key_arn" {
  description = "Customer-managed KMS key for the topic, or null for no SSE. The AWS-managed aws/sns key cannot be used: CloudWatch, EventBridge and Budgets cannot publish to topics it encrypts."
  type        = string
  default     = null
}

variable "budget_usd" {
  description = "Monthly cost budget in USD for resources tagged budget_tag_key = budget_tag_value; 0 creates no budget."
  type        = number
  default     = 0

  validation {
    condition     = var.budget_usd >= 0
    error_message = "budget_usd must be 0 or more."
  }
}

variable "budget_tag_key" {
  description = "Cost-allocation tag key the budget filters on (activate it in the Billing console first)."
  type        = string
  default     = "Stack"
}

variable "budget_tag_value" {
  description = "Value of budget_tag_key the budget counts; null means name_prefix."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
