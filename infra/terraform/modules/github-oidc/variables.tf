variable "project_name" {
  description = "Project name; deploy permissions are scoped to resources named <project_name>-<environment>-*."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,38}[a-z0-9]$", var.project_name))
    error_message = "project_name must be 2-40 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "github_org" {
  description = "GitHub organisation (or user) owning the repository."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9][A-Za-z0-9-]*$", var.github_org))
    error_message = "github_org must be a GitHub organisation or user name."
  }
}

variable "github_repo" {
  description = "GitHub repository name (without the organisation)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9._-]+$", var.github_repo))
    error_message = "github_repo must be a repository name such as homebrew-bottles-sync."
  }
}

variable "environments" {
  description = "Environments that get a deploy role; each trusts only the GitHub environment of the same name."
  type        = list(string)
  default     = ["dev", "staging", "prod"]

  validation {
    condition     = alltrue([for e in var.environments : can(regex("^[a-z][a-z0-9-]*$", e))])
    error_message = "environments must be lowercase names such as dev, staging, prod."
  }
}

variable "github_environment_names" {
  description = "GitHub environment name per environment, where it differs from the environment's own name (.github/workflows/cicd.yml deploys prod in the `production` environment, which carries the required reviewers)."
  type        = map(string)
  default     = { prod = "production" }
}

variable "cloudfront_environments" {
  description = "Environments whose mirror is read through CloudFront (read_access = \"cloudfront\"): only their roles may manage distributions, origin access controls and cache policies."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for e in var.cloudfront_environments : contains(var.environments, e)])
    error_message = "cloudfront_environments must name environments listed in environments."
  }
}

variable "create_oidc_provider" {
  description = "Create the token.actions.githubusercontent.com OIDC provider (only one may exist per account)."
  type        = bool
  default     = true
}

variable "state_bucket_name" {
  description = "Terraform state bucket the deploy roles read and write."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.state_bucket_name))
    error_message = "state_bucket_name must be a valid bucket name."
  }
}

variable "state_key_prefix" {
  description = "Prefix of state keys: each role may touch <state_key_prefix>/<environment>/* only."
  type        = string
  default     = "homebrew-sync"

  validation {
    condition     = can(regex("^[A-Za-z0-9._-]+$", var.state_key_prefix))
    error_message = "state_key_prefix must be a single path segment."
  }
}

variable "max_session_duration" {
  description = "Longest session (seconds) a workflow gets from a deploy role."
  type        = number
  default     = 3600

  validation {
    condition     = var.max_session_duration >= 3600 && var.max_session_duration <= 43200
    error_message = "max_session_duration must be between 3600 and 43200."
  }
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
