output "state_bucket_name" {
  description = "Pass to every environment: terraform init -backend-config=bucket=<this>."
  value       = aws_s3_bucket.state.id
}

output "state_bucket_region" {
  description = "Region of the state bucket: the GitHub variable TF_STATE_REGION (the workflows look it up when it is unset)."
  value       = var.aws_region
}

output "deploy_environments" {
  description = "The environments whose deploy roles this account holds."
  value       = local.environments_here
}

output "permissions_boundary_arns" {
  description = "Per environment, the permissions boundary every role the pipeline creates carries."
  value       = module.github_oidc.iam_policy_permissions_boundary_arns
}

output "deploy_role_arns" {
  description = "Store each as the GitHub environment secret AWS_ROLE_ARN_<ENV> (e.g. AWS_ROLE_ARN_DEV)."
  value       = module.github_oidc.iam_role_arns
}

output "deploy_role_subjects" {
  description = "The only GitHub OIDC subject each role trusts."
  value       = module.github_oidc.iam_role_subjects
}

output "plan_role_arns" {
  description = "Store each as the GitHub secret AWS_PLAN_ROLE_ARN_<ENV>: the read-only role of the plan, pull-request and drift jobs."
  value       = module.github_oidc.plan_role_arns
}

output "plan_role_subjects" {
  description = "The only GitHub OIDC subject each plan role trusts (GitHub environment <environment>-plan)."
  value       = module.github_oidc.plan_role_subjects
}
