# modules/storage and modules/artifacts (and the bootstrap's state bucket, in bootstrap.tftest.hcl):
# never public, always encrypted, versioned, TLS-only.

mock_provider "aws" {
  source = "./mocks"
}

run "mirror_bucket_is_private_and_encrypted" {
  command = plan

  module {
    source = "../modules/storage"
  }

  variables {
    bucket_name = "hbsync-dev-mirror-123456789012"
  }

  assert {
    condition = alltrue([
      aws_s3_bucket_public_access_block.this.block_public_acls, aws_s3_bucket_public_access_block.this.block_public_policy,
      aws_s3_bucket_public_access_block.this.ignore_public_acls, aws_s3_bucket_public_access_block.this.restrict_public_buckets,
    ])
    error_message = "The mirror bucket must block every kind of public access."
  }

  assert {
    condition     = one(one(aws_s3_bucket_server_side_encryption_configuration.this.rule).apply_server_side_encryption_by_default).sse_algorithm == "AES256"
    error_message = "Without a KMS key the mirror bucket is encrypted with SSE-S3."
  }

  assert {
    condition     = one(aws_s3_bucket_versioning.this.versioning_configuration).status == "Enabled"
    error_message = "The mirror bucket must be versioned."
  }

  assert {
    condition     = one(aws_s3_bucket_ownership_controls.this.rule).object_ownership == "BucketOwnerEnforced"
    error_message = "ACLs must be disabled (BucketOwnerEnforced)."
  }

  assert {
    condition = anytrue([
      for s in data.aws_iam_policy_document.this.statement :
      s.effect == "Deny" && anytrue([for c in s.condition : c.variable == "aws:SecureTransport" && contains(c.values, "false")])
    ])
    error_message = "The bucket policy must deny plain-HTTP requests."
  }

  assert {
    condition     = length(aws_cloudfront_distribution.this) == 0 && length(data.aws_iam_policy_document.this.statement) == 1
    error_message = "read_access = none grants nobody read access."
  }
}

run "mirror_bucket_with_a_kms_key" {
  command = plan

  module {
    source = "../modules/storage"
  }

  variables {
    bucket_name = "hbsync-dev-mirror-123456789012"
    kms_key_arn = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
  }

  assert {
    condition = (
      one(one(aws_s3_bucket_server_side_encryption_configuration.this.rule).apply_server_side_encryption_by_default).sse_algorithm == "aws:kms" &&
      one(aws_s3_bucket_server_side_encryption_configuration.this.rule).bucket_key_enabled
    )
    error_message = "With a KMS key the bucket uses SSE-KMS with a bucket key."
  }
}

run "artifacts_bucket_is_private_and_encrypted" {
  command = plan

  module {
    source = "../modules/artifacts"
  }

  variables {
    bucket_name = "hbsync-dev-artifacts-123456789012"
  }

  assert {
    condition = alltrue([
      aws_s3_bucket_public_access_block.this.block_public_acls, aws_s3_bucket_public_access_block.this.block_public_policy,
      aws_s3_bucket_public_access_block.this.ignore_public_acls, aws_s3_bucket_public_access_block.this.restrict_public_buckets,
    ])
    error_message = "The artifacts bucket must block every kind of public access."
  }

  assert {
    condition = (
      one(one(aws_s3_bucket_server_side_encryption_configuration.this.rule).apply_server_side_encryption_by_default).sse_algorithm == "AES256" &&
      one(aws_s3_bucket_versioning.this.versioning_configuration).status == "Enabled"
    )
    error_message = "The artifacts bucket must be encrypted and versioned."
  }
}
