import { describe, expect, it } from "vitest";
import { run } from "../../src/cli/cli.ts";
import { EXIT } from "../../src/cli/exit-codes.ts";
import { memoryOutput } from "../../src/cli/output.ts";
import { auditFindings, classifyAuditFailure, scanDeps } from "../../src/security/deps.ts";

const REPO_ROOT = new URL("../..", import.meta.url).pathname;
// Port 9 (discard) on loopback: nothing listens, so the connection is refused at once.
const UNREACHABLE = { ...process.env, npm_config_registry: "http://127.0.0.1:9/" };

describe("deps", () => {
  describe("scanDeps", () => {
    it("reports the scan as skipped, not passed, when the registry is unreachable", async () => {
      const result = await scanDeps(REPO_ROOT, UNREACHABLE);
      expect(result.status).toBe("skipped: registry unreachable");
      expect(result.findings).toEqual([]);
    });

    it("skips a directory without package-lock.json", async () => {
      const result = await scanDeps(
        new URL("../fixtures/security/tree", import.meta.url).pathname,
        process.env,
      );
      expect(result.status).toBe("skipped: no package-lock.json");
    });
  });

  describe("scan deps (CLI)", () => {
    it("says deps were NOT checked, in text and in --json", async () => {
      const text = memoryOutput();
      const code = await run(["scan", "deps", "--path", REPO_ROOT], text, {
        env: UNREACHABLE,
        cwd: REPO_ROOT,
      });
      expect(code).toBe(EXIT.OK);
      expect(text.stdout.join("\n")).toContain(
        "deps: SKIPPED (registry unreachable) — 1 file(s), 0 finding(s)",
      );
      expect(text.stdout.at(-1)).toContain("NOT checked: deps (skipped: registry unreachable)");

      const json = memoryOutput();
      await run(["scan", "deps", "--json", "--path", REPO_ROOT], json, { env: UNREACHABLE, cwd: REPO_ROOT });
      const document = JSON.parse(json.stdout.join("\n"));
      expect(document.scanners).toEqual([
        expect.objectContaining({ scanner: "deps", status: "skipped: registry unreachable", findings: 0 }),
      ]);
    });
  });

  describe("classifyAuditFailure", () => {
    it("tells an unreachable registry from an audit endpoint that answers with an error", () => {
      expect(
        classifyAuditFailure('{"message":"request failed, reason: getaddrinfo ENOTFOUND registry"}', ""),
      ).toBe("skipped: registry unreachable");
      expect(
        classifyAuditFailure(
          '{"message":"405 Method Not Allowed - POST https://r/-/npm/v1/security/advisories/bulk"}',
          "",
        ),
      ).toMatch(/^skipped: audit endpoint unavailable \(405 Method Not Allowed/);
      expect(classifyAuditFailure('{"auditReportVersion":2,"vulnerabilities":{}}', "")).toBeNull();
    });
  });

  describe("auditFindings", () => {
    it("turns npm audit v2 advisories into findings on the lockfile entry, with npm's severity", () => {
      // Shape of `npm audit --json` (auditReportVersion 2); values are illustrative, not a real advisory.
      const report = {
        auditReportVersion: 2,
        vulnerabilities: {
          "left-pad": {
            name: "left-pad",
            severity: "moderate",
            range: "<1.3.1",
            fixAvailable: true,
            via: [
              { source: 1, title: "Padding overflow", url: "https://github.com/advisories/GHSA-test-0001" },
            ],
          },
          wrapper: {
            name: "wrapper",
            severity: "moderate",
            range: "*",
            fixAvailable: true,
            via: ["left-pad"],
          },
        },
      };
      const lock =
        '{\n  "packages": {\n    "": {},\n    "node_modules/left-pad": { "version": "1.3.0" }\n  }\n}\n';
      const findings = auditFindings(report, lock);
      expect(findings.map((f) => [f.ruleId, f.severity, f.file, f.line])).toEqual([
        ["HBS-DEP-001", "medium", "package-lock.json", 4],
      ]);
      expect(findings[0]?.message).toContain(
        "left-pad <1.3.1: Padding overflow (https://github.com/advisories/GHSA-test-0001)",
      );
    });
  });
});
