import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { XMLParser, XMLValidator } from "fast-xml-parser";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { NotifyEvent } from "../../../src/notify/events.ts";
import { TestOrchestrator, type TestRunOutcome } from "../../../src/pipeline/test-orchestrator.ts";

const FIXTURE = resolve(import.meta.dirname, "../../fixtures/pipeline/vitest-suite");

describe("test-orchestrator", () => {
  describe("TestOrchestrator.run", () => {
    let dir: string;
    let outcome: TestRunOutcome;
    const sent: NotifyEvent[] = [];
    let stepSummary: string;

    // One real Vitest run of the fixture suite (one pass, one failure, one skip), shared by the checks.
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), "hbsync-orchestrator-"));
      stepSummary = join(dir, "step-summary.md");
      await writeFile(stepSummary, "# earlier step\n");
      const orchestrator = new TestOrchestrator({
        root: FIXTURE,
        configFile: "vitest.config.ts",
        suites: { unit: ["suite"] },
        env: { GITHUB_STEP_SUMMARY: stepSummary },
        notifier: { send: async (event) => void sent.push(event) },
      });
      outcome = await orchestrator.run("unit", {
        reportDir: join(dir, "reports"),
        notify: true,
        environment: "dev",
      });
    });

    afterAll(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it("returns a TestResult with the right counts and the failing test named", () => {
      expect(outcome.result).toMatchObject({
        testType: "unit",
        status: "failed",
        passed: 1,
        failed: 1,
        skipped: 1,
        coverage: null,
        failedTests: ["suite/arithmetic.fixture.ts > arithmetic > fails on purpose <&>"],
      });
      expect(outcome.result.duration).toBeGreaterThan(0);
    });

    it("writes well-formed JUnit XML naming the failing test and its assertion", async () => {
      const xml = await readFile(outcome.files.junit ?? "", "utf8");
      expect(XMLValidator.validate(xml)).toBe(true);
      const parsed = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: "" }).parse(xml);
      const suite = parsed.testsuites.testsuite;
      expect(parsed.testsuites).toMatchObject({ tests: "3", failures: "1", skipped: "1" });
      expect(suite.name).toBe("suite/arithmetic.fixture.ts");
      const cases = suite.testcase as Array<Record<string, unknown>>;
      const failing = cases.find((c) => c.name === "arithmetic > fails on purpose <&>");
      expect(failing?.failure).toMatchObject({ type: "AssertionError" });
      expect(String((failing?.failure as Record<string, unknown>).message)).toContain("expected 4 to be 5");
      expect(cases.find((c) => c.name === "arithmetic > is skipped")).toHaveProperty("skipped");
    });

    it("appends a Markdown summary to GITHUB_STEP_SUMMARY and writes it to the report folder", async () => {
      const summary = await readFile(stepSummary, "utf8");
      expect(summary.startsWith("# earlier step\n")).toBe(true);
      expect(summary).toContain("unit tests: failed");
      expect(summary).toContain("| 1 | 1 | 1 |");
      expect(summary).toMatch(
        /`suite\/arithmetic\.fixture\.ts:\d+` — arithmetic > fails on purpose \\<&>: expected 4 to be 5/,
      );
      expect(await readFile(outcome.files.summary ?? "", "utf8")).toBe(
        summary.slice("# earlier step\n".length, -1),
      );
    });

    it("sends one test_results notification with the counts", () => {
      expect(sent).toEqual([
        expect.objectContaining({
          type: "test_results",
          environment: "dev",
          passed: 1,
          failed: 1,
          skipped: 1,
          failedTests: outcome.result.failedTests,
        }),
      ]);
    });

    it("leaves process.exitCode as it found it", () => {
      expect(process.exitCode).toBeFalsy();
    });
  });

  describe("TestOrchestrator.dirsFor", () => {
    it("maps suites to the folders that exist", () => {
      const orchestrator = new TestOrchestrator({ root: resolve(import.meta.dirname, "../../..") });
      expect(orchestrator.dirsFor("unit")).toEqual(["tests/unit"]);
      expect(orchestrator.dirsFor("integration")).toContain("tests/integration");
      expect(orchestrator.dirsFor("all")).toEqual(
        expect.arrayContaining(["tests/unit", "tests/integration"]),
      );
    });

    it("reports a suite with no folders as skipped without running Vitest", async () => {
      const orchestrator = new TestOrchestrator({
        root: FIXTURE,
        suites: { security: ["does-not-exist"] },
        env: {},
      });
      const { result } = await orchestrator.run("security");
      expect(result).toMatchObject({ testType: "security", status: "skipped", passed: 0, failed: 0 });
    });
  });
});
