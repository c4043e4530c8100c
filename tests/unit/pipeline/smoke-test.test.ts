import { describe, expect, it } from "vitest";
import { judge } from "../../../src/pipeline/smoke-test.ts";

/** The verdict on a worker's dry-run answer (the invocation itself: tests/integration/pipeline). */
describe("pipeline/smoke-test", () => {
  describe("judge", () => {
    const answer = (fields: Record<string, unknown>): string =>
      JSON.stringify({
        status: "dry-run",
        artifactVersion: "abc1234",
        detail: "planned 3 transfer(s)",
        ...fields,
      });

    it("passes a dry run of the deployed version", () => {
      expect(judge("w", "abc1234", answer({}))).toEqual({
        passed: true,
        detail: "w (abc1234): planned 3 transfer(s)",
      });
    });

    it("fails a function that still runs another version", () => {
      expect(judge("w", "abc1234", answer({ artifactVersion: "old" }))).toMatchObject({
        passed: false,
        detail: 'w runs "old", not the deployed abc1234',
      });
    });

    it("fails a worker that did not do a dry run, or answered garbage", () => {
      expect(judge("w", "abc1234", answer({ status: "succeeded" })).passed).toBe(false);
      expect(judge("w", "abc1234", "<html>").detail).toContain("not JSON");
    });
  });
});
