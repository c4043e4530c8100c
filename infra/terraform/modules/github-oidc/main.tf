# GitHub Actions → AWS without stored keys: the token.actions.githubusercontent.com OIDC provider and one
# deploy role per environment, each trusted ONLY by workflows running in the GitHub environment of the
# same name (sub = repo:<org>/<repo>:environment:<env>, aud = sts.amazonaws.com, both StringEquals).
#
# What keeps one environment's role inside its environment (README.md, "Guarantees"):
# - every name-scoped permission names <project>-<env>-* resources;
# - what has random IDs (VPC resources, CloudFront distributions, SES identities) is scoped by the
#   Environment tag: created only with Environment = <env>, changed only while tagged Environment = <env>;
# - every role the deploy role creates or changes must carry this environment's permissions boundary
#   (iam:PermissionsBoundary), so no role it makes can do more than the stack's runtime needs;
# - the boundaries, the deploy roles and their policies are explicitly denied to it.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  oidc_host    = "token.actions.githubusercontent.com"
  provider_arn = var.create_oidc_provider ? aws_iam_openid_connect_provider.this[0].arn : data.aws_iam_openid_connect_provider.this[0].arn
  account      = data.aws_caller_identity.current.account_id
  partition    = data.aws_partition.current.partition
  environments = toset(var.environments)
  iam_arn      = "arn:${local.partition}:iam::${local.account}"

  # Per environment: the name prefix every deployed resource carries, and the ARNs built from it.
  scopes = {
    for env in var.environments : env => {
      prefix    = "${var.project_name}-${env}"
      role_name = "${var.project_name}-github-deploy-${env}"
      subject   = "repo:${var.github_org}/${var.github_repo}:environment:${lookup(var.github_environment_names, env, env)}"
      # modules/homebrew-sync attaches the policy of this name to every role it creates (same convention).
      boundary_arn = "${local.iam_arn}:policy/${var.project_name}-${env}-permissions-boundary"
      # The read-only plan role: trusted by the GitHub environment "<deploy environment>-plan", which has no
      # required reviewers, so the plan reviewers approve can be made before the gate (item 8 of issue 17).
      plan_role_name = "${var.project_name}-github-plan-${env}"
      plan_subject   = "repo:${var.github_org}/${var.github_repo}:environment:${lookup(var.github_environment_names, env, env)}-plan"
      cloudfront     = contains(var.cloudfront_environments, env)
    }
  }

  # The EC2 resource types the sync task's network is made of (modules/network).
  network_arns = [
    for type in ["vpc", "subnet", "security-group", "security-group-rule", "route-table", "internet-gateway", "vpc-endpoint"] :
    "arn:${local.partition}:ec2:*:${local.account}:${type}/*"
  ]
}

resource "aws_iam_openid_connect_provider" "this" {
  count = var.create_oidc_provider ? 1 : 0

  url            = "https://${local.oidc_host}"
  client_id_list = ["sts.amazonaws.com"]
  tags           = var.tags
}

data "aws_iam_openid_connect_provider" "this" {
  count = var.create_oidc_provider ? 0 : 1

  url = "https://${local.oidc_host}"
}

