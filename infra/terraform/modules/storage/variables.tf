variable "bucket_name" {
  description = "Name of the mirror bucket (globally unique)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket_name))
    error_message = "bucket_name must be 3-63 lowercase letters, digits, dots or hyphens."
  }
}

variable "kms_key_arn" {
  description = "KMS key ARN for SSE-KMS; null uses SSE-S3 (AES256). CloudFront reads need the key policy to allow the distribution when set."
  type        = string
  default     = null
}

variable "force_destroy" {
  description = "Allow terraform destroy to delete a non-empty bucket. Keep false outside throwaway environments."
  type        = bool
  default     = false
}

variable "abort_incomplete_multipart_days" {
  description = "Days after which S3 aborts incomplete multipart uploads (interrupted transfers of bottles above the single-PUT size; invisible, but billed until aborted)."
  type        = number
  default     = 1

  validation {
    condition     = var.abort_incomplete_multipart_days >= 1 && var.abort_incomplete_multipart_days <= 7
    error_message = "abort_incomplete_multipart_days must be between 1 and 7."
  }
}

variable "noncurrent_version_expiration_days" {
  description = "Days to keep noncurrent object versions (overwritten API files, pruned bottles) before S3 deletes them."
  type        = number
  default     = 30

  validation {
    condition     = var.noncurrent_version_expiration_days >= 1
    error_message = "noncurrent_version_expiration_days must be at least 1."
  }
}

variable "read_access" {
  description = "How brew clients read the mirror: none (only IAM principals of the account), cloudfront (a distribution with origin access control over bottles/*, api/*, v2/* and git/*), or cidr (anonymous GETs on bottles/*, api/*, v2/* and git/* limited to read_cidrs and/or read_vpce_ids)."
  type        = string
  default     = "none"

  validation {
    condition     = contains(["none", "cloudfront", "cidr"], var.read_access)
    error_message = "read_access must be one of none, cloudfront, cidr."
  }
}

variable "read_cidrs" {
  description = "With read_access = cidr: IPv4/IPv6 CIDRs (aws:SourceIp) allowed to GET bottles/*, api/*, v2/* and git/*."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for c in var.read_cidrs : can(cidrhost(c, 0)) && !contains(["0.0.0.0/0", "::/0"], c)])
    error_message = "read_cidrs must be valid CIDRs and must not be 0.0.0.0/0 or ::/0 (that would make the bucket public)."
  }
}

variable "read_vpce_ids" {
  description = "With read_access = cidr: VPC endpoint IDs (aws:SourceVpce) allowed to GET bottles/*, api/*, v2/* and git/*."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for id in var.read_vpce_ids : can(regex("^vpce-[0-9a-f]+$", id))])
    error_message = "read_vpce_ids must look like vpce-0123abcd."
  }
}

variable "cloudfront_price_class" {
  description = "With read_access = cloudfront: the distribution price class."
  type        = string
  default     = "PriceClass_100"

  validation {
    condition     = contains(["PriceClass_All", "PriceClass_200", "PriceClass_100"], var.cloudfront_price_class)
    error_message = "cloudfront_price_class must be PriceClass_All, PriceClass_200 or PriceClass_100."
  }
}

variable "api_cache_max_ttl_seconds" {
  description = "With read_access = cloudfront: longest time CloudFront caches api/* (rewritten every sync; bottles are immutable by name and use the managed CachingOptimized policy)."
  type        = number
  default     = 600

  validation {
    condition     = var.api_cache_max_ttl_seconds >= 0 && var.api_cache_max_ttl_seconds <= 86400
    error_message = "api_cache_max_ttl_seconds must be between 0 and 86400."
  }
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
