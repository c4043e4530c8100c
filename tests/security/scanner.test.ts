import { execFile } from "node:child_process";
import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IAC_RULES } from "../../src/security/iac-rules/index.ts";
import { runScan } from "../../src/security/scanner.ts";
import { SECRET_RULES } from "../../src/security/secrets.ts";
import { fingerprintOf, IGNORE_FILE } from "../../src/security/suppress.ts";
import type { ScanReport } from "../../src/security/types.ts";
import { WORKFLOW_RULES } from "../../src/security/workflows.ts";
import { buildFixtureTree, type Expected, expectedFindings, type GeneratedSecrets } from "./fixture-tree.ts";

const execFileAsync = promisify(execFile);
const key = (f: { file: string; line: number; ruleId: string }) => `${f.file}:${f.line} ${f.ruleId}`;

describe("security scanner", () => {
  let root: string;
  let secrets: GeneratedSecrets;
  let expected: Expected[];
  let report: ScanReport;

  beforeAll(async () => {
    ({ root, secrets } = await buildFixtureTree());
    expected = await expectedFindings(root);
    const ignored = fingerprintOf("HBS-SEC-007", secrets.ignoredFile, secrets.ignoredValue);
    await writeFile(
      join(root, IGNORE_FILE),
      `# fingerprint # justification\n${ignored} # fixture: proves the ignore file suppresses\n`,
    );
    report = await runScan({ root, kinds: ["secrets", "iac", "workflows"], threshold: "medium" });
  });

  /** The 1-based line of the generated config.ts that declares `name`. */
  const lineOf = (name: string): number =>
    (secrets.files["app/config.ts"] ?? "").split("\n").findIndex((l) => l.includes(`const ${name} `)) + 1;

  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  describe("runScan", () => {
    it("reports every planted finding with its rule id and line", () => {
      const found = new Set(report.findings.map(key));
      const missing = expected.map(key).filter((k) => !found.has(k));
      expect(missing).toEqual([]);
    });

    it("flags none of the lookalikes (every finding is a planted one)", () => {
      const planted = new Set(expected.map(key));
      const unexpected = report.findings
        .filter((f) => !planted.has(key(f)))
        .map((f) => `${key(f)} ${f.message}`);
      expect(unexpected).toEqual([]);
    });

    it("has a planted finding for every secrets, iac and workflows rule", () => {
      const planted = new Set(expected.map((e) => e.ruleId));
      const rules = [...SECRET_RULES, ...IAC_RULES, ...WORKFLOW_RULES].map((r) => r.id);
      expect(rules.filter((id) => !planted.has(id))).toEqual([]);
      expect(planted.has("secretlint/basicauth")).toBe(true);
    });

    it("suppresses a justified allow comment and an ignore-file entry, and says why", () => {
      const suppressed = report.scanners.flatMap((s) => s.suppressed);
      expect(suppressed.map((s) => [s.finding.file, s.finding.line, s.by])).toEqual([
        ["app/config.ts", lineOf("allowedToken"), "inline"],
        ["app/config.ts", lineOf("ignoredSecret"), "ignore-file"],
      ]);
      expect(suppressed.every((s) => s.justification.startsWith("fixture:"))).toBe(true);
    });

    it("keeps a finding whose allow comment has no justification, with a warning", () => {
      const secretsResult = report.scanners.find((s) => s.scanner === "secrets");
      expect(secretsResult?.warnings).toContain(
        `app/config.ts:${lineOf("unjustifiedToken")}: allow comment for HBS-SEC-007 has no justification; not honoured`,
      );
    });

    it("never prints a secret in full", () => {
      const config = secrets.files["app/config.ts"] ?? "";
      const values = [...config.matchAll(/"([A-Za-z0-9+/_-]{24,})"/g)].map((m) => m[1] ?? "");
      const messages = report.findings.map((f) => f.message).join("\n");
      expect(values.length).toBeGreaterThan(3);
      for (const value of values) expect(messages).not.toContain(value);
    });

    it("gives a finding the same fingerprint after lines are inserted above it", async () => {
      const file = join(root, "app/config.ts");
      const original = await readFile(file, "utf8");
      await writeFile(file, `// a new header line\n// and another\n${original}`);
      try {
        const again = await runScan({ root, kinds: ["secrets"], threshold: "medium" });
        const before = report.findings.filter((f) => f.file === "app/config.ts");
        const after = again.findings.filter((f) => f.file === "app/config.ts");
        expect(after.map((f) => f.fingerprint)).toEqual(before.map((f) => f.fingerprint));
        expect(after.map((f) => f.line)).toEqual(before.map((f) => f.line + 2));
      } finally {
        await writeFile(file, original);
      }
    });

    it("fails at the threshold: medium fails, critical-only passes the workflow findings", async () => {
      const workflows = report.findings.filter((f) => f.file.startsWith(".github/"));
      expect(workflows.some((f) => f.severity === "high")).toBe(true);
      const critical = await runScan({ root, kinds: ["workflows"], threshold: "critical" });
      expect(critical.findings.length).toBe(workflows.length);
      expect(critical.failing).toEqual([]);
    });
  });

  describe("runScan with history", () => {
    it("finds a secret that was committed and deleted since, only with history", async () => {
      const repo = join(root, "history-repo");
      const git = (...args: string[]) =>
        execFileAsync("git", ["-c", "user.name=t", "-c", "user.email=t@localhost", ...args], { cwd: repo });
      await execFileAsync("git", ["init", "-q", repo]);
      const leaked = secrets.files["app/.env"] ?? "";
      await writeFile(join(repo, ".env"), leaked);
      await git("add", ".env");
      await git("commit", "-q", "-m", "add env");
      await git("rm", "-q", ".env");
      await writeFile(join(repo, "README.md"), "nothing to see\n");
      await git("add", "README.md");
      await git("commit", "-q", "-m", "remove env");

      const tree = await runScan({ root: repo, kinds: ["secrets"], threshold: "medium" });
      const history = await runScan({ root: repo, kinds: ["secrets"], threshold: "medium", history: true });

      expect(tree.findings).toEqual([]);
      expect(history.findings.map((f) => [f.file, f.line, f.ruleId])).toEqual([[".env", 2, "HBS-SEC-007"]]);
      expect(history.findings[0]?.message).toMatch(/added in commit [0-9a-f]{12}/);
    });
  });
});
