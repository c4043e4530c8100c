# The orchestrator (plan, then hand off) and the sync worker (execute the plan, re-invoking itself near
# its timeout). Both: nodejs22.x on arm64, code from the artifacts bucket at
# artifacts/<artifact_version>/<function>.zip, an SQS dead-letter queue for failed async invocations,
# X-Ray active tracing, a JSON log group with retention, reserved concurrency, and a least-privilege role.

data "aws_region" "current" {}
data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  functions = {
    orchestrator = {
      description          = "Plans a Homebrew mirror sync and dispatches it to the worker Lambda or ECS Fargate"
      memory_mb            = var.orchestrator_memory_mb
      reserved_concurrency = var.orchestrator_reserved_concurrency
    }
    worker = {
      description          = "Executes a Homebrew mirror sync plan, re-invoking itself until done"
      memory_mb            = var.sync_memory_mb
      reserved_concurrency = var.worker_reserved_concurrency
    }
  }

  function_names = { for k, _ in local.functions : k => "${var.name_prefix}-${k}" }

  # Built from the name rather than the resource, so the worker's own policy can name it without a cycle.
  function_arns = {
    for k, name in local.function_names :
    k => "arn:${data.aws_partition.current.partition}:lambda:${data.aws_region.current.id}:${data.aws_caller_identity.current.account_id}:function:${name}"
  }

  environment = merge(var.environment_variables, {
    RUNTIME                 = "lambda"
    WORKER_FUNCTION_NAME    = local.function_names.worker
    POWERTOOLS_SERVICE_NAME = var.name_prefix
  })
}

################################################################################
# Logs and dead-letter queues
################################################################################

resource "aws_cloudwatch_log_group" "this" {
  for_each = local.functions

  name              = "/aws/lambda/${local.function_names[each.key]}"
  retention_in_days = var.log_retention_days
  tags              = var.tags
}

resource "aws_sqs_queue" "dlq" {
  for_each = local.functions

  name                      = "${local.function_names[each.key]}-dlq"
  message_retention_seconds = 1209600 # 14 days, the SQS maximum: time to inspect and redrive
  sqs_managed_sse_enabled   = true
  tags                      = var.tags
}

################################################################################
# IAM
################################################################################

data "aws_iam_policy_document" "assume" {
  statement {
    effect  = "Allow"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

resource "aws_iam_role" "this" {
  for_each = local.functions

  name                 = local.function_names[each.key]
  description          = "Execution role of the ${local.function_names[each.key]} Lambda"
  assume_role_policy   = data.aws_iam_policy_document.assume.json
  permissions_boundary = var.permissions_boundary_arn
  tags                 = var.tags
}

# What both functions need: their own logs, traces and DLQ, the mirror bucket, the ledger (read-only)
# and, when enabled, the Slack secret and the SES identity.
data "aws_iam_policy_document" "base" {
  for_each = local.functions

  statement {
    sid       = "WriteOwnLogs"
    effect    = "Allow"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = [aws_cloudwatch_log_group.this[each.key].arn, "${aws_cloudwatch_log_group.this[each.key].arn}:*"]
  }

  # X-Ray has no resource-level permissions: AWS requires Resource "*" for these two actions.
  statement {
    sid       = "WriteTraces"
    effect    = "Allow"
    actions   = ["xray:PutTelemetryRecords", "xray:PutTraceSegments"]
    resources = ["*"]
  }

  statement {
    sid       = "SendToOwnDeadLetterQueue"
    effect    = "Allow"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.dlq[each.key].arn]
  }

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

  statement {
    sid       = "ReadDeploymentLedger"
    effect    = "Allow"
    actions   = ["s3:GetObject"]
    resources = [var.ledger_arn_pattern]
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

data "aws_iam_policy_document" "orchestrator" {
  source_policy_documents = [data.aws_iam_policy_document.base["orchestrator"].json]

  statement {
    sid       = "InvokeWorkerOnly"
    effect    = "Allow"
    actions   = ["lambda:InvokeFunction"]
    resources = [local.function_arns.worker]
  }

  statement {
    sid       = "RunSyncTaskOnly"
    effect    = "Allow"
    actions   = ["ecs:RunTask"]
    resources = [var.ecs_task_definition_family_arn]

    condition {
      test     = "ArnEquals"
      variable = "ecs:cluster"
      values   = [var.ecs_cluster_arn]
    }
  }

  statement {
    sid       = "PassSyncTaskRolesToEcsOnly"
    effect    = "Allow"
    actions   = ["iam:PassRole"]
    resources = [var.ecs_task_role_arn, var.ecs_execution_role_arn]

    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["ecs-tasks.amazonaws.com"]
    }
  }
}

data "aws_iam_policy_document" "worker" {
  source_policy_documents = [data.aws_iam_policy_document.base["worker"].json]

  # Near its timeout the worker saves progress and re-invokes itself: itself, and nothing else.
  statement {
    sid       = "InvokeSelfOnly"
    effect    = "Allow"
    actions   = ["lambda:InvokeFunction"]
    resources = [local.function_arns.worker]
  }
}

resource "aws_iam_role_policy" "this" {
  for_each = {
    orchestrator = data.aws_iam_policy_document.orchestrator.json
    worker       = data.aws_iam_policy_document.worker.json
  }

  name   = "least-privilege"
  role   = aws_iam_role.this[each.key].id
  policy = each.value
}

################################################################################
# Functions
################################################################################

resource "aws_lambda_function" "this" {
  for_each = local.functions

  function_name                  = local.function_names[each.key]
  description                    = each.value.description
  role                           = aws_iam_role.this[each.key].arn
  runtime                        = "nodejs22.x"
  architectures                  = ["arm64"]
  handler                        = var.handler
  s3_bucket                      = var.artifacts_bucket_name
  s3_key                         = "artifacts/${var.artifact_version}/${each.key}.zip"
  memory_size                    = each.value.memory_mb
  timeout                        = var.timeout_seconds
  reserved_concurrent_executions = each.value.reserved_concurrency
  tags                           = merge(var.tags, { ArtifactVersion = var.artifact_version })

  environment {
    variables = merge(local.environment, { FUNCTION_ROLE = each.key, ARTIFACT_VERSION = var.artifact_version })
  }

  dead_letter_config {
    target_arn = aws_sqs_queue.dlq[each.key].arn
  }

  tracing_config {
    mode = "Active"
  }

  logging_config {
    log_format = "JSON"
    log_group  = aws_cloudwatch_log_group.this[each.key].name
  }

  depends_on = [aws_iam_role_policy.this]
}
