# The ECS Fargate side of the sync: runs a plan too big for the worker Lambda. ARM64, non-root,
# read-only root filesystem with a writable /scratch volume on ephemeral storage, separate task role
# (what the code may do) and execution role (what ECS needs to start it).

data "aws_region" "current" {}
data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  container_name     = "sync"
  family             = "${var.name_prefix}-sync"
  log_group_name     = "/ecs/${var.name_prefix}-sync"
  repository_url     = aws_ecr_repository.sync.repository_url
  repository_arn     = aws_ecr_repository.sync.arn
  capacity_providers = ["FARGATE", "FARGATE_SPOT"]
  default_capacity   = var.enable_fargate_spot ? "FARGATE_SPOT" : "FARGATE"

  container_environment = merge(var.environment_variables, {
    TMPDIR  = "/scratch"
    HOME    = "/scratch"
    RUNTIME = "ecs"
  })

  container_definition = {
    name                   = local.container_name
    image                  = "${local.repository_url}:${var.artifact_version}"
    essential              = true
    user                   = var.container_user
    readonlyRootFilesystem = true
    stopTimeout            = 120 # Fargate Spot gives a two-minute warning: use all of it to save progress
    linuxParameters        = { initProcessEnabled = true }
    mountPoints            = [{ sourceVolume = "scratch", containerPath = "/scratch", readOnly = false }]
    environment            = [for k in sort(keys(local.container_environment)) : { name = k, value = local.container_environment[k] }]
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = aws_cloudwatch_log_group.this.name
        awslogs-region        = data.aws_region.current.id
        awslogs-stream-prefix = local.container_name
      }
    }
  }
}

################################################################################
# Image repository (one per environment: <project>-<env>-sync)
################################################################################

resource "aws_ecr_repository" "sync" {
  name                 = var.ecr_repository_name
  image_tag_mutability = "IMMUTABLE"
  tags                 = var.tags

  image_scanning_configuration {
    scan_on_push = true
  }

  encryption_configuration {
    encryption_type = "AES256"
  }
}

resource "aws_ecr_lifecycle_policy" "sync" {
  repository = aws_ecr_repository.sync.name
  policy = jsonencode({
    rules = [{
      rulePriority = 1
      description  = "Keep the newest ${var.ecr_max_image_count} images"
      selection = {
        tagStatus   = "any"
        countType   = "imageCountMoreThan"
        countNumber = var.ecr_max_image_count
      }
      action = { type = "expire" }
    }]
  })
}

# Earlier versions shared one <project>-sync repository between the environments of an account (the one
# with create_ecr_repository = true owned it): staging and prod collided on it. Each environment now
# owns its own; the shared repository is forgotten, never destroyed (delete it by hand once no task
# definition names it).
removed {
  from = aws_ecr_repository.this

  lifecycle {
    destroy = false
  }
}

removed {
  from = aws_ecr_lifecycle_policy.this

  lifecycle {
    destroy = false
  }
}

################################################################################
# Cluster
################################################################################

resource "aws_ecs_cluster" "this" {
  name = "${var.name_prefix}-sync"
  tags = var.tags

  setting {
    name  = "containerInsights"
    value = "enabled"
  }
}

resource "aws_ecs_cluster_capacity_providers" "this" {
  cluster_name       = aws_ecs_cluster.this.name
  capacity_providers = local.capacity_providers

  default_capacity_provider_strategy {
    capacity_provider = local.default_capacity
    weight            = 1
    base              = 0
  }
}

resource "aws_cloudwatch_log_group" "this" {
  name              = local.log_group_name
  retention_in_days = var.log_retention_days
  tags              = var.tags
}

################################################################################
# Task definition
################################################################################

