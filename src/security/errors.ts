import { HbsyncError, type HbsyncErrorOptions } from "../shared/errors.ts";

/** The base of every expected error of the security scanner. */
export class SecurityError extends HbsyncError {
  constructor(message: string, options: HbsyncErrorOptions = {}) {
    super(message, options);
    this.name = "SecurityError";
  }
}

/** The scan root does not exist or is not a directory. */
export class ScanRootError extends SecurityError {
  readonly root: string;

  constructor(root: string, cause?: unknown) {
    super(`cannot scan ${root}: it is not a readable directory`, {
      kind: "usage",
      fix: "pass --path with an existing directory (default: the current directory)",
      cause,
    });
    this.name = "ScanRootError";
    this.root = root;
  }
}

/** `--history` was asked for, but the scan root is not inside a git work tree (or git failed). */
export class GitHistoryError extends SecurityError {
  readonly root: string;

  constructor(root: string, detail: string, cause?: unknown) {
    super(`cannot read the git history of ${root}: ${detail}`, {
      fix: "run the scan inside a git clone with its history (actions/checkout needs fetch-depth: 0), or drop --history",
      cause,
    });
    this.name = "GitHistoryError";
    this.root = root;
  }
}

/** The SARIF file could not be written. */
export class SarifWriteError extends SecurityError {
  readonly file: string;

  constructor(file: string, cause?: unknown) {
    super(`cannot write the SARIF report to ${file}`, {
      fix: "pass --sarif with a path in a writable directory",
      cause,
    });
    this.name = "SarifWriteError";
    this.file = file;
  }
}
