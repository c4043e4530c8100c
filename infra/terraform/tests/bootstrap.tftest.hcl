# The bootstrap: a private, encrypted state bucket; the ECS service-linked role; deploy roles only for the
# environments of the account it runs in (var.account_ids).

mock_provider "aws" {
  source = "./mocks"
}

variables {
  project_name      = "hbsync"
  aws_region        = "eu-west-1"
  state_bucket_name = "acme-hbsync-tfstate"
  github_org        = "acme"
  github_repo       = "homebrew-bottles-sync"
}

run "one_account_for_every_environment" {
  command = plan

  module {
    source = "../bootstrap"
  }

  assert {
    condition     = tolist(output.deploy_environments) == tolist(["dev", "staging", "prod"])
    error_message = "Without account_ids every environment lives in this account."
  }

  assert {
    condition = alltrue([
      aws_s3_bucket_public_access_block.state.block_public_acls, aws_s3_bucket_public_access_block.state.restrict_public_buckets,
      one(one(aws_s3_bucket_server_side_encryption_configuration.state.rule).apply_server_side_encryption_by_default).sse_algorithm == "AES256",
      one(aws_s3_bucket_versioning.state.versioning_configuration).status == "Enabled",
    ])
    error_message = "The state bucket must be private, encrypted and versioned."
  }

  assert {
    condition     = aws_iam_service_linked_role.ecs[0].aws_service_name == "ecs.amazonaws.com"
    error_message = "The bootstrap creates the ECS service-linked role a fresh account lacks."
  }

  assert {
    condition     = output.state_bucket_region == "eu-west-1"
    error_message = "The state bucket's region is an output (the workflows' TF_STATE_REGION)."
  }
}

run "one_account_per_environment" {
  command = plan

  module {
    source = "../bootstrap"
  }

  variables {
    account_ids                    = { dev = "123456789012", staging = "123456789012", prod = "210987654321" }
    create_ecs_service_linked_role = false
  }

  assert {
    condition     = tolist(output.deploy_environments) == tolist(["dev", "staging"]) && toset(keys(module.github_oidc.iam_role_subjects)) == toset(["dev", "staging"])
    error_message = "In account 123456789012 the bootstrap makes the dev and staging roles only; prod's are made in its own account."
  }

  assert {
    condition     = length(aws_iam_service_linked_role.ecs) == 0
    error_message = "create_ecs_service_linked_role = false leaves an existing role alone."
  }
}

run "an_account_without_environments_is_refused" {
  command = plan

  module {
    source = "../bootstrap"
  }

  variables {
    account_ids = { dev = "111111111111", staging = "111111111111", prod = "222222222222" }
  }

  expect_failures = [terraform_data.account_check]
}
