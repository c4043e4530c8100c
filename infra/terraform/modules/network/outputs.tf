output "vpc_id" {
  description = "ID of the VPC."
  value       = aws_vpc.this.id
}

output "public_subnet_ids" {
  description = "IDs of the public subnets the sync task runs in."
  value       = aws_subnet.public[*].id
}

output "security_group_id" {
  description = "ID of the sync task security group (egress 443 only)."
  value       = aws_security_group.this.id
}

output "vpc_endpoint_s3_id" {
  description = "ID of the S3 gateway endpoint (usable as aws:SourceVpce)."
  value       = aws_vpc_endpoint.s3.id
}
