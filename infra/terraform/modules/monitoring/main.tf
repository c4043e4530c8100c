# Alarms, the topic they publish to, and a dashboard. Everything that goes wrong ends on one SNS topic:
# Lambda errors and throttles, invocations close to the timeout, messages in a dead-letter queue,
# ECS sync tasks that stop with a non-zero exit or fail to start, and (optionally) the monthly budget.

data "aws_region" "current" {}
data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  # The worker runs until worker_safety_margin_seconds before its timeout by design (then saves progress
  # and re-invokes itself), so the ratio would flag every run that continues itself. Its alarm sits half
  # way into that margin: it fires only when a slice overran the planned stop.
  ratio_threshold_ms = floor(var.lambda_timeout_seconds * 1000 * var.duration_alarm_ratio)
  duration_threshold_ms = {
    for role, _ in var.lambda_function_names : role => (
      role == "worker"
      ? max(local.ratio_threshold_ms, (var.lambda_timeout_seconds - var.worker_safety_margin_seconds / 2) * 1000)
      : local.ratio_threshold_ms
    )
  }
  alarm_arn_prefix = "arn:${data.aws_partition.current.partition}:cloudwatch:${data.aws_region.current.id}:${data.aws_caller_identity.current.account_id}:alarm:${var.name_prefix}-"
  budget_enabled   = var.budget_usd > 0
  budget_tag_value = coalesce(var.budget_tag_value, var.name_prefix)
  region           = data.aws_region.current.id
}

################################################################################
# Topic
################################################################################

resource "aws_sns_topic" "this" {
  name              = "${var.name_prefix}-alarms"
  kms_master_key_id = var.sns_kms_key_arn
  tags              = var.tags
}

data "aws_iam_policy_document" "topic" {
  statement {
    sid       = "CloudWatchAlarmsPublish"
    effect    = "Allow"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.this.arn]

    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = ["${local.alarm_arn_prefix}*"]
    }
  }

  statement {
    sid       = "EventBridgeEcsFailuresPublish"
    effect    = "Allow"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.this.arn]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [aws_cloudwatch_event_rule.ecs_task_failed.arn]
    }
  }

  statement {
    sid       = "BudgetsPublish"
    effect    = "Allow"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.this.arn]

    principals {
      type        = "Service"
      identifiers = ["budgets.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

resource "aws_sns_topic_policy" "this" {
  arn    = aws_sns_topic.this.arn
  policy = data.aws_iam_policy_document.topic.json
}

resource "aws_sns_topic_subscription" "email" {
  for_each = toset(var.alarm_emails)

  topic_arn = aws_sns_topic.this.arn
  protocol  = "email"
  endpoint  = each.value
}

################################################################################
# Lambda alarms
################################################################################

resource "aws_cloudwatch_metric_alarm" "lambda_errors" {
  for_each = var.lambda_function_names

  alarm_name          = "${var.name_prefix}-${each.key}-errors"
  alarm_description   = "${each.value} returned errors: check its log group and the DLQ."
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = each.value }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.this.arn]
  ok_actions          = [aws_sns_topic.this.arn]
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "lambda_throttles" {
  for_each = var.lambda_function_names

  alarm_name          = "${var.name_prefix}-${each.key}-throttles"
  alarm_description   = "${each.value} was throttled: reserved concurrency is exhausted."
  namespace           = "AWS/Lambda"
  metric_name         = "Throttles"
  dimensions          = { FunctionName = each.value }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.this.arn]
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "lambda_duration" {
  for_each = var.lambda_function_names

  alarm_name          = "${var.name_prefix}-${each.key}-duration-near-timeout"
  alarm_description   = "${each.value} ran longer than ${local.duration_threshold_ms[each.key] / 1000}s of its ${var.lambda_timeout_seconds}s timeout${each.key == "worker" ? " (it stops ${var.worker_safety_margin_seconds}s before the timeout by design)" : ""}."
  namespace           = "AWS/Lambda"
  metric_name         = "Duration"
  dimensions          = { FunctionName = each.value }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  threshold           = local.duration_threshold_ms[each.key]
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.this.arn]
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "dlq_depth" {
  for_each = var.sqs_dlq_names

  alarm_name          = "${var.name_prefix}-${each.key}-dlq-not-empty"
  alarm_description   = "${each.value} holds failed invocations: inspect, fix, then redrive or purge."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = each.value }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.this.arn]
  ok_actions          = [aws_sns_topic.this.arn]
  tags                = var.tags
}

################################################################################
# ECS task failures (EventBridge: a stopped task with a non-zero exit, or one that never started)
################################################################################

