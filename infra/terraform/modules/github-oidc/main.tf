# GitHub Actions → AWS without stored keys: the token.actions.githubusercontent.com OIDC provider and one
# deploy role per environment, each trusted ONLY by workflows running in the GitHub environment of the
# same name (sub = repo:<org>/<repo>:environment:<env>, aud = sts.amazonaws.com, both StringEquals).
# Permissions are explicit action lists scoped to the project's resource names; see README.md for the
# few services (EC2 networking, CloudFront, ECS task definitions) that cannot be scoped by name.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  oidc_host    = "token.actions.githubusercontent.com"
  provider_arn = var.create_oidc_provider ? aws_iam_openid_connect_provider.this[0].arn : data.aws_iam_openid_connect_provider.this[0].arn
  account      = data.aws_caller_identity.current.account_id
  partition    = data.aws_partition.current.partition
  environments = toset(var.environments)

  # Per environment: the name prefix every deployed resource carries, and the ARNs built from it.
  scopes = {
    for env in var.environments : env => {
      prefix    = "${var.project_name}-${env}"
      role_name = "${var.project_name}-github-deploy-${env}"
      subject   = "repo:${var.github_org}/${var.github_repo}:environment:${lookup(var.github_environment_names, env, env)}"
    }
  }
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
# Permissions (three managed policies per environment: each stays under the 6,144-character limit)
################################################################################

# Terraform state, the artifacts bucket (zips + ledger) and pushing the sync image.
data "aws_iam_policy_document" "state_and_artifacts" {
  for_each = local.environments

  statement {
    sid       = "StateBucketList"
    effect    = "Allow"
    actions   = ["s3:ListBucket"]
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
    resources = ["arn:${local.partition}:ecr:*:${local.account}:repository/${var.project_name}-sync"]
  }
}

# Lambda, IAM roles of the stack, ECS, EventBridge (rules and Scheduler), SQS.
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

  statement {
    sid    = "ProjectRoles"
    effect = "Allow"
    actions = [
      "iam:CreateRole", "iam:DeleteRole", "iam:DeleteRolePolicy", "iam:GetRole", "iam:GetRolePolicy",
      "iam:ListAttachedRolePolicies", "iam:ListInstanceProfilesForRole", "iam:ListRolePolicies",
      "iam:PutRolePolicy", "iam:TagRole", "iam:UntagRole", "iam:UpdateAssumeRolePolicy", "iam:UpdateRole",
      "iam:UpdateRoleDescription",
    ]
    resources = ["arn:${local.partition}:iam::${local.account}:role/${local.scopes[each.key].prefix}-*"]
  }

  statement {
    sid       = "PassProjectRolesToTheirServices"
    effect    = "Allow"
    actions   = ["iam:PassRole"]
    resources = ["arn:${local.partition}:iam::${local.account}:role/${local.scopes[each.key].prefix}-*"]

    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["ecs-tasks.amazonaws.com", "lambda.amazonaws.com", "scheduler.amazonaws.com"]
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

  # Task definition registration has no resource-level permissions: AWS requires Resource "*".
  statement {
    sid       = "TaskDefinitions"
    effect    = "Allow"
    actions   = ["ecs:DeregisterTaskDefinition", "ecs:DescribeTaskDefinition", "ecs:RegisterTaskDefinition"]
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
}

# Logs, alarms, dashboard, SNS, Secrets Manager, SES, Budgets, the VPC and the optional CloudFront path.
data "aws_iam_policy_document" "observability_and_network" {
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
      "cloudfront:ListCachePolicies", "ec2:DescribeAccountAttributes", "ec2:DescribeAvailabilityZones",
      "ec2:DescribeInternetGateways", "ec2:DescribeNetworkInterfaces", "ec2:DescribePrefixLists",
      "ec2:DescribeRouteTables", "ec2:DescribeSecurityGroupRules", "ec2:DescribeSecurityGroups",
      "ec2:DescribeSubnets", "ec2:DescribeVpcAttribute", "ec2:DescribeVpcEndpoints", "ec2:DescribeVpcs",
      "logs:DescribeLogGroups",
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

  statement {
    sid    = "SesIdentity"
    effect = "Allow"
    actions = [
      "ses:CreateEmailIdentity", "ses:DeleteEmailIdentity", "ses:GetEmailIdentity", "ses:ListTagsForResource",
      "ses:TagResource", "ses:UntagResource",
    ]
    resources = ["arn:${local.partition}:ses:*:${local.account}:identity/*"]
  }

  statement {
    sid       = "ProjectBudget"
    effect    = "Allow"
    actions   = ["budgets:ListTagsForResource", "budgets:ModifyBudget", "budgets:TagResource", "budgets:UntagResource", "budgets:ViewBudget"]
    resources = ["arn:${local.partition}:budgets::${local.account}:budget/${local.scopes[each.key].prefix}-*"]
  }

  # VPC resources get random IDs, so they cannot be scoped by name; creation is limited to these calls,
  # in this account only.
  statement {
    sid    = "SyncTaskNetwork"
    effect = "Allow"
    actions = [
      "ec2:AssociateRouteTable", "ec2:AttachInternetGateway", "ec2:AuthorizeSecurityGroupEgress",
      "ec2:CreateInternetGateway", "ec2:CreateRoute", "ec2:CreateRouteTable", "ec2:CreateSecurityGroup",
      "ec2:CreateSubnet", "ec2:CreateTags", "ec2:CreateVpc", "ec2:CreateVpcEndpoint", "ec2:DeleteInternetGateway",
      "ec2:DeleteRoute", "ec2:DeleteRouteTable", "ec2:DeleteSecurityGroup", "ec2:DeleteSubnet", "ec2:DeleteTags",
      "ec2:DeleteVpc", "ec2:DeleteVpcEndpoints", "ec2:DetachInternetGateway", "ec2:DisassociateRouteTable",
      "ec2:ModifySubnetAttribute", "ec2:ModifyVpcAttribute", "ec2:ModifyVpcEndpoint",
      "ec2:RevokeSecurityGroupEgress", "ec2:RevokeSecurityGroupIngress",
    ]
    resources = ["arn:${local.partition}:ec2:*:${local.account}:*"]
  }

  # CloudFront IDs are random too; only needed when the mirror's read_access is "cloudfront".
  statement {
    sid    = "MirrorDistribution"
    effect = "Allow"
    actions = [
      "cloudfront:CreateCachePolicy", "cloudfront:CreateDistribution", "cloudfront:CreateOriginAccessControl",
      "cloudfront:DeleteCachePolicy", "cloudfront:DeleteDistribution", "cloudfront:DeleteOriginAccessControl",
      "cloudfront:GetCachePolicy", "cloudfront:GetDistribution", "cloudfront:GetOriginAccessControl",
      "cloudfront:ListTagsForResource", "cloudfront:TagResource", "cloudfront:UntagResource",
      "cloudfront:UpdateCachePolicy", "cloudfront:UpdateDistribution", "cloudfront:UpdateOriginAccessControl",
    ]
    resources = ["arn:${local.partition}:cloudfront::${local.account}:*"]
  }
}

locals {
  deploy_policies = merge([
    for env in var.environments : {
      "${env}/state-and-artifacts"       = { env = env, json = data.aws_iam_policy_document.state_and_artifacts[env].json }
      "${env}/compute"                   = { env = env, json = data.aws_iam_policy_document.compute[env].json }
      "${env}/observability-and-network" = { env = env, json = data.aws_iam_policy_document.observability_and_network[env].json }
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
