provider "aws" {
  region = var.aws_region

  default_tags {
    tags = {
      Project     = var.project_name
      Environment = var.environment
      ManagedBy   = "terraform"
    }
  }
}

# Refuse to apply another environment's tfvars in this directory.
resource "terraform_data" "environment_guard" {
  input = var.environment

  lifecycle {
    precondition {
      condition     = var.environment == "staging"
      error_message = "This is infra/terraform/environments/staging but environment = \"${var.environment}\": run hbsync config tfvars --env staging."
    }
  }
}

module "homebrew_sync" {
  source = "../../modules/homebrew-sync"

  project_name             = var.project_name
  environment              = var.environment
  aws_region               = var.aws_region
  artifact_version         = var.artifact_version
  size_threshold_gb        = var.size_threshold_gb
  schedule_enabled         = var.schedule_enabled
  schedule_expression      = var.schedule_expression
  enable_fargate_spot      = var.enable_fargate_spot
  orchestrator_memory_mb   = var.orchestrator_memory_mb
  sync_memory_mb           = var.sync_memory_mb
  lambda_timeout_seconds   = var.lambda_timeout_seconds
  ecs_task_cpu             = var.ecs_task_cpu
  ecs_task_memory_mb       = var.ecs_task_memory_mb
  ecs_ephemeral_storage_gb = var.ecs_ephemeral_storage_gb
  mirror_tags              = var.mirror_tags
  mirror_formulae_include  = var.mirror_formulae_include
  mirror_formulae_exclude  = var.mirror_formulae_exclude
  upstream_api_url         = var.upstream_api_url
  upstream_registry_url    = var.upstream_registry_url
  mirror_layouts           = var.mirror_layouts
  retention_days           = var.retention_days
  checkers_concurrency     = var.checkers_concurrency
  transfers_concurrency    = var.transfers_concurrency
  ecs_shards_max           = var.ecs_shards_max
  ecs_shard_gb             = var.ecs_shard_gb
  slack_enabled            = var.slack_enabled
  slack_channel            = var.slack_channel
  email_enabled            = var.email_enabled
  notification_emails      = var.notification_emails
  budget_usd               = var.budget_usd

  # Settings that are not in config.yaml: change them here, per environment (see the module README).
  read_access = "none"
}
