output "s3_bucket_id" {
  description = "Name of the artifacts bucket."
  value       = aws_s3_bucket.this.id
}

output "s3_bucket_arn" {
  description = "ARN of the artifacts bucket."
  value       = aws_s3_bucket.this.arn
}

output "artifacts_prefix" {
  description = "Key prefix of the Lambda zips: <prefix><artifact_version>/<function>.zip."
  value       = "artifacts/"
}

output "ledger_prefix" {
  description = "Key prefix of the deployment ledger."
  value       = "_ledger/"
}

output "ledger_arn_pattern" {
  description = "ARN pattern covering every ledger object (for IAM policies)."
  value       = "${aws_s3_bucket.this.arn}/_ledger/*"
}
