output "secretsmanager_secret_arn" {
  description = "ARN of the Slack webhook secret, or null when not created."
  value       = one(aws_secretsmanager_secret.this[*].arn)
}

output "secretsmanager_secret_name" {
  description = "Name of the Slack webhook secret, or null when not created."
  value       = one(aws_secretsmanager_secret.this[*].name)
}

output "sesv2_email_identity_arn" {
  description = "ARN of the SES email identity, or null when not created."
  value       = one(aws_sesv2_email_identity.this[*].arn)
}

output "sesv2_email_identity" {
  description = "The SES identity (address or domain), or null when not created."
  value       = one(aws_sesv2_email_identity.this[*].email_identity)
}
