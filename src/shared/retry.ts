import { setTimeout as delay } from "node:timers/promises";

/**
 * Retries with exponential backoff and full jitter (AWS Architecture Blog, "Exponential Backoff And
 * Jitter"): the wait after attempt n is uniform in [0, min(maxMs, baseMs · 2ⁿ⁻¹)), and never shorter
 * than the server's Retry-After. Each area supplies its own policy (which errors are worth another
 * attempt, where a Retry-After comes from); sleep and randomness are injectable for tests.
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
  /** Which errors are worth another attempt. Default: every error. */
  isRetryable?: (error: unknown) => boolean;
  /** The wait a failure asks for (an HTTP Retry-After), in ms. */
  retryAfterMs?: (error: unknown) => number | undefined;
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

/** Runs `fn` until it succeeds, a failure is not retryable, or the retries run out (then rethrows). */
export async function withRetry<T>(
  fn: (attempt: number) => Promise<T>,
  options: RetryOptions = {},
): Promise<T> {
  const retries = options.retries ?? DEFAULT_RETRY.retries;
  const backoff = {
    baseMs: options.baseMs ?? DEFAULT_RETRY.baseMs,
    maxMs: options.maxMs ?? DEFAULT_RETRY.maxMs,
  };
  const maxRetryAfterMs = options.maxRetryAfterMs ?? DEFAULT_RETRY.maxRetryAfterMs;
  const sleep = options.sleep ?? ((ms: number) => delay(ms).then(() => undefined));
  const random = options.random ?? Math.random;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (error) {
      if (attempt > retries || options.signal?.aborted) throw error;
      if (options.isRetryable && !options.isRetryable(error)) throw error;
      const retryAfterMs = options.retryAfterMs?.(error);
      const delayMs = backoffDelay(
        attempt,
        backoff,
        random,
        retryAfterMs === undefined ? undefined : Math.min(retryAfterMs, maxRetryAfterMs),
      );
      options.onRetry?.({ attempt, delayMs, error });
      await sleep(delayMs);
    }
  }
}

/** The wait after attempt `attempt`: full jitter over the doubling ceiling, at least `retryAfterMs`. */
export function backoffDelay(
  attempt: number,
  backoff: { baseMs: number; maxMs: number },
  random: () => number,
  retryAfterMs?: number,
): number {
  const ceiling = Math.min(backoff.maxMs, backoff.baseMs * 2 ** (attempt - 1));
  const jittered = Math.floor(random() * ceiling);
  return retryAfterMs === undefined ? jittered : Math.max(retryAfterMs, jittered);
}

/** `Retry-After` as delay-seconds or an HTTP-date (RFC 9110 §10.2.3), in ms from `now`; undefined when absent or invalid. */
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
