import { XMLParser, XMLValidator } from "fast-xml-parser";
import { describe, expect, it } from "vitest";
import { escapeXml, renderJunit, renderMarkdownSummary } from "../../../src/pipeline/junit.ts";
import type { TestRunReport } from "../../../src/pipeline/test-result.ts";

function report(overrides: Partial<TestRunReport> = {}): TestRunReport {
  return {
    result: {
      testType: "unit",
      status: "failed",
      duration: 1.5,
      coverage: 81.25,
      failedTests: ["a.test.ts > b"],
      passed: 1,
      failed: 1,
      skipped: 0,
    },
    modules: [
      {
        file: "a.test.ts",
        durationMs: 12,
        cases: [
          { name: "ok", state: "passed", durationMs: 2, errors: [] },
          {
            name: 'b "quoted" <tag> & more',
            state: "failed",
            durationMs: 3,
            line: 7,
            errors: [
              {
                name: "AssertionError",
                message: "\u001b[31mexpected\u001b[39m 1\u0000 to be 2",
                stack: "at x <y>",
              },
            ],
          },
        ],
      },
      { file: "broken.test.ts", durationMs: 0, cases: [], error: "SyntaxError: Unexpected token <" },
    ],
    runErrors: [],
    startedAt: "2025-01-01T00:00:00.000Z",
    ...overrides,
  };
}

describe("junit", () => {
  describe("escapeXml", () => {
    it("escapes markup and drops ANSI colours and characters XML forbids", () => {
      expect(escapeXml("<a & 'b'>\u001b[31mred\u001b[0m\u0000\u0007")).toBe(
        "&lt;a &amp; &apos;b&apos;&gt;red",
      );
    });
  });

  describe("renderJunit", () => {
    it("produces well-formed XML with one testsuite per file and the failure's message", () => {
      const xml = renderJunit(report());
      expect(XMLValidator.validate(xml)).toBe(true);
      const parsed = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: "" }).parse(xml);
      expect(parsed.testsuites).toMatchObject({ tests: "3", failures: "2" });
      const [first, broken] = parsed.testsuites.testsuite;
      expect(first.testcase[1].name).toBe('b "quoted" <tag> & more');
      expect(first.testcase[1].failure.message).toBe("expected 1 to be 2");
      expect(broken.testcase.name).toBe("(file failed to run)");
    });
  });

  describe("renderMarkdownSummary", () => {
    it("shows the counts, coverage and each failure with file:line", () => {
      const md = renderMarkdownSummary(report());
      expect(md).toContain("| 1 | 1 | 0 | 1.5 s | 81.3 % |");
      expect(md).toContain('- `a.test.ts:7` — b "quoted" \\<tag> & more: expected 1 to be 2');
      expect(md).toContain("broken.test.ts: SyntaxError: Unexpected token \\<");
    });
  });
});
