import type { TfModule } from "../iac-model.ts";
import type { Finding, RuleMeta } from "../types.ts";
import { crossEnvironmentResources } from "./iam-escalation.ts";
import {
  statementFinding as finding,
  locateInStatement as locate,
  type PolicyStatement,
  policyDocuments,
} from "./policy.ts";
import { iacRule } from "./rule.ts";

export const IAM_WILDCARD_ACTION = iacRule(
  "HBS-IAC-030",
  "high",
  'IAM policy allows "*" or "<service>:*" actions',
  "List the exact actions the role needs (e.g. s3:GetObject, s3:PutObject) instead of a wildcard.",
  { checkov: ["CKV_AWS_49", "CKV_AWS_63", "CKV_AWS_62", "CKV_AWS_1"], trivy: ["AVD-AWS-0057"] },
);
export const IAM_WILDCARD_RESOURCE = iacRule(
  "HBS-IAC-031",
  "high",
  'IAM policy allows restrictable actions on Resource "*"',
  'Scope Resource to the ARNs the actions touch (bucket, bucket/*, function, cluster…); only actions that support nothing but "*" may use it.',
  { checkov: ["CKV_AWS_355", "CKV_AWS_356"], trivy: ["AVD-AWS-0057"] },
);
export const IAM_PASSROLE = iacRule(
  "HBS-IAC-032",
  "high",
  "iam:PassRole is not scoped to specific role ARNs",
  'Allow iam:PassRole only on the role ARNs the service needs (e.g. the ECS task and execution roles), with condition iam:PassedToService = "ecs-tasks.amazonaws.com".',
  { checkov: ["CKV_AWS_286"], trivy: ["AVD-AWS-0342"] },
);
export const OIDC_TRUST = iacRule(
  "HBS-IAC-050",
  "critical",
  "GitHub OIDC trust policy not pinned to one repository and environment, or without aud = sts.amazonaws.com",
  'Condition StringEquals "token.actions.githubusercontent.com:sub" = "repo:<org>/<repo>:environment:<env>" and StringEquals "token.actions.githubusercontent.com:aud" = "sts.amazonaws.com"; no wildcards.',
  { checkov: ["CKV_AWS_358"] },
);

export const IAM_RULES: RuleMeta[] = [IAM_WILDCARD_ACTION, IAM_WILDCARD_RESOURCE, IAM_PASSROLE, OIDC_TRUST];

/**
 * Actions that support no resource-level permissions, so `Resource = "*"` is the only valid form
 * (AWS Service Authorization Reference: the "Resource types" column is empty for them). An entry ending
 * in `*` is a prefix: every EC2 Describe* and CloudFront List* action is `*`-only.
 */
export const STAR_ONLY_ACTIONS = new Set([
  "ec2:Describe*",
  "cloudfront:List*",
  "cloudwatch:PutMetricData",
  "cloudwatch:GetMetricData",
  "cloudwatch:ListMetrics",
  "xray:PutTraceSegments",
  "xray:PutTelemetryRecords",
  "xray:GetSamplingRules",
  "xray:GetSamplingTargets",
  "xray:GetSamplingStatisticSummaries",
  "ecs:ListClusters",
  "ecs:ListTaskDefinitions",
  "ecs:DescribeTaskDefinition",
  "ecs:RegisterTaskDefinition",
  "ecs:DeregisterTaskDefinition",
  "ecr:GetAuthorizationToken",
  "sts:GetCallerIdentity",
  "s3:ListAllMyBuckets",
  "logs:DescribeLogGroups",
  "ec2:DescribeNetworkInterfaces",
  "ec2:DescribeSubnets",
  "ec2:DescribeSecurityGroups",
  "ec2:DescribeVpcs",
  "lambda:ListFunctions",
  "secretsmanager:GetRandomPassword",
  "secretsmanager:ListSecrets",
  "ssm:DescribeParameters",
  "kms:ListAliases",
  "kms:ListKeys",
  "tag:GetResources",
]);

const GITHUB_OIDC = "token.actions.githubusercontent.com";

export function isStarOnlyAction(action: string): boolean {
  if (STAR_ONLY_ACTIONS.has(action)) return true;
  for (const entry of STAR_ONLY_ACTIONS) {
    if (entry.endsWith("*") && action.startsWith(entry.slice(0, -1))) return true;
  }
  return false;
}

function isWildcardAction(action: string): boolean {
  return action === "*" || /^[A-Za-z0-9-]+:\*$/.test(action);
}

function isTrustStatement(statement: PolicyStatement): boolean {
  return statement.actions.some((a) => /^sts:AssumeRole/.test(a)) && statement.resources.length === 0;
}

