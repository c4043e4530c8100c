import { readFile, rm } from "node:fs/promises";
import { Ajv } from "ajv";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { toSarif } from "../../src/security/sarif.ts";
import { runScan } from "../../src/security/scanner.ts";
import type { ScanReport } from "../../src/security/types.ts";
import { buildFixtureTree } from "./fixture-tree.ts";

const SCHEMA = new URL("../fixtures/security/sarif-schema-2.1.0.json", import.meta.url);

/** The vendored OASIS schema (draft-04) compiled by Ajv (draft-07): see tests/fixtures/security/README.md. */
async function sarifValidator() {
  const { id, $schema: _draft04, ...schema } = JSON.parse(await readFile(SCHEMA, "utf8"));
  const ajv = new Ajv({ allErrors: true, strict: false });
  ajv.addFormat("uri", (value: string) => URL.canParse(value));
  ajv.addFormat("uri-reference", (value: string) => URL.canParse(value, "file:///base/"));
  ajv.addFormat("date-time", (value: string) => !Number.isNaN(Date.parse(value)));
  return ajv.compile({ ...schema, $id: id });
}

describe("sarif", () => {
  let root: string;
  let report: ScanReport;

  beforeAll(async () => {
    ({ root } = await buildFixtureTree());
    report = await runScan({ root, kinds: ["secrets", "iac", "workflows", "deps"], threshold: "medium" });
  });

  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  describe("toSarif", () => {
    it("validates against the SARIF 2.1.0 schema", async () => {
      const validate = await sarifValidator();
      const log = toSarif(report, "0.1.0");
      const valid = validate(log);
      expect(validate.errors ?? []).toEqual([]);
      expect(valid).toBe(true);
    });

    it("is rejected by the schema when a required property is missing (the validator is real)", async () => {
      const validate = await sarifValidator();
      const log = toSarif(report, "0.1.0") as unknown as {
        runs: Array<{ tool: { driver: { name?: string } } }>;
      };
      delete log.runs[0]?.tool.driver.name;
      expect(validate(log)).toBe(false);
    });

    it("describes every rule with help, level and the Checkov/Trivy ids as tags", () => {
      const rules = toSarif(report, "0.1.0").runs[0]?.tool.driver.rules ?? [];
      const pab = rules.find((r) => r.id === "HBS-IAC-001");
      expect(pab?.properties.tags).toEqual(expect.arrayContaining(["CKV_AWS_53", "AVD-AWS-0094", "iac"]));
      expect(pab?.defaultConfiguration.level).toBe("error");
      expect(pab?.help.text).toContain("aws_s3_bucket_public_access_block");
      expect(rules.map((r) => r.id)).toContain("secretlint/basicauth");
      const tagsOf = (id: string) => rules.find((r) => r.id === id)?.properties.tags;
      expect(tagsOf("HBS-IAC-033")).toEqual(
        expect.arrayContaining(["CKV_AWS_286", "CKV_AWS_110", "AVD-AWS-0351"]),
      );
      expect(tagsOf("HBS-IAC-034")).toEqual(
        expect.arrayContaining(["CKV_AWS_289", "AVD-AWS-0347", "AVD-AWS-0352"]),
      );
      expect(tagsOf("HBS-IAC-035")).toEqual(expect.arrayContaining(["CKV_AWS_290", "CKV_AWS_111"]));
    });

    it("locates results with relative URIs, 1-based regions and a partial fingerprint", () => {
      const run = toSarif(report, "0.1.0").runs[0];
      const result = run?.results.find((r) => r.ruleId === "HBS-GHA-006");
      expect(result?.locations[0]?.physicalLocation).toEqual({
        artifactLocation: { uri: ".github/workflows/bad.yml", uriBaseId: "%SRCROOT%" },
        region: { startLine: 4, startColumn: 3 },
      });
      expect(result?.partialFingerprints["hbsyncFindingHash/v1"]).toMatch(/^[0-9a-f]{32}$/);
      expect(run?.results.every((r) => r.ruleIndex >= 0)).toBe(true);
    });

    it("reports a skipped scanner as a tool notification, never as a clean result", () => {
      const notifications =
        toSarif(report, "0.1.0").runs[0]?.invocations[0]?.toolExecutionNotifications ?? [];
      expect(notifications).toContainEqual({
        level: "warning",
        message: { text: "deps: skipped: no package-lock.json" },
      });
    });
  });
});