resource "aws_cloudwatch_event_rule" "ecs_task_failed" {
  name        = "${var.name_prefix}-sync-task-failed"
  description = "ECS sync task stopped with a non-zero exit code or failed to start"
  tags        = var.tags

  event_pattern = jsonencode({
    source        = ["aws.ecs"]
    "detail-type" = ["ECS Task State Change"]
    detail = {
      clusterArn = [var.ecs_cluster_arn]
      lastStatus = ["STOPPED"]
      "$or" = [
        { containers = { exitCode = [{ "anything-but" = 0 }] } },
        { stopCode = ["TaskFailedToStart", "SpotInterruption"] },
      ]
    }
  })
}

resource "aws_cloudwatch_event_target" "ecs_task_failed" {
  rule      = aws_cloudwatch_event_rule.ecs_task_failed.name
  target_id = "alarm-topic"
  arn       = aws_sns_topic.this.arn
}

resource "aws_cloudwatch_metric_alarm" "ecs_task_failed" {
  alarm_name          = "${var.name_prefix}-sync-task-failed"
  alarm_description   = "An ECS sync task failed (see the ${aws_cloudwatch_event_rule.ecs_task_failed.name} events)."
  namespace           = "AWS/Events"
  metric_name         = "TriggeredRules"
  dimensions          = { RuleName = aws_cloudwatch_event_rule.ecs_task_failed.name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  # No actions: the rule already sends each failure event to the topic; this alarm makes it visible.
  tags = var.tags
}

################################################################################
# Budget
################################################################################

resource "aws_budgets_budget" "this" {
  count = local.budget_enabled ? 1 : 0

  name         = "${var.name_prefix}-monthly"
  budget_type  = "COST"
  limit_amount = format("%.2f", var.budget_usd)
  limit_unit   = "USD"
  time_unit    = "MONTHLY"
  tags         = var.tags

  cost_filter {
    name   = "TagKeyValue"
    values = [format("user:%s$%s", var.budget_tag_key, local.budget_tag_value)]
  }

  notification {
    comparison_operator       = "GREATER_THAN"
    threshold                 = 80
    threshold_type            = "PERCENTAGE"
    notification_type         = "ACTUAL"
    subscriber_sns_topic_arns = [aws_sns_topic.this.arn]
  }

  notification {
    comparison_operator       = "GREATER_THAN"
    threshold                 = 100
    threshold_type            = "PERCENTAGE"
    notification_type         = "FORECASTED"
    subscriber_sns_topic_arns = [aws_sns_topic.this.arn]
  }
}

################################################################################
# Dashboard
################################################################################

resource "aws_cloudwatch_dashboard" "this" {
  dashboard_name = var.name_prefix
  dashboard_body = jsonencode({
    widgets = concat(
      [for i, pair in [
        ["Invocations", "Sum"], ["Errors", "Sum"], ["Duration", "Maximum"], ["Throttles", "Sum"],
        ] : {
        type   = "metric"
        x      = (i % 2) * 12
        y      = floor(i / 2) * 6
        width  = 12
        height = 6
        properties = {
          title   = "Lambda ${pair[0]}"
          region  = local.region
          stat    = pair[1]
          period  = 300
          view    = "timeSeries"
          metrics = [for role, name in var.lambda_function_names : ["AWS/Lambda", pair[0], "FunctionName", name, { label = role }]]
        }
      }],
      [
        {
          type   = "metric"
          x      = 0
          y      = 12
          width  = 12
          height = 6
          properties = {
            title   = "Dead-letter queue depth"
            region  = local.region
            stat    = "Maximum"
            period  = 300
            view    = "timeSeries"
            metrics = [for role, name in var.sqs_dlq_names : ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", name, { label = role }]]
          }
        },
        {
          type   = "metric"
          x      = 12
          y      = 12
          width  = 12
          height = 6
          properties = {
            title  = "ECS sync task: CPU, memory, failures"
            region = local.region
            period = 300
            view   = "timeSeries"
            metrics = [
              ["ECS/ContainerInsights", "CpuUtilized", "ClusterName", var.ecs_cluster_name, { stat = "Maximum" }],
              ["ECS/ContainerInsights", "MemoryUtilized", "ClusterName", var.ecs_cluster_name, { stat = "Maximum" }],
              ["AWS/Events", "TriggeredRules", "RuleName", aws_cloudwatch_event_rule.ecs_task_failed.name, { stat = "Sum", label = "failed tasks" }],
            ]
          }
        },
      ],
    )
  })
}
