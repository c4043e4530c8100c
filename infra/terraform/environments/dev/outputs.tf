output "environment" {
  description = "Environment this stack belongs to."
  value       = module.homebrew_sync.environment
}

output "aws_region" {
  description = "Region the stack is deployed in."
  value       = module.homebrew_sync.aws_region
}

output "artifact_version" {
  description = "Artifact version (git SHA) currently deployed."
  value       = module.homebrew_sync.artifact_version
}

output "mirror_bucket_name" {
  description = "Mirror bucket (bottles/, api/, _sync/)."
  value       = module.homebrew_sync.mirror_bucket_name
}

output "mirror_base_url" {
  description = "Base URL for brew clients, or null when read_access = none."
  value       = module.homebrew_sync.mirror_base_url
}

output "artifacts_bucket_name" {
  description = "Bucket of the Lambda zips and the deployment ledger."
  value       = module.homebrew_sync.artifacts_bucket_name
}

output "ledger_prefix" {
  description = "Key prefix of the deployment ledger in the artifacts bucket."
  value       = module.homebrew_sync.ledger_prefix
}

output "orchestrator_function_name" {
  description = "Name of the orchestrator Lambda."
  value       = module.homebrew_sync.orchestrator_function_name
}

output "worker_function_name" {
  description = "Name of the sync worker Lambda."
  value       = module.homebrew_sync.worker_function_name
}

output "ecs_cluster_name" {
  description = "Name of the ECS cluster."
  value       = module.homebrew_sync.ecs_cluster_name
}

output "ecs_task_definition_family" {
  description = "Family of the sync task definition."
  value       = module.homebrew_sync.ecs_task_definition_family
}

output "ecr_repository_url" {
  description = "ECR repository the pipeline pushes <url>:<artifact_version> to."
  value       = module.homebrew_sync.ecr_repository_url
}

output "schedule_name" {
  description = "Name of the EventBridge schedule."
  value       = module.homebrew_sync.schedule_name
}

output "sns_topic_arn" {
  description = "Alarm topic."
  value       = module.homebrew_sync.sns_topic_arn
}

output "dashboard_name" {
  description = "CloudWatch dashboard."
  value       = module.homebrew_sync.dashboard_name
}

output "slack_webhook_secret_arn" {
  description = "Secret to put the Slack webhook URL into (out of band), or null when Slack is disabled."
  value       = module.homebrew_sync.slack_webhook_secret_arn
}
