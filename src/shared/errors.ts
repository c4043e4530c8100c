/**
 * The base of every expected error in hbsync. Each area defines its own subclasses in its own
 * `errors.ts` (ConfigError, MirrorError, …); the CLI funnel maps `kind` to an exit code.
 * An error that is not an HbsyncError is a bug, and the funnel says so.
 */
export type ErrorKind =
  /** a command failed, or found problems (exit 1) */
  | "failed"
  /** bad command-line usage or an invalid configuration (exit 2) */
  | "usage"
  /** a cost estimate exceeds the environment's budget (exit 3) */
  | "budget"
  /** another run holds the lock; try again later (exit 75, EX_TEMPFAIL) */
  | "locked";

export interface HbsyncErrorOptions {
  /** What the user can do about it. Printed after the message. */
  fix?: string;
  cause?: unknown;
  kind?: ErrorKind;
}

export class HbsyncError extends Error {
  readonly fix: string | undefined;
  readonly kind: ErrorKind;

  constructor(message: string, options: HbsyncErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "HbsyncError";
    this.fix = options.fix;
    this.kind = options.kind ?? "failed";
  }
}

/** Bad flags or arguments. */
export class UsageError extends HbsyncError {
  constructor(message: string, options: Omit<HbsyncErrorOptions, "kind"> = {}) {
    super(message, { ...options, kind: "usage" });
    this.name = "UsageError";
  }
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The first line of an error's message, for a one-line report (never a stack trace). */
export function oneLine(error: unknown): string {
  const message = errorMessage(error).split("\n")[0]?.trim() ?? "";
  const name = error instanceof Error && error.name !== "Error" ? `${error.name}: ` : "";
  return `${name}${message || "(no message)"}`;
}

/**
 * An error nobody awaited (an 'error' event without a listener, a throw in a timer, a rejected promise
 * left alone), caught by the process guard (src/shared/process-guard.ts). It is a bug in hbsync; the
 * run it interrupts ends as failed.
 */
export class UnexpectedError extends HbsyncError {
  constructor(cause: unknown) {
    super(`an unexpected error outside the run: ${oneLine(cause)}`, {
      cause,
      fix: "this is a bug in hbsync: the run stopped as failed (completed bottles are kept); re-run, and report it (HBSYNC_DEBUG=1 prints the stack)",
    });
    this.name = "UnexpectedError";
  }
}