data "aws_iam_policy_document" "trust" {
  for_each = local.environments

  statement {
    sid     = "GitHubEnvironment${replace(title(each.key), "-", "")}Only"
    effect  = "Allow"
    actions = ["sts:AssumeRoleWithWebIdentity"]

    principals {
      type        = "Federated"
      identifiers = [local.provider_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.oidc_host}:aud"
      values   = ["sts.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.oidc_host}:sub"
      values   = [local.scopes[each.key].subject]
    }
  }
}

resource "aws_iam_role" "this" {
  for_each = local.environments

  name                 = local.scopes[each.key].role_name
  description          = "GitHub Actions deploy role for ${local.scopes[each.key].prefix} (${local.scopes[each.key].subject})"
  assume_role_policy   = data.aws_iam_policy_document.trust[each.key].json
  max_session_duration = var.max_session_duration
  tags                 = var.tags
}

################################################################################
# Permissions boundary: the most any role of the stack may ever do (its runtime needs, nothing of IAM)
################################################################################

data "aws_iam_policy_document" "boundary" {
  for_each = local.environments

  statement {
    sid     = "WriteStackLogs"
    effect  = "Allow"
    actions = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = [
      "arn:${local.partition}:logs:*:${local.account}:log-group:/aws/lambda/${local.scopes[each.key].prefix}-*",
      "arn:${local.partition}:logs:*:${local.account}:log-group:/ecs/${local.scopes[each.key].prefix}-*",
    ]
  }

  # X-Ray and the ECR login have no resource-level permissions: AWS requires Resource "*".
  statement {
    sid       = "TracesAndRegistryLogin"
    effect    = "Allow"
    actions   = ["ecr:GetAuthorizationToken", "xray:PutTelemetryRecords", "xray:PutTraceSegments"]
    resources = ["*"]
  }

  statement {
    sid       = "StackBuckets"
    effect    = "Allow"
    actions   = ["s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads"]
    resources = ["arn:${local.partition}:s3:::${local.scopes[each.key].prefix}-*"]
  }

  statement {
    sid    = "StackObjects"
    effect = "Allow"
    actions = [
      "s3:AbortMultipartUpload", "s3:DeleteObject", "s3:GetObject", "s3:ListMultipartUploadParts", "s3:PutObject",
    ]
    resources = ["arn:${local.partition}:s3:::${local.scopes[each.key].prefix}-*/*"]
  }

  statement {
    sid       = "BucketKeysThroughS3Only"
    effect    = "Allow"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = ["arn:${local.partition}:kms:*:${local.account}:key/*"]

    condition {
      test     = "StringLike"
      variable = "kms:ViaService"
      values   = ["s3.*.amazonaws.com"]
    }
  }

  statement {
    sid     = "StackQueuesSecretsFunctions"
    effect  = "Allow"
    actions = ["lambda:InvokeFunction", "secretsmanager:GetSecretValue", "sqs:SendMessage"]
    resources = [
      "arn:${local.partition}:lambda:*:${local.account}:function:${local.scopes[each.key].prefix}-*",
      "arn:${local.partition}:secretsmanager:*:${local.account}:secret:${local.scopes[each.key].prefix}/*",
      "arn:${local.partition}:sqs:*:${local.account}:${local.scopes[each.key].prefix}-*",
    ]
  }

  statement {
    sid       = "SendNotificationEmail"
    effect    = "Allow"
    actions   = ["ses:SendEmail", "ses:SendRawEmail"]
    resources = ["arn:${local.partition}:ses:*:${local.account}:identity/*"]
  }

  statement {
    sid       = "PullStackImage"
    effect    = "Allow"
    actions   = ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
    resources = ["arn:${local.partition}:ecr:*:${local.account}:repository/${local.scopes[each.key].prefix}-*"]
  }

  statement {
    sid       = "RunStackTask"
    effect    = "Allow"
    actions   = ["ecs:RunTask"]
    resources = ["arn:${local.partition}:ecs:*:${local.account}:task-definition/${local.scopes[each.key].prefix}-*:*"]

    condition {
      test     = "ArnLike"
      variable = "ecs:cluster"
      values   = ["arn:${local.partition}:ecs:*:${local.account}:cluster/${local.scopes[each.key].prefix}-*"]
    }
  }

  statement {
    sid       = "PassStackTaskRoles"
    effect    = "Allow"
    actions   = ["iam:PassRole"]
    resources = ["${local.iam_arn}:role/${local.scopes[each.key].prefix}-*"]

    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["ecs-tasks.amazonaws.com"]
    }
  }
}

resource "aws_iam_policy" "boundary" {
  for_each = local.environments

  name        = "${local.scopes[each.key].prefix}-permissions-boundary"
  description = "Permissions boundary of every role ${local.scopes[each.key].role_name} creates: the ${local.scopes[each.key].prefix} runtime, no IAM"
  policy      = data.aws_iam_policy_document.boundary[each.key].json
  tags        = var.tags

}

################################################################################
# Deploy permissions (four managed policies per environment: each stays under the 6,144-character limit)
################################################################################

