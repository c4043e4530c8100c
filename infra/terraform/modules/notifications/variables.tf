variable "name_prefix" {
  description = "Prefix of resource names, usually <project>-<environment>."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]*$", var.name_prefix))
    error_message = "name_prefix must be lowercase letters, digits and hyphens."
  }
}

variable "create_slack_secret" {
  description = "Create the Secrets Manager secret that holds the Slack incoming-webhook URL (value set out of band)."
  type        = bool
  default     = true
}

variable "secret_kms_key_arn" {
  description = "KMS key ARN for the secret; null uses the account's aws/secretsmanager key."
  type        = string
  default     = null
}

variable "secret_recovery_window_days" {
  description = "Days Secrets Manager keeps a deleted secret recoverable (0 deletes at once, 7-30 otherwise)."
  type        = number
  default     = 7

  validation {
    condition     = var.secret_recovery_window_days == 0 || (var.secret_recovery_window_days >= 7 && var.secret_recovery_window_days <= 30)
    error_message = "secret_recovery_window_days must be 0 or between 7 and 30."
  }
}

variable "ses_email_identity" {
  description = "Sender address or domain to verify in SES for email notifications; null creates no SES identity."
  type        = string
  default     = null

  validation {
    condition     = var.ses_email_identity == null || can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$|^[a-z0-9.-]+\\.[a-z]{2,}$", var.ses_email_identity))
    error_message = "ses_email_identity must be an email address or a domain name."
  }
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
