import { describe, expect, it } from "vitest";
import { actionOf, describeSummary, summarisePlan } from "../../../src/pipeline/plan-summary.ts";

const change = (address: string, actions: string[]) => ({ address, change: { actions } });

describe("plan-summary", () => {
  describe("actionOf", () => {
    it.each([
      [["create"], "create"],
      [["update"], "update"],
      [["delete"], "delete"],
      [["delete", "create"], "replace"],
      [["create", "delete"], "replace"],
      [["no-op"], undefined],
      [["read"], undefined],
    ])("maps %j to %s", (actions, expected) => {
      expect(actionOf(actions)).toBe(expected);
    });
  });

  describe("summarisePlan", () => {
    it("counts like terraform's plan line: a replacement adds one and destroys one", () => {
      const summary = summarisePlan({
        resource_changes: [
          change("a.one", ["create"]),
          change("a.two", ["update"]),
          change("a.three", ["delete", "create"]),
          change("a.four", ["delete"]),
          change("a.five", ["no-op"]),
        ],
      });
      expect(summary).toEqual({
        add: 2,
        change: 1,
        destroy: 2,
        replace: 1,
        resources: [
          { address: "a.one", action: "create" },
          { address: "a.two", action: "update" },
          { address: "a.three", action: "replace" },
          { address: "a.four", action: "delete" },
        ],
      });
      expect(describeSummary(summary)).toBe("2 to add, 1 to change, 2 to destroy (1 replaced)");
    });

    it("treats a plan without resource_changes as no changes", () => {
      expect(summarisePlan({ format_version: "1.2" })).toMatchObject({
        add: 0,
        change: 0,
        destroy: 0,
        resources: [],
      });
      expect(summarisePlan(null).resources).toEqual([]);
    });
  });
});
