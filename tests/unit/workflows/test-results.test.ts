import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  renderSummary,
  summariseDirectory,
  summariseJUnit,
} from "../../../.github/actions/test-results/summarise.ts";
import { parseEvent } from "../../../src/notify/events.ts";

// Written by Vitest 4.1.12's junit reporter for a file with one passing, one failing, one skipped test
// (`npx vitest run --reporter=junit`), trimmed of the failure's stack.
const VITEST_JUNIT = `<?xml version="1.0" encoding="UTF-8" ?>
<testsuites name="vitest tests" tests="3" failures="1" errors="0" time="0.011813566">
    <testsuite name="tests/a.test.ts" timestamp="2026-11-27T16:44:32.474Z" hostname="vm" tests="3" failures="1" errors="0" skipped="1" time="1.25">
        <testcase classname="tests/a.test.ts" name="math &gt; adds" time="0.002103883">
        </testcase>
        <testcase classname="tests/a.test.ts" name="math &gt; fails &lt;here&gt; &amp; there" time="0.007977484">
            <failure message="expected 2 to be 3 // Object.is equality" type="AssertionError">
AssertionError: expected 2 to be 3 // Object.is equality
            </failure>
        </testcase>
        <testcase classname="tests/a.test.ts" name="math &gt; skipped one" time="0">
            <skipped/>
        </testcase>
    </testsuite>
</testsuites>
`;

const ONE_SUITE = `<testsuite name="s" tests="2" time="0.5"><testcase classname="c" name="ok"/><testcase classname="c" name="boom"><error message="x"/></testcase></testsuite>`;

describe("test-results summarise", () => {
  describe("summariseJUnit", () => {
    it("counts passed, failed and skipped cases and names the failures", () => {
      expect(summariseJUnit([VITEST_JUNIT])).toEqual({
        passed: 1,
        failed: 1,
        skipped: 1,
        failedTests: ["tests/a.test.ts › math > fails <here> & there"],
        durationSeconds: 1.3,
      });
    });

    it("adds up several reports, including a bare <testsuite> root and <error> cases", () => {
      const result = summariseJUnit([VITEST_JUNIT, ONE_SUITE]);
      expect(result).toMatchObject({ passed: 2, failed: 2, skipped: 1, durationSeconds: 1.8 });
      expect(result.failedTests).toContain("c › boom");
    });

    it("produces data the test-results notification accepts", () => {
      expect(() =>
        parseEvent("test_results", { ...summariseJUnit([VITEST_JUNIT]), environment: "dev" }),
      ).not.toThrow();
    });
  });

  describe("renderSummary", () => {
    it("escapes test names for the job summary", () => {
      const markdown = renderSummary(summariseJUnit([VITEST_JUNIT]));
      expect(markdown).toContain("### Tests: FAILED — 1/2 passed");
      expect(markdown).toContain("- tests/a.test.ts › math &gt; fails &lt;here&gt; &amp; there");
    });
  });

  describe("summariseDirectory", () => {
    let dir: string;
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), "hbsync-junit-"));
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    it("reads every report under the directory and the line coverage", async () => {
      mkdirSync(join(dir, "test-reports-unit"));
      mkdirSync(join(dir, "test-reports-security"));
      writeFileSync(join(dir, "test-reports-unit", "junit.xml"), VITEST_JUNIT);
      writeFileSync(join(dir, "test-reports-security", "junit.xml"), ONE_SUITE);
      writeFileSync(
        join(dir, "test-reports-unit", "coverage-summary.json"),
        JSON.stringify({ total: { lines: { pct: 87.5 } } }),
      );
      const data = await summariseDirectory(dir);
      expect(data).toMatchObject({ passed: 2, failed: 2, skipped: 1, coverage: 87.5 });
    });
  });
});