# Terraform state, the artifacts bucket (zips + ledger) and pushing the sync image.
data "aws_iam_policy_document" "state_and_artifacts" {
  for_each = local.environments

  statement {
    sid       = "StateBucket"
    effect    = "Allow"
    actions   = ["s3:GetBucketLocation", "s3:ListBucket"]
    resources = ["arn:${local.partition}:s3:::${var.state_bucket_name}"]
  }

  statement {
    sid       = "StateObjectsOfThisEnvironment"
    effect    = "Allow"
    actions   = ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"]
    resources = ["arn:${local.partition}:s3:::${var.state_bucket_name}/${var.state_key_prefix}/${each.key}/*"]
  }

  statement {
    sid    = "ProjectBuckets"
    effect = "Allow"
    actions = [
      "s3:CreateBucket", "s3:DeleteBucket", "s3:DeleteBucketPolicy", "s3:GetAccelerateConfiguration",
      "s3:GetBucketAcl", "s3:GetBucketCORS", "s3:GetBucketLocation", "s3:GetBucketLogging",
      "s3:GetBucketObjectLockConfiguration", "s3:GetBucketOwnershipControls", "s3:GetBucketPolicy",
      "s3:GetBucketPublicAccessBlock", "s3:GetBucketRequestPayment", "s3:GetBucketTagging",
      "s3:GetBucketVersioning", "s3:GetBucketWebsite", "s3:GetEncryptionConfiguration",
      "s3:GetLifecycleConfiguration", "s3:GetReplicationConfiguration", "s3:ListBucket",
      "s3:PutBucketOwnershipControls", "s3:PutBucketPolicy", "s3:PutBucketPublicAccessBlock",
      "s3:PutBucketTagging", "s3:PutBucketVersioning", "s3:PutEncryptionConfiguration",
      "s3:PutLifecycleConfiguration",
    ]
    resources = ["arn:${local.partition}:s3:::${local.scopes[each.key].prefix}-*"]
  }

  statement {
    sid       = "ArtifactAndLedgerObjects"
    effect    = "Allow"
    actions   = ["s3:GetObject", "s3:PutObject"]
    resources = ["arn:${local.partition}:s3:::${local.scopes[each.key].prefix}-artifacts-*/*"]
  }

  # GetAuthorizationToken has no resource-level permissions: AWS requires Resource "*".
  statement {
    sid       = "EcrLogin"
    effect    = "Allow"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"]
  }

  # The environment's own repository, <project>-<env>-sync (modules/homebrew-sync).
  statement {
    sid    = "SyncImageRepository"
    effect = "Allow"
    actions = [
      "ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:CompleteLayerUpload",
      "ecr:CreateRepository", "ecr:DeleteLifecyclePolicy", "ecr:DeleteRepository", "ecr:DescribeImages",
      "ecr:DescribeRepositories", "ecr:GetDownloadUrlForLayer", "ecr:GetLifecyclePolicy",
      "ecr:InitiateLayerUpload", "ecr:ListTagsForResource", "ecr:PutImage", "ecr:PutImageScanningConfiguration",
      "ecr:PutImageTagMutability", "ecr:PutLifecyclePolicy", "ecr:TagResource", "ecr:UntagResource",
      "ecr:UploadLayerPart",
    ]
    resources = ["arn:${local.partition}:ecr:*:${local.account}:repository/${local.scopes[each.key].prefix}-*"]
  }
}

