# The mirror bucket: bottles/, api/ and _sync/ (DESIGN.md §2). Private by default; an optional read path
# for brew clients (CloudFront with origin access control, or a CIDR/VPC-endpoint-limited bucket policy).

locals {
  # Only these prefixes are ever readable by brew clients; _sync/ (state, lock, plans, reports) never is.
  # bottles/ and api/ (HOMEBREW_BOTTLE_DOMAIN, HOMEBREW_API_DOMAIN), v2/ (mirror.layouts oci:
  # HOMEBREW_ARTIFACT_DOMAIN), git/ (mirror.brew_git: HOMEBREW_BREW_GIT_REMOTE).
  client_read_prefixes = ["bottles/*", "api/*", "v2/*", "git/*"]

  # CloudFront's ordered behaviours, first match wins. Immutable: what never changes under its name —
  # bottles (a new version is a new file name; a manifest is named by its version_rebuild), OCI blobs
  # (content-addressed) and git objects and packs (named by their hash). Short-lived: what each sync
  # rewrites — the API files, and git's info/refs, HEAD and objects/info/packs (refs move, packs are
  # added), so a client sees a new sync within api_cache_max_ttl_seconds.
  cache_behaviors = [
    { path = "api/*", immutable = false },
    { path = "bottles/*", immutable = true },
    { path = "v2/*", immutable = true },
    { path = "git/*/objects/info/*", immutable = false },
    { path = "git/*/objects/*", immutable = true },
    { path = "git/*", immutable = false },
  ]
  client_read_arns   = [for p in local.client_read_prefixes : "${aws_s3_bucket.this.arn}/${p}"]
  use_kms            = var.kms_key_arn != null
  cloudfront_enabled = var.read_access == "cloudfront"
  cidr_enabled       = var.read_access == "cidr"
  origin_id          = "mirror-s3"
}

resource "aws_s3_bucket" "this" {
  bucket        = var.bucket_name
  force_destroy = var.force_destroy
  tags          = var.tags
}

resource "aws_s3_bucket_ownership_controls" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "this" {
  bucket = aws_s3_bucket.this.id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = local.use_kms ? "aws:kms" : "AES256"
      kms_master_key_id = var.kms_key_arn
    }
    bucket_key_enabled = local.use_kms
  }
}

resource "aws_s3_bucket_versioning" "this" {
  bucket = aws_s3_bucket.this.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    id     = "abort-incomplete-multipart-uploads"
    status = "Enabled"

    filter {}

    abort_incomplete_multipart_upload {
      days_after_initiation = var.abort_incomplete_multipart_days
    }
  }

  rule {
    id     = "expire-noncurrent-versions"
    status = "Enabled"

    filter {}

    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_expiration_days
    }

    expiration {
      expired_object_delete_marker = true
    }
  }

  # src/storage/s3.ts writes bottles straight to their key now (a checksummed PutObject, or a multipart
  # upload completed only once verified, which the rule above cleans up when a run is killed). Versions
  # before that streamed to .tmp/<uuid>/body and copied: expire anything such a run left behind.
  rule {
    id     = "expire-sync-temp-objects"
    status = "Enabled"

    filter {
      prefix = ".tmp/"
    }

    expiration {
      days = 1
    }
  }

  depends_on = [aws_s3_bucket_versioning.this]
}

data "aws_iam_policy_document" "this" {
  # Deny-all over plain HTTP. The only wildcard action in the project: it is a Deny, so it grants nothing.
  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.this.arn, "${aws_s3_bucket.this.arn}/*"]

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

  dynamic "statement" {
    for_each = local.cloudfront_enabled ? [1] : []

    content {
      sid       = "AllowCloudFrontReadMirror"
      effect    = "Allow"
      actions   = ["s3:GetObject"]
      resources = local.client_read_arns

      principals {
        type        = "Service"
        identifiers = ["cloudfront.amazonaws.com"]
      }

      condition {
        test     = "StringEquals"
        variable = "AWS:SourceArn"
        values   = [aws_cloudfront_distribution.this[0].arn]
      }
    }
  }

  dynamic "statement" {
    for_each = local.cidr_enabled && length(var.read_cidrs) > 0 ? [1] : []

    content {
      sid       = "AllowReadFromOrganisationCidrs"
      effect    = "Allow"
      actions   = ["s3:GetObject"]
      resources = local.client_read_arns

      principals {
        type        = "*"
        identifiers = ["*"]
      }

      condition {
        test     = "IpAddress"
        variable = "aws:SourceIp"
        values   = var.read_cidrs
      }
    }
  }

  dynamic "statement" {
    for_each = local.cidr_enabled && length(var.read_vpce_ids) > 0 ? [1] : []

    content {
      sid       = "AllowReadFromVpcEndpoints"
      effect    = "Allow"
      actions   = ["s3:GetObject"]
      resources = local.client_read_arns

      principals {
        type        = "*"
        identifiers = ["*"]
      }

      condition {
        test     = "StringEquals"
        variable = "aws:SourceVpce"
        values   = var.read_vpce_ids
      }
    }
  }
}

