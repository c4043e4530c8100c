import { describe, expect, it } from "vitest";
import { runPool } from "../../../src/mirror/pool.ts";

describe("mirror/pool", () => {
  describe("runPool", () => {
    it("never runs more than `limit` tasks at once and keeps results in input order", async () => {
      let running = 0;
      let peak = 0;
      const items = Array.from({ length: 20 }, (_, index) => index);

      const results = await runPool(items, { name: "transfers", limit: 3 }, async (item) => {
        running++;
        peak = Math.max(peak, running);
        await new Promise((resolve) => setImmediate(resolve));
        running--;
        return item * 2;
      });

      expect(peak).toBe(3);
      expect(results.map((result) => (result.ok ? result.value : null))).toEqual(
        items.map((item) => item * 2),
      );
    });

    it("settles a failing task without stopping the others", async () => {
      const results = await runPool([1, 2, 3], { name: "checkers", limit: 2 }, async (item) => {
        if (item === 2) throw new Error("boom");
        return item;
      });

      expect(results.map((result) => result.ok)).toEqual([true, false, true]);
    });

    it("pulls items lazily and stops taking new ones once aborted", async () => {
      const controller = new AbortController();
      const started: number[] = [];

      await runPool(
        [1, 2, 3, 4, 5],
        { name: "transfers", limit: 1, signal: controller.signal },
        async (item) => {
          started.push(item);
          if (item === 2) controller.abort();
        },
      );

      expect(started).toEqual([1, 2]);
    });

    it("rejects a limit that is not a positive integer", async () => {
      await expect(runPool([1], { name: "transfers", limit: 0 }, async () => 1)).rejects.toThrow(
        "transfers concurrency must be a positive integer",
      );
    });
  });
});
