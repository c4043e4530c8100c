/**
 * PipelineErrorHandler (the user's name): turns failures into catalogue errors, prints their guidance
 * (and GitHub Actions annotations when GITHUB_ACTIONS=true), and acts on them: a failed deployment is
 * rolled back when possible and announced; failed critical tests block the deployment.
 * A notification failure never throws (NotificationManager guarantees it; this class also guards it).
 */
import { ConfigError, UnknownEnvironmentError } from "../config/errors.ts";
import type { NotifyEvent } from "../notify/events.ts";
import { errorMessage, HbsyncError } from "../shared/errors.ts";
import { type Annotation, annotationsEnabled, formatAnnotation } from "./annotations.ts";
import { DeploymentError, PipelineError, TestFailureError } from "./errors.ts";
import type { TestModuleReport, TestResult } from "./test-result.ts";

/** The one NotificationManager method used. */
export interface Notifier {
  send(event: NotifyEvent): Promise<unknown>;
}

/** What handleDeploymentError needs to roll back (RollbackManager fits). */
export interface RollbackCapability {
  canRollback(env: string): Promise<{ possible: boolean; reason: string; toVersion?: string }>;
  rollback(env: string, options: { actor?: string }): Promise<{ toVersion: string }>;
}

export interface PipelineErrorHandlerOptions {
  /** Where guidance and annotations go (a CLI's stderr). Default: nowhere. */
  print?: (line: string) => void;
  env?: NodeJS.ProcessEnv;
  notifier?: Notifier;
}

export interface DeploymentFailureContext {
  environment: string;
  version: string;
  actor?: string;
  durationSeconds?: number;
  /** Given when an automatic rollback is allowed. */
  rollback?: RollbackCapability;
  runUrl?: string;
}

export interface TestFailureOutcome {
  /** True when the deployment must not go ahead. */
  blocked: boolean;
  /** The error to throw when blocked (HBS-DEP-006), or to report when not (HBS-TST-001). */
  error: TestFailureError | undefined;
  lines: string[];
}

export class PipelineErrorHandler {
  private readonly print: (line: string) => void;
  private readonly env: NodeJS.ProcessEnv;
  private readonly notifier: Notifier | undefined;

  constructor(options: PipelineErrorHandlerOptions = {}) {
    this.print = options.print ?? (() => {});
    this.env = options.env ?? process.env;
    this.notifier = options.notifier;
  }

  /** Emits annotations for an error (in GitHub Actions); the CLI funnel prints message and fix. */
  report(error: unknown): void {
    if (!annotationsEnabled(this.env)) return;
    for (const annotation of annotationsFor(error)) this.print(formatAnnotation(annotation));
  }

  /** Maps a config problem to HBS-CFG-001/002, reports it, and returns the error to throw. */
  handleConfigurationError(error: unknown): HbsyncError {
    const mapped =
      error instanceof PipelineError
        ? error
        : error instanceof UnknownEnvironmentError
          ? new PipelineError("HBS-CFG-002", error.message, { cause: error, fix: error.fix })
          : error instanceof ConfigError
            ? error
            : new PipelineError("HBS-CFG-001", errorMessage(error), { cause: error });
    this.report(mapped);
    return mapped;
  }

  /**
   * A deployment failed: roll back when `context.rollback` says it can, notify, report. Returns the
   * DeploymentError to throw, with `rollback` describing what happened.
   */
  async handleDeploymentError(error: unknown, context: DeploymentFailureContext): Promise<DeploymentError> {
    const failure =
      error instanceof DeploymentError
        ? error
        : new DeploymentError(
            error instanceof PipelineError ? error.code : "HBS-DEP-001",
            context.environment,
            context.version,
            errorMessage(error).replace(/^HBS-[A-Z]+-\d+: /, ""),
            {
              cause: error,
              ...(error instanceof HbsyncError && error.fix ? { fix: error.fix } : {}),
              ...(error instanceof PipelineError ? { details: error.details } : {}),
            },
          );
    if (context.rollback) {
      const check = await context.rollback.canRollback(context.environment).catch((cause: unknown) => ({
        possible: false,
        reason: `could not check: ${errorMessage(cause)}`,
      }));
      if (check.possible) {
        this.print(
          `deployment of ${context.version} failed; rolling back ${context.environment}: ${check.reason}`,
        );
        try {
          const done = await context.rollback.rollback(context.environment, {
            ...(context.actor ? { actor: context.actor } : {}),
          });
          failure.rollback = { attempted: true, succeeded: true, toVersion: done.toVersion };
          this.print(`rolled back ${context.environment} to ${done.toVersion}`);
        } catch (rollbackError) {
          failure.rollback = { attempted: true, succeeded: false, error: errorMessage(rollbackError) };
          this.print(`rollback failed too (HBS-DEP-005): ${errorMessage(rollbackError)}`);
        }
      } else {
        failure.rollback = { attempted: false, succeeded: false, error: check.reason };
        this.print(`no automatic rollback: ${check.reason}`);
      }
    }
    await this.notify({
      type: "deployment_failure",
      environment: context.environment,
      version: context.version,
      error: describeFailure(failure),
      ...(context.durationSeconds === undefined ? {} : { durationSeconds: context.durationSeconds }),
      ...(context.actor ? { actor: context.actor } : {}),
      ...(context.runUrl ? { runUrl: context.runUrl } : {}),
    });
    this.report(failure);
    return failure;
  }