resource "aws_s3_bucket_policy" "this" {
  bucket = aws_s3_bucket.this.id
  policy = data.aws_iam_policy_document.this.json

  lifecycle {
    precondition {
      condition     = !local.cidr_enabled || length(var.read_cidrs) + length(var.read_vpce_ids) > 0
      error_message = "read_access = \"cidr\" needs at least one entry in read_cidrs or read_vpce_ids."
    }
  }

  # The public access block must exist first so a mistaken public statement is rejected, not applied.
  depends_on = [aws_s3_bucket_public_access_block.this]
}

################################################################################
# Optional CloudFront read path (read_access = "cloudfront")
################################################################################

resource "aws_cloudfront_origin_access_control" "this" {
  count = local.cloudfront_enabled ? 1 : 0

  name                              = var.bucket_name
  description                       = "Signed reads of ${var.bucket_name} for brew clients"
  origin_access_control_origin_type = "s3"
  signing_behavior                  = "always"
  signing_protocol                  = "sigv4"
}

data "aws_cloudfront_cache_policy" "caching_optimized" {
  count = local.cloudfront_enabled ? 1 : 0

  name = "Managed-CachingOptimized"
}

# api/* and git's refs are rewritten on every sync: keep them fresh. Bottles, OCI blobs and git objects
# never change under a given name (local.cache_behaviors).
resource "aws_cloudfront_cache_policy" "api" {
  count = local.cloudfront_enabled ? 1 : 0

  name        = "${var.bucket_name}-api"
  comment     = "Short TTL for the Homebrew JSON API files and git refs"
  min_ttl     = 0
  default_ttl = min(300, var.api_cache_max_ttl_seconds)
  max_ttl     = var.api_cache_max_ttl_seconds

  parameters_in_cache_key_and_forwarded_to_origin {
    enable_accept_encoding_brotli = true
    enable_accept_encoding_gzip   = true

    cookies_config {
      cookie_behavior = "none"
    }

    headers_config {
      header_behavior = "none"
    }

    query_strings_config {
      query_string_behavior = "none"
    }
  }
}

resource "aws_cloudfront_distribution" "this" {
  count = local.cloudfront_enabled ? 1 : 0

  enabled         = true
  is_ipv6_enabled = true
  comment         = "Homebrew mirror ${var.bucket_name} (bottles/, api/, v2/, git/)"
  price_class     = var.cloudfront_price_class
  tags            = var.tags

  origin {
    domain_name              = aws_s3_bucket.this.bucket_regional_domain_name
    origin_id                = local.origin_id
    origin_access_control_id = aws_cloudfront_origin_access_control.this[0].id
  }

  dynamic "ordered_cache_behavior" {
    for_each = local.cache_behaviors

    content {
      path_pattern           = ordered_cache_behavior.value.path
      target_origin_id       = local.origin_id
      allowed_methods        = ["GET", "HEAD"]
      cached_methods         = ["GET", "HEAD"]
      viewer_protocol_policy = "https-only"
      # Bottles, blobs and packs are compressed already; JSON and git's text files are not.
      compress        = !ordered_cache_behavior.value.immutable
      cache_policy_id = ordered_cache_behavior.value.immutable ? data.aws_cloudfront_cache_policy.caching_optimized[0].id : aws_cloudfront_cache_policy.api[0].id
    }
  }

  # Everything else reaches S3 too, but the bucket policy grants CloudFront local.client_read_prefixes only,
  # so _sync/ and any other key answer 403.
  default_cache_behavior {
    target_origin_id       = local.origin_id
    allowed_methods        = ["GET", "HEAD"]
    cached_methods         = ["GET", "HEAD"]
    viewer_protocol_policy = "https-only"
    cache_policy_id        = data.aws_cloudfront_cache_policy.caching_optimized[0].id
  }

  restrictions {
    geo_restriction {
      restriction_type = "none"
    }
  }

  viewer_certificate {
    cloudfront_default_certificate = true
  }
}
