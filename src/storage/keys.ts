/**
 * Key rules shared by every backend. A key is a relative, `/`-separated path: no leading `/`, no empty,
 * `.` or `..` segment, no control character (incl. NUL), no backslash, at most 1024 bytes of UTF-8
 * (S3's limit). The top-level segment `.tmp` is reserved for in-flight uploads. Backends call
 * `assertValidKey` before touching anything, so a hostile name can never address outside the store.
 */
import { InvalidKeyError } from "./errors.ts";

export const MAX_KEY_BYTES = 1024;
/** Reserved top-level folder for in-flight writes (`<root>/.tmp/`, `s3://bucket/<prefix>.tmp/`). */
export const TEMP_DIR = ".tmp";

const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;

function problem(text: string, allowTrailingSlash: boolean): string | undefined {
  if (CONTROL_CHARS.test(text)) return "contains a control character";
  if (text.includes("\\")) return "contains a backslash";
  if (text.startsWith("/")) return "is absolute";
  // A UTF-16 unit is at most 3 bytes of UTF-8: only a long key needs counting.
  if (text.length * 3 > MAX_KEY_BYTES && Buffer.byteLength(text, "utf8") > MAX_KEY_BYTES)
    return `is longer than ${MAX_KEY_BYTES} bytes`;
  // The segments, without splitting (the store checks every recorded key on each run).
  const end = allowTrailingSlash && text.length > 1 && text.endsWith("/") ? text.length - 1 : text.length;
  for (let start = 0; ; ) {
    const slash = text.indexOf("/", start);
    const stop = slash < 0 || slash >= end ? end : slash;
    if (stop === start) return "has an empty segment";
    if (stop - start <= 2) {
      const segment = text.slice(start, stop);
      if (segment === "." || segment === "..") return `has a "${segment}" segment`;
    }
    if (stop === end) break;
    start = stop + 1;
  }
  if (text === TEMP_DIR || text.startsWith(`${TEMP_DIR}/`)) return `uses the reserved folder ${TEMP_DIR}/`;
  return undefined;
}

/** Throws InvalidKeyError unless `key` is a safe object key. */
export function assertValidKey(key: string): void {
  if (typeof key !== "string" || key === "") throw new InvalidKeyError(String(key), "is empty");
  const reason = problem(key, false);
  if (reason !== undefined) throw new InvalidKeyError(key, reason);
}

/**
 * Throws InvalidKeyError unless `prefix` is a safe list prefix: `""`, or a key prefix such as `bottles/`
 * or `bottles/open` (a trailing `/` is allowed; the rest follows the key rules).
 */
export function assertValidPrefix(prefix: string): void {
  if (prefix === "") return;
  const reason = problem(prefix, true);
  if (reason !== undefined) throw new InvalidKeyError(prefix, reason);
}

export function isValidKey(key: string): boolean {
  return typeof key === "string" && key !== "" && problem(key, false) === undefined;
}

/** Byte-wise UTF-8 order: the order S3 lists keys in, and the order every backend's `list` uses. */
export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}
