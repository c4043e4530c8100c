import { type RetryOptions, withRetry as retry } from "../shared/retry.ts";
import { UpstreamError } from "./errors.ts";

export { DEFAULT_RETRY, parseRetryAfter, type RetryInfo, type RetryOptions } from "../shared/retry.ts";

/**
 * The shared backoff (src/shared/retry.ts) with the upstream's policy: retry what isTransientError
 * says another attempt may fix, and wait at least an UpstreamError's Retry-After.
 */
export function withRetry<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions = {}): Promise<T> {
  return retry(fn, {
    isRetryable: isTransientError,
    retryAfterMs: (error) => (error instanceof UpstreamError ? error.retryAfterMs : undefined),
    ...options,
  });
}

const TRANSIENT_CODES = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "ECONNABORTED",
  "ETIMEDOUT",
  "EPIPE",
  "EAI_AGAIN",
  "ENETUNREACH",
  "EHOSTUNREACH",
  "UND_ERR_SOCKET",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
  "UND_ERR_CLOSED",
  "ERR_STREAM_PREMATURE_CLOSE",
]);

/**
 * True for failures another attempt may fix: UpstreamError marked retryable (5xx, 429, truncated
 * body), connection resets/timeouts (by `code`, anywhere in the cause chain), and fetch's own
 * "fetch failed"/"terminated" network errors. A user abort is never retried.
 */
export function isTransientError(error: unknown): boolean {
  if (error instanceof UpstreamError) return error.retryable;
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    if (current.name === "AbortError") return false;
    if (current.name === "TimeoutError") return true;
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string" && TRANSIENT_CODES.has(code)) return true;
    if (current instanceof TypeError && /^(fetch failed|terminated)$/.test(current.message)) return true;
    current = current.cause;
  }
  return false;
}