# Lambda, the stack's IAM roles (bounded), ECS, EventBridge (rules and Scheduler), SQS.
data "aws_iam_policy_document" "compute" {
  for_each = local.environments

  statement {
    sid    = "ProjectFunctions"
    effect = "Allow"
    actions = [
      "lambda:AddPermission", "lambda:CreateFunction", "lambda:DeleteFunction", "lambda:DeleteFunctionConcurrency",
      "lambda:DeleteFunctionEventInvokeConfig", "lambda:GetFunction", "lambda:GetFunctionCodeSigningConfig",
      "lambda:GetFunctionConcurrency", "lambda:GetFunctionConfiguration", "lambda:GetFunctionEventInvokeConfig",
      "lambda:GetFunctionRecursionConfig", "lambda:GetPolicy", "lambda:InvokeFunction", "lambda:ListTags",
      "lambda:ListVersionsByFunction", "lambda:PutFunctionConcurrency", "lambda:PutFunctionEventInvokeConfig",
      "lambda:RemovePermission", "lambda:TagResource", "lambda:UntagResource", "lambda:UpdateFunctionCode",
      "lambda:UpdateFunctionConfiguration",
    ]
    resources = ["arn:${local.partition}:lambda:*:${local.account}:function:${local.scopes[each.key].prefix}-*"]
  }

  # Creating a role or changing its policies or boundary is allowed only while the role carries this
  # environment's boundary, so a role it makes can never do more than the boundary allows. These are the
  # role actions that carry the iam:PermissionsBoundary condition key (Service Authorization Reference).
  statement {
    sid    = "ProjectRolesWithBoundary"
    effect = "Allow"
    actions = [
      "iam:CreateRole", "iam:DeleteRolePolicy", "iam:PutRolePermissionsBoundary", "iam:PutRolePolicy",
    ]
    resources = ["${local.iam_arn}:role/${local.scopes[each.key].prefix}-*"]

    condition {
      test     = "ArnEquals"
      variable = "iam:PermissionsBoundary"
      values   = [local.scopes[each.key].boundary_arn]
    }
  }

  # Deleting a role and changing its trust, description or session length carry no iam:PermissionsBoundary
  # key: under that condition AWS would deny them, and Terraform could neither replace nor destroy a role.
  # Safe without it: every role under the prefix was created with the boundary (above), no boundary can
  # be removed, and the deploy and plan roles are outside the prefix and denied below.
  statement {
    sid    = "ProjectRolesLifecycle"
    effect = "Allow"
    actions = [
      "iam:DeleteRole", "iam:UpdateAssumeRolePolicy", "iam:UpdateRole", "iam:UpdateRoleDescription",
    ]
    resources = ["${local.iam_arn}:role/${local.scopes[each.key].prefix}-*"]
  }

  statement {
    sid    = "ProjectRolesReadAndTag"
    effect = "Allow"
    actions = [
      "iam:GetRole", "iam:GetRolePolicy", "iam:ListAttachedRolePolicies", "iam:ListInstanceProfilesForRole",
      "iam:ListRolePolicies", "iam:TagRole", "iam:UntagRole",
    ]
    resources = ["${local.iam_arn}:role/${local.scopes[each.key].prefix}-*"]
  }

  statement {
    sid       = "PassProjectRolesToTheirServices"
    effect    = "Allow"
    actions   = ["iam:PassRole"]
    resources = ["${local.iam_arn}:role/${local.scopes[each.key].prefix}-*"]

    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["ecs-tasks.amazonaws.com", "lambda.amazonaws.com", "scheduler.amazonaws.com"]
    }
  }

  # ECS creates its service-linked role on CreateCluster when it is missing (a fresh account); the bootstrap
  # normally creates it already. Only that one role, only for ECS.
  statement {
    sid       = "EcsServiceLinkedRole"
    effect    = "Allow"
    actions   = ["iam:CreateServiceLinkedRole"]
    resources = ["${local.iam_arn}:role/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS"]

    condition {
      test     = "StringEquals"
      variable = "iam:AWSServiceName"
      values   = ["ecs.amazonaws.com"]
    }
  }

  statement {
    sid    = "ProjectCluster"
    effect = "Allow"
    actions = [
      "ecs:CreateCluster", "ecs:DeleteCluster", "ecs:DescribeClusters", "ecs:ListTagsForResource",
      "ecs:PutClusterCapacityProviders", "ecs:TagResource", "ecs:UntagResource", "ecs:UpdateCluster",
      "ecs:UpdateClusterSettings",
    ]
    resources = [
      "arn:${local.partition}:ecs:*:${local.account}:cluster/${local.scopes[each.key].prefix}-*",
      "arn:${local.partition}:ecs:*:${local.account}:task-definition/${local.scopes[each.key].prefix}-*",
    ]
  }

  # Registering and describing task definitions have no resource-level permissions: AWS requires "*".
  # Nothing deregisters (the task definition has skip_destroy), and the orchestrator runs the exact
  # revision Terraform registered, so a revision another role adds to this family is never run.
  statement {
    sid       = "TaskDefinitions"
    effect    = "Allow"
    actions   = ["ecs:DescribeTaskDefinition", "ecs:RegisterTaskDefinition"]
    resources = ["*"]
  }

  statement {
    sid    = "ProjectRulesAndSchedules"
    effect = "Allow"
    actions = [
      "events:DeleteRule", "events:DescribeRule", "events:ListTagsForResource", "events:ListTargetsByRule",
      "events:PutRule", "events:PutTargets", "events:RemoveTargets", "events:TagResource", "events:UntagResource",
      "scheduler:CreateSchedule", "scheduler:DeleteSchedule", "scheduler:GetSchedule", "scheduler:UpdateSchedule",
    ]
    resources = [
      "arn:${local.partition}:events:*:${local.account}:rule/${local.scopes[each.key].prefix}-*",
      "arn:${local.partition}:scheduler:*:${local.account}:schedule/default/${local.scopes[each.key].prefix}-*",
    ]
  }

  statement {
    sid    = "ProjectQueues"
    effect = "Allow"
    actions = [
      "sqs:CreateQueue", "sqs:DeleteQueue", "sqs:GetQueueAttributes", "sqs:ListQueueTags",
      "sqs:SetQueueAttributes", "sqs:TagQueue", "sqs:UntagQueue",
    ]
    resources = ["arn:${local.partition}:sqs:*:${local.account}:${local.scopes[each.key].prefix}-*"]
  }

  # Explicit Denies outrank every Allow: the boundaries, the deploy roles and their policies stay as the
  # bootstrap made them, and no role loses its boundary.
  statement {
    sid    = "KeepBoundariesAndDeployRoles"
    effect = "Deny"
    actions = [
      "iam:AttachRolePolicy", "iam:CreatePolicyVersion", "iam:CreateRole", "iam:DeletePolicy", "iam:DeletePolicyVersion",
      "iam:DeleteRole", "iam:DeleteRolePermissionsBoundary", "iam:DeleteRolePolicy", "iam:DetachRolePolicy",
      "iam:PutRolePermissionsBoundary", "iam:PutRolePolicy", "iam:SetDefaultPolicyVersion", "iam:TagPolicy",
      "iam:UntagPolicy", "iam:UpdateAssumeRolePolicy", "iam:UpdateRole",
    ]
    resources = [
      "${local.iam_arn}:policy/${var.project_name}-*-permissions-boundary",
      "${local.iam_arn}:policy/${var.project_name}-github-deploy-*",
      "${local.iam_arn}:policy/${var.project_name}-github-plan-*",
      "${local.iam_arn}:role/${var.project_name}-github-deploy-*",
      "${local.iam_arn}:role/${var.project_name}-github-plan-*",
    ]
  }

  statement {
    sid       = "NeverRemoveABoundary"
    effect    = "Deny"
    actions   = ["iam:DeleteRolePermissionsBoundary"]
    resources = ["*"]
  }
}

