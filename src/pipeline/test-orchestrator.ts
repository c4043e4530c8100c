/**
 * TestOrchestrator (the user's name): runs a suite through Vitest's Node API (`startVitest`, v4),
 * collects a TestResult with a reporter of its own (onTestRunEnd/onCoverage), writes JUnit XML and a
 * Markdown summary (appended to $GITHUB_STEP_SUMMARY when set), and can notify.
 *
 * Suites are folders: unit → tests/unit; integration → tests/integration + tests/e2e; security →
 * tests/security; all → every one of them. Folders that do not exist are left out; a suite with none
 * is `skipped`.
 */
import { existsSync } from "node:fs";
import { appendFile, mkdir, writeFile } from "node:fs/promises";
import { join, relative, resolve } from "node:path";
import { Writable } from "node:stream";
import { errorMessage } from "../shared/errors.ts";
import type { Notifier } from "./error-handler.ts";
import { PipelineError } from "./errors.ts";
import { renderJunit, renderMarkdownSummary } from "./junit.ts";
import {
  TEST_TYPES,
  type TestCaseReport,
  type TestModuleReport,
  type TestResult,
  type TestRunReport,
  type TestType,
} from "./test-result.ts";

export const SUITE_DIRS: Record<Exclude<TestType, "all">, string[]> = {
  unit: ["tests/unit"],
  integration: ["tests/integration", "tests/e2e"],
  security: ["tests/security"],
};

export interface TestOrchestratorOptions {
  /** The project root Vitest runs in (default process.cwd()). */
  root?: string;
  /** A Vitest config file (default: Vitest's own lookup in root). */
  configFile?: string;
  /** Override the suite → folders mapping (tests use a fixture suite). */
  suites?: Partial<Record<Exclude<TestType, "all">, string[]>>;
  env?: NodeJS.ProcessEnv;
  notifier?: Notifier;
  /** Also print Vitest's default reporter output (the CLI on a terminal). */
  showProgress?: boolean;
}

export interface RunTestsOptions {
  /** Write junit-<type>.xml and summary-<type>.md here. */
  reportDir?: string;
  coverage?: boolean;
  notify?: boolean;
  /** Named in the notification. */
  environment?: string;
}

export interface TestRunOutcome {
  result: TestResult;
  report: TestRunReport;
  files: { junit?: string; summary?: string };
}

export function isTestType(value: string): value is TestType {
  return (TEST_TYPES as readonly string[]).includes(value);
}

export class TestOrchestrator {
  private readonly root: string;
  private readonly options: TestOrchestratorOptions;
  private readonly env: NodeJS.ProcessEnv;

  constructor(options: TestOrchestratorOptions = {}) {
    this.options = options;
    this.root = resolve(options.root ?? process.cwd());
    this.env = options.env ?? process.env;
  }

  /** The folders a suite runs, relative to root, that exist. */
  dirsFor(type: TestType): string[] {
    const suites = { ...SUITE_DIRS, ...(this.options.suites ?? {}) };
    const dirs = type === "all" ? [...suites.unit, ...suites.integration, ...suites.security] : suites[type];
    return dirs.filter((dir) => existsSync(resolve(this.root, dir)));
  }

  async run(type: TestType, options: RunTestsOptions = {}): Promise<TestRunOutcome> {
    if (!isTestType(type)) {
      throw new PipelineError("HBS-TST-003", `unknown test suite \`${String(type)}\``);
    }
    const startedAt = new Date();
    const dirs = this.dirsFor(type);
    const report =
      dirs.length === 0
        ? emptyReport(type, startedAt)
        : await this.runVitest(type, dirs, Boolean(options.coverage), startedAt, options.reportDir);
    const files = await this.writeReports(report, options.reportDir);
    if (options.notify && this.options.notifier) {
      const { result } = report;
      try {
        await this.options.notifier.send({
          type: "test_results",
          ...(options.environment ? { environment: options.environment } : {}),
          passed: result.passed,
          failed: result.failed,
          skipped: result.skipped,
          ...(result.coverage === null ? {} : { coverage: result.coverage }),
          failedTests: result.failedTests,
          durationSeconds: result.duration,
        });
      } catch {
        // Notification failures never fail a test run.
      }
    }
    return { result: report.result, report, files };
  }

