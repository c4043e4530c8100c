/** The user's TestResult model, plus the per-test detail the JUnit and Markdown reports need. */

export const TEST_TYPES = ["unit", "integration", "security", "all"] as const;
export type TestType = (typeof TEST_TYPES)[number];

export type TestStatus = "passed" | "failed" | "skipped" | "error";

export interface TestResult {
  testType: TestType;
  /** passed: all ran tests passed; failed: a test failed; skipped: nothing to run; error: the run broke. */
  status: TestStatus;
  /** Seconds. */
  duration: number;
  /** Line coverage in percent, when the run collected coverage. */
  coverage: number | null;
  /** Full names (`file > describe > it`) of the failed tests. */
  failedTests: string[];
  passed: number;
  failed: number;
  skipped: number;
}

export interface TestCaseReport {
  /** `describe > it`. */
  name: string;
  state: "passed" | "failed" | "skipped";
  /** Milliseconds. */
  durationMs: number;
  /** Line of the test in its file, when known. */
  line?: number;
  errors: Array<{ name: string; message: string; stack?: string }>;
}

export interface TestModuleReport {
  /** Path relative to the run's root. */
  file: string;
  durationMs: number;
  cases: TestCaseReport[];
  /** An error that stopped the file from loading/running (no cases then). */
  error?: string;
}

export interface TestRunReport {
  result: TestResult;
  modules: TestModuleReport[];
  /** Errors outside any test (unhandled rejections, config errors). */
  runErrors: string[];
  startedAt: string;
}
