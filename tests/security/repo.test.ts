import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DEPS_RULES } from "../../src/security/deps.ts";
import { listFiles } from "../../src/security/files.ts";
import { IAC_RULES } from "../../src/security/iac-rules/index.ts";
import { runScan } from "../../src/security/scanner.ts";
import { SECRET_RULES } from "../../src/security/secrets.ts";
import { IGNORE_FILE, loadIgnoreFile, parseAllowComment } from "../../src/security/suppress.ts";
import { WORKFLOW_RULES } from "../../src/security/workflows.ts";

const REPO_ROOT = new URL("../..", import.meta.url).pathname;

describe("the project's own repository", () => {
  describe("runScan", () => {
    it("has no secret, Terraform or workflow finding at any severity", async () => {
      // deps is left out: npm audit needs the registry, and its skip path is tested in deps.test.ts.
      const report = await runScan({
        root: REPO_ROOT,
        kinds: ["secrets", "iac", "workflows"],
        threshold: "low",
      });
      const findings = report.findings.map((f) => `${f.file}:${f.line} ${f.ruleId} ${f.message}`);
      expect(findings).toEqual([]);
      expect(report.scanners.flatMap((s) => s.warnings.filter((w) => !w.startsWith("history:")))).toEqual([]);
    });
  });

  describe("allowlists", () => {
    it("justifies every entry of the ignore file", async () => {
      const ignore = await loadIgnoreFile(REPO_ROOT);
      expect(ignore.warnings).toEqual([]);
      for (const entry of ignore.entries.values()) expect(entry.justification.length).toBeGreaterThan(15);
      const text = await readFile(join(REPO_ROOT, IGNORE_FILE), "utf8").catch(() => "");
      const entryLines = text.split("\n").filter((l) => /^[0-9a-f]{32}/.test(l));
      expect(entryLines.length).toBe(ignore.entries.size);
    });

    it("justifies every inline allow comment", async () => {
      const unjustified: string[] = [];
      for (const file of await listFiles(REPO_ROOT)) {
        if (file.startsWith("tests/security/") || file.startsWith("docs/")) continue;
        const text = await readFile(join(REPO_ROOT, file), "utf8").catch(() => "");
        text.split("\n").forEach((line, index) => {
          const allow = parseAllowComment(line);
          if (allow && allow.justification.length < 10) unjustified.push(`${file}:${index + 1}`);
        });
      }
      expect(unjustified).toEqual([]);
    });
  });

  describe("docs/security.md", () => {
    it("documents every rule with its severity", async () => {
      const docs = await readFile(join(REPO_ROOT, "docs/security.md"), "utf8");
      const rules = [...SECRET_RULES, ...IAC_RULES, ...WORKFLOW_RULES, ...DEPS_RULES];
      const undocumented = rules
        .filter((r) => !docs.includes(`| ${r.id} | ${r.severity} |`))
        .map((r) => r.id);
      expect(undocumented).toEqual([]);
    });
  });
});