  /**
   * Failed tests: a report (lines, annotations per failed test) and, when critical, a blocking
   * HBS-DEP-006 error. Passing results return `blocked: false` and no error.
   */
  handleTestFailure(
    result: TestResult,
    options: { critical?: boolean; modules?: readonly TestModuleReport[] } = {},
  ): TestFailureOutcome {
    if (result.status !== "failed" && result.status !== "error") {
      return { blocked: false, error: undefined, lines: [] };
    }
    const critical = options.critical ?? true;
    const lines = [
      `${result.testType} tests: ${result.failed} failed, ${result.passed} passed, ${result.skipped} skipped`,
      ...result.failedTests.map((name) => `  ✗ ${name}`),
    ];
    const error = critical
      ? new TestFailureError(
          "HBS-DEP-006",
          `${result.failed} critical ${result.testType} test(s) failed: deployment blocked`,
          result.failedTests,
        )
      : new TestFailureError(
          result.status === "error" ? "HBS-TST-002" : "HBS-TST-001",
          `${result.failed} ${result.testType} test(s) failed`,
          result.failedTests,
        );
    if (critical) lines.push("deployment blocked (HBS-DEP-006): fix the failing tests first");
    for (const line of lines) this.print(line);
    if (annotationsEnabled(this.env)) {
      for (const module of options.modules ?? []) {
        for (const testCase of module.cases.filter((c) => c.state === "failed")) {
          this.print(
            formatAnnotation({
              level: "error",
              file: module.file,
              ...(testCase.line ? { line: testCase.line } : {}),
              title: `Test failed: ${testCase.name}`,
              message: testCase.errors.map((e) => e.message).join("\n") || "failed",
            }),
          );
        }
      }
      this.report(error);
    }
    return { blocked: critical, error, lines };
  }

  private async notify(event: NotifyEvent): Promise<void> {
    if (!this.notifier) return;
    try {
      await this.notifier.send(event);
    } catch (error) {
      this.print(`notification failed (ignored): ${errorMessage(error)}`);
    }
  }
}

export function describeFailure(error: DeploymentError): string {
  const rollback = error.rollback;
  const suffix = !rollback
    ? ""
    : rollback.succeeded
      ? ` — rolled back to ${rollback.toVersion}`
      : rollback.attempted
        ? ` — rollback failed: ${rollback.error}`
        : ` — not rolled back: ${rollback.error}`;
  return `${error.message}${suffix}`;
}

/** The annotations an error deserves: one per config diagnostic, else one for the error itself. */
export function annotationsFor(error: unknown): Annotation[] {
  if (error instanceof ConfigError && error.diagnostics.length > 0) {
    return error.diagnostics.map((d) => ({
      level: d.severity === "warning" ? "warning" : "error",
      file: d.file,
      line: d.line,
      col: d.col,
      title: error instanceof PipelineError ? error.code : "Invalid configuration (HBS-CFG-001)",
      message: d.fix ? `${d.message}\nfix: ${d.fix}` : d.message,
    }));
  }
  if (error instanceof PipelineError) {
    return [
      {
        level: "error",
        title: `${error.title} (${error.code})`,
        message: error.fix ? `${error.message}\nfix: ${error.fix}` : error.message,
        ...(error.file ? { file: error.file } : {}),
        ...(error.line ? { line: error.line } : {}),
        ...(error.col ? { col: error.col } : {}),
      },
    ];
  }
  if (error instanceof HbsyncError) {
    return [
      {
        level: "error",
        title: error.name,
        message: error.fix ? `${error.message}\nfix: ${error.fix}` : error.message,
      },
    ];
  }
  return [{ level: "error", title: "Unexpected error", message: errorMessage(error) }];
}
