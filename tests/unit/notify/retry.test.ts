import { describe, expect, it } from "vitest";
import { DEFAULT_RETRY_POLICY, type RetryPolicy, withRetry } from "../../../src/notify/retry.ts";

const policy: RetryPolicy = { retries: 3, baseDelayMs: 100, maxDelayMs: 1000, maxRetryAfterMs: 5000 };

function recordingSleep(): { waits: number[]; sleep: (ms: number) => Promise<void> } {
  const waits: number[] = [];
  return { waits, sleep: async (ms) => void waits.push(ms) };
}

// The backoff itself and Retry-After parsing are tested in tests/unit/shared/retry.test.ts.
describe("notify/retry", () => {
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
