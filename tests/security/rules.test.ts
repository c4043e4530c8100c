import { describe, expect, it } from "vitest";
import { locateBlocks } from "../../src/security/hcl-text.ts";
import { checkOidcStatement } from "../../src/security/iac-rules/iam.ts";
import { actionMatches, isEveryResource } from "../../src/security/iac-rules/iam-escalation.ts";
import type { PolicyStatement } from "../../src/security/iac-rules/policy.ts";
import { isPlaceholder, looksLikeSecretValue, shannonEntropy } from "../../src/security/secret-patterns.ts";
import { parseAllowComment } from "../../src/security/suppress.ts";
import { untrustedReference } from "../../src/security/workflows.ts";

const trust = (sub: string[], aud: string[] | null, test = "StringEquals"): PolicyStatement => ({
  effect: "Allow",
  actions: ["sts:AssumeRoleWithWebIdentity"],
  notActions: [],
  resources: [],
  principals: { Federated: ["arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"] },
  conditions: [
    { test, variable: "token.actions.githubusercontent.com:sub", values: sub },
    ...(aud
      ? [{ test: "StringEquals", variable: "token.actions.githubusercontent.com:aud", values: aud }]
      : []),
  ],
});

describe("security rules", () => {
  describe("checkOidcStatement", () => {
    it.each([
      [["repo:acme/mirror:environment:prod"], ["sts.amazonaws.com"], null],
      [["repo:${var.repository}:environment:${var.environment}"], ["sts.amazonaws.com"], null],
      [["repo:acme/*"], ["sts.amazonaws.com"], 'sub "repo:acme/*" contains a wildcard'],
      [["repo:acme/mirror:ref:refs/heads/main"], ["sts.amazonaws.com"], "is not pinned"],
      [["repo:acme:environment:prod"], ["sts.amazonaws.com"], "does not name one <org>/<repo>"],
      [["repo:acme/mirror:environment:prod"], null, "aud is not pinned"],
      [["repo:acme/mirror:environment:prod"], ["sigstore"], "aud is not pinned"],
    ])("judges sub %j with aud %j", (sub, aud, problem) => {
      const result = checkOidcStatement(trust(sub, aud));
      if (problem === null) expect(result).toBeNull();
      else expect(result).toContain(problem);
    });
  });

  describe("isEveryResource", () => {
    it.each([
      ["*", true],
      ["arn:aws:ec2:*:123456789012:*", true],
      ["arn:${local.partition}:ses:*:${local.account}:identity/*", true],
      ["arn:aws:iam::123456789012:policy/*", true],
      ["arn:aws:cloudfront::123456789012:distribution/*", true],
      ["arn:aws:iam::123456789012:role/${local.scopes[each.key].prefix}-*", false],
      ["arn:aws:ecr:*:123456789012:repository/hbsync-sync", false],
      ["arn:aws:logs:*:123456789012:log-group:/ecs/hbsync-dev-*", false],
      ["${aws_iam_role.task.arn}", false],
    ])("judges %s", (resource, expected) => {
      expect(isEveryResource(resource)).toBe(expected);
    });
  });

  describe("actionMatches", () => {
    it("matches IAM action globs case-insensitively", () => {
      expect(actionMatches("iam:Put*", "iam:PutRolePolicy")).toBe(true);
      expect(actionMatches("IAM:createrole", "iam:CreateRole")).toBe(true);
      expect(actionMatches("iam:Put*Policy", "iam:PutRolePermissionsBoundary")).toBe(false);
      expect(actionMatches("iam:CreateRole", "iam:CreateRoleX")).toBe(false);
    });
  });

  describe("untrustedReference", () => {
    it.each([
      ["github.event.issue.title", "github.event.issue.title"],
      ["github.event.pull_request.head.ref", "github.event.pull_request.head.ref"],
      ["github.head_ref", "github.head_ref"],
      ["inputs.note", "inputs.note"],
      ["github.event.inputs.note", "github.event.inputs.note"],
      ["github.event.pull_request.number", null],
      ["github.event.repository.full_name", null],
      ["inputs.dry_run", null],
      ["secrets.SLACK_WEBHOOK_URL", null],
      ["github.sha", null],
    ])("classifies %s", (expression, expected) => {
      expect(untrustedReference(` ${expression} `, new Set(["note"]))).toBe(expected);
    });
  });

  describe("looksLikeSecretValue", () => {
    it("needs length, entropy and mixed character classes, and skips placeholders and references", () => {
      expect(looksLikeSecretValue("q8Zr2LmX0pWv7TbN4kYc")).toBe(true);
      expect(looksLikeSecretValue("short1A")).toBe(false);
      expect(looksLikeSecretValue("aaaaaaaaaaaaaaaaaaaaaaaa")).toBe(false);
      expect(looksLikeSecretValue("hbsync-emulator-sample-cask")).toBe(false);
      expect(looksLikeSecretValue("process.env.SMTP_PASSWORD")).toBe(false);
      expect(looksLikeSecretValue("arn:aws:secretsmanager:us-east-1:123456789012:secret:x")).toBe(false);
      expect(looksLikeSecretValue("${{ secrets.SLACK_WEBHOOK_URL }}")).toBe(false);
    });

    it("computes Shannon entropy in bits per character", () => {
      expect(shannonEntropy("aaaa")).toBe(0);
      expect(shannonEntropy("abcd")).toBe(2);
    });

    it("treats documentation examples and hand-typed runs as placeholders", () => {
      expect(isPlaceholder("AKIAIOSFODNN7EXAMPLE")).toBe(true);
      expect(isPlaceholder("ghp_abcdefghijklmnopqrstuvwxyz0123456789")).toBe(true);
      expect(isPlaceholder("<your-token>")).toBe(true);
      expect(isPlaceholder("${VAR}")).toBe(true);
      expect(isPlaceholder("q8Zr2LmX0pWv7TbN4kYc")).toBe(false);
    });
  });

  describe("parseAllowComment", () => {
    it("reads the rule id and justification in any comment syntax", () => {
      expect(parseAllowComment("x = 1 # hbsync-scan: allow HBS-IAC-031 needs random ids")).toEqual({
        ruleId: "HBS-IAC-031",
        justification: "needs random ids",
      });
      expect(parseAllowComment("<!-- hbsync-scan: allow HBS-SEC-007 doc sample -->")).toEqual({
        ruleId: "HBS-SEC-007",
        justification: "doc sample",
      });
      expect(parseAllowComment("// hbsync-scan: allow HBS-SEC-007")).toEqual({
        ruleId: "HBS-SEC-007",
        justification: "",
      });
      expect(parseAllowComment("nothing here")).toBeNull();
    });
  });

  describe("locateBlocks", () => {
    it("finds each block's extent, ignoring braces in strings, comments and heredocs", () => {
      const text = [
        'resource "aws_iam_policy" "a" {',
        "  # a } in a comment",
        '  name = "a}{"',
        "  policy = <<EOT",
        '{ "Statement": [ { "Effect": "Allow" } ] }',
        "EOT",
        "}",
        'data "aws_iam_policy_document" "b" {',
        '  statement { actions = ["s3:GetObject"] }',
        "}",
      ].join("\n");
      const blocks = locateBlocks(text);
      expect(
        blocks.map((b) => [b.kind, b.type, b.name, text.slice(b.start, b.end).split("\n").length]),
      ).toEqual([
        ["resource", "aws_iam_policy", "a", 7],
        ["data", "aws_iam_policy_document", "b", 3],
      ]);
    });
  });
});
