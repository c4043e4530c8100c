# The configuration `terraform test` runs in: its *.tftest.hcl files call each module (run → module) with
# a mocked AWS provider (mocks/), so nothing reaches AWS. The provider itself must be installed, for its
# schema: see ../README.md, "Tests".
terraform {
  required_version = ">= 1.10"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.100, < 7.0"
    }
  }
}
