/**
 * Summarises the JUnit XML files of a test run (one per suite: unit, integration, security) into the data of
 * the `test-results` notification (src/notify/events.ts) and a Markdown table for the job summary.
 *
 *   npx tsx .github/actions/test-results/summarise.ts <reports dir> <data.json out> [summary.md out]
 *
 * Every *.xml under the directory is read; line coverage comes from the first coverage-summary.json found.
 */
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { XMLParser } from "fast-xml-parser";

export interface TestResultsData {
  passed: number;
  failed: number;
  skipped: number;
  failedTests: string[];
  durationSeconds: number;
  coverage?: number;
}

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: "",
  isArray: (name) => name === "testsuite" || name === "testcase",
});

type XmlNode = Record<string, unknown>;

function asNodes(value: unknown): XmlNode[] {
  return Array.isArray(value) ? (value as XmlNode[]) : [];
}

/** Counts the test cases of JUnit documents: failed (failure or error), skipped, passed. */
export function summariseJUnit(documents: readonly string[]): TestResultsData {
  const result: TestResultsData = { passed: 0, failed: 0, skipped: 0, failedTests: [], durationSeconds: 0 };
  for (const xml of documents) {
    const doc = parser.parse(xml) as XmlNode;
    const root = (doc.testsuites as XmlNode | undefined) ?? { testsuite: doc.testsuite };
    for (const suite of asNodes(root.testsuite)) {
      result.durationSeconds += Number(suite.time ?? 0) || 0;
      for (const testCase of asNodes(suite.testcase)) {
        if (testCase.failure !== undefined || testCase.error !== undefined) {
          result.failed += 1;
          result.failedTests.push(
            `${String(testCase.classname ?? suite.name ?? "")} › ${String(testCase.name)}`,
          );
        } else if (testCase.skipped !== undefined) {
          result.skipped += 1;
        } else {
          result.passed += 1;
        }
      }
    }
  }
  result.durationSeconds = Math.round(result.durationSeconds * 10) / 10;
  return result;
}

/** The job-summary table for a summary. */
export function renderSummary(data: TestResultsData): string {
  const total = data.passed + data.failed + data.skipped;
  const lines = [
    `### Tests: ${data.failed === 0 ? "passed" : "FAILED"} — ${data.passed}/${total - data.skipped} passed`,
    "",
    "| Passed | Failed | Skipped | Duration | Line coverage |",
    "|--:|--:|--:|--:|--:|",
    `| ${data.passed} | ${data.failed} | ${data.skipped} | ${data.durationSeconds} s | ${data.coverage === undefined ? "n/a" : `${data.coverage}%`} |`,
    "",
  ];
  if (data.failedTests.length > 0) {
    lines.push("Failed tests:", "", ...data.failedTests.map((name) => `- ${escapeMarkdown(name)}`), "");
  }
  return `${lines.join("\n")}\n`;
}

/** Test names may hold `<`, `>`, `&` (GitHub renders job summaries as HTML-capable Markdown). */
function escapeMarkdown(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;").replaceAll("\n", " ");
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath, entry.name));
}

/** Reads a reports directory: every JUnit *.xml, and line coverage from a coverage-summary.json. */
export async function summariseDirectory(dir: string): Promise<TestResultsData> {
  const files = (await filesUnder(dir)).sort();
  const xml = await Promise.all(files.filter((f) => f.endsWith(".xml")).map((f) => readFile(f, "utf8")));
  const data = summariseJUnit(xml);
  const coverageFile = files.find((f) => f.endsWith("coverage-summary.json"));
  if (coverageFile) {
    const summary = JSON.parse(await readFile(coverageFile, "utf8")) as {
      total?: { lines?: { pct?: unknown } };
    };
    const pct = summary.total?.lines?.pct;
    if (typeof pct === "number" && pct >= 0 && pct <= 100) data.coverage = pct;
  }
  return data;
}

async function main(argv: string[]): Promise<number> {
  const [dir, dataOut, summaryOut] = argv;
  if (!dir || !dataOut) {
    process.stderr.write("usage: summarise.ts <reports dir> <data.json out> [summary.md out]\n");
    return 2;
  }
  const data = await summariseDirectory(dir);
  await writeFile(dataOut, `${JSON.stringify(data)}\n`);
  if (summaryOut) await writeFile(summaryOut, renderSummary(data), { flag: "a" });
  process.stdout.write(`${data.passed} passed, ${data.failed} failed, ${data.skipped} skipped\n`);
  return 0;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  process.exitCode = await main(process.argv.slice(2));
}
