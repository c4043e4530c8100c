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
