import { errorMessage, HbsyncError, type HbsyncErrorOptions } from "../shared/errors.ts";

/** Base of the status page's errors. */
export class StatusError extends HbsyncError {
  constructor(message: string, options: HbsyncErrorOptions = {}) {
    super(message, options);
    this.name = "StatusError";
  }
}

/** The static status files could not be written. */
export class StatusPublishError extends StatusError {
  readonly target: string;

  constructor(target: string, cause: unknown) {
    super(`cannot write the status page to ${target}: ${errorMessage(cause)}`, {
      cause,
      fix: "check that --out names a folder (or s3://bucket/prefix) you may write to",
    });
    this.name = "StatusPublishError";
    this.target = target;
  }
}
