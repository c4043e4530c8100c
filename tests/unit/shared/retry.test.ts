import { describe, expect, it } from "vitest";
import { backoffDelay, parseRetryAfter, withRetry } from "../../../src/shared/retry.ts";

const backoff = { baseMs: 100, maxMs: 1000 };

describe("shared/retry", () => {
  describe("backoffDelay", () => {
    it("grows exponentially up to the cap, scaled by full jitter", () => {
      expect([1, 2, 3, 4, 5].map((n) => backoffDelay(n, backoff, () => 0.999999))).toEqual([
        99, 199, 399, 799, 999,
      ]);
      expect(backoffDelay(3, backoff, () => 0.5)).toBe(200);
      expect(backoffDelay(3, backoff, () => 0)).toBe(0);
    });

    it("never waits less than Retry-After", () => {
      expect(backoffDelay(1, backoff, () => 0.5, 3000)).toBe(3000);
    });
  });

  describe("withRetry", () => {
    it("retries every failure by default and rethrows the last one when the retries run out", async () => {
      const waits: number[] = [];
      let calls = 0;
      const run = withRetry(
        async () => {
          calls += 1;
          throw new Error(`down ${calls}`);
        },
        { retries: 2, baseMs: 100, random: () => 0.5, sleep: async (ms) => void waits.push(ms) },
      );

      await expect(run).rejects.toThrow("down 3");
      expect(waits).toEqual([50, 100]);
    });

    it("caps a Retry-After at maxRetryAfterMs", async () => {
      const waits: number[] = [];
      let calls = 0;
      const value = await withRetry(
        async () => {
          calls += 1;
          if (calls === 1) throw new Error("429");
          return "ok";
        },
        {
          random: () => 0,
          retryAfterMs: () => 3_600_000,
          maxRetryAfterMs: 60_000,
          sleep: async (ms) => void waits.push(ms),
        },
      );

      expect(value).toBe("ok");
      expect(waits).toEqual([60_000]);
    });
  });

  describe("parseRetryAfter", () => {
    it("reads delay-seconds and HTTP dates, never negative", () => {
      const now = Date.parse("2026-01-01T00:00:00Z");

      expect(parseRetryAfter("120", now)).toBe(120_000);
      expect(parseRetryAfter(" 7 ", now)).toBe(7000);
      expect(parseRetryAfter("Thu, 01 Jan 2026 00:00:30 GMT", now)).toBe(30_000);
      expect(parseRetryAfter("Wed, 31 Dec 2025 00:00:00 GMT", now)).toBe(0);
    });

    it("returns undefined for absent or invalid values", () => {
      expect(parseRetryAfter("soon")).toBeUndefined();
      expect(parseRetryAfter(null)).toBeUndefined();
      expect(parseRetryAfter(undefined)).toBeUndefined();
    });
  });
});
