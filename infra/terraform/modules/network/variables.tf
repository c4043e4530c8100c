variable "name" {
  description = "Name prefix for the VPC and its resources."
  type        = string

  validation {
    condition     = length(var.name) > 0 && length(var.name) <= 48
    error_message = "name must be 1-48 characters."
  }
}

variable "cidr_block" {
  description = "IPv4 CIDR of the VPC."
  type        = string
  default     = "10.42.0.0/16"

  validation {
    condition     = can(cidrnetmask(var.cidr_block))
    error_message = "cidr_block must be a valid IPv4 CIDR such as 10.42.0.0/16."
  }
}

variable "az_count" {
  description = "How many availability zones get a public subnet (Fargate spreads tasks across them)."
  type        = number
  default     = 2

  validation {
    condition     = var.az_count >= 1 && var.az_count <= 4
    error_message = "az_count must be between 1 and 4."
  }
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
