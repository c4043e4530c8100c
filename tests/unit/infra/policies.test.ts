import { readFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import {
  blocksOfType,
  configurationDirs,
  type Hcl,
  listTfFiles,
  MODULES_DIR,
  type PolicyStatement,
  parseDir,
  policyStatements,
  REPO_ROOT,
  TERRAFORM_DIR,
  variablesOf,
} from "./hcl.ts";

/** Actions AWS only authorises against Resource "*" (no resource-level permissions, or random IDs). */
const STAR_RESOURCE_ACTIONS = [
  /^xray:Put(TraceSegments|TelemetryRecords)$/,
  /^ecr:GetAuthorizationToken$/,
  /^ecs:(Register|Describe)TaskDefinition$/,
  /^ec2:Describe/,
  /^cloudfront:List/,
  /^logs:DescribeLogGroups$/,
];

/** The deploy policies of modules/github-oidc (one per environment each) and the permissions boundary. */
const DEPLOY_DOCS = ["state_and_artifacts", "compute", "observability", "network"] as const;

let configs: { label: string; doc: Hcl }[] = [];
let statements: PolicyStatement[] = [];
const mod = (name: string): Hcl => configs.find((c) => c.label === `modules/${name}`)?.doc ?? {};
const statementsOf = (name: string, doc: string): PolicyStatement[] =>
  statements.filter((s) => s.where.startsWith(`modules/${name}: data.aws_iam_policy_document.${doc}`));

beforeAll(async () => {
  const dirs = await configurationDirs();
  configs = await Promise.all(
    dirs.map(async (dir) => ({ label: relative(TERRAFORM_DIR, dir), doc: await parseDir(dir) })),
  );
  statements = configs.flatMap(({ label, doc }) => policyStatements(doc, label));
});

describe("infra/terraform IAM", () => {
  describe("actions", () => {
    it("finds the policy statements to check", () => {
      expect(statements.length).toBeGreaterThan(40);
    });

    it("grants no wildcard action anywhere; the only wildcard is a TLS-only Deny", () => {
      const offenders = statements
        .filter((s) => s.actions.some((a) => a.includes("*")))
        .filter(
          (s) => !(s.effect === "Deny" && s.conditions.some((c) => c.variable === "aws:SecureTransport")),
        )
        .map((s) => `${s.where}: ${s.actions.join(", ")}`);

      expect(offenders).toEqual([]);
      expect(statements.every((s) => s.notActions === undefined)).toBe(true);
    });

    it("writes every IAM, bucket and topic policy as an aws_iam_policy_document (nothing hand-written to slip past)", async () => {
      const handWritten: string[] = [];
      for (const file of await listTfFiles(TERRAFORM_DIR)) {
        const text = await readFile(file, "utf8");
        if (/"?\b(Action|NotAction)"?\s*[=:]/.test(text)) handWritten.push(relative(REPO_ROOT, file));
      }
      const policyAttributes: [string, string][] = [
        ["aws_iam_role", "assume_role_policy"],
        ["aws_iam_role_policy", "policy"],
        ["aws_iam_policy", "policy"],
        ["aws_s3_bucket_policy", "policy"],
        ["aws_sns_topic_policy", "policy"],
      ];
      for (const { label, doc } of configs) {
        for (const [type, attribute] of policyAttributes) {
          for (const { name, body } of blocksOfType(doc, "resource", type)) {
            const source = /each\.value/.test(body[attribute])
              ? resolveLocal(doc, body.for_each)
              : body[attribute];
            const text = typeof source === "string" ? source : JSON.stringify(source);
            if (!/data\.aws_iam_policy_document\./.test(text)) handWritten.push(`${label}: ${type}.${name}`);
          }
        }
      }

      expect(handWritten).toEqual([]);
    });

    it('uses Resource "*" only for actions that have no resource-level permissions', () => {
      const offenders = statements
        .filter((s) => s.effect === "Allow" && Array.isArray(s.resources) && s.resources.includes("*"))
        .flatMap((s) =>
          s.actions
            .filter((a) => !STAR_RESOURCE_ACTIONS.some((re) => re.test(a)))
            .map((a) => `${s.where}: ${a}`),
        );

      expect(offenders).toEqual([]);
    });
  });

  describe("iam:PassRole", () => {
    it("always carries an iam:PassedToService condition", () => {
      const passRole = statements.filter((s) => s.actions.includes("iam:PassRole"));

      expect(passRole.length).toBeGreaterThan(0);
      for (const s of passRole) {
        expect(
          s.conditions.map((c) => c.variable),
          s.where,
        ).toContain("iam:PassedToService");
      }
    });

    it("lets the orchestrator pass only the two ECS roles, only to ecs-tasks.amazonaws.com", () => {
      const [s] = statementsOf("lambda", "orchestrator").filter((st) => st.actions.includes("iam:PassRole"));

      expect(s?.actions).toEqual(["iam:PassRole"]);
      expect(s?.resources).toEqual(["${var.ecs_task_role_arn}", "${var.ecs_execution_role_arn}"]);
      expect(s?.conditions).toEqual([
        { test: "StringEquals", variable: "iam:PassedToService", values: ["ecs-tasks.amazonaws.com"] },
      ]);
      const call = mod("homebrew-sync").module?.lambda?.[0];
      expect(call?.ecs_task_role_arn).toBe("${module.ecs.iam_role_task_arn}");
      expect(call?.ecs_execution_role_arn).toBe("${module.ecs.iam_role_execution_arn}");
    });
  });

  describe("ecs:RunTask", () => {
    it("is scoped to the sync task definition family in the sync cluster", () => {
      const runTask = statements.filter((s) => s.actions.includes("ecs:RunTask"));

      expect(runTask.map((s) => s.where)).toEqual([
        "modules/github-oidc: data.aws_iam_policy_document.boundary (RunStackTask)",
        "modules/lambda: data.aws_iam_policy_document.orchestrator (RunSyncTaskOnly)",
      ]);
      runTask.shift();
      expect(runTask[0]?.resources).toEqual(["${var.ecs_task_definition_family_arn}"]);
      expect(runTask[0]?.conditions).toEqual([
        { test: "ArnEquals", variable: "ecs:cluster", values: ["${var.ecs_cluster_arn}"] },
      ]);
      expect(mod("homebrew-sync").module?.lambda?.[0]?.ecs_task_definition_family_arn).toBe(
        "${module.ecs.ecs_task_definition_family_arn}",
      );
      expect(mod("ecs").output?.ecs_task_definition_family_arn?.[0]?.value).toBe(
        "${aws_ecs_task_definition.this.arn_without_revision}:*",
      );
    });
  });

  describe("lambda:InvokeFunction", () => {
    it("lets the worker invoke only itself and the orchestrator only the worker", () => {
      const invoke = (doc: string): unknown[] =>
        statementsOf("lambda", doc)
          .filter((s) => s.actions.includes("lambda:InvokeFunction"))
          .flatMap((s) => s.resources as unknown[]);

      expect(invoke("worker")).toEqual(["${local.function_arns.worker}"]);
      expect(invoke("orchestrator")).toEqual(["${local.function_arns.worker}"]);
      expect(invoke("base")).toEqual([]);
      expect(mod("lambda").locals?.[0]?.function_arns).toMatch(/:function:\$\{name\}"/);
    });

    it("lets the scheduler invoke only the orchestrator", () => {
      const [s] = statementsOf("schedule", "this");

      expect(s?.actions).toEqual(["lambda:InvokeFunction"]);
      expect(s?.resources).toEqual([
        "${var.orchestrator_function_arn}",
        "${var.orchestrator_function_arn}:*",
      ]);
      expect(mod("homebrew-sync").module?.schedule?.[0]?.orchestrator_function_arn).toBe(
        "${module.lambda.lambda_function_arns.orchestrator}",
      );
    });
  });

  describe("S3 access of the runtime roles", () => {
    it.each([
      ["lambda", "base"],
      ["ecs", "task"],
    ])("%s/%s touches only the mirror bucket and the ledger prefix", (name, doc) => {
      const s3 = statementsOf(name, doc).filter((s) => s.actions.some((a) => a.startsWith("s3:")));
      const resources = s3.flatMap((s) => s.resources as string[]);

      expect(s3.length).toBeGreaterThan(0);
      for (const r of resources) {
        expect(
          ["${var.mirror_bucket_arn}", "${var.mirror_bucket_arn}/*", "${var.ledger_arn_pattern}"],
          r,
        ).toContain(r);
      }
      const ledger = s3.filter((s) => (s.resources as string[]).includes("${var.ledger_arn_pattern}"));
      for (const s of ledger) expect(s.actions).toEqual(["s3:GetObject"]);
    });

    it("points the ledger pattern at the artifacts bucket's _ledger/ prefix", () => {
      expect(mod("artifacts").output?.ledger_arn_pattern?.[0]?.value).toBe(
        "${aws_s3_bucket.this.arn}/_ledger/*",
      );
      expect(mod("homebrew-sync").module?.lambda?.[0]?.ledger_arn_pattern).toBe(
        "${module.artifacts.ledger_arn_pattern}",
      );
    });
  });

  describe("GitHub OIDC trust", () => {
    it("pins sub to repo:<org>/<repo>:environment:<env> and aud to sts.amazonaws.com with StringEquals", () => {
      const [trust] = statementsOf("github-oidc", "trust");
      const locals = JSON.stringify(mod("github-oidc").locals);

      expect(trust?.actions).toEqual(["sts:AssumeRoleWithWebIdentity"]);
      expect(trust?.principals).toEqual([{ type: "Federated", identifiers: ["${local.provider_arn}"] }]);
      expect(trust?.conditions).toEqual([
        { test: "StringEquals", variable: "${local.oidc_host}:aud", values: ["sts.amazonaws.com"] },
        {
          test: "StringEquals",
          variable: "${local.oidc_host}:sub",
          values: ["${local.scopes[each.key].subject}"],
        },
      ]);
      expect(locals).toContain(
        'subject   = \\"repo:${var.github_org}/${var.github_repo}:environment:${lookup(var.github_environment_names, env, env)}\\"',
      );
      expect(resolveLocal(mod("github-oidc"), "${local.oidc_host}")).toBe(
        "token.actions.githubusercontent.com",
      );
    });

    it("keeps each deploy policy under IAM's 6,144-character managed-policy limit", () => {
      // Render like AWS minifies, each ${...} replaced by the longest value it can take (partition
      // aws-us-gov, a 40-character <project>-<env>, a 16-character environment); anything else by 60.
      const longest: Record<string, string> = {
        "${local.partition}": "aws-us-gov",
        "${local.account}": "123456789012",
        "${local.iam_arn}": "arn:aws-us-gov:iam::123456789012",
        "${local.scopes[each.key].prefix}": "p".repeat(40),
        "${local.scopes[each.key].boundary_arn}": `arn:aws-us-gov:iam::123456789012:policy/${"p".repeat(40)}-permissions-boundary`,
        "${each.key}": "e".repeat(16),
        "${var.project_name}": "p".repeat(40),
      };
      const render = (doc: string): number => {
        const statement = statementsOf("github-oidc", doc).map((s) => ({
          Sid: s.sid,
          Effect: s.effect,
          Action: s.actions,
          Resource: s.resources,
          Condition: s.conditions,
        }));
        return JSON.stringify({ Version: "2012-10-17", Statement: statement }).replace(
          /\$\{[^}]*\}\}?/g,
          (expression) => longest[expression] ?? "x".repeat(60),
        ).length;
      };
      const sizes = [...DEPLOY_DOCS, "boundary"].map(render);

      for (const size of sizes) expect(size).toBeGreaterThan(500);
      for (const size of sizes) expect(size).toBeLessThan(6144);
    });

    it("never matches an OIDC subject with StringLike or a wildcard", () => {
      const loose = statements.filter((s) =>
        s.conditions.some((c) => /:sub$/.test(c.variable) && c.test !== "StringEquals"),
      );

      expect(loose.map((s) => s.where)).toEqual([]);
    });
  });
});

