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
  description = "Environments to create deploy roles for in this account."
  type        = list(string)
  default     = ["dev", "staging", "prod"]
}

variable "create_oidc_provider" {
  description = "Create the GitHub OIDC provider (false if the account already has one)."
  type        = bool
  default     = true
}