resource "aws_ecs_task_definition" "this" {
  family                   = local.family
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = tostring(var.task_cpu)
  memory                   = tostring(var.task_memory_mb)
  task_role_arn            = aws_iam_role.task.arn
  execution_role_arn       = aws_iam_role.execution.arn
  container_definitions    = jsonencode([local.container_definition])
  tags                     = var.tags

  # Replacing a revision registers a new one and leaves the old one registered: the deploy role needs no
  # ecs:DeregisterTaskDefinition (which only works on Resource "*"), and a rollback's image stays runnable.
  skip_destroy = true

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "ARM64"
  }

  ephemeral_storage {
    size_in_gib = var.ephemeral_storage_gb
  }

  volume {
    name = "scratch"
  }
}

################################################################################
# IAM: execution role (pull the image, write logs)
################################################################################

data "aws_iam_policy_document" "ecs_tasks_assume" {
  statement {
    effect  = "Allow"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

resource "aws_iam_role" "execution" {
  name                 = "${var.name_prefix}-sync-execution"
  description          = "ECS execution role: pull ${var.ecr_repository_name} and write task logs"
  assume_role_policy   = data.aws_iam_policy_document.ecs_tasks_assume.json
  permissions_boundary = var.permissions_boundary_arn
  tags                 = var.tags
}

data "aws_iam_policy_document" "execution" {
  # GetAuthorizationToken has no resource-level permissions: AWS requires Resource "*".
  statement {
    sid       = "EcrLogin"
    effect    = "Allow"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"]
  }

  statement {
    sid       = "PullSyncImage"
    effect    = "Allow"
    actions   = ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
    resources = [local.repository_arn]
  }

  statement {
    sid       = "WriteTaskLogs"
    effect    = "Allow"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.this.arn}:*"]
  }
}

resource "aws_iam_role_policy" "execution" {
  name   = "pull-image-and-log"
  role   = aws_iam_role.execution.id
  policy = data.aws_iam_policy_document.execution.json
}

################################################################################
# IAM: task role (what the sync code may do)
################################################################################

resource "aws_iam_role" "task" {
  name                 = "${var.name_prefix}-sync-task"
  description          = "ECS task role: read and write the mirror bucket, read the Slack secret, send email"
  assume_role_policy   = data.aws_iam_policy_document.ecs_tasks_assume.json
  permissions_boundary = var.permissions_boundary_arn
  tags                 = var.tags
}

data "aws_iam_policy_document" "task" {
  statement {
    sid       = "ListMirrorBucket"
    effect    = "Allow"
    actions   = ["s3:ListBucket", "s3:ListBucketMultipartUploads", "s3:GetBucketLocation"]
    resources = [var.mirror_bucket_arn]
  }

  statement {
    sid    = "ReadWriteMirrorObjects"
    effect = "Allow"
    actions = [
      "s3:AbortMultipartUpload",
      "s3:DeleteObject",
      "s3:GetObject",
      "s3:ListMultipartUploadParts",
      "s3:PutObject",
    ]
    resources = ["${var.mirror_bucket_arn}/*"]
  }

  dynamic "statement" {
    for_each = var.mirror_kms_key_arn == null ? [] : [var.mirror_kms_key_arn]

    content {
      sid       = "UseMirrorKey"
      effect    = "Allow"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
      resources = [statement.value]
    }
  }

  dynamic "statement" {
    for_each = var.enable_slack_secret_access ? [1] : []

    content {
      sid       = "ReadSlackWebhookSecret"
      effect    = "Allow"
      actions   = ["secretsmanager:GetSecretValue"]
      resources = [var.slack_webhook_secret_arn]
    }
  }

  dynamic "statement" {
    for_each = var.enable_ses_send ? [1] : []

    content {
      sid       = "SendNotificationEmail"
      effect    = "Allow"
      actions   = ["ses:SendEmail", "ses:SendRawEmail"]
      resources = [var.ses_identity_arn]
    }
  }
}

resource "aws_iam_role_policy" "task" {
  name   = "mirror-sync"
  role   = aws_iam_role.task.id
  policy = data.aws_iam_policy_document.task.json
}
