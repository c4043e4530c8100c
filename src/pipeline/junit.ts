/**
 * JUnit XML (the de-facto schema CI systems read: testsuites › testsuite › testcase with failure /
 * skipped children) and the Markdown summary for $GITHUB_STEP_SUMMARY. Pure string builders.
 * Characters XML 1.0 forbids (ANSI escapes in assertion diffs, NUL) are dropped, the rest escaped.
 */
import type { TestModuleReport, TestRunReport } from "./test-result.ts";

const INVALID_XML = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g;
const ANSI = /\u001b\[[0-9;]*[A-Za-z]/g;

export function escapeXml(value: string): string {
  return value
    .replace(ANSI, "")
    .replace(INVALID_XML, "")
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&apos;");
}

function seconds(ms: number): string {
  return (Math.max(0, ms) / 1000).toFixed(3);
}

function moduleXml(module: TestModuleReport, timestamp: string): string[] {
  const failures = module.cases.filter((c) => c.state === "failed").length + (module.error ? 1 : 0);
  const skipped = module.cases.filter((c) => c.state === "skipped").length;
  const tests = module.cases.length + (module.error ? 1 : 0);
  const name = escapeXml(module.file);
  const lines = [
    `  <testsuite name="${name}" tests="${tests}" failures="${failures}" errors="0" skipped="${skipped}" time="${seconds(module.durationMs)}" timestamp="${escapeXml(timestamp)}">`,
  ];
  for (const testCase of module.cases) {
    const open = `    <testcase classname="${name}" name="${escapeXml(testCase.name)}" time="${seconds(testCase.durationMs)}"`;
    if (testCase.state === "passed") {
      lines.push(`${open}/>`);
    } else if (testCase.state === "skipped") {
      lines.push(`${open}>`, "      <skipped/>", "    </testcase>");
    } else {
      lines.push(`${open}>`);
      const errors = testCase.errors.length > 0 ? testCase.errors : [{ name: "Error", message: "failed" }];
      for (const error of errors) {
        const body = escapeXml(error.stack ?? error.message);
        lines.push(
          `      <failure message="${escapeXml(error.message.split("\n")[0] ?? "")}" type="${escapeXml(error.name)}">${body}</failure>`,
        );
      }
      lines.push("    </testcase>");
    }
  }
  if (module.error) {
    lines.push(
      `    <testcase classname="${name}" name="(file failed to run)" time="0.000">`,
      `      <failure message="${escapeXml(module.error.split("\n")[0] ?? "")}" type="Error">${escapeXml(module.error)}</failure>`,
      "    </testcase>",
    );
  }
  lines.push("  </testsuite>");
  return lines;
}

export function renderJunit(report: TestRunReport): string {
  const { result } = report;
  const tests = report.modules.reduce((sum, m) => sum + m.cases.length + (m.error ? 1 : 0), 0);
  const failures = report.modules.reduce(
    (sum, m) => sum + m.cases.filter((c) => c.state === "failed").length + (m.error ? 1 : 0),
    0,
  );
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="hbsync ${escapeXml(result.testType)} tests" tests="${tests}" failures="${failures}" errors="${report.runErrors.length}" skipped="${result.skipped}" time="${result.duration.toFixed(3)}">`,
    ...report.modules.flatMap((module) => moduleXml(module, report.startedAt)),
    "</testsuites>",
  ];
  return `${lines.join("\n")}\n`;
}

const STATUS_ICON = { passed: "✅", failed: "❌", skipped: "⏭️", error: "💥" } as const;

/** A Markdown section for the job summary. */
export function renderMarkdownSummary(report: TestRunReport): string {
  const { result } = report;
  const lines = [
    `### ${STATUS_ICON[result.status]} ${result.testType} tests: ${result.status}`,
    "",
    "| Passed | Failed | Skipped | Duration | Coverage |",
    "| ---: | ---: | ---: | ---: | ---: |",
    `| ${result.passed} | ${result.failed} | ${result.skipped} | ${result.duration.toFixed(1)} s | ${result.coverage === null ? "—" : `${result.coverage.toFixed(1)} %`} |`,
  ];
  const failed = report.modules.flatMap((module) =>
    module.cases
      .filter((c) => c.state === "failed")
      .map((c) => ({
        file: module.file,
        name: c.name,
        line: c.line,
        message: c.errors[0]?.message ?? "failed",
      })),
  );
  if (failed.length > 0) {
    lines.push("", "**Failed tests**", "");
    for (const test of failed) {
      const where = test.line ? `${test.file}:${test.line}` : test.file;
      lines.push(`- \`${where}\` — ${markdownText(test.name)}: ${markdownText(firstLine(test.message))}`);
    }
  }
  const broken = report.modules.filter((module) => module.error);
  const errors = [
    ...broken.map((m) => `${m.file}: ${firstLine(m.error ?? "")}`),
    ...report.runErrors.map(firstLine),
  ];
  if (errors.length > 0) {
    lines.push("", "**Errors outside tests**", "", ...errors.map((e) => `- ${markdownText(e)}`));
  }
  return `${lines.join("\n")}\n`;
}

function firstLine(text: string): string {
  return (text.replace(ANSI, "").replace(INVALID_XML, "").split("\n")[0] ?? "").slice(0, 300);
}

function markdownText(text: string): string {
  return text.replace(/[|<]/g, (c) => `\\${c}`);
}
