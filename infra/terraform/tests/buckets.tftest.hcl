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

# What brew clients read through CloudFront (issue 19): the flat and OCI trees and brew's git, each with
# the cache lifetime its contents allow; _sync/ stays unreadable.
run "cloudfront_serves_the_three_trees_with_their_cache_lifetimes" {
  command = apply

  module {
    source = "../modules/storage"
  }

  variables {
    bucket_name               = "hbsync-dev-mirror-123456789012"
    read_access               = "cloudfront"
    api_cache_max_ttl_seconds = 120
  }

  override_resource {
    target = aws_cloudfront_cache_policy.api
    values = {
      id = "short-lived-api-and-refs"
    }
  }

  assert {
    condition = [for b in one(aws_cloudfront_distribution.this).ordered_cache_behavior : b.path_pattern] == [
      "api/*", "bottles/*", "v2/*", "git/*/objects/info/*", "git/*/objects/*", "git/*",
    ]
    error_message = "CloudFront must route api/, bottles/, v2/ and git/ (objects/info/ before objects/, both before git/*)."
  }

  assert {
    condition = alltrue([
      for b in one(aws_cloudfront_distribution.this).ordered_cache_behavior :
      b.cache_policy_id == data.aws_cloudfront_cache_policy.caching_optimized[0].id
      if contains(["bottles/*", "v2/*", "git/*/objects/*"], b.path_pattern)
    ])
    error_message = "Bottles, OCI blobs and git objects never change under their name: cached with CachingOptimized."
  }

  assert {
    condition = alltrue([
      for b in one(aws_cloudfront_distribution.this).ordered_cache_behavior :
      b.cache_policy_id == "short-lived-api-and-refs"
      if contains(["api/*", "git/*/objects/info/*", "git/*"], b.path_pattern)
    ])
    error_message = "The API files and git's refs and packs list change every sync: they use the short-lived policy."
  }

  assert {
    condition     = aws_cloudfront_cache_policy.api[0].max_ttl == 120 && aws_cloudfront_cache_policy.api[0].default_ttl == 120
    error_message = "The short-lived policy caches at most api_cache_max_ttl_seconds."
  }

  assert {
    condition = alltrue([
      for b in one(aws_cloudfront_distribution.this).ordered_cache_behavior : b.viewer_protocol_policy == "https-only"
    ])
    error_message = "Every tree is served over HTTPS only."
  }
}
