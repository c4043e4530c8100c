output "environment" {
  description = "Environment this stack belongs to."
  value       = var.environment
}

output "aws_region" {
  description = "Region the stack is deployed in."
  value       = var.aws_region
}

output "artifact_version" {
  description = "Artifact version (git SHA) currently deployed."
  value       = var.artifact_version
}

output "mirror_bucket_name" {
  description = "Mirror bucket (bottles/, api/, _sync/)."
  value       = module.storage.s3_bucket_id
}

output "mirror_bucket_arn" {
  description = "ARN of the mirror bucket."
  value       = module.storage.s3_bucket_arn
}

output "mirror_base_url" {
  description = "Base URL for brew clients, or null when read_access = none."
  value       = module.storage.mirror_base_url
}

output "artifacts_bucket_name" {
  description = "Bucket of the Lambda zips (artifacts/<version>/) and the deployment ledger (_ledger/)."
  value       = module.artifacts.s3_bucket_id
}

output "ledger_prefix" {
  description = "Key prefix of the deployment ledger in the artifacts bucket."
  value       = module.artifacts.ledger_prefix
}

output "orchestrator_function_name" {
  description = "Name of the orchestrator Lambda."
  value       = module.lambda.lambda_function_names.orchestrator
}

output "orchestrator_function_arn" {
  description = "ARN of the orchestrator Lambda."
  value       = module.lambda.lambda_function_arns.orchestrator
}

output "worker_function_name" {
  description = "Name of the sync worker Lambda."
  value       = module.lambda.lambda_function_names.worker
}

output "ecs_cluster_name" {
  description = "Name of the ECS cluster."
  value       = module.ecs.ecs_cluster_name
}

output "ecs_task_definition_family" {
  description = "Family of the sync task definition."
  value       = module.ecs.ecs_task_definition_family
}

output "ecr_repository_url" {
  description = "ECR repository the pipeline pushes <url>:<artifact_version> to."
  value       = module.ecs.ecr_repository_url
}

output "schedule_name" {
  description = "Name of the EventBridge schedule."
  value       = module.schedule.scheduler_schedule_name
}

output "sns_topic_arn" {
  description = "Alarm topic."
  value       = module.monitoring.sns_topic_arn
}

output "dashboard_name" {
  description = "CloudWatch dashboard."
  value       = module.monitoring.cloudwatch_dashboard_name
}

output "slack_webhook_secret_arn" {
  description = "Secret to put the Slack webhook URL into (out of band), or null when Slack is disabled."
  value       = module.notifications.secretsmanager_secret_arn
}

output "runtime_settings" {
  description = "What the stack runs with, read back from its resources: Lambda memory and timeout, Fargate cpu, memory and capacity provider, the schedule."
  value = {
    orchestrator_memory_mb = module.lambda.lambda_function_memory_mb.orchestrator
    worker_memory_mb       = module.lambda.lambda_function_memory_mb.worker
    lambda_timeout_seconds = module.lambda.lambda_function_timeout_seconds
    ecs_task_cpu           = module.ecs.ecs_task_cpu
    ecs_task_memory_mb     = module.ecs.ecs_task_memory_mb
    ecs_capacity_provider  = module.ecs.ecs_default_capacity_provider
    schedule_expression    = module.schedule.scheduler_schedule_expression
  }
}

output "permissions_boundary_arn" {
  description = "The permissions boundary every IAM role of the stack carries (created by the bootstrap)."
  value       = local.permissions_boundary_arn
}