describe("infra/terraform deploy roles (modules/github-oidc)", () => {
  const ROLE_WRITES = [
    "iam:AttachRolePolicy",
    "iam:CreateRole",
    "iam:DeleteRolePolicy",
    "iam:PutRolePermissionsBoundary",
    "iam:PutRolePolicy",
  ];
  const deploy = (): PolicyStatement[] => DEPLOY_DOCS.flatMap((doc) => statementsOf("github-oidc", doc));

  it("deletes a role or changes its trust only under the environment's prefix, without a condition AWS cannot evaluate", () => {
    // iam:PermissionsBoundary is not in the request of DeleteRole, UpdateAssumeRolePolicy, UpdateRole or
    // UpdateRoleDescription: a condition on it would deny them (and Terraform could not replace a role).
    const lifecycle = [
      "iam:DeleteRole",
      "iam:UpdateAssumeRolePolicy",
      "iam:UpdateRole",
      "iam:UpdateRoleDescription",
    ];
    const allows = deploy().filter(
      (s) => s.effect === "Allow" && s.actions.some((a) => lifecycle.includes(a)),
    );

    expect(allows.map((s) => s.sid)).toEqual(["ProjectRolesLifecycle"]);
    expect(allows[0]?.actions.sort()).toEqual([...lifecycle].sort());
    expect(allows[0]?.resources).toEqual(["${local.iam_arn}:role/${local.scopes[each.key].prefix}-*"]);
    expect(allows[0]?.conditions).toEqual([]);
    const keep = deploy().find((s) => s.sid === "KeepBoundariesAndDeployRoles");
    expect(keep?.effect).toBe("Deny");
    expect(keep?.actions).toEqual(
      expect.arrayContaining(["iam:DeleteRole", "iam:UpdateAssumeRolePolicy", "iam:UpdateRole"]),
    );
  });

  it("creates or changes a role only with iam:PermissionsBoundary = the environment's boundary", () => {
    const writers = deploy().filter(
      (s) => s.effect === "Allow" && s.actions.some((a) => ROLE_WRITES.includes(a)),
    );

    expect(writers.map((s) => s.sid)).toEqual(["ProjectRolesWithBoundary"]);
    expect(writers[0]?.conditions).toEqual([
      {
        test: "ArnEquals",
        variable: "iam:PermissionsBoundary",
        values: ["${local.scopes[each.key].boundary_arn}"],
      },
    ]);
    expect(resolveLocal(mod("github-oidc"), "${local.scopes}")).toContain(
      'boundary_arn = \"${local.iam_arn}:policy/${var.project_name}-${env}-permissions-boundary\"',
    );
  });

  it("denies changing the boundaries, the deploy and plan roles and their policies, and removing any boundary", () => {
    const denies = deploy().filter((s) => s.effect === "Deny");

    expect(denies.map((s) => s.sid).sort()).toEqual([
      "KeepBoundariesAndDeployRoles",
      "NeverRemoveABoundary",
      "NeverRetagAnotherEnvironmentsDistribution",
    ]);
    const keep = denies.find((s) => s.sid === "KeepBoundariesAndDeployRoles");
    expect(keep?.actions).toEqual(expect.arrayContaining([...ROLE_WRITES, "iam:CreatePolicyVersion"]));
    expect(keep?.resources).toEqual([
      "${local.iam_arn}:policy/${var.project_name}-*-permissions-boundary",
      "${local.iam_arn}:policy/${var.project_name}-github-deploy-*",
      "${local.iam_arn}:policy/${var.project_name}-github-plan-*",
      "${local.iam_arn}:role/${var.project_name}-github-deploy-*",
      "${local.iam_arn}:role/${var.project_name}-github-plan-*",
    ]);
  });

  it("names the boundary the same way the bootstrap and the stack do, and bounds every role of the stack", () => {
    const [boundary] = blocksOfType(mod("github-oidc"), "resource", "aws_iam_policy").filter(
      (b) => b.name === "boundary",
    );
    expect(boundary?.body.name).toBe("${local.scopes[each.key].prefix}-permissions-boundary");
    expect(String(resolveLocal(mod("github-oidc"), "${local.scopes}"))).toContain(
      'prefix    = \"${var.project_name}-${env}\"',
    );
    const stack = mod("homebrew-sync");
    expect(resolveLocal(stack, "${local.permissions_boundary_arn}")).toBe(
      "arn:${data.aws_partition.current.partition}:iam::${local.account_id}:policy/${local.name_prefix}-permissions-boundary",
    );
    expect(resolveLocal(stack, "${local.name_prefix}")).toBe("${var.project_name}-${var.environment}");
    for (const call of ["lambda", "ecs", "schedule"]) {
      expect(stack.module?.[call]?.[0]?.permissions_boundary_arn, call).toBe(
        "${local.permissions_boundary_arn}",
      );
    }
    const roles = configs
      .filter(({ label }) => label.startsWith("modules/") && label !== "modules/github-oidc")
      .flatMap(({ label, doc }) =>
        blocksOfType(doc, "resource", "aws_iam_role").map((r) => ({ label, ...r })),
      );
    expect(roles.length).toBeGreaterThanOrEqual(4);
    for (const role of roles) {
      expect(role.body.permissions_boundary, `${role.label}: ${role.name}`).toBe(
        "${var.permissions_boundary_arn}",
      );
    }
  });

  it("grants the boundary no IAM action but iam:PassRole", () => {
    const actions = statementsOf("github-oidc", "boundary").flatMap((s) => s.actions);

    expect(actions.filter((a) => a.startsWith("iam:"))).toEqual(["iam:PassRole"]);
  });

  it("scopes every EC2, CloudFront distribution and SES statement to the Environment tag", () => {
    const tagged = deploy().filter(
      (s) =>
        s.effect === "Allow" &&
        s.actions.some((a) => /^(ec2|ses):/.test(a) && !/^ec2:Describe/.test(a)) &&
        !s.actions.some((a) => a.startsWith("ses:Send")),
    );
    const byDistribution = deploy().filter(
      (s) => s.effect === "Allow" && JSON.stringify(s.resources).includes(":distribution/"),
    );

    expect(tagged.length).toBeGreaterThanOrEqual(8);
    for (const s of [...tagged, ...byDistribution]) {
      expect(
        s.conditions.some(
          (c) =>
            /^aws:(Resource|Request)Tag\/Environment$/.test(c.variable) &&
            JSON.stringify(c.values) === '["${each.key}"]',
        ),
        s.where,
      ).toBe(true);
    }
  });

  it("lets only the environments in cloudfront_environments touch CloudFront", () => {
    const cloudfront = statementsOf("github-oidc", "observability").filter((s) =>
      s.actions.some((a) => a.startsWith("cloudfront:")),
    );
    const doc = blocksOfType(mod("github-oidc"), "data", "aws_iam_policy_document").find(
      (b) => b.name === "observability",
    );
    const dynamicOnes = ((doc?.body.dynamic?.statement ?? []) as Hcl[]).map((d) => d.for_each);

    expect(cloudfront.length).toBe(dynamicOnes.length);
    expect(new Set(dynamicOnes)).toEqual(new Set(["${local.scopes[each.key].cloudfront ? [1] : []}"]));
  });

  it("needs no ecs:DeregisterTaskDefinition: the task definition keeps old revisions", () => {
    expect(statements.filter((s) => s.actions.includes("ecs:DeregisterTaskDefinition"))).toEqual([]);
    const [taskDef] = blocksOfType(mod("ecs"), "resource", "aws_ecs_task_definition");
    expect(taskDef?.body.skip_destroy).toBe(true);
    expect(resolveLocal(mod("homebrew-sync"), "${local.dispatch_environment}")).toMatchObject({
      ECS_TASK_DEFINITION: "${module.ecs.ecs_task_definition_arn}",
    });
  });
});

