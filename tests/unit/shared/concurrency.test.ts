import { setTimeout as delay } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { forEachBounded } from "../../../src/shared/concurrency.ts";

describe("shared/concurrency", () => {
  describe("forEachBounded", () => {
    it("runs every item, never more than `limit` at once, passing each index", async () => {
      let running = 0;
      let peak = 0;
      const seen: Array<[string, number]> = [];
      await forEachBounded(["a", "b", "c", "d", "e"], 2, async (item, index) => {
        running++;
        peak = Math.max(peak, running);
        await delay(5);
        seen.push([item, index]);
        running--;
      });
      expect(peak).toBe(2);
      expect(seen.sort()).toEqual([
        ["a", 0],
        ["b", 1],
        ["c", 2],
        ["d", 3],
        ["e", 4],
      ]);
    });

    it("rejects with the first failure and starts nothing after it", async () => {
      const started: number[] = [];
      const run = forEachBounded([0, 1, 2, 3, 4, 5], 1, async (item) => {
        started.push(item);
        if (item === 2) throw new Error("boom at 2");
      });
      await expect(run).rejects.toThrow("boom at 2");
      expect(started).toEqual([0, 1, 2]);
    });

    it("does nothing for an empty list", async () => {
      await expect(forEachBounded([], 4, async () => {})).resolves.toBeUndefined();
    });
  });
});
