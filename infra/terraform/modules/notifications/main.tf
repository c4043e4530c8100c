# Where notification credentials live. The Slack webhook URL is a secret: Terraform creates the empty
# container, the value is written out of band (`aws secretsmanager put-secret-value`), never in tfvars or
# state. Functions get the secret ARN (SLACK_WEBHOOK_SECRET_ARN) and read it at run time.

resource "aws_secretsmanager_secret" "this" {
  count = var.create_slack_secret ? 1 : 0

  name                    = "${var.name_prefix}/slack-webhook-url"
  description             = "Slack incoming-webhook URL for ${var.name_prefix} notifications (set out of band)."
  kms_key_id              = var.secret_kms_key_arn
  recovery_window_in_days = var.secret_recovery_window_days
  tags                    = var.tags
}

resource "aws_sesv2_email_identity" "this" {
  count = var.ses_email_identity == null ? 0 : 1

  email_identity = var.ses_email_identity
  tags           = var.tags
}
