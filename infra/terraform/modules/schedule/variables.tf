variable "name" {
  description = "Name of the schedule and its role, usually <project>-<environment>-sync."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]{1,54}$", var.name))
    error_message = "name must be 1-54 letters, digits, . _ - (the role name adds a suffix)."
  }
}

variable "schedule_expression" {
  description = "EventBridge Scheduler cron(...) or rate(...) expression."
  type        = string

  validation {
    condition     = can(regex("^(cron\\(.+\\)|rate\\([1-9][0-9]* (minute|minutes|hour|hours|day|days)\\))$", var.schedule_expression))
    error_message = "schedule_expression must be cron(...) or rate(N unit), e.g. rate(6 hours)."
  }
}

variable "schedule_timezone" {
  description = "Time zone cron expressions are evaluated in."
  type        = string
  default     = "UTC"

  validation {
    condition     = length(var.schedule_timezone) > 0
    error_message = "schedule_timezone must be an IANA time zone name."
  }
}

variable "enabled" {
  description = "Whether the schedule fires (false pauses syncs without destroying anything)."
  type        = bool
  default     = true
}

variable "orchestrator_function_arn" {
  description = "ARN of the orchestrator Lambda the schedule invokes."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:lambda:", var.orchestrator_function_arn))
    error_message = "orchestrator_function_arn must be a Lambda function ARN."
  }
}

variable "input" {
  description = "Event payload sent to the orchestrator."
  type        = map(string)
  default     = { source = "schedule" }
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
  description = "Tags added to the scheduler role."
  type        = map(string)
  default     = {}
}
