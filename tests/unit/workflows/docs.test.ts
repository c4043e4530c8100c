import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadActions, loadWorkflows, REPO_ROOT } from "./workflow-files.ts";

const doc = readFileSync(join(REPO_ROOT, "docs/github-actions.md"), "utf8");
const sources = [...loadWorkflows(), ...loadActions()].map((file) => file.text).join("\n");

describe("docs/github-actions.md", () => {
  it("documents every secret and variable the workflows read", () => {
    const names = new Set(
      [...sources.matchAll(/\b(?:secrets|vars)\.([A-Z][A-Z0-9_]*)/g)].map((m) => m[1] ?? ""),
    );
    expect([...names].sort()).toEqual(
      expect.arrayContaining([
        "AWS_ROLE_ARN_DEV",
        "AWS_ROLE_ARN_PROD",
        "AWS_ROLE_ARN_STAGING",
        "SLACK_WEBHOOK_URL",
      ]),
    );
    const undocumented = [...names].filter((name) => !doc.includes(`\`${name}\``));
    expect(undocumented).toEqual([]);
  });

  it("documents the production environment's required reviewers and the OIDC bootstrap", () => {
    expect(doc).toContain("`production`");
    expect(doc).toMatch(/required reviewers/i);
    const link = /\]\((\.\.\/infra\/terraform\/README\.md)[#)]/.exec(doc);
    expect(link).not.toBeNull();
    expect(existsSync(join(REPO_ROOT, "docs", link?.[1] ?? ""))).toBe(true);
  });

  it("lists every pinned action with the SHA the workflows use", () => {
    for (const match of sources.matchAll(/uses: ([\w.-]+\/[\w./-]+)@([0-9a-f]{40}) # (v[\d.]+)/g)) {
      const [, action, sha, version] = match;
      expect(doc, `${action}@${version}`).toContain(`| ${action} | \`${sha}\` | ${version} |`);
    }
  });
});
