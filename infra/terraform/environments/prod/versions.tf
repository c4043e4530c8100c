terraform {
  required_version = ">= 1.10"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.100, < 7.0"
    }
  }

  # Partial configuration: the state bucket and its region come from the command line, e.g.
  #   terraform init -backend-config="bucket=<state bucket>" -backend-config="region=<state region>"
  # (see infra/terraform/README.md). use_lockfile locks state with an S3 conditional write (no DynamoDB).
  backend "s3" {
    key          = "homebrew-sync/prod/terraform.tfstate"
    encrypt      = true
    use_lockfile = true
  }
}
