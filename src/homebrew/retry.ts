import { setTimeout as delay } from "node:timers/promises";
import { UpstreamError } from "./errors.ts";

/**
 * Retries with exponential backoff and full jitter (AWS Architecture Blog, "Exponential Backoff And
 * Jitter"): the n-th wait is uniform in [0, min(maxMs, baseMs · 2ⁿ)], and never shorter than the
 * server's `Retry-After` (UpstreamError.retryAfterMs). Sleep and randomness are injectable so tests
 * run with fake time.
 */
export interface RetryOptions {
  /** Retries after the first attempt (total attempts = retries + 1). Default 4. */
  retries?: number;
  /** First backoff ceiling in ms. Default 500. */
  baseMs?: number;
  /** Largest backoff ceiling in ms. Default 30 000. */
  maxMs?: number;
  /** A server's Retry-After longer than this is capped to it. Default 300 000 (5 min). */
  maxRetryAfterMs?: number;
  /** Called before each wait. */
  onRetry?: (info: RetryInfo) => void;
  /** Default: timers/promises setTimeout. */
  sleep?: (ms: number) => Promise<void>;
  /** Uniform in [0, 1). Default Math.random. */
  random?: () => number;
  /** Which errors are worth another attempt. Default: isTransientError. */
  isRetryable?: (error: unknown) => boolean;
  /** Stops retrying (rethrows the last error) once aborted. */
  signal?: AbortSignal;
}

export interface RetryInfo {
  /** The attempt that failed, from 1. */
  attempt: number;
  /** How long we wait before the next attempt. */
  delayMs: number;
  error: unknown;
}

export const DEFAULT_RETRY = { retries: 4, baseMs: 500, maxMs: 30_000, maxRetryAfterMs: 300_000 } as const;

export async function withRetry<T>(
  fn: (attempt: number) => Promise<T>,
  options: RetryOptions = {},
): Promise<T> {
  const retries = options.retries ?? DEFAULT_RETRY.retries;
  const baseMs = options.baseMs ?? DEFAULT_RETRY.baseMs;
  const maxMs = options.maxMs ?? DEFAULT_RETRY.maxMs;
  const maxRetryAfterMs = options.maxRetryAfterMs ?? DEFAULT_RETRY.maxRetryAfterMs;
  const sleep = options.sleep ?? ((ms: number) => delay(ms).then(() => undefined));
  const random = options.random ?? Math.random;
  const isRetryable = options.isRetryable ?? isTransientError;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (error) {
      if (attempt > retries || !isRetryable(error) || options.signal?.aborted) throw error;
      const ceiling = Math.min(maxMs, baseMs * 2 ** (attempt - 1));
      let delayMs = Math.floor(random() * ceiling);
      const retryAfterMs = retryAfterOf(error);
      if (retryAfterMs !== undefined) delayMs = Math.max(delayMs, Math.min(retryAfterMs, maxRetryAfterMs));
      options.onRetry?.({ attempt, delayMs, error });
      await sleep(delayMs);
    }
  }
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

function retryAfterOf(error: unknown): number | undefined {
  return error instanceof UpstreamError ? error.retryAfterMs : undefined;
}

/** `Retry-After` as delay-seconds or an HTTP-date, in ms from `now`; undefined when absent or invalid. */
export function parseRetryAfter(
  header: string | null | undefined,
  now: number = Date.now(),
): number | undefined {
  if (header === null || header === undefined) return undefined;
  const value = header.trim();
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const date = Date.parse(value);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}
