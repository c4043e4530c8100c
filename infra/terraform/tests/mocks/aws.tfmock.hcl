# Values the mocked provider returns for the data sources the modules read. Without them the mock would
# invent random strings, and ARNs built from them would fail the modules' own validations.

mock_data "aws_caller_identity" {
  defaults = {
    account_id = "123456789012"
  }
}

mock_data "aws_partition" {
  defaults = {
    partition = "aws"
  }
}

# `id` (not `region`, new in 6.x, nor `name`, deprecated in 6.x) is the attribute both 5.x and 6.x have.
mock_data "aws_region" {
  defaults = {
    id   = "eu-west-1"
    name = "eu-west-1"
  }
}

mock_data "aws_availability_zones" {
  defaults = {
    names = ["eu-west-1a", "eu-west-1b", "eu-west-1c"]
  }
}

# The real provider validates that role and bucket policies are JSON objects, even when mocked.
mock_data "aws_iam_policy_document" {
  defaults = {
    json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
  }
}

mock_data "aws_cloudfront_cache_policy" {
  defaults = {
    id = "658327ea-f89d-4fab-a63d-7e88639e58f6"
  }
}
