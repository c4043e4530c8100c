/**
 * Retries with exponential backoff and full jitter, honouring a server's Retry-After. Sleep and the
 * random source are injectable so tests record the waits instead of waiting.
 */
export type Sleep = (ms: number) => Promise<void>;

export interface RetryPolicy {
  /** Retries after the first attempt (so attempts = retries + 1). */
  retries: number;
  /** The first backoff ceiling; doubles on each retry. */
  baseDelayMs: number;
  /** The backoff ceiling never exceeds this. */
  maxDelayMs: number;
  /** A Retry-After longer than this is not waited for: the send fails and says so. */
  maxRetryAfterMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  retries: 3,
  baseDelayMs: 500,
  maxDelayMs: 8_000,
  maxRetryAfterMs: 60_000,
};

export interface RetryDecision {
  retryable: boolean;
  /** What the server asked for (Retry-After), in milliseconds. */
  retryAfterMs?: number;
}

export interface RetryOptions {
  policy?: RetryPolicy;
  sleep?: Sleep;
  /** Returns [0, 1); Math.random by default. */
  random?: () => number;
  /** Called before each wait, e.g. to log it. */
  onRetry?: (info: { attempt: number; delayMs: number; error: unknown }) => void;
}

export type RetryOutcome<T> =
  | { ok: true; value: T; attempts: number }
  | { ok: false; error: unknown; attempts: number; gaveUpReason?: string };

export const realSleep: Sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs `attempt` until it succeeds, a failure is not retryable, or the retries run out. Never throws. */
export async function withRetry<T>(
  attempt: (attemptNumber: number) => Promise<T>,
  classify: (error: unknown) => RetryDecision,
  options: RetryOptions = {},
): Promise<RetryOutcome<T>> {
  const policy = options.policy ?? DEFAULT_RETRY_POLICY;
  const sleep = options.sleep ?? realSleep;
  const random = options.random ?? Math.random;
  for (let attemptNumber = 1; ; attemptNumber += 1) {
    try {
      return { ok: true, value: await attempt(attemptNumber), attempts: attemptNumber };
    } catch (error) {
      const decision = classify(error);
      if (!decision.retryable || attemptNumber > policy.retries) {
        return { ok: false, error, attempts: attemptNumber };
      }
      if (decision.retryAfterMs !== undefined && decision.retryAfterMs > policy.maxRetryAfterMs) {
        return {
          ok: false,
          error,
          attempts: attemptNumber,
          gaveUpReason: `the server asked to retry after ${Math.ceil(decision.retryAfterMs / 1000)}s, longer than the ${Math.ceil(policy.maxRetryAfterMs / 1000)}s limit`,
        };
      }
      const delayMs = backoffDelay(attemptNumber, policy, random, decision.retryAfterMs);
      options.onRetry?.({ attempt: attemptNumber, delayMs, error });
      await sleep(delayMs);
    }
  }
}

/**
 * The wait before retry number `attemptNumber`: full jitter over min(max, base·2^(n-1)), and never
 * less than the server's Retry-After when it gave one.
 */
export function backoffDelay(
  attemptNumber: number,
  policy: RetryPolicy,
  random: () => number,
  retryAfterMs?: number,
): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attemptNumber - 1));
  const jittered = Math.round(random() * ceiling);
  return retryAfterMs === undefined ? jittered : Math.max(retryAfterMs, jittered);
}

/** Retry-After as delta-seconds or an HTTP date (RFC 9110 §10.2.3), in ms; undefined when absent/invalid. */
export function parseRetryAfter(
  value: string | null | undefined,
  now: number = Date.now(),
): number | undefined {
  if (value === null || value === undefined || value.trim() === "") return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}
