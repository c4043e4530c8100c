# The whole Homebrew mirror stack for one environment, wired from the TFVARS variables that
# `hbsync config tfvars --env E` writes. Every resource name starts with <project_name>-<environment>.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  name_prefix = "${var.project_name}-${var.environment}"
  account_id  = data.aws_caller_identity.current.account_id

  # The boundary the bootstrap (modules/github-oidc) made for this environment: the deploy role may only
  # create roles that carry it, so every role below does.
  permissions_boundary_arn = "arn:${data.aws_partition.current.partition}:iam::${local.account_id}:policy/${local.name_prefix}-permissions-boundary"

  # The worker saves progress and re-invokes itself this long before its timeout; the duration alarm
  # (modules/monitoring) knows it, so a worker that continues itself as designed raises no alarm.
  worker_safety_margin_seconds = 120

  tags = merge(var.tags, {
    Project     = var.project_name
    Environment = var.environment
    Stack       = local.name_prefix
    ManagedBy   = "terraform"
  })

  slack_secret_access = var.slack_enabled
  ses_send            = var.email_enabled && var.ses_email_identity != null

  # Non-secret settings for the Lambda functions and the ECS task. Secrets never appear here: the code
  # reads the Slack webhook from Secrets Manager by ARN (SLACK_WEBHOOK_SECRET_ARN).
  runtime_environment = merge(
    {
      PROJECT_NAME            = var.project_name
      ENVIRONMENT             = var.environment
      MIRROR_BUCKET           = module.storage.s3_bucket_id
      ARTIFACTS_BUCKET        = module.artifacts.s3_bucket_id
      LEDGER_PREFIX           = module.artifacts.ledger_prefix
      SIZE_THRESHOLD_GB       = tostring(var.size_threshold_gb)
      MIRROR_TAGS             = join(",", var.mirror_tags)
      MIRROR_FORMULAE_INCLUDE = join(",", var.mirror_formulae_include)
      MIRROR_FORMULAE_EXCLUDE = join(",", var.mirror_formulae_exclude)
      UPSTREAM_API_URL        = var.upstream_api_url
      UPSTREAM_REGISTRY_URL   = var.upstream_registry_url
      MIRROR_LAYOUTS          = join(",", var.mirror_layouts)
      RETENTION_DAYS          = tostring(var.retention_days)
      CHECKERS_CONCURRENCY    = tostring(var.checkers_concurrency)
      TRANSFERS_CONCURRENCY   = tostring(var.transfers_concurrency)
      SLACK_ENABLED           = tostring(var.slack_enabled)
      SLACK_CHANNEL           = var.slack_channel
      EMAIL_ENABLED           = tostring(local.ses_send)
      NOTIFY_EMAIL_TO         = join(",", var.notification_emails)
      ARTIFACT_VERSION        = var.artifact_version
    },
    { for k, v in { SLACK_WEBHOOK_SECRET_ARN = module.notifications.secretsmanager_secret_arn } : k => v if local.slack_secret_access },
    { for k, v in { NOTIFY_EMAIL_FROM = var.ses_email_identity } : k => v if local.ses_send },
  )

  # Only the orchestrator starts ECS tasks: the exact revision Terraform registered (not the family's
  # latest, which a RegisterTaskDefinition elsewhere could change).
  dispatch_environment = {
    ECS_CLUSTER           = module.ecs.ecs_cluster_arn
    ECS_TASK_DEFINITION   = module.ecs.ecs_task_definition_arn
    ECS_CONTAINER_NAME    = module.ecs.ecs_container_name
    ECS_CAPACITY_PROVIDER = module.ecs.ecs_default_capacity_provider
    ECS_SUBNETS           = join(",", module.network.public_subnet_ids)
    ECS_SECURITY_GROUPS   = module.network.security_group_id
    ECS_ASSIGN_PUBLIC_IP  = "ENABLED"
    # A run above the threshold is split over up to ECS_SHARDS_MAX tasks, one per ECS_SHARD_GB planned.
    ECS_SHARDS_MAX = tostring(var.ecs_shards_max)
    ECS_SHARD_GB   = tostring(var.ecs_shard_gb)
  }
}

module "storage" {
  source = "../storage"

  bucket_name   = "${local.name_prefix}-mirror-${local.account_id}"
  kms_key_arn   = var.kms_key_arn
  force_destroy = var.force_destroy_buckets
  read_access   = var.read_access
  read_cidrs    = var.read_cidrs
  read_vpce_ids = var.read_vpce_ids
  tags          = local.tags
}

