import { HbsyncError, type HbsyncErrorOptions } from "../shared/errors.ts";

/** The base of every expected error in src/runtime (the AWS adapters). */
export class RuntimeError extends HbsyncError {
  constructor(message: string, options: HbsyncErrorOptions = {}) {
    super(message, options);
    this.name = "RuntimeError";
  }
}

/** A required environment variable is unset or empty: the function fails at init, naming it. */
export class MissingEnvError extends RuntimeError {
  readonly variable: string;

  constructor(variable: string) {
    super(`${variable} is required`, {
      kind: "usage",
      fix: `set ${variable} in the function's environment (Terraform sets it: infra/terraform/modules/homebrew-sync)`,
    });
    this.name = "MissingEnvError";
    this.variable = variable;
  }
}

/** An environment variable is set but unusable (not a number, not one of the allowed values, …). */
export class InvalidEnvError extends RuntimeError {
  readonly variable: string;

  constructor(variable: string, problem: string, fix?: string) {
    super(`${variable} ${problem}`, {
      kind: "usage",
      fix: fix ?? `correct ${variable} in the function's environment`,
    });
    this.name = "InvalidEnvError";
    this.variable = variable;
  }
}

/** Handing a run to the worker Lambda or to ECS failed (the AWS API refused or answered oddly). */
export class DispatchError extends RuntimeError {
  readonly runId: string;

  constructor(message: string, runId: string, options: HbsyncErrorOptions = {}) {
    super(message, options);
    this.name = "DispatchError";
    this.runId = runId;
  }
}

/** A worker event that is not `{runId, continuation}`. */
export class WorkerEventError extends RuntimeError {
  constructor(message: string) {
    super(message, {
      kind: "usage",
      fix: 'invoke the worker with {"runId": "<id of a plan under _sync/plans/>", "continuation": 0}',
    });
    this.name = "WorkerEventError";
  }
}
