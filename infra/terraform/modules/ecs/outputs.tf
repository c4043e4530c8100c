output "ecs_cluster_arn" {
  description = "ARN of the ECS cluster."
  value       = aws_ecs_cluster.this.arn
}

output "ecs_cluster_name" {
  description = "Name of the ECS cluster."
  value       = aws_ecs_cluster.this.name
}

output "ecs_task_definition_arn" {
  description = "ARN (with revision) of the current task definition."
  value       = aws_ecs_task_definition.this.arn
}

output "ecs_task_definition_family" {
  description = "Family of the task definition (RunTask with the family runs the latest revision)."
  value       = aws_ecs_task_definition.this.family
}

output "ecs_task_definition_family_arn" {
  description = "ARN pattern matching every revision of the family, for ecs:RunTask policies."
  value       = "${aws_ecs_task_definition.this.arn_without_revision}:*"
}

output "ecs_container_name" {
  description = "Name of the sync container (for RunTask overrides)."
  value       = local.container_name
}

output "ecs_default_capacity_provider" {
  description = "Capacity provider the orchestrator should request: FARGATE_SPOT or FARGATE."
  value       = local.default_capacity
}

output "iam_role_task_arn" {
  description = "ARN of the task role."
  value       = aws_iam_role.task.arn
}

output "iam_role_execution_arn" {
  description = "ARN of the execution role."
  value       = aws_iam_role.execution.arn
}

output "ecr_repository_url" {
  description = "URL of the ECR repository (push <url>:<artifact_version>)."
  value       = local.repository_url
}

output "ecr_repository_arn" {
  description = "ARN of the ECR repository."
  value       = local.repository_arn
}

output "cloudwatch_log_group_name" {
  description = "Log group of the sync task."
  value       = aws_cloudwatch_log_group.this.name
}

output "ecs_task_cpu" {
  description = "CPU units of the sync task definition."
  value       = tonumber(aws_ecs_task_definition.this.cpu)
}

output "ecs_task_memory_mb" {
  description = "Memory (MiB) of the sync task definition."
  value       = tonumber(aws_ecs_task_definition.this.memory)
}
