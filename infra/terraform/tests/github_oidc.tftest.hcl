# modules/github-oidc: the deploy roles can only create roles that carry their environment's permissions
# boundary, and reach nothing of another environment.

mock_provider "aws" {
  source = "./mocks"
}

variables {
  project_name      = "hbsync"
  github_org        = "acme"
  github_repo       = "homebrew-bottles-sync"
  state_bucket_name = "acme-hbsync-tfstate"
}

run "roles_are_created_only_with_the_boundary" {
  command = plan

  module {
    source = "../modules/github-oidc"
  }

  # Every Allow statement that creates or changes a role requires iam:PermissionsBoundary = this
  # environment's boundary (the escalation: CreateRole + PutRolePolicy *:* + assume it).
  assert {
    condition = alltrue(flatten([
      for env in var.environments : [
        for doc in [
          data.aws_iam_policy_document.state_and_artifacts[env], data.aws_iam_policy_document.compute[env],
          data.aws_iam_policy_document.observability[env], data.aws_iam_policy_document.network[env],
          ] : [
          for s in doc.statement : anytrue([
            for c in s.condition : c.test == "ArnEquals" && c.variable == "iam:PermissionsBoundary" &&
            contains(c.values, "arn:aws:iam::123456789012:policy/hbsync-${env}-permissions-boundary")
          ])
          if s.effect == "Allow" && length(setintersection(s.actions, [
            "iam:CreateRole", "iam:PutRolePolicy", "iam:AttachRolePolicy",
            "iam:PutRolePermissionsBoundary", "iam:DeleteRolePolicy",
          ])) > 0
        ]
      ]
    ]))
    error_message = "A deploy-role statement creates or changes roles without requiring the environment's permissions boundary."
  }

  assert {
    condition = alltrue([
      for env in var.environments : anytrue([
        for s in data.aws_iam_policy_document.compute[env].statement :
        s.sid == "ProjectRolesWithBoundary" && contains(s.actions, "iam:CreateRole") && contains(s.actions, "iam:PutRolePolicy") &&
        contains(s.resources, "arn:aws:iam::123456789012:role/hbsync-${env}-*")
      ])
    ])
    error_message = "The deploy role lost the bounded CreateRole/PutRolePolicy statement its stack needs."
  }

  # DeleteRole and UpdateAssumeRolePolicy carry no iam:PermissionsBoundary key: allowed by name, unconditioned.
  assert {
    condition = alltrue([
      for env in var.environments : anytrue([
        for s in data.aws_iam_policy_document.compute[env].statement :
        s.sid == "ProjectRolesLifecycle" && contains(s.actions, "iam:DeleteRole") &&
        contains(s.actions, "iam:UpdateAssumeRolePolicy") && length(s.condition) == 0 &&
        s.resources == toset(["arn:aws:iam::123456789012:role/hbsync-${env}-*"])
      ])
    ])
    error_message = "The deploy role cannot delete its stack's roles or change their trust (or may do so beyond its prefix)."
  }

  # The boundary, the deploy roles and their policies cannot be changed; no role can lose its boundary.
  assert {
    condition = alltrue([
      for env in var.environments : anytrue([
        for s in data.aws_iam_policy_document.compute[env].statement :
        s.effect == "Deny" && contains(s.actions, "iam:CreatePolicyVersion") && contains(s.actions, "iam:PutRolePolicy") &&
        contains(s.resources, "arn:aws:iam::123456789012:policy/hbsync-*-permissions-boundary") &&
        contains(s.resources, "arn:aws:iam::123456789012:role/hbsync-github-deploy-*")
        ]) && anytrue([
        for s in data.aws_iam_policy_document.compute[env].statement :
        s.effect == "Deny" && contains(s.actions, "iam:DeleteRolePermissionsBoundary") && contains(s.resources, "*")
      ])
    ])
    error_message = "The deploy role may change a permissions boundary, a deploy role or remove a role's boundary."
  }

  assert {
    condition = alltrue([
      for env in var.environments :
      aws_iam_policy.boundary[env].name == "hbsync-${env}-permissions-boundary" &&
      alltrue([
        for s in data.aws_iam_policy_document.boundary[env].statement :
        alltrue([for a in s.actions : !startswith(a, "iam:") || a == "iam:PassRole"])
      ])
    ])
    error_message = "The permissions boundary must grant no IAM action but iam:PassRole."
  }
}

