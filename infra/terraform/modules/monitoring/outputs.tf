output "sns_topic_arn" {
  description = "ARN of the alarm topic."
  value       = aws_sns_topic.this.arn
}

output "cloudwatch_dashboard_name" {
  description = "Name of the CloudWatch dashboard."
  value       = aws_cloudwatch_dashboard.this.dashboard_name
}

output "cloudwatch_alarm_names" {
  description = "Names of every alarm this module created."
  value = concat(
    [for a in aws_cloudwatch_metric_alarm.lambda_errors : a.alarm_name],
    [for a in aws_cloudwatch_metric_alarm.lambda_throttles : a.alarm_name],
    [for a in aws_cloudwatch_metric_alarm.lambda_duration : a.alarm_name],
    [for a in aws_cloudwatch_metric_alarm.dlq_depth : a.alarm_name],
    [aws_cloudwatch_metric_alarm.ecs_task_failed.alarm_name],
  )
}

output "cloudwatch_event_rule_ecs_task_failed_name" {
  description = "Name of the EventBridge rule that reports failed ECS sync tasks."
  value       = aws_cloudwatch_event_rule.ecs_task_failed.name
}

output "budgets_budget_name" {
  description = "Name of the monthly budget, or null when budget_usd = 0."
  value       = one(aws_budgets_budget.this[*].name)
}