# Logs, alarms, dashboard, SNS, Secrets Manager, SES, Budgets and the optional CloudFront path.
data "aws_iam_policy_document" "observability" {
  for_each = local.environments

  statement {
    sid    = "ProjectLogGroups"
    effect = "Allow"
    actions = [
      "logs:CreateLogGroup", "logs:DeleteLogGroup", "logs:DeleteRetentionPolicy", "logs:ListTagsForResource",
      "logs:ListTagsLogGroup", "logs:PutRetentionPolicy", "logs:TagLogGroup", "logs:TagResource",
      "logs:UntagLogGroup", "logs:UntagResource",
    ]
    resources = [
      "arn:${local.partition}:logs:*:${local.account}:log-group:/aws/lambda/${local.scopes[each.key].prefix}-*",
      "arn:${local.partition}:logs:*:${local.account}:log-group:/ecs/${local.scopes[each.key].prefix}-*",
    ]
  }

  # Listing calls have no resource-level permissions: AWS requires Resource "*".
  statement {
    sid    = "ReadOnlyListings"
    effect = "Allow"
    actions = [
      "ec2:DescribeAccountAttributes", "ec2:DescribeAvailabilityZones", "ec2:DescribeInternetGateways",
      "ec2:DescribeNetworkInterfaces", "ec2:DescribePrefixLists", "ec2:DescribeRouteTables",
      "ec2:DescribeSecurityGroupRules", "ec2:DescribeSecurityGroups", "ec2:DescribeSubnets",
      "ec2:DescribeVpcAttribute", "ec2:DescribeVpcEndpoints", "ec2:DescribeVpcs", "logs:DescribeLogGroups",
    ]
    resources = ["*"]
  }

  statement {
    sid    = "ProjectAlarmsAndDashboard"
    effect = "Allow"
    actions = [
      "cloudwatch:DeleteAlarms", "cloudwatch:DeleteDashboards", "cloudwatch:DescribeAlarms",
      "cloudwatch:GetDashboard", "cloudwatch:ListTagsForResource", "cloudwatch:PutDashboard",
      "cloudwatch:PutMetricAlarm", "cloudwatch:TagResource", "cloudwatch:UntagResource",
    ]
    resources = [
      "arn:${local.partition}:cloudwatch:*:${local.account}:alarm:${local.scopes[each.key].prefix}-*",
      "arn:${local.partition}:cloudwatch::${local.account}:dashboard/${local.scopes[each.key].prefix}",
    ]
  }

  statement {
    sid    = "ProjectTopic"
    effect = "Allow"
    actions = [
      "sns:CreateTopic", "sns:DeleteTopic", "sns:GetSubscriptionAttributes", "sns:GetTopicAttributes",
      "sns:ListSubscriptionsByTopic", "sns:ListTagsForResource", "sns:SetTopicAttributes", "sns:Subscribe",
      "sns:TagResource", "sns:Unsubscribe", "sns:UntagResource",
    ]
    resources = ["arn:${local.partition}:sns:*:${local.account}:${local.scopes[each.key].prefix}-*"]
  }

  # Manage the secret's metadata only: the deploy role can never read the webhook URL.
  statement {
    sid    = "ProjectSecretMetadata"
    effect = "Allow"
    actions = [
      "secretsmanager:CreateSecret", "secretsmanager:DeleteSecret", "secretsmanager:DescribeSecret",
      "secretsmanager:GetResourcePolicy", "secretsmanager:TagResource", "secretsmanager:UntagResource",
      "secretsmanager:UpdateSecret",
    ]
    resources = ["arn:${local.partition}:secretsmanager:*:${local.account}:secret:${local.scopes[each.key].prefix}/*"]
  }

  # SES identities are named after an address or domain, not the project: created only tagged with this
  # environment, read, tagged and deleted only while they carry its tag.
  statement {
    sid       = "SesIdentityCreateTagged"
    effect    = "Allow"
    actions   = ["ses:CreateEmailIdentity"]
    resources = ["arn:${local.partition}:ses:*:${local.account}:identity/*"]

    condition {
      test     = "StringEquals"
      variable = "aws:RequestTag/Environment"
      values   = [each.key]
    }
  }

  statement {
    sid    = "SesIdentityOfThisEnvironment"
    effect = "Allow"
    actions = [
      "ses:DeleteEmailIdentity", "ses:GetEmailIdentity", "ses:ListTagsForResource", "ses:TagResource",
      "ses:UntagResource",
    ]
    resources = ["arn:${local.partition}:ses:*:${local.account}:identity/*"]

    condition {
      test     = "StringEquals"
      variable = "aws:ResourceTag/Environment"
      values   = [each.key]
    }
  }

  statement {
    sid       = "ProjectBudget"
    effect    = "Allow"
    actions   = ["budgets:ListTagsForResource", "budgets:ModifyBudget", "budgets:TagResource", "budgets:UntagResource", "budgets:ViewBudget"]
    resources = ["arn:${local.partition}:budgets::${local.account}:budget/${local.scopes[each.key].prefix}-*"]
  }

  # CloudFront distributions get random IDs: created only tagged with this environment, changed only while
  # tagged with it. Origin access controls and cache policies take no tags and no conditions, so only the
  # environments in var.cloudfront_environments (read_access = "cloudfront") get them at all.
  dynamic "statement" {
    for_each = local.scopes[each.key].cloudfront ? [1] : []

    content {
      sid       = "CloudFrontListings"
      effect    = "Allow"
      actions   = ["cloudfront:ListCachePolicies"]
      resources = ["*"]
    }
  }

  dynamic "statement" {
    for_each = local.scopes[each.key].cloudfront ? [1] : []

    content {
      sid       = "MirrorDistributionCreateTagged"
      effect    = "Allow"
      actions   = ["cloudfront:CreateDistribution", "cloudfront:TagResource"]
      resources = ["arn:${local.partition}:cloudfront::${local.account}:distribution/*"]

      condition {
        test     = "StringEquals"
        variable = "aws:RequestTag/Environment"
        values   = [each.key]
      }
    }
  }

  dynamic "statement" {
    for_each = local.scopes[each.key].cloudfront ? [1] : []

    content {
      sid    = "MirrorDistributionOfThisEnvironment"
      effect = "Allow"
      actions = [
        "cloudfront:DeleteDistribution", "cloudfront:GetDistribution", "cloudfront:ListTagsForResource",
        "cloudfront:TagResource", "cloudfront:UntagResource", "cloudfront:UpdateDistribution",
      ]
      resources = ["arn:${local.partition}:cloudfront::${local.account}:distribution/*"]

      condition {
        test     = "StringEquals"
        variable = "aws:ResourceTag/Environment"
        values   = [each.key]
      }
    }
  }

  # CreateDistributionWithTags needs cloudfront:TagResource, which the statement above allows with the
  # request's tags only: never on a distribution already tagged with another environment.
  dynamic "statement" {
    for_each = local.scopes[each.key].cloudfront ? [1] : []

    content {
      sid       = "NeverRetagAnotherEnvironmentsDistribution"
      effect    = "Deny"
      actions   = ["cloudfront:TagResource", "cloudfront:UntagResource"]
      resources = ["arn:${local.partition}:cloudfront::${local.account}:distribution/*"]

      condition {
        test     = "Null"
        variable = "aws:ResourceTag/Environment"
        values   = ["false"]
      }

      condition {
        test     = "StringNotEquals"
        variable = "aws:ResourceTag/Environment"
        values   = [each.key]
      }
    }
  }

  dynamic "statement" {
    for_each = local.scopes[each.key].cloudfront ? [1] : []

    content {
      sid    = "MirrorOriginAccessAndCachePolicies"
      effect = "Allow"
      actions = [
        "cloudfront:CreateCachePolicy", "cloudfront:CreateOriginAccessControl", "cloudfront:DeleteCachePolicy",
        "cloudfront:DeleteOriginAccessControl", "cloudfront:GetCachePolicy", "cloudfront:GetOriginAccessControl",
        "cloudfront:UpdateCachePolicy", "cloudfront:UpdateOriginAccessControl",
      ]
      # hbsync-scan: allow HBS-IAC-035 cache policies and origin access controls have random ids, take no tags and no aws:ResourceTag condition; granted only to var.cloudfront_environments
      resources = [
        "arn:${local.partition}:cloudfront::${local.account}:cache-policy/*",
        "arn:${local.partition}:cloudfront::${local.account}:origin-access-control/*",
      ]
    }
  }
}

