output "scheduler_schedule_arn" {
  description = "ARN of the schedule."
  value       = aws_scheduler_schedule.this.arn
}

output "scheduler_schedule_name" {
  description = "Name of the schedule."
  value       = aws_scheduler_schedule.this.name
}

output "iam_role_arn" {
  description = "ARN of the role the scheduler assumes."
  value       = aws_iam_role.this.arn
}

output "scheduler_schedule_expression" {
  description = "The cron(...) or rate(...) expression the schedule fires on."
  value       = aws_scheduler_schedule.this.schedule_expression
}