describe("infra/terraform buckets", () => {
  it("hardens every S3 bucket: public access block, encryption, versioning, lifecycle, TLS-only policy, no ACLs", async () => {
    const problems: string[] = [];
    let buckets = 0;
    for (const { label, doc } of configs) {
      const statementsHere = policyStatements(doc, label);
      for (const { name } of blocksOfType(doc, "resource", "aws_s3_bucket")) {
        buckets += 1;
        const ref = `\${aws_s3_bucket.${name}.id}`;
        const companion = (type: string): Hcl | undefined =>
          blocksOfType(doc, "resource", type).find((b) => b.body.bucket === ref)?.body;
        const where = `${label}: aws_s3_bucket.${name}`;

        const pab = companion("aws_s3_bucket_public_access_block");
        for (const flag of [
          "block_public_acls",
          "block_public_policy",
          "ignore_public_acls",
          "restrict_public_buckets",
        ]) {
          if (pab?.[flag] !== true) problems.push(`${where}: ${flag}`);
        }
        const sse = companion("aws_s3_bucket_server_side_encryption_configuration")?.rule?.[0]
          ?.apply_server_side_encryption_by_default?.[0]?.sse_algorithm;
        if (!/AES256|aws:kms/.test(String(sse))) problems.push(`${where}: encryption`);
        if (companion("aws_s3_bucket_versioning")?.versioning_configuration?.[0]?.status !== "Enabled") {
          problems.push(`${where}: versioning`);
        }
        if (
          companion("aws_s3_bucket_ownership_controls")?.rule?.[0]?.object_ownership !== "BucketOwnerEnforced"
        ) {
          problems.push(`${where}: ownership controls`);
        }
        const rules = (companion("aws_s3_bucket_lifecycle_configuration")?.rule ?? []) as Hcl[];
        const abortDays = rules.find((r) => r.abort_incomplete_multipart_upload)
          ?.abort_incomplete_multipart_upload?.[0]?.days_after_initiation;
        if (!(await withinDays(abortDays, label, 1, 7)))
          problems.push(`${where}: abort multipart after 1-7 days`);
        if (!rules.some((r) => r.noncurrent_version_expiration))
          problems.push(`${where}: noncurrent version expiry`);
        if (!rules.every((r) => Array.isArray(r.filter)))
          problems.push(`${where}: lifecycle rule without filter {}`);
        const policy = String(companion("aws_s3_bucket_policy")?.policy ?? "");
        const policyDoc = /data\.aws_iam_policy_document\.(\w+)\.json/.exec(policy)?.[1];
        const tlsDeny = statementsHere.find(
          (s) =>
            s.where.includes(`aws_iam_policy_document.${policyDoc} `) &&
            s.effect === "Deny" &&
            s.conditions.some(
              (c) => c.variable === "aws:SecureTransport" && JSON.stringify(c.values) === '["false"]',
            ),
        );
        if (!tlsDeny) problems.push(`${where}: TLS-only bucket policy`);
      }
    }

    expect(buckets).toBeGreaterThanOrEqual(3);
    expect(problems).toEqual([]);
  });

  it("opens the mirror only to bottles/*, api/*, v2/* and git/*, never _sync/", () => {
    const readStatements = statementsOf("storage", "this").filter((s) => s.effect === "Allow");

    expect(readStatements.map((s) => s.sid).sort()).toEqual([
      "AllowCloudFrontReadMirror",
      "AllowReadFromOrganisationCidrs",
      "AllowReadFromVpcEndpoints",
    ]);
    for (const s of readStatements) {
      expect(s.actions).toEqual(["s3:GetObject"]);
      expect(s.resources).toBe("${local.client_read_arns}");
      expect(s.conditions.length).toBe(1);
    }
    expect(mod("storage").locals?.[0]?.client_read_prefixes).toEqual(["bottles/*", "api/*", "v2/*", "git/*"]);
  });

  it("aborts the mirror's incomplete multipart uploads (a killed bottle upload, billed until then) after 1 day by default", () => {
    const rules = (mod("storage").resource?.aws_s3_bucket_lifecycle_configuration?.this?.[0]?.rule ??
      []) as Hcl[];
    const abort = rules.find((r) => r.abort_incomplete_multipart_upload);
    expect(abort?.filter).toEqual([{}]); // every key: S3Store uploads bottles to their own key
    expect(abort?.abort_incomplete_multipart_upload?.[0]?.days_after_initiation).toBe(
      "${var.abort_incomplete_multipart_days}",
    );
    expect(mod("storage").variable?.abort_incomplete_multipart_days?.[0]?.default).toBe(1);
  });
});

