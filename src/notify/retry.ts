import { withRetry as retry } from "../shared/retry.ts";

/**
 * Notification sends over the shared backoff (src/shared/retry.ts), with notify's own policy: a send
 * never throws (the outcome says what happened), and a Retry-After longer than the policy allows is
 * not waited for — the send gives up and says why, so a deploy is never held for an hour by Slack.
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

/** Runs `attempt` until it succeeds, a failure is not retryable, or the retries run out. Never throws. */
export async function withRetry<T>(
  attempt: (attemptNumber: number) => Promise<T>,
  classify: (error: unknown) => RetryDecision,
  options: RetryOptions = {},
): Promise<RetryOutcome<T>> {
  const policy = options.policy ?? DEFAULT_RETRY_POLICY;
  let attempts = 0;
  let gaveUpReason: string | undefined;
  try {
    const value = await retry(
      (attemptNumber) => {
        attempts = attemptNumber;
        return attempt(attemptNumber);
      },
      {
        retries: policy.retries,
        baseMs: policy.baseDelayMs,
        maxMs: policy.maxDelayMs,
        isRetryable: (error) => {
          const decision = classify(error);
          if (!decision.retryable) return false;
          if (decision.retryAfterMs !== undefined && decision.retryAfterMs > policy.maxRetryAfterMs) {
            gaveUpReason = `the server asked to retry after ${Math.ceil(decision.retryAfterMs / 1000)}s, longer than the ${Math.ceil(policy.maxRetryAfterMs / 1000)}s limit`;
            return false;
          }
          return true;
        },
        retryAfterMs: (error) => classify(error).retryAfterMs,
        ...(options.sleep ? { sleep: options.sleep } : {}),
        ...(options.random ? { random: options.random } : {}),
        ...(options.onRetry ? { onRetry: options.onRetry } : {}),
      },
    );
    return { ok: true, value, attempts };
  } catch (error) {
    return { ok: false, error, attempts, ...(gaveUpReason ? { gaveUpReason } : {}) };
  }
}