run "nothing_reaches_another_environment" {
  command = plan

  module {
    source = "../modules/github-oidc"
  }

  # EC2 IDs are random: every network statement is bound to the Environment tag of its own environment.
  assert {
    condition = alltrue(flatten([
      for env in var.environments : [
        for s in data.aws_iam_policy_document.network[env].statement : anytrue([
          for c in s.condition : contains(["aws:ResourceTag/Environment", "aws:RequestTag/Environment"], c.variable) && c.values == tolist([env])
        ])
      ]
    ]))
    error_message = "An EC2 statement is not bound to its environment's Environment tag."
  }

  assert {
    condition = alltrue(flatten([
      for env in var.environments : [
        for s in data.aws_iam_policy_document.network[env].statement : !contains(s.resources, "arn:aws:ec2:*:123456789012:*")
      ]
    ]))
    error_message = "An EC2 statement still covers every resource of the account."
  }

  # ECR: the environment's own <project>-<env>-sync repository, not a shared <project>-sync.
  assert {
    condition = alltrue([
      for env in var.environments : anytrue([
        for s in data.aws_iam_policy_document.state_and_artifacts[env].statement :
        s.sid == "SyncImageRepository" && s.resources == toset(["arn:aws:ecr:*:123456789012:repository/hbsync-${env}-*"])
      ])
    ])
    error_message = "The ECR statement must be scoped to the environment's repositories."
  }

  assert {
    condition = alltrue(flatten([
      for env in var.environments : [
        for doc in [data.aws_iam_policy_document.compute[env], data.aws_iam_policy_document.observability[env]] : [
          for s in doc.statement : !contains(s.actions, "ecs:DeregisterTaskDefinition") && !contains(s.actions, "cloudfront:UpdateDistribution")
        ]
      ]
    ]))
    error_message = "ecs:DeregisterTaskDefinition (Resource \"*\" only) or CloudFront is granted where it is not needed."
  }

  # SES identities are named after an address: scoped by the Environment tag.
  assert {
    condition = alltrue(flatten([
      for env in var.environments : [
        for s in data.aws_iam_policy_document.observability[env].statement : anytrue([
          for c in s.condition : contains(["aws:ResourceTag/Environment", "aws:RequestTag/Environment"], c.variable) && c.values == tolist([env])
        ])
        if length([for a in s.actions : a if startswith(a, "ses:")]) > 0
      ]
    ]))
    error_message = "An SES statement is not bound to its environment's Environment tag."
  }

  assert {
    condition     = anytrue([for s in data.aws_iam_policy_document.compute["prod"].statement : s.sid == "EcsServiceLinkedRole" && s.resources == toset(["arn:aws:iam::123456789012:role/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS"])])
    error_message = "The deploy role may create the ECS service-linked role, and only that one."
  }
}

run "cloudfront_only_where_asked_and_by_tag" {
  command = plan

  module {
    source = "../modules/github-oidc"
  }

  variables {
    cloudfront_environments = ["prod"]
  }

  assert {
    condition = length(flatten([
      for s in data.aws_iam_policy_document.observability["dev"].statement : [for a in s.actions : a if startswith(a, "cloudfront:")]
    ])) == 0
    error_message = "dev does not serve through CloudFront: its role must not touch CloudFront."
  }

  assert {
    condition = alltrue([
      for s in data.aws_iam_policy_document.observability["prod"].statement : anytrue([
        for c in s.condition : contains(["aws:ResourceTag/Environment", "aws:RequestTag/Environment"], c.variable) && contains(c.values, "prod")
      ])
      if anytrue([for r in s.resources : can(regex(":distribution/", r))])
    ])
    error_message = "Every CloudFront distribution statement must be bound to the prod Environment tag."
  }
}

# The plan roles (issue 17 item 8): trusted only by "<GitHub environment>-plan", read-only but for their
# own state lock, reading no object but their own state, never a secret value.
run "plan_roles_are_read_only_and_trust_only_the_plan_environment" {
  command = plan

  module {
    source = "../modules/github-oidc"
  }

  assert {
    condition = alltrue([
      for env in var.environments :
      aws_iam_role.plan[env].name == "hbsync-github-plan-${env}" &&
      flatten([
        for s in data.aws_iam_policy_document.plan_trust[env].statement : [
          for c in s.condition : c.values if c.variable == "token.actions.githubusercontent.com:sub"
        ]
      ]) == ["repo:acme/homebrew-bottles-sync:environment:${env == "prod" ? "production" : env}-plan"]
    ])
    error_message = "Each plan role must trust only the GitHub environment <environment>-plan (prod: production-plan)."
  }

  assert {
    condition = alltrue([
      for env in var.environments :
      aws_iam_role_policy_attachment.plan_read_only[env].policy_arn == "arn:aws:iam::aws:policy/ReadOnlyAccess"
    ])
    error_message = "The plan roles get AWS's ReadOnlyAccess, nothing broader."
  }

  assert {
    condition = alltrue(flatten([
      for env in var.environments : [
        for s in data.aws_iam_policy_document.plan[env].statement :
        alltrue([for r in s.resources : r == "arn:aws:s3:::acme-hbsync-tfstate/homebrew-sync/${env}/*.tflock"])
        if s.effect == "Allow"
      ]
    ]))
    error_message = "A plan role may write nothing but its own environment's state lock file."
  }

  assert {
    condition = alltrue([
      for env in var.environments : anytrue([
        for s in data.aws_iam_policy_document.plan[env].statement :
        s.effect == "Deny" && contains(s.actions, "s3:GetObject") &&
        s.not_resources == toset(["arn:aws:s3:::acme-hbsync-tfstate/homebrew-sync/${env}/*"])
        ]) && anytrue([
        for s in data.aws_iam_policy_document.plan[env].statement :
        s.effect == "Deny" && contains(s.actions, "secretsmanager:GetSecretValue") && try(contains(s.resources, "*"), false)
      ])
    ])
    error_message = "A plan role must read no object but its own state, and no secret value."
  }

  assert {
    condition = alltrue([
      for env in var.environments : anytrue([
        for s in data.aws_iam_policy_document.compute[env].statement :
        s.effect == "Deny" && try(contains(s.resources, "arn:aws:iam::123456789012:role/hbsync-github-plan-*"), false) &&
        contains(s.actions, "iam:AttachRolePolicy")
      ])
    ])
    error_message = "No deploy role may change a plan role."
  }
}
