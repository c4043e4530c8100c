terraform {
  required_version = ">= 1.10"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.100, < 7.0"
    }
  }

  # Local state on purpose: this configuration creates the state bucket the environments use.
  # After the first apply you may move it into that bucket (see ../README.md, "Bootstrap").
}
