import { HbsyncError, type HbsyncErrorOptions } from "../shared/errors.ts";

/** The base of every storage error; carries the key (or prefix) it concerns, when there is one. */
export class StorageError extends HbsyncError {
  readonly key: string | undefined;

  constructor(message: string, options: HbsyncErrorOptions & { key?: string } = {}) {
    super(message, options);
    this.name = "StorageError";
    this.key = options.key;
  }
}

/** A key that is not a safe relative `/`-separated path (see keys.ts). Nothing was touched. */
export class InvalidKeyError extends StorageError {
  readonly reason: string;

  constructor(key: string, reason: string) {
    super(`invalid storage key ${JSON.stringify(key)}: ${reason}`, {
      key,
      fix: "Keys are relative `/`-separated paths without empty, `.` or `..` segments, control characters or backslashes, at most 1024 bytes. If the key comes from an upstream index, the index is hostile or corrupt.",
    });
    this.name = "InvalidKeyError";
    this.reason = reason;
  }
}

/** `get` of an absent key. (`stat` returns null instead.) */
export class NotFoundError extends StorageError {
  constructor(key: string, location: string, options: { cause?: unknown } = {}) {
    super(`no object ${key} in ${location}`, { key, cause: options.cause });
    this.name = "NotFoundError";
  }
}

/** `get` with a range that starts at or past the end of the object (HTTP 416). */
export class RangeNotSatisfiableError extends StorageError {
  readonly size: number | undefined;

  constructor(key: string, range: { start: number; end?: number }, size?: number, cause?: unknown) {
    const wanted = `bytes=${range.start}-${range.end ?? ""}`;
    super(`range ${wanted} is not satisfiable for ${key}${size === undefined ? "" : ` (${size} bytes)`}`, {
      key,
      cause,
    });
    this.name = "RangeNotSatisfiableError";
    this.size = size;
  }
}

/**
 * The bytes received do not match the expected size or sha256. Nothing was stored; a previous object
 * under the key, if any, is untouched.
 */
export class IntegrityError extends StorageError {
  override readonly key: string;
  readonly field: "sha256" | "size";
  readonly expected: string;
  readonly actual: string;

  constructor(options: {
    key: string;
    field: "sha256" | "size";
    expected: string | number;
    actual: string | number;
  }) {
    const { key, field } = options;
    const expected = String(options.expected);
    const actual = String(options.actual);
    const message =
      field === "sha256"
        ? `corrupted on transfer: sha256 differs (expected ${expected}, got ${actual}) for ${key}`
        : `corrupted on transfer: size differs (expected ${expected} bytes, got ${actual}) for ${key}`;
    super(message, {
      key,
      fix: "Nothing was stored. Retry the transfer; if it keeps failing, the source serves bad bytes or the index is wrong.",
    });
    this.name = "IntegrityError";
    this.key = key;
    this.field = field;
    this.expected = expected;
    this.actual = actual;
  }
}

/** The errno codes of a full filesystem (ENOSPC) or an exhausted quota (EDQUOT), as Node raises them. */
const FULL_CODES = new Set(["ENOSPC", "EDQUOT"]);

/**
 * A write failed because the filesystem is full (ENOSPC) or the user's quota is used up (EDQUOT).
 * Nothing partial is visible under the key: the temp file is gone. Retrying does not help until space
 * is freed, so a sync stops starting transfers at the first one (src/mirror/execute.ts).
 */
export class StorageFullError extends StorageError {
  readonly location: string;
  readonly code: "ENOSPC" | "EDQUOT";

  constructor(location: string, code: "ENOSPC" | "EDQUOT", options: { key?: string; cause?: unknown } = {}) {
    const what = code === "EDQUOT" ? "disk quota exceeded" : "no space left";
    super(
      `${options.key === undefined ? "" : `cannot store ${options.key}: `}${what} on ${location} (${code})`,
      {
        ...options,
        fix: `free space on that filesystem${code === "EDQUOT" ? " (or raise the quota)" : ""}, or point --dest at one with room; a re-run keeps what is stored`,
      },
    );
    this.name = "StorageFullError";
    this.location = location;
    this.code = code;
  }
}

/**
 * `error` as a StorageFullError when it, or an error in its `cause` chain, is one or carries ENOSPC /
 * EDQUOT; otherwise undefined.
 */
export function storageFullIn(error: unknown, location: string, key?: string): StorageFullError | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 8 && current instanceof Error; depth++) {
    if (current instanceof StorageFullError) return current;
    const code = (current as NodeJS.ErrnoException).code;
    if (code !== undefined && FULL_CODES.has(code)) {
      return new StorageFullError(location, code as "ENOSPC" | "EDQUOT", {
        cause: current,
        ...(key === undefined ? {} : { key }),
      });
    }
    current = current.cause;
  }
  return undefined;
}
