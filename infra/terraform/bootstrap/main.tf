# One-time bootstrap, applied with administrator credentials in every AWS account that hosts an
# environment: the Terraform state bucket, the ECS service-linked role and the GitHub OIDC deploy roles of
# the environments that live in this account (var.account_ids). Everything after this is deployed by the
# pipeline through those roles.

data "aws_caller_identity" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id

  # Environments without an entry in account_ids live in the account the bootstrap runs in.
  environments_here = [for env in var.environments : env if lookup(var.account_ids, env, local.account_id) == local.account_id]
}

resource "terraform_data" "account_check" {
  input = local.environments_here

  lifecycle {
    precondition {
      condition     = length(local.environments_here) > 0
      error_message = "No environment of ${jsonencode(var.environments)} lives in account ${local.account_id} (account_ids = ${jsonencode(var.account_ids)}): run the bootstrap with the credentials of an account listed in account_ids."
    }
  }
}

provider "aws" {
  region = var.aws_region

  default_tags {
    tags = {
      Project   = var.project_name
      ManagedBy = "terraform"
      Purpose   = "bootstrap"
    }
  }
}

resource "aws_s3_bucket" "state" {
  bucket = var.state_bucket_name

  lifecycle {
    prevent_destroy = true
  }
}

resource "aws_s3_bucket_ownership_controls" "state" {
  bucket = aws_s3_bucket.state.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "state" {
  bucket = aws_s3_bucket.state.id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_server_side_encryption_configuration" "state" {
  bucket = aws_s3_bucket.state.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_versioning" "state" {
  bucket = aws_s3_bucket.state.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "state" {
  bucket = aws_s3_bucket.state.id

  rule {
    id     = "abort-incomplete-multipart-uploads"
    status = "Enabled"

    filter {}

    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }

  rule {
    id     = "expire-noncurrent-versions"
    status = "Enabled"

    filter {}

    noncurrent_version_expiration {
      noncurrent_days = 90
    }
  }

  depends_on = [aws_s3_bucket_versioning.state]
}

data "aws_iam_policy_document" "state" {
  # Deny-all over plain HTTP: a Deny, so the wildcard grants nothing.
  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.state.arn, "${aws_s3_bucket.state.arn}/*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "state" {
  bucket = aws_s3_bucket.state.id
  policy = data.aws_iam_policy_document.state.json

  depends_on = [aws_s3_bucket_public_access_block.state]
}

# ECS needs its service-linked role before the first cluster can run a task. An account that has used ECS
# already has it (then set create_ecs_service_linked_role = false); there is one per account.
resource "aws_iam_service_linked_role" "ecs" {
  count = var.create_ecs_service_linked_role ? 1 : 0

  aws_service_name = "ecs.amazonaws.com"
  description      = "Lets ECS manage the network interfaces of the ${var.project_name} sync tasks"
}

module "github_oidc" {
  source = "../modules/github-oidc"

  project_name            = var.project_name
  github_org              = var.github_org
  github_repo             = var.github_repo
  environments            = local.environments_here
  cloudfront_environments = [for env in var.cloudfront_environments : env if contains(local.environments_here, env)]
  create_oidc_provider    = var.create_oidc_provider
  state_bucket_name       = aws_s3_bucket.state.id
  state_key_prefix        = "homebrew-sync"
}
