output "s3_bucket_id" {
  description = "Name of the mirror bucket."
  value       = aws_s3_bucket.this.id
}

output "s3_bucket_arn" {
  description = "ARN of the mirror bucket."
  value       = aws_s3_bucket.this.arn
}

output "s3_bucket_regional_domain_name" {
  description = "Regional domain name of the mirror bucket."
  value       = aws_s3_bucket.this.bucket_regional_domain_name
}

output "cloudfront_distribution_id" {
  description = "ID of the CloudFront distribution (read_access = cloudfront), else null."
  value       = one(aws_cloudfront_distribution.this[*].id)
}

output "cloudfront_distribution_domain_name" {
  description = "Domain name of the CloudFront distribution (read_access = cloudfront), else null."
  value       = one(aws_cloudfront_distribution.this[*].domain_name)
}

output "mirror_base_url" {
  description = "Base URL brew clients use (HOMEBREW_BOTTLE_DOMAIN=<base>/bottles, HOMEBREW_API_DOMAIN=<base>/api); null when read_access = none."
  value = (
    local.cloudfront_enabled ? "https://${aws_cloudfront_distribution.this[0].domain_name}" :
    local.cidr_enabled ? "https://${aws_s3_bucket.this.bucket_regional_domain_name}" : null
  )
}
