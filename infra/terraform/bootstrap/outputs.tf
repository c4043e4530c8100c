output "state_bucket_name" {
  description = "Pass to every environment: terraform init -backend-config=bucket=<this>."
  value       = aws_s3_bucket.state.id
}

output "deploy_role_arns" {
  description = "Store each as the GitHub environment secret AWS_ROLE_ARN_<ENV> (e.g. AWS_ROLE_ARN_DEV)."
  value       = module.github_oidc.iam_role_arns
}

output "deploy_role_subjects" {
  description = "The only GitHub OIDC subject each role trusts."
  value       = module.github_oidc.iam_role_subjects
}
