import { describe, expect, it } from "vitest";
import { UpstreamError } from "../../../src/homebrew/errors.ts";
import { isTransientError, withRetry } from "../../../src/homebrew/retry.ts";

function failing(errors: unknown[], value = "ok"): { fn: () => Promise<string>; calls: () => number } {
  let calls = 0;
  return {
    fn: async () => {
      const error = errors[calls++];
      if (error !== undefined) throw error;
      return value;
    },
    calls: () => calls,
  };
}

const http = (status: number, retryAfterMs?: number): UpstreamError =>
  new UpstreamError(`HTTP ${status}`, {
    status,
    url: "http://x/",
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
  });

describe("homebrew/retry", () => {
  describe("withRetry", () => {
    it("retries 5xx and 429 with exponentially growing full-jitter waits", async () => {
      const waits: number[] = [];
      const { fn, calls } = failing([http(500), http(503), http(429)]);

      const result = await withRetry(fn, {
        retries: 4,
        baseMs: 100,
        maxMs: 10_000,
        random: () => 0.999,
        sleep: async (ms) => {
          waits.push(ms);
        },
      });

      expect(result).toBe("ok");
      expect(calls()).toBe(4);
      expect(waits).toEqual([99, 199, 399]);
    });

    it("draws each wait uniformly below the ceiling (full jitter)", async () => {
      const waits: number[] = [];
      const { fn } = failing([http(500), http(500)]);

      await withRetry(fn, { baseMs: 1000, random: () => 0.25, sleep: async (ms) => void waits.push(ms) });

      expect(waits).toEqual([250, 500]);
    });

    it("caps the ceiling at maxMs", async () => {
      const waits: number[] = [];
      const { fn } = failing([http(500), http(500), http(500), http(500)]);

      await withRetry(fn, {
        retries: 5,
        baseMs: 1000,
        maxMs: 3000,
        random: () => 0.999,
        sleep: async (ms) => void waits.push(ms),
      });

      expect(waits).toEqual([999, 1998, 2997, 2997]);
    });

    it("waits at least the server's Retry-After", async () => {
      const waits: number[] = [];
      const { fn } = failing([http(429, 7000)]);

      await withRetry(fn, { baseMs: 100, random: () => 0.5, sleep: async (ms) => void waits.push(ms) });

      expect(waits).toEqual([7000]);
    });

    it("caps an absurd Retry-After at maxRetryAfterMs", async () => {
      const waits: number[] = [];
      const { fn } = failing([http(503, 86_400_000)]);

      await withRetry(fn, {
        maxRetryAfterMs: 60_000,
        random: () => 0,
        sleep: async (ms) => void waits.push(ms),
      });

      expect(waits).toEqual([60_000]);
    });

    it("does not retry a final status such as 404", async () => {
      const { fn, calls } = failing([http(404)]);

      await expect(withRetry(fn, { sleep: async () => {} })).rejects.toThrow("HTTP 404");
      expect(calls()).toBe(1);
    });

    it("gives up after `retries` retries with the last error", async () => {
      const { fn, calls } = failing([http(500), http(502), http(503)]);

      await expect(withRetry(fn, { retries: 2, sleep: async () => {} })).rejects.toThrow("HTTP 503");
      expect(calls()).toBe(3);
    });

    it("reports each retry to onRetry", async () => {
      const seen: Array<{ attempt: number; delayMs: number }> = [];
      const { fn } = failing([http(500)]);

      await withRetry(fn, {
        random: () => 0,
        sleep: async () => {},
        onRetry: ({ attempt, delayMs }) => seen.push({ attempt, delayMs }),
      });

      expect(seen).toEqual([{ attempt: 1, delayMs: 0 }]);
    });
  });

  describe("isTransientError", () => {
    it.each([
      ["a connection reset", Object.assign(new Error("socket hang up"), { code: "ECONNRESET" }), true],
      [
        "fetch failed caused by a reset",
        new TypeError("fetch failed", { cause: { code: "ECONNRESET" } }),
        true,
      ],
      [
        "fetch failed caused by an undici socket error",
        new TypeError("fetch failed", {
          cause: Object.assign(new Error("other side closed"), { code: "UND_ERR_SOCKET" }),
        }),
        true,
      ],
      ["a timeout", Object.assign(new Error("timed out"), { name: "TimeoutError" }), true],
      ["a user abort", Object.assign(new Error("aborted"), { name: "AbortError" }), false],
      ["a truncated body", new UpstreamError("truncated", { url: "u", retryable: true }), true],
      ["a 403", http(403), false],
      ["a programming error", new RangeError("bad"), false],
    ])("classifies %s", (_case, error, expected) => {
      expect(isTransientError(error)).toBe(expected);
    });
  });
});
