import { describe, expect, it } from "vitest";
import { UnknownEnvironmentError } from "../../../src/config/errors.ts";
import type { NotifyEvent } from "../../../src/notify/events.ts";
import { PipelineErrorHandler, type RollbackCapability } from "../../../src/pipeline/error-handler.ts";
import { DeploymentError, PipelineError, TerraformCommandError } from "../../../src/pipeline/errors.ts";
import type { TestResult } from "../../../src/pipeline/test-result.ts";

function setup(env: NodeJS.ProcessEnv = {}) {
  const lines: string[] = [];
  const events: NotifyEvent[] = [];
  const handler = new PipelineErrorHandler({
    env,
    print: (line) => lines.push(line),
    notifier: { send: async (event) => void events.push(event) },
  });
  return { handler, lines, events };
}

const applyFailure = (): TerraformCommandError =>
  new TerraformCommandError("HBS-DEP-001", "terraform apply", 1, "Error: local-exec provisioner error");

function rollbackStub(
  possible: boolean,
  outcome: "ok" | "fail" = "ok",
): RollbackCapability & { calls: number } {
  const stub = {
    calls: 0,
    canRollback: async () => ({ possible, reason: possible ? "v2 is good" : "no earlier version" }),
    rollback: async () => {
      stub.calls += 1;
      if (outcome === "fail") throw new Error("apply failed again");
      return { toVersion: "v2" };
    },
  };
  return stub;
}

describe("error-handler", () => {
  describe("PipelineErrorHandler.handleDeploymentError", () => {
    it("rolls back when it can, notifies the failure with the outcome, and returns a DeploymentError", async () => {
      const { handler, events } = setup();
      const rollback = rollbackStub(true);
      const error = await handler.handleDeploymentError(applyFailure(), {
        environment: "dev",
        version: "v3",
        actor: "ci",
        rollback,
      });
      expect(error).toBeInstanceOf(DeploymentError);
      expect(error.code).toBe("HBS-DEP-001");
      expect(error.rollback).toEqual({ attempted: true, succeeded: true, toVersion: "v2" });
      expect(rollback.calls).toBe(1);
      expect(events).toEqual([
        expect.objectContaining({
          type: "deployment_failure",
          environment: "dev",
          version: "v3",
          actor: "ci",
          error: expect.stringMatching(/local-exec provisioner error — rolled back to v2$/),
        }),
      ]);
    });

    it("does not roll back when nothing qualifies, and says why", async () => {
      const { handler, lines, events } = setup();
      const rollback = rollbackStub(false);
      const error = await handler.handleDeploymentError(applyFailure(), {
        environment: "dev",
        version: "v1",
        rollback,
      });
      expect(rollback.calls).toBe(0);
      expect(error.rollback).toMatchObject({ attempted: false, succeeded: false });
      expect(lines).toContain("no automatic rollback: no earlier version");
      expect(events[0]).toMatchObject({
        error: expect.stringContaining("not rolled back: no earlier version"),
      });
    });

    it("reports a rollback that fails too", async () => {
      const { handler } = setup();
      const error = await handler.handleDeploymentError(applyFailure(), {
        environment: "dev",
        version: "v3",
        rollback: rollbackStub(true, "fail"),
      });
      expect(error.rollback).toEqual({ attempted: true, succeeded: false, error: "apply failed again" });
    });

    it("never throws when the notification fails", async () => {
      const handler = new PipelineErrorHandler({
        env: {},
        notifier: {
          send: async () => {
            throw new Error("slack down");
          },
        },
      });
      await expect(
        handler.handleDeploymentError(applyFailure(), { environment: "dev", version: "v3" }),
      ).resolves.toBeInstanceOf(DeploymentError);
    });

    it("emits an annotation in GitHub Actions", async () => {
      const { handler, lines } = setup({ GITHUB_ACTIONS: "true" });
      await handler.handleDeploymentError(applyFailure(), { environment: "dev", version: "v3" });
      expect(lines.at(-1)).toMatch(
        /^::error title=Terraform apply failed \(HBS-DEP-001\)::HBS-DEP-001: `terraform apply` failed/,
      );
    });
  });

  describe("PipelineErrorHandler.handleConfigurationError", () => {
    it("maps an unknown environment to HBS-CFG-002 (exit 2) keeping the list of known ones", () => {
      const { handler } = setup();
      const mapped = handler.handleConfigurationError(new UnknownEnvironmentError("qa", ["dev", "prod"]));
      expect(mapped).toBeInstanceOf(PipelineError);
      expect(mapped).toMatchObject({ code: "HBS-CFG-002", kind: "usage" });
      expect(mapped.fix).toContain("dev | prod");
    });
  });

  describe("PipelineErrorHandler.handleTestFailure", () => {
    const failed: TestResult = {
      testType: "unit",
      status: "failed",
      duration: 2,
      coverage: null,
      failedTests: ["a.test.ts > adds"],
      passed: 3,
      failed: 1,
      skipped: 0,
    };

    it("blocks the deployment when critical tests failed, with a report and annotations", () => {
      const { handler, lines } = setup({ GITHUB_ACTIONS: "true" });
      const outcome = handler.handleTestFailure(failed, {
        modules: [
          {
            file: "tests/a.test.ts",
            durationMs: 1,
            cases: [
              {
                name: "adds",
                state: "failed",
                durationMs: 1,
                line: 4,
                errors: [{ name: "AssertionError", message: "expected 1, got 2" }],
              },
            ],
          },
        ],
      });
      expect(outcome.blocked).toBe(true);
      expect(outcome.error).toMatchObject({ code: "HBS-DEP-006", failedTests: ["a.test.ts > adds"] });
      expect(lines).toContain("  ✗ a.test.ts > adds");
      expect(lines).toContain(
        "::error file=tests/a.test.ts,line=4,title=Test failed%3A adds::expected 1, got 2",
      );
    });

    it("reports without blocking when the suite is not critical", () => {
      const { handler } = setup();
      const outcome = handler.handleTestFailure(failed, { critical: false });
      expect(outcome).toMatchObject({ blocked: false, error: { code: "HBS-TST-001" } });
    });

    it("does nothing for a passing run", () => {
      const { handler, lines } = setup();
      expect(handler.handleTestFailure({ ...failed, status: "passed", failed: 0, failedTests: [] })).toEqual({
        blocked: false,
        error: undefined,
        lines: [],
      });
      expect(lines).toEqual([]);
    });
  });
});