export function checkIam(module: TfModule): Finding[] {
  const findings: Finding[] = [];
  for (const doc of policyDocuments(module)) {
    doc.statements.forEach((statement, index) => {
      if (statement.effect !== "Allow") return;
      const where = (needle: string, key?: string) => locate(doc, statement, needle, key);
      const match = (what: string) => `${doc.block.address}:${doc.attribute}:${index}:${what}`;

      for (const action of statement.actions.filter(isWildcardAction)) {
        findings.push(
          finding(IAM_WILDCARD_ACTION, doc, where(`"${action}"`), match(action), `allows action "${action}"`),
        );
      }
      if (statement.notActions.length > 0) {
        findings.push(
          finding(
            IAM_WILDCARD_ACTION,
            doc,
            where(`"${statement.notActions[0]}"`),
            match("NotAction"),
            "Allow with NotAction grants every other action",
          ),
        );
      }

      if (!isTrustStatement(statement) && statement.resources.includes("*")) {
        const restrictable = statement.actions.filter((a) => !isStarOnlyAction(a));
        if (restrictable.length > 0) {
          findings.push(
            finding(
              IAM_WILDCARD_RESOURCE,
              doc,
              where(
                `"${statement.actions[0] ?? "*"}"`,
                doc.attribute === "statement" ? "resources" : "Resource",
              ),
              match(`resource:${restrictable.join(",")}`),
              `allows ${restrictable.slice(0, 3).join(", ")}${restrictable.length > 3 ? "…" : ""} on Resource "*"`,
            ),
          );
        }
      }

      // "*" and "iam:*" include PassRole too, but HBS-IAC-030 already reports them.
      const passRole = statement.actions.some((a) => /^iam:Pass(Role|\*)$/.test(a));
      if (passRole) {
        // Every role, any account's roles, or (per environment) roles named without the environment.
        const broad = [
          ...new Set([
            ...statement.resources.filter((r) => /role\/\*$/.test(r) || /^arn:[^:]*:iam::\*:/.test(r)),
            ...crossEnvironmentResources(doc, statement),
          ]),
        ];
        if (broad.length > 0 || statement.resources.length === 0) {
          findings.push(
            finding(
              IAM_PASSROLE,
              doc,
              where('"iam:PassRole"'),
              match("passrole"),
              `iam:PassRole allowed on ${broad.join(", ") || "any role"}`,
            ),
          );
        }
      }

      const oidcProblem = checkOidcStatement(statement);
      if (oidcProblem) {
        const claim = oidcProblem.includes(":aud") ? "aud" : "sub";
        const needle = `${GITHUB_OIDC}:${claim}`;
        const at = doc.block.text.indexOf(needle, doc.block.start);
        const offset = at >= 0 && at < doc.block.end ? where(needle) : where(GITHUB_OIDC);
        findings.push(finding(OIDC_TRUST, doc, offset, match("oidc"), oidcProblem));
      }
    });
  }
  return findings;
}

/** What is wrong with a GitHub OIDC trust statement, or null when it is pinned (or not an OIDC trust). */
export function checkOidcStatement(statement: PolicyStatement): string | null {
  const federated = (statement.principals.Federated ?? []).some((p) => p.includes(GITHUB_OIDC));
  const mentions = statement.conditions.some((c) => c.variable.startsWith(GITHUB_OIDC));
  const webIdentity = statement.actions.some((a) => a === "sts:AssumeRoleWithWebIdentity");
  if (!webIdentity || !(federated || mentions)) return null;

  const sub = statement.conditions.filter((c) => c.variable === `${GITHUB_OIDC}:sub`);
  const aud = statement.conditions.filter((c) => c.variable === `${GITHUB_OIDC}:aud`);
  if (sub.length === 0)
    return `no ${GITHUB_OIDC}:sub condition: any repository on GitHub can assume the role`;
  for (const condition of sub) {
    for (const value of condition.values) {
      const problem = subjectProblem(value);
      if (problem) return `sub "${value}" ${problem}`;
    }
    if (!/^StringEquals$|^StringLike$/.test(condition.test)) return `sub condition uses ${condition.test}`;
  }
  if (
    aud.length === 0 ||
    !aud.every((c) => c.values.length > 0 && c.values.every((v) => v === "sts.amazonaws.com"))
  ) {
    return `${GITHUB_OIDC}:aud is not pinned to "sts.amazonaws.com"`;
  }
  return null;
}

/** `repo:<org>/<repo>:environment:<env>`, with no wildcard. Interpolations stand in for literal parts. */
function subjectProblem(value: string): string | null {
  if (value.includes("*") || value.includes("?")) return "contains a wildcard";
  const literal = value.replace(/\$\{[^}]*\}/g, "VAR");
  const match = /^repo:([^:]+):environment:([^:]+)$/.exec(literal);
  if (!match) return "is not pinned to repo:<org>/<repo>:environment:<env>";
  const repo = match[1] ?? "";
  if (!/^(VAR|[^/]+\/[^/]+)$/.test(repo)) return "does not name one <org>/<repo>";
  return null;
}