  private async runVitest(
    type: TestType,
    dirs: string[],
    coverage: boolean,
    startedAt: Date,
    reportDir: string | undefined,
  ): Promise<TestRunReport> {
    const { startVitest } = await import("vitest/node");
    const collected: { modules: TestModuleReport[]; runErrors: string[]; coverage: number | null } = {
      modules: [],
      runErrors: [],
      coverage: null,
    };
    const root = this.root;
    const collector = {
      onTestRunEnd(
        testModules: ReadonlyArray<VitestModule>,
        unhandledErrors: ReadonlyArray<{ message: string; stack?: string }>,
      ): void {
        collected.modules = testModules.map((module) => moduleReport(module, root));
        collected.runErrors = unhandledErrors.map((error) => error.stack ?? error.message);
      },
      onCoverage(map: unknown): void {
        collected.coverage = linePercent(map);
      },
    };
    const quiet = new Writable({ write: (_chunk, _encoding, done) => done() });
    const exitCode = process.exitCode;
    let vitest: Awaited<ReturnType<typeof startVitest>> | undefined;
    try {
      vitest = await startVitest(
        "test",
        dirs,
        {
          root,
          run: true,
          watch: false,
          includeTaskLocation: true,
          ...(this.options.configFile ? { config: resolve(root, this.options.configFile) } : {}),
          reporters: this.options.showProgress ? ["default", collector] : [collector],
          coverage: {
            enabled: coverage,
            ...(coverage && reportDir ? { reportsDirectory: resolve(reportDir, `coverage-${type}`) } : {}),
          },
        },
        undefined,
        this.options.showProgress ? {} : { stdout: quiet, stderr: quiet },
      );
    } catch (error) {
      collected.runErrors.push(errorMessage(error));
    } finally {
      // startVitest sets process.exitCode on failures; the caller decides the exit code.
      process.exitCode = exitCode;
      await vitest?.close().catch(() => {});
    }
    const duration = (Date.now() - startedAt.getTime()) / 1000;
    return buildReport(type, startedAt, duration, collected.modules, collected.runErrors, collected.coverage);
  }

  private async writeReports(
    report: TestRunReport,
    reportDir: string | undefined,
  ): Promise<TestRunOutcome["files"]> {
    const files: TestRunOutcome["files"] = {};
    const summary = renderMarkdownSummary(report);
    if (reportDir) {
      const dir = resolve(this.root, reportDir);
      await mkdir(dir, { recursive: true });
      files.junit = join(dir, `junit-${report.result.testType}.xml`);
      files.summary = join(dir, `summary-${report.result.testType}.md`);
      await writeFile(files.junit, renderJunit(report), "utf8");
      await writeFile(files.summary, summary, "utf8");
    }
    const stepSummary = this.env.GITHUB_STEP_SUMMARY;
    if (stepSummary) await appendFile(stepSummary, `${summary}\n`, "utf8");
    return files;
  }
}

/** The parts of Vitest's reported TestModule/TestCase this file reads. */
interface VitestCase {
  fullName: string;
  name: string;
  location: { line: number; column: number } | undefined;
  result(): { state: string; errors?: ReadonlyArray<{ name?: string; message: string; stack?: string }> };
  diagnostic(): { duration: number } | undefined;
}
interface VitestModule {
  moduleId: string;
  children: { allTests(): Iterable<VitestCase> };
  errors(): ReadonlyArray<{ message: string; stack?: string }>;
  diagnostic(): { duration: number };
}

function moduleReport(module: VitestModule, root: string): TestModuleReport {
  const cases: TestCaseReport[] = [];
  for (const test of module.children.allTests()) {
    const result = test.result();
    const state = result.state === "passed" ? "passed" : result.state === "failed" ? "failed" : "skipped";
    cases.push({
      name: test.fullName,
      state,
      durationMs: test.diagnostic()?.duration ?? 0,
      ...(test.location ? { line: test.location.line } : {}),
      errors: (result.errors ?? []).map((error) => ({
        name: error.name ?? "Error",
        message: error.message,
        ...(error.stack ? { stack: error.stack } : {}),
      })),
    });
  }
  const errors = module.errors();
  return {
    file: relative(root, module.moduleId).split("\\").join("/"),
    durationMs: module.diagnostic().duration,
    cases,
    ...(errors.length > 0 ? { error: errors.map((e) => e.stack ?? e.message).join("\n") } : {}),
  };
}

function buildReport(
  type: TestType,
  startedAt: Date,
  duration: number,
  modules: TestModuleReport[],
  runErrors: string[],
  coverage: number | null,
): TestRunReport {
  const cases = modules.flatMap((module) => module.cases.map((c) => ({ module, c })));
  const passed = cases.filter(({ c }) => c.state === "passed").length;
  const failedCases = cases.filter(({ c }) => c.state === "failed");
  const skipped = cases.filter(({ c }) => c.state === "skipped").length;
  const broken = modules.filter((module) => module.error);
  const failedTests = [
    ...failedCases.map(({ module, c }) => `${module.file} > ${c.name}`),
    ...broken.map((module) => `${module.file} (failed to load)`),
  ];
  const status: TestResult["status"] =
    runErrors.length > 0 && cases.length === 0
      ? "error"
      : failedTests.length > 0 || runErrors.length > 0
        ? "failed"
        : cases.length === 0 || passed === 0
          ? "skipped"
          : "passed";
  return {
    result: {
      testType: type,
      status,
      duration: Math.round(duration * 1000) / 1000,
      coverage,
      failedTests,
      passed,
      failed: failedCases.length + broken.length,
      skipped,
    },
    modules,
    runErrors,
    startedAt: startedAt.toISOString(),
  };
}

function emptyReport(type: TestType, startedAt: Date): TestRunReport {
  return buildReport(type, startedAt, 0, [], [], null);
}

/** Line coverage from an istanbul CoverageMap (what onCoverage receives with the v8 provider). */
function linePercent(map: unknown): number | null {
  const summary = (
    map as { getCoverageSummary?: () => { lines?: { pct?: number | string } } } | null
  )?.getCoverageSummary?.();
  const pct = summary?.lines?.pct;
  const value = typeof pct === "number" ? pct : Number(pct);
  return Number.isFinite(value) ? Math.round(value * 100) / 100 : null;
}
