# modules/network and modules/notifications.

mock_provider "aws" {
  source = "./mocks"
}

run "sync_task_network_has_https_egress_only" {
  command = plan

  module {
    source = "../modules/network"
  }

  variables {
    name = "hbsync-dev"
    tags = { Environment = "dev" }
  }

  assert {
    condition     = length(aws_subnet.public) == 2 && alltrue([for s in aws_subnet.public : !s.map_public_ip_on_launch])
    error_message = "Two public subnets that assign no public IP by themselves."
  }

  assert {
    condition     = aws_vpc_security_group_egress_rule.https_ipv4.from_port == 443 && aws_vpc_security_group_egress_rule.https_ipv4.to_port == 443
    error_message = "The task may only leave on port 443."
  }

  assert {
    condition     = aws_vpc_endpoint.s3.vpc_endpoint_type == "Gateway" && aws_vpc_endpoint.s3.service_name == "com.amazonaws.eu-west-1.s3"
    error_message = "Bottle writes reach S3 through a gateway endpoint of the provider's region."
  }

  # The deploy role owns network resources by their Environment tag (modules/github-oidc).
  assert {
    condition     = aws_vpc.this.tags.Environment == "dev" && aws_security_group.this.tags.Environment == "dev" && aws_default_security_group.this.tags.Environment == "dev"
    error_message = "Every network resource carries the Environment tag the deploy role's policy checks."
  }
}

run "notification_secret_and_identity" {
  command = plan

  module {
    source = "../modules/notifications"
  }

  variables {
    name_prefix        = "hbsync-dev"
    ses_email_identity = "mirror@example.com"
    tags               = { Environment = "dev" }
  }

  assert {
    condition     = aws_secretsmanager_secret.this[0].name == "hbsync-dev/slack-webhook-url"
    error_message = "The Slack secret is named <prefix>/slack-webhook-url (the deploy role manages <prefix>/* only)."
  }

  assert {
    condition     = aws_sesv2_email_identity.this[0].tags.Environment == "dev"
    error_message = "The SES identity carries the Environment tag the deploy role's policy checks."
  }
}