describe("infra/terraform logs and runtime", () => {
  it("sets a retention on every CloudWatch log group", () => {
    const groups = configs.flatMap(({ label, doc }) =>
      blocksOfType(doc, "resource", "aws_cloudwatch_log_group").map((g) => ({
        where: `${label}: ${g.name}`,
        body: g.body,
      })),
    );

    expect(groups.length).toBeGreaterThanOrEqual(2);
    for (const g of groups) expect(g.body.retention_in_days, g.where).toBeDefined();
  });

  it("runs both functions on nodejs22.x arm64 with X-Ray, a DLQ, reserved concurrency and their own log group", () => {
    const [fn] = blocksOfType(mod("lambda"), "resource", "aws_lambda_function");

    expect(fn?.body).toMatchObject({
      runtime: "nodejs22.x",
      architectures: ["arm64"],
      tracing_config: [{ mode: "Active" }],
      dead_letter_config: [{ target_arn: "${aws_sqs_queue.dlq[each.key].arn}" }],
      reserved_concurrent_executions: "${each.value.reserved_concurrency}",
      logging_config: [{ log_format: "JSON", log_group: "${aws_cloudwatch_log_group.this[each.key].name}" }],
      s3_key: "artifacts/${var.artifact_version}/${each.key}.zip",
    });
  });

  it("puts no secret value in the runtime environment, only the Slack secret's ARN", () => {
    const env = String(mod("homebrew-sync").locals?.[0]?.runtime_environment ?? "");
    const names = [...env.matchAll(/\b([A-Z][A-Z0-9_]+)\s*=/g)].map((m) => m[1] ?? "");

    expect(names).toContain("MIRROR_BUCKET");
    expect(names).toContain("SLACK_WEBHOOK_SECRET_ARN");
    expect(names.filter((n) => /PASSWORD|TOKEN|WEBHOOK_URL|SMTP_URL|(SECRET|KEY)$/.test(n))).toEqual([]);
    for (const { label, doc } of configs) {
      expect(Object.keys(doc.resource ?? {}), label).not.toContain("aws_secretsmanager_secret_version");
    }
  });

  it("runs the ECS container non-root with a read-only root filesystem, /scratch and awslogs on ARM64", async () => {
    const ecs = mod("ecs");
    const container = ecs.locals?.[0]?.container_definition;
    const user = (await variablesOf(join(MODULES_DIR, "ecs"))).find((v) => v.name === "container_user");
    const [taskDef] = blocksOfType(ecs, "resource", "aws_ecs_task_definition");

    expect(container).toMatchObject({
      readonlyRootFilesystem: true,
      user: "${var.container_user}",
      mountPoints: [{ sourceVolume: "scratch", containerPath: "/scratch", readOnly: false }],
      logConfiguration: { logDriver: "awslogs" },
    });
    expect(user?.default).not.toMatch(/^(0|root)(:|$)/);
    expect(user?.validations).toBeGreaterThan(0);
    expect(taskDef?.body.runtime_platform).toEqual([
      { operating_system_family: "LINUX", cpu_architecture: "ARM64" },
    ]);
    expect(taskDef?.body.volume).toEqual([{ name: "scratch" }]);
    expect(taskDef?.body.task_role_arn).toBe("${aws_iam_role.task.arn}");
    expect(taskDef?.body.execution_role_arn).toBe("${aws_iam_role.execution.arn}");
    expect(ecs.locals?.[0]?.capacity_providers).toEqual(["FARGATE", "FARGATE_SPOT"]);
    const [repo] = blocksOfType(ecs, "resource", "aws_ecr_repository");
    expect(repo?.body).toMatchObject({
      image_tag_mutability: "IMMUTABLE",
      image_scanning_configuration: [{ scan_on_push: true }],
    });
  });

  it("gives the sync task HTTPS egress only, no ingress, no NAT gateway, and an S3 gateway endpoint", () => {
    const network = mod("network");
    const types = Object.keys(network.resource ?? {});
    const egress = blocksOfType(network, "resource", "aws_vpc_security_group_egress_rule").map((r) => r.body);
    const [endpoint] = blocksOfType(network, "resource", "aws_vpc_endpoint");

    expect(types).not.toContain("aws_nat_gateway");
    expect(types).not.toContain("aws_vpc_security_group_ingress_rule");
    expect(egress).toEqual([expect.objectContaining({ ip_protocol: "tcp", from_port: 443, to_port: 443 })]);
    expect(endpoint?.body.vpc_endpoint_type).toBe("Gateway");
  });
});

/** The expression of `${local.name}` in a parsed configuration (locals may span several blocks). */
function resolveLocal(doc: Hcl, reference: unknown): unknown {
  const name = /^\$\{local\.(\w+)\}$/.exec(String(reference))?.[1];
  if (!name) return reference;
  return ((doc.locals ?? []) as Hcl[]).find((block) => Object.hasOwn(block, name))?.[name];
}

/** A literal day count, or `${var.x}` whose default and validation bound it, within [min, max]. */
async function withinDays(value: unknown, label: string, min: number, max: number): Promise<boolean> {
  if (typeof value === "number") return value >= min && value <= max;
  const name = /^\$\{var\.(\w+)\}$/.exec(String(value))?.[1];
  if (!name) return false;
  const v = (await variablesOf(join(TERRAFORM_DIR, label))).find((x) => x.name === name);
  const doc = await parseDir(join(TERRAFORM_DIR, label));
  const condition = String(doc.variable?.[name]?.[0]?.validation?.[0]?.condition ?? "");
  return (
    typeof v?.default === "number" &&
    v.default >= min &&
    v.default <= max &&
    condition.includes(`var.${name} >= ${min}`) &&
    condition.includes(`var.${name} <= ${max}`)
  );
}
