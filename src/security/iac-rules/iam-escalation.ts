import type { TfModule } from "../iac-model.ts";
import type { Finding, RuleMeta } from "../types.ts";
import {
  locateInStatement,
  type PolicyDocument,
  type PolicyStatement,
  policyDocuments,
  statementFinding,
} from "./policy.ts";
import { iacRule } from "./rule.ts";

export const IAM_NO_BOUNDARY = iacRule(
  "HBS-IAC-033",
  "critical",
  "IAM roles or users can be created or given policies without an iam:PermissionsBoundary condition",
  'Allow iam:CreateRole, iam:PutRolePolicy, iam:AttachRolePolicy and iam:PutRolePermissionsBoundary only with condition ArnEquals "iam:PermissionsBoundary" = <the environment\'s boundary policy ARN>; never allow iam:DeleteRolePermissionsBoundary, and Deny changes to the boundary policy itself.',
  {
    checkov: ["CKV_AWS_286", "CKV_AWS_110"],
    trivy: ["AVD-AWS-0349", "AVD-AWS-0351", "AVD-AWS-0353"],
  },
);
export const IAM_POLICY_MANAGEMENT = iacRule(
  "HBS-IAC-034",
  "critical",
  "IAM policy versions, group policies or role trust can be changed on any policy, group or role",
  "Remove iam:CreatePolicyVersion, iam:SetDefaultPolicyVersion, iam:UpdateAssumeRolePolicy, iam:AttachGroupPolicy and iam:PutGroupPolicy on wildcards; scope them to the project's own policy/role ARNs and Deny them on the permissions boundary and the deploy roles.",
  {
    checkov: ["CKV_AWS_286", "CKV_AWS_110", "CKV_AWS_289", "CKV_AWS_109"],
    trivy: ["AVD-AWS-0347", "AVD-AWS-0352", "AVD-AWS-0349", "AVD-AWS-0351"],
  },
);
export const CROSS_ENVIRONMENT = iacRule(
  "HBS-IAC-035",
  "high",
  "Destructive actions reach resources of every environment (any resource of a type, or a name without the environment) with no aws:ResourceTag condition",
  'Scope the resources by name (<project>-<env>-*) or add condition StringEquals "aws:ResourceTag/Environment" = <env> (and aws:RequestTag/Environment on the creates); an action that supports neither (ecs:DeregisterTaskDefinition) is better not granted.',
  { checkov: ["CKV_AWS_290", "CKV_AWS_111", "CKV_AWS_355", "CKV_AWS_356"], trivy: ["AVD-AWS-0057"] },
);

export const ESCALATION_RULES: RuleMeta[] = [IAM_NO_BOUNDARY, IAM_POLICY_MANAGEMENT, CROSS_ENVIRONMENT];

/** The actions AWS's delegation example allows only with an iam:PermissionsBoundary condition. */
const NEEDS_BOUNDARY = [
  "iam:CreateRole",
  "iam:CreateUser",
  "iam:PutRolePolicy",
  "iam:PutUserPolicy",
  "iam:AttachRolePolicy",
  "iam:AttachUserPolicy",
  "iam:PutRolePermissionsBoundary",
  "iam:PutUserPermissionsBoundary",
];
/** Removing a boundary frees the role from it: no condition makes that safe. */
const REMOVES_BOUNDARY = ["iam:DeleteRolePermissionsBoundary", "iam:DeleteUserPermissionsBoundary"];
/** Rewrite any policy (the boundary included), any group's policies or any role's trust. */
const POLICY_MANAGEMENT = [
  "iam:CreatePolicyVersion",
  "iam:SetDefaultPolicyVersion",
  "iam:UpdateAssumeRolePolicy",
  "iam:AttachGroupPolicy",
  "iam:PutGroupPolicy",
];
const DESTRUCTIVE =
  /^[A-Za-z0-9-]+:(Delete|BatchDelete|Revoke|Modify|Update|Deregister|Detach|Disassociate|Terminate|Remove|Replace)/;
const BOUNDARY_TESTS = /^(StringEquals|StringLike|ArnEquals|ArnLike)$/;
const TAG_TESTS = /^(StringEquals|StringLike|ForAllValues:StringEquals|ForAnyValue:StringEquals)$/;

/** Case-insensitive IAM action glob match (`iam:Put*` matches `iam:PutRolePolicy`). */
export function actionMatches(pattern: string, action: string): boolean {
  const escaped = pattern
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replace(/\*/g, ".*")
    .replace(/\?/g, ".");
  return new RegExp(`^${escaped}$`, "i").test(action);
}

/** "*" and "<service>:*" are HBS-IAC-030's findings; the rules here name what a narrower pattern grants. */
function granted(statement: PolicyStatement, targets: string[]): string[] {
  const patterns = statement.actions.filter((a) => a !== "*" && !/^[A-Za-z0-9-]+:\*$/.test(a));
  return targets.filter((t) => patterns.some((p) => actionMatches(p, t)));
}

/**
 * True for `*` and for an ARN that names every resource of its type in the account: nothing but wildcards
 * after the resource type (`arn:aws:ec2:*:1:*`, `…:ses:*:1:identity/*`, `…:iam::1:role/*`). Interpolations
 * count as names; a value that is one whole reference (`${aws_iam_role.x.arn}`) is a specific resource.
 */