module "artifacts" {
  source = "../artifacts"

  bucket_name   = "${local.name_prefix}-artifacts-${local.account_id}"
  kms_key_arn   = var.kms_key_arn
  force_destroy = var.force_destroy_buckets
  tags          = local.tags
}

module "notifications" {
  source = "../notifications"

  name_prefix         = local.name_prefix
  create_slack_secret = var.slack_enabled
  ses_email_identity  = var.email_enabled ? var.ses_email_identity : null
  tags                = local.tags
}

module "network" {
  source = "../network"

  name       = local.name_prefix
  cidr_block = var.vpc_cidr
  tags       = local.tags
}

module "ecs" {
  source = "../ecs"

  name_prefix                = local.name_prefix
  artifact_version           = var.artifact_version
  ecr_repository_name        = "${local.name_prefix}-sync"
  permissions_boundary_arn   = local.permissions_boundary_arn
  task_cpu                   = var.ecs_task_cpu
  task_memory_mb             = var.ecs_task_memory_mb
  ephemeral_storage_gb       = var.ecs_ephemeral_storage_gb
  enable_fargate_spot        = var.enable_fargate_spot
  environment_variables      = local.runtime_environment
  mirror_bucket_arn          = module.storage.s3_bucket_arn
  mirror_kms_key_arn         = var.kms_key_arn
  enable_slack_secret_access = local.slack_secret_access
  slack_webhook_secret_arn   = module.notifications.secretsmanager_secret_arn
  enable_ses_send            = local.ses_send
  ses_identity_arn           = module.notifications.sesv2_email_identity_arn
  log_retention_days         = var.log_retention_days
  tags                       = local.tags
}

module "lambda" {
  source = "../lambda"

  name_prefix                       = local.name_prefix
  artifact_version                  = var.artifact_version
  artifacts_bucket_name             = module.artifacts.s3_bucket_id
  ledger_arn_pattern                = module.artifacts.ledger_arn_pattern
  handler                           = var.lambda_handler
  orchestrator_memory_mb            = var.orchestrator_memory_mb
  sync_memory_mb                    = var.sync_memory_mb
  timeout_seconds                   = var.lambda_timeout_seconds
  orchestrator_reserved_concurrency = var.orchestrator_reserved_concurrency
  worker_reserved_concurrency       = var.worker_reserved_concurrency
  log_retention_days                = var.log_retention_days
  environment_variables             = merge(local.runtime_environment, local.dispatch_environment, { WORKER_SAFETY_MARGIN_SECONDS = tostring(local.worker_safety_margin_seconds) })
  permissions_boundary_arn          = local.permissions_boundary_arn
  mirror_bucket_arn                 = module.storage.s3_bucket_arn
  mirror_kms_key_arn                = var.kms_key_arn
  ecs_cluster_arn                   = module.ecs.ecs_cluster_arn
  ecs_task_definition_family_arn    = module.ecs.ecs_task_definition_family_arn
  ecs_task_role_arn                 = module.ecs.iam_role_task_arn
  ecs_execution_role_arn            = module.ecs.iam_role_execution_arn
  enable_slack_secret_access        = local.slack_secret_access
  slack_webhook_secret_arn          = module.notifications.secretsmanager_secret_arn
  enable_ses_send                   = local.ses_send
  ses_identity_arn                  = module.notifications.sesv2_email_identity_arn
  tags                              = local.tags
}

module "schedule" {
  source = "../schedule"

  name                      = "${local.name_prefix}-sync"
  schedule_expression       = var.schedule_expression
  enabled                   = var.schedule_enabled
  orchestrator_function_arn = module.lambda.lambda_function_arns.orchestrator
  input                     = { source = "schedule", environment = var.environment }
  permissions_boundary_arn  = local.permissions_boundary_arn
  tags                      = local.tags
}

module "monitoring" {
  source = "../monitoring"

  name_prefix                  = local.name_prefix
  lambda_function_names        = module.lambda.lambda_function_names
  lambda_timeout_seconds       = var.lambda_timeout_seconds
  worker_safety_margin_seconds = local.worker_safety_margin_seconds
  sqs_dlq_names                = module.lambda.sqs_dlq_names
  ecs_cluster_arn              = module.ecs.ecs_cluster_arn
  ecs_cluster_name             = module.ecs.ecs_cluster_name
  alarm_emails                 = var.email_enabled ? var.notification_emails : []
  budget_usd                   = var.budget_usd
  budget_tag_key               = "Stack"
  budget_tag_value             = local.name_prefix
  tags                         = local.tags
}
