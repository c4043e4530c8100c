output "iam_openid_connect_provider_arn" {
  description = "ARN of the GitHub Actions OIDC provider."
  value       = local.provider_arn
}

output "iam_role_arns" {
  description = "Deploy role ARN per environment: store each as the GitHub environment secret AWS_ROLE_ARN_<ENV>."
  value       = { for env, role in aws_iam_role.this : env => role.arn }
}

output "iam_role_subjects" {
  description = "The only OIDC subject each role trusts, per environment."
  value       = { for env in var.environments : env => local.scopes[env].subject }
}

output "iam_policy_permissions_boundary_arns" {
  description = "Per environment, the permissions boundary every role the deploy role creates must carry (modules/homebrew-sync attaches it)."
  value       = { for env, policy in aws_iam_policy.boundary : env => policy.arn }
}

output "plan_role_arns" {
  description = "Read-only plan role ARN per environment: store each as the GitHub secret AWS_PLAN_ROLE_ARN_<ENV> (the plan, pull-request and drift jobs)."
  value       = { for env, role in aws_iam_role.plan : env => role.arn }
}

output "plan_role_subjects" {
  description = "The only OIDC subject each plan role trusts: the GitHub environment <environment>-plan."
  value       = { for env in var.environments : env => local.scopes[env].plan_subject }
}
