output "lambda_function_names" {
  description = "Function names by role: { orchestrator, worker }."
  value       = { for k, f in aws_lambda_function.this : k => f.function_name }
}

output "lambda_function_arns" {
  description = "Function ARNs by role: { orchestrator, worker }."
  value       = { for k, f in aws_lambda_function.this : k => f.arn }
}

output "lambda_function_timeout_seconds" {
  description = "Timeout shared by both functions (for the duration alarms), read back from the functions."
  value       = one(distinct([for fn in aws_lambda_function.this : fn.timeout]))
}

output "sqs_dlq_arns" {
  description = "Dead-letter queue ARNs by role."
  value       = { for k, q in aws_sqs_queue.dlq : k => q.arn }
}

output "sqs_dlq_names" {
  description = "Dead-letter queue names by role."
  value       = { for k, q in aws_sqs_queue.dlq : k => q.name }
}

output "iam_role_arns" {
  description = "Execution role ARNs by role."
  value       = { for k, r in aws_iam_role.this : k => r.arn }
}

output "cloudwatch_log_group_names" {
  description = "Log group names by role."
  value       = { for k, g in aws_cloudwatch_log_group.this : k => g.name }
}

output "lambda_function_memory_mb" {
  description = "Memory (MB) of each function, by role."
  value       = { for role, fn in aws_lambda_function.this : role => fn.memory_size }
}