export function isEveryResource(resource: string): boolean {
  if (resource === "*") return true;
  if (/^\$\{[^}]*\}$/.test(resource)) return false;
  const literal = resource.replace(/\$\{[^}]*\}/g, "VAR");
  const parts = literal.split(":");
  if (parts[0] !== "arn" || parts.length < 6) return false;
  const rest = parts.slice(5).join(":");
  const name = /^[A-Za-z][A-Za-z0-9-]*[/:](.*)$/.exec(rest)?.[1] ?? rest;
  return /^[*?/]*$/.test(name);
}

/**
 * A document made once per environment: `for_each` over something named environments
 * (`local.environments`, `toset(var.environments)`), with statements that name `each.*`.
 */
export function isPerEnvironmentDocument(doc: PolicyDocument): boolean {
  const forEach = doc.block.body.for_each;
  if (doc.attribute !== "statement" || typeof forEach !== "string" || !/environments/i.test(forEach))
    return false;
  return doc.statements.some((s) => mentionsEnvironment(s));
}

function mentionsEnvironment(statement: PolicyStatement): boolean {
  const values = [...statement.resources, ...statement.conditions.flatMap((c) => c.values)];
  return values.some((v) => /\beach\.(key|value)\b/.test(v));
}

function hasBoundaryCondition(statement: PolicyStatement): boolean {
  return statement.conditions.some(
    (c) =>
      c.variable.toLowerCase() === "iam:permissionsboundary" &&
      BOUNDARY_TESTS.test(c.test) &&
      c.values.length > 0 &&
      c.values.every((v) => v !== "*" && !/:policy\/\*$/.test(v)),
  );
}

function hasResourceTagCondition(statement: PolicyStatement): boolean {
  return statement.conditions.some(
    (c) =>
      /^aws:ResourceTag\/./i.test(c.variable) &&
      TAG_TESTS.test(c.test) &&
      c.values.length > 0 &&
      c.values.every((v) => v !== "*"),
  );
}

/**
 * Resources of an Allow statement that reach beyond one environment: every resource of a type, or (in a
 * per-environment document) a name that leaves the environment out.
 */
export function crossEnvironmentResources(doc: PolicyDocument, statement: PolicyStatement): string[] {
  const perEnvironment = isPerEnvironmentDocument(doc);
  return statement.resources.filter(
    (r) =>
      isEveryResource(r) || (perEnvironment && !/^\$\{[^}]*\}$/.test(r) && !/\beach\.(key|value)\b/.test(r)),
  );
}

const list = (items: string[]): string => `${items.slice(0, 3).join(", ")}${items.length > 3 ? "…" : ""}`;

export function checkEscalation(module: TfModule): Finding[] {
  const findings: Finding[] = [];
  for (const doc of policyDocuments(module)) {
    doc.statements.forEach((statement, index) => {
      if (statement.effect !== "Allow") return;
      const match = (what: string) => `${doc.block.address}:${doc.attribute}:${index}:${what}`;
      const at = (action: string) => locateInStatement(doc, statement, `"${action}"`);
      const push = (rule: RuleMeta, offset: number, what: string, message: string) =>
        findings.push(statementFinding(rule, doc, offset, match(what), message));

      const unbounded = hasBoundaryCondition(statement) ? [] : granted(statement, NEEDS_BOUNDARY);
      const removes = granted(statement, REMOVES_BOUNDARY);
      const escalating = [...unbounded, ...removes];
      if (escalating.length > 0) {
        const first = statement.actions.find((a) => escalating.some((e) => actionMatches(a, e))) ?? "";
        push(
          IAM_NO_BOUNDARY,
          at(first),
          `boundary:${escalating.join(",")}`,
          removes.length > 0
            ? `allows ${list(removes)}: a role can be freed from its permissions boundary`
            : `allows ${list(unbounded)} without an iam:PermissionsBoundary condition: a role it makes or changes can get any permission`,
        );
      }

      const anyPolicy = statement.resources.filter(isEveryResource);
      const management = anyPolicy.length > 0 ? granted(statement, POLICY_MANAGEMENT) : [];
      if (management.length > 0) {
        const first = statement.actions.find((a) => management.some((m) => actionMatches(a, m))) ?? "";
        push(
          IAM_POLICY_MANAGEMENT,
          at(first),
          `policy-management:${management.join(",")}`,
          `allows ${list(management)} on ${anyPolicy.join(", ")}: any policy, group or role trust can be rewritten`,
        );
      }

      const destructive = statement.actions.filter((a) => DESTRUCTIVE.test(a));
      if (destructive.length > 0 && !hasResourceTagCondition(statement)) {
        const reach = crossEnvironmentResources(doc, statement);
        if (reach.length > 0) {
          const every = reach.filter(isEveryResource);
          const why =
            every.length > 0
              ? `on every resource of the account matching ${list(every)}`
              : `on ${list(reach)}, a name without the environment`;
          push(
            CROSS_ENVIRONMENT,
            locateInStatement(
              doc,
              statement,
              `"${statement.actions[0] ?? ""}"`,
              doc.attribute === "statement" ? "resources" : "Resource",
            ),
            `cross-environment:${destructive.join(",")}`,
            `allows ${list(destructive)} ${why}, with no aws:ResourceTag condition: one environment's role can damage another's resources`,
          );
        }
      }
    });
  }
  return findings;
}
