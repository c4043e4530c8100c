import { describe, expect, it } from "vitest";
import { NotifyDataError } from "../../../src/notify/errors.ts";
import { EVENT_TYPES, normaliseEventType, parseEvent, parseEventJson } from "../../../src/notify/events.ts";
import { sampleEvent } from "../../../src/notify/samples.ts";

function dataError(run: () => unknown): NotifyDataError {
  try {
    run();
  } catch (error) {
    if (error instanceof NotifyDataError) return error;
    throw error;
  }
  throw new Error("expected a NotifyDataError");
}

describe("notify/events", () => {
  describe("normaliseEventType", () => {
    it("accepts kebab, snake and mixed case names", () => {
      expect(normaliseEventType("deployment-success")).toBe("deployment_success");
      expect(normaliseEventType("Sync_Summary")).toBe("sync_summary");
      expect(normaliseEventType("weekly-report")).toBe("weekly_report");
    });

    it("returns null for an unknown event", () => {
      expect(normaliseEventType("deploy-done")).toBeNull();
    });
  });

  describe("parseEvent", () => {
    it.each(EVENT_TYPES)("accepts the sample %s event", (type) => {
      const { type: _type, ...data } = sampleEvent(type, "prod");
      expect(parseEvent(type, data)).toEqual(sampleEvent(type, "prod"));
    });

    it("names a missing field and its expected type", () => {
      const error = dataError(() =>
        parseEvent("deployment_success", { environment: "prod", durationSeconds: 3, commit: "abc" }),
      );
      expect(error.message).toBe('deployment_success data: "version" is missing (expected string)');
      expect(error.field).toBe("version");
      expect(error.kind).toBe("usage");
      expect(error.fix).toContain("version");
    });

    it("names a field of the wrong type with what it got", () => {
      const error = dataError(() =>
        parseEvent("test_results", {
          passed: "12",
          failed: 0,
          skipped: 0,
          failedTests: [],
          durationSeconds: 1,
        }),
      );
      expect(error.message).toContain('"passed" must be number, got a string');
    });

    it("names a missing field inside a list item", () => {
      const { type: _type, ...data } = sampleEvent("sync_summary");
      const error = dataError(() => parseEvent("sync_summary", { ...data, failures: [{ message: "boom" }] }));
      expect(error.message).toContain('"failures.0.key" is missing');
    });

    it("rejects unknown fields so a typo is not silently dropped", () => {
      const { type: _type, ...data } = sampleEvent("deployment_success");
      const error = dataError(() => parseEvent("deployment_success", { ...data, runURL: "https://x.test" }));
      expect(error.message).toContain('unknown field "runURL"');
    });

    it("rejects a run link that is not http(s)", () => {
      const { type: _type, ...data } = sampleEvent("deployment_success");
      const error = dataError(() =>
        parseEvent("deployment_success", { ...data, runUrl: "javascript:alert(1)" }),
      );
      expect(error.field).toBe("runUrl");
    });

    it("requires only environment and error for a deployment failure", () => {
      expect(parseEvent("deployment_failure", { environment: "dev", error: "plan failed" })).toEqual({
        type: "deployment_failure",
        environment: "dev",
        error: "plan failed",
      });
    });

    it("rejects data that is not an object", () => {
      expect(dataError(() => parseEvent("up_to_date", [1, 2])).message).toContain("must be a JSON object");
    });
  });

  describe("parseEventJson", () => {
    it("reports invalid JSON as a data error naming the source", () => {
      const error = dataError(() => parseEventJson("up_to_date", "{runId: r1}", "--data"));
      expect(error.message).toMatch(/^--data is not valid JSON/);
      expect(error.kind).toBe("usage");
    });
  });
});
