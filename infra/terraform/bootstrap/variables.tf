variable "project_name" {
  description = "Project name (project.name in config.yaml)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,38}[a-z0-9]$", var.project_name))
    error_message = "project_name must be 2-40 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "aws_region" {
  description = "Region of the state bucket."
  type        = string

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", var.aws_region))
    error_message = "aws_region must be a region code such as eu-west-1."
  }
}

variable "state_bucket_name" {
  description = "Name of the Terraform state bucket to create (globally unique)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.state_bucket_name))
    error_message = "state_bucket_name must be a valid bucket name."
  }
}

variable "github_org" {
  description = "GitHub organisation owning the repository."
  type        = string

  validation {
    condition     = length(var.github_org) > 0
    error_message = "github_org must not be empty."
  }
}

variable "github_repo" {
  description = "GitHub repository name."
  type        = string

  validation {
    condition     = length(var.github_repo) > 0
    error_message = "github_repo must not be empty."
  }
}

variable "environments" {
  description = "Every environment of the project (each gets its deploy role in the account account_ids names for it)."
  type        = list(string)
  default     = ["dev", "staging", "prod"]

  validation {
    condition     = length(var.environments) > 0 && alltrue([for e in var.environments : can(regex("^[a-z][a-z0-9-]*$", e))])
    error_message = "environments must be a non-empty list of lowercase names such as dev, staging, prod."
  }
}

variable "account_ids" {
  description = "AWS account id per environment, for one account per environment: { dev = \"111111111111\", prod = \"222222222222\" }. Apply the bootstrap once in each account; every apply creates the roles of its own account's environments. An environment without an entry lives in the account the bootstrap runs in."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for id in values(var.account_ids) : can(regex("^[0-9]{12}$", id))])
    error_message = "account_ids values must be 12-digit AWS account ids."
  }

  validation {
    condition     = alltrue([for env in keys(var.account_ids) : contains(var.environments, env)])
    error_message = "account_ids keys must be environments listed in environments."
  }
}

variable "cloudfront_environments" {
  description = "Environments that serve the mirror through CloudFront (read_access = \"cloudfront\"); only their deploy roles may manage CloudFront."
  type        = list(string)
  default     = []
}

variable "create_ecs_service_linked_role" {
  description = "Create the ECS service-linked role (AWSServiceRoleForECS). Set false if the account already has it (any account that has run ECS)."
  type        = bool
  default     = true
}

variable "create_oidc_provider" {
  description = "Create the GitHub OIDC provider (false if the account already has one)."
  type        = bool
  default     = true
}