# The sync task's VPC. EC2 IDs are random, so ownership is the Environment tag: a resource is created
# only with Environment = <env> (aws:RequestTag, one statement per create so that an existing resource of
# another environment is never matched by a create statement), and touched afterwards only while it is
# tagged Environment = <env> (aws:ResourceTag).
data "aws_iam_policy_document" "network" {
  for_each = local.environments

  statement {
    sid    = "NetworkOfThisEnvironment"
    effect = "Allow"
    actions = [
      "ec2:AssociateRouteTable", "ec2:AttachInternetGateway", "ec2:AuthorizeSecurityGroupEgress",
      "ec2:CreateRoute", "ec2:CreateRouteTable", "ec2:CreateSecurityGroup", "ec2:CreateSubnet", "ec2:CreateTags",
      "ec2:CreateVpcEndpoint", "ec2:DeleteInternetGateway", "ec2:DeleteRoute", "ec2:DeleteRouteTable",
      "ec2:DeleteSecurityGroup", "ec2:DeleteSubnet", "ec2:DeleteTags", "ec2:DeleteVpc", "ec2:DeleteVpcEndpoints",
      "ec2:DetachInternetGateway", "ec2:DisassociateRouteTable", "ec2:ModifySubnetAttribute",
      "ec2:ModifyVpcAttribute", "ec2:ModifyVpcEndpoint", "ec2:RevokeSecurityGroupEgress",
      "ec2:RevokeSecurityGroupIngress",
    ]
    resources = local.network_arns

    condition {
      test     = "StringEquals"
      variable = "aws:ResourceTag/Environment"
      values   = [each.key]
    }
  }

  statement {
    sid     = "CreateVpcAndGatewayTagged"
    effect  = "Allow"
    actions = ["ec2:CreateInternetGateway", "ec2:CreateVpc"]
    resources = [
      "arn:${local.partition}:ec2:*:${local.account}:internet-gateway/*",
      "arn:${local.partition}:ec2:*:${local.account}:vpc/*",
    ]

    condition {
      test     = "StringEquals"
      variable = "aws:RequestTag/Environment"
      values   = [each.key]
    }
  }

  statement {
    sid     = "CreateSubnetsGroupsAndRouteTablesTagged"
    effect  = "Allow"
    actions = ["ec2:CreateRouteTable", "ec2:CreateSecurityGroup", "ec2:CreateSubnet"]
    resources = [
      "arn:${local.partition}:ec2:*:${local.account}:route-table/*",
      "arn:${local.partition}:ec2:*:${local.account}:security-group/*",
      "arn:${local.partition}:ec2:*:${local.account}:subnet/*",
    ]

    condition {
      test     = "StringEquals"
      variable = "aws:RequestTag/Environment"
      values   = [each.key]
    }
  }

  statement {
    sid       = "CreateEndpointTagged"
    effect    = "Allow"
    actions   = ["ec2:CreateVpcEndpoint"]
    resources = ["arn:${local.partition}:ec2:*:${local.account}:vpc-endpoint/*"]

    condition {
      test     = "StringEquals"
      variable = "aws:RequestTag/Environment"
      values   = [each.key]
    }
  }

  statement {
    sid       = "CreateEgressRuleTagged"
    effect    = "Allow"
    actions   = ["ec2:AuthorizeSecurityGroupEgress"]
    resources = ["arn:${local.partition}:ec2:*:${local.account}:security-group-rule/*"]

    condition {
      test     = "StringEquals"
      variable = "aws:RequestTag/Environment"
      values   = [each.key]
    }
  }

  statement {
    sid       = "TagOnCreate"
    effect    = "Allow"
    actions   = ["ec2:CreateTags"]
    resources = local.network_arns

    condition {
      test     = "StringEquals"
      variable = "ec2:CreateAction"
      values = [
        "AuthorizeSecurityGroupEgress", "CreateInternetGateway", "CreateRouteTable", "CreateSecurityGroup",
        "CreateSubnet", "CreateVpc", "CreateVpcEndpoint",
      ]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:RequestTag/Environment"
      values   = [each.key]
    }
  }

  # AWS creates a VPC's default security group untagged; the network module strips its rules, and must
  # first tag it as this environment's. Only untagged security groups can be claimed this way.
  statement {
    sid       = "ClaimTheVpcDefaultSecurityGroup"
    effect    = "Allow"
    actions   = ["ec2:CreateTags"]
    resources = ["arn:${local.partition}:ec2:*:${local.account}:security-group/*"]

    condition {
      test     = "Null"
      variable = "aws:ResourceTag/Environment"
      values   = ["true"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:RequestTag/Environment"
      values   = [each.key]
    }
  }
}

locals {
  deploy_policies = merge([
    for env in var.environments : {
      "${env}/state-and-artifacts" = { env = env, json = data.aws_iam_policy_document.state_and_artifacts[env].json }
      "${env}/compute"             = { env = env, json = data.aws_iam_policy_document.compute[env].json }
      "${env}/observability"       = { env = env, json = data.aws_iam_policy_document.observability[env].json }
      "${env}/network"             = { env = env, json = data.aws_iam_policy_document.network[env].json }
    }
  ]...)
}

resource "aws_iam_policy" "this" {
  for_each = local.deploy_policies

  name        = "${local.scopes[each.value.env].role_name}-${split("/", each.key)[1]}"
  description = "Deploy permissions for ${local.scopes[each.value.env].prefix} (${split("/", each.key)[1]})"
  policy      = each.value.json
  tags        = var.tags
}

resource "aws_iam_role_policy_attachment" "this" {
  for_each = local.deploy_policies

  role       = aws_iam_role.this[each.value.env].name
  policy_arn = aws_iam_policy.this[each.key].arn
}

################################################################################
# Plan roles: read-only, for `terraform plan` before the approval gate, on pull requests and for drift checks
################################################################################

# Trusted only by the GitHub environment "<environment>-plan" (e.g. production-plan). It reads what a plan
# refreshes (AWS's ReadOnlyAccess) and writes nothing but its own environment's state lock file, so a job
# that runs before any approval can show the plan to the approvers and change nothing. A saved plan is
# applied by the deploy role, after the approval, in the gated environment.
data "aws_iam_policy_document" "plan_trust" {
  for_each = local.environments

  statement {
    sid     = "GitHubPlanEnvironment${replace(title(each.key), "-", "")}Only"
    effect  = "Allow"
    actions = ["sts:AssumeRoleWithWebIdentity"]

    principals {
      type        = "Federated"
      identifiers = [local.provider_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.oidc_host}:aud"
      values   = ["sts.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.oidc_host}:sub"
      values   = [local.scopes[each.key].plan_subject]
    }
  }
}

resource "aws_iam_role" "plan" {
  for_each = local.environments

  name                 = local.scopes[each.key].plan_role_name
  description          = "GitHub Actions read-only plan role for ${local.scopes[each.key].prefix} (${local.scopes[each.key].plan_subject})"
  assume_role_policy   = data.aws_iam_policy_document.plan_trust[each.key].json
  max_session_duration = var.max_session_duration
  tags                 = var.tags
}

resource "aws_iam_role_policy_attachment" "plan_read_only" {
  for_each = local.environments

  role       = aws_iam_role.plan[each.key].name
  policy_arn = "arn:${local.partition}:iam::aws:policy/ReadOnlyAccess"
}

data "aws_iam_policy_document" "plan" {
  for_each = local.environments

  # terraform plan takes the S3 backend's lock (use_lockfile: <key>.tflock) of its own environment only.
  statement {
    sid       = "OwnStateLock"
    effect    = "Allow"
    actions   = ["s3:DeleteObject", "s3:PutObject"]
    resources = ["arn:${local.partition}:s3:::${var.state_bucket_name}/${var.state_key_prefix}/${each.key}/*.tflock"]
  }

  # ReadOnlyAccess could read every object in the account: the plan role reads no object but its own
  # environment's state (another environment's state, the mirror and the artifacts stay out of reach;
  # a plan reads no object: the stack manages none).
  statement {
    sid           = "NoObjectButOwnState"
    effect        = "Deny"
    actions       = ["s3:GetObject", "s3:GetObjectVersion"]
    not_resources = ["arn:${local.partition}:s3:::${var.state_bucket_name}/${var.state_key_prefix}/${each.key}/*"]
  }

  statement {
    sid       = "NoSecretValues"
    effect    = "Deny"
    actions   = ["secretsmanager:GetSecretValue", "ssm:GetParameter", "ssm:GetParameters", "ssm:GetParametersByPath"]
    resources = ["*"]
  }
}

resource "aws_iam_role_policy" "plan" {
  for_each = local.environments

  name   = "${local.scopes[each.key].plan_role_name}-state"
  role   = aws_iam_role.plan[each.key].id
  policy = data.aws_iam_policy_document.plan[each.key].json
}
