import { describe, expect, it } from "vitest";
import {
  backoffDelay,
  DEFAULT_RETRY_POLICY,
  parseRetryAfter,
  type RetryPolicy,
  withRetry,
} from "../../../src/notify/retry.ts";

const policy: RetryPolicy = { retries: 3, baseDelayMs: 100, maxDelayMs: 1000, maxRetryAfterMs: 5000 };

function recordingSleep(): { waits: number[]; sleep: (ms: number) => Promise<void> } {
  const waits: number[] = [];
  return { waits, sleep: async (ms) => void waits.push(ms) };
}

describe("notify/retry", () => {
  describe("parseRetryAfter", () => {
    it("reads delta-seconds and HTTP dates", () => {
      const now = Date.parse("2025-01-06T03:00:00Z");
      expect(parseRetryAfter("7", now)).toBe(7000);
      expect(parseRetryAfter("Mon, 06 Jan 2025 03:00:30 GMT", now)).toBe(30_000);
    });

    it("returns undefined for absent or invalid values", () => {
      expect(parseRetryAfter(null)).toBeUndefined();
      expect(parseRetryAfter("soon")).toBeUndefined();
    });
  });

  describe("backoffDelay", () => {
    it("grows exponentially up to the cap, scaled by jitter", () => {
      expect([1, 2, 3, 4, 5].map((n) => backoffDelay(n, policy, () => 0.999999))).toEqual([
        100, 200, 400, 800, 1000,
      ]);
      expect(backoffDelay(3, policy, () => 0.5)).toBe(200);
    });

    it("never waits less than Retry-After", () => {
      expect(backoffDelay(1, policy, () => 0.5, 3000)).toBe(3000);
    });
  });

  describe("withRetry", () => {
    it("retries retryable failures and returns the value with the attempt count", async () => {
      const { waits, sleep } = recordingSleep();
      let calls = 0;
      const outcome = await withRetry(
        async () => {
          calls += 1;
          if (calls < 3) throw new Error("busy");
          return "done";
        },
        () => ({ retryable: true }),
        { policy, sleep, random: () => 0.5 },
      );
      expect(outcome).toEqual({ ok: true, value: "done", attempts: 3 });
      expect(waits).toEqual([50, 100]);
    });

    it("stops at the first non-retryable failure", async () => {
      const { waits, sleep } = recordingSleep();
      const outcome = await withRetry(
        async () => {
          throw new Error("bad request");
        },
        () => ({ retryable: false }),
        { policy, sleep },
      );
      expect(outcome.ok).toBe(false);
      expect(outcome.attempts).toBe(1);
      expect(waits).toEqual([]);
    });

    it("gives up after retries + 1 attempts", async () => {
      const { waits, sleep } = recordingSleep();
      const outcome = await withRetry(
        async () => {
          throw new Error("down");
        },
        () => ({ retryable: true }),
        { policy, sleep, random: () => 0 },
      );
      expect(outcome.attempts).toBe(policy.retries + 1);
      expect(waits).toHaveLength(policy.retries);
    });

    it("does not wait for a Retry-After beyond the limit and says why", async () => {
      const { waits, sleep } = recordingSleep();
      const outcome = await withRetry(
        async () => {
          throw new Error("429");
        },
        () => ({ retryable: true, retryAfterMs: 3_600_000 }),
        { policy: DEFAULT_RETRY_POLICY, sleep },
      );
      expect(outcome.ok).toBe(false);
      expect(waits).toEqual([]);
      expect(outcome.ok === false && outcome.gaveUpReason).toContain("3600s");
    });
  });
});
