# EventBridge Scheduler invokes the orchestrator on the configured cron/rate, through a dedicated role
# that may invoke that one function and nothing else.

data "aws_caller_identity" "current" {}

data "aws_iam_policy_document" "assume" {
  statement {
    effect  = "Allow"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["scheduler.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

resource "aws_iam_role" "this" {
  name                 = "${var.name}-scheduler"
  description          = "EventBridge Scheduler role for ${var.name}: invoke the orchestrator only"
  assume_role_policy   = data.aws_iam_policy_document.assume.json
  permissions_boundary = var.permissions_boundary_arn
  tags                 = var.tags
}

data "aws_iam_policy_document" "this" {
  statement {
    sid       = "InvokeOrchestratorOnly"
    effect    = "Allow"
    actions   = ["lambda:InvokeFunction"]
    resources = [var.orchestrator_function_arn, "${var.orchestrator_function_arn}:*"]
  }
}

resource "aws_iam_role_policy" "this" {
  name   = "invoke-orchestrator"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.this.json
}

resource "aws_scheduler_schedule" "this" {
  name                         = var.name
  description                  = "Homebrew mirror sync for ${var.name}"
  schedule_expression          = var.schedule_expression
  schedule_expression_timezone = var.schedule_timezone
  state                        = var.enabled ? "ENABLED" : "DISABLED"

  flexible_time_window {
    mode = "OFF"
  }

  target {
    arn      = var.orchestrator_function_arn
    role_arn = aws_iam_role.this.arn
    input    = jsonencode(var.input)

    # A missed run is harmless (the next one catches up); a storm of retries is not.
    retry_policy {
      maximum_event_age_in_seconds = 3600
      maximum_retry_attempts       = 2
    }
  }
}
