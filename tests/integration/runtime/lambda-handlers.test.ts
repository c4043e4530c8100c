/**
 * The Lambda handlers, in-process, against the emulator (the upstream) and s3rver (the mirror bucket).
 * Lambda Invoke and ECS RunTask have no local server: aws-sdk-client-mock records those requests — what
 * these tests prove is what the handlers ask AWS for, and that a worker fed the recorded re-invocations
 * completes the run.
 */
import { ECSClient, RunTaskCommand } from "@aws-sdk/client-ecs";
import { InvokeCommand, LambdaClient } from "@aws-sdk/client-lambda";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { readLease } from "../../../src/mirror/lock.ts";
import { runReportKey } from "../../../src/mirror/report.ts";
import { readText } from "../../../src/mirror/state.ts";
import type { WorkerPayload } from "../../../src/runtime/dispatch.ts";
import type { DryRunResult } from "../../../src/runtime/dry-run.ts";
import { GIB } from "../../../src/runtime/env.ts";
import type { OrchestratorResult } from "../../../src/runtime/lambda/orchestrator.ts";
import { openStore } from "../../../src/storage/open.ts";
import { withEmulator } from "../../helpers/emulator.ts";
import { type S3rverHandle, startS3rver } from "../../helpers/s3rver.ts";
import { blobsRequestedTwice, functionEnv, plannedBytes, shortLivedContext } from "./helpers.ts";

type Handler<R> = (event: unknown, context: ReturnType<typeof shortLivedContext>) => Promise<R>;

const lambdaMock = mockClient(LambdaClient);
const ecsMock = mockClient(ECSClient);
const upstream = withEmulator({ fixtures: false, synthetic: { formulae: 8, tags: ["x86_64_linux"] } });
let s3: S3rverHandle;
let prefixes = 0;

beforeAll(async () => {
  s3 = await startS3rver();
});
afterAll(() => s3?.close());
beforeEach(() => {
  lambdaMock.on(InvokeCommand).resolves({ StatusCode: 202 });
  ecsMock.on(RunTaskCommand).resolves({ tasks: [{ taskArn: "arn:aws:ecs:task/1" }], failures: [] });
  upstream().resetStats();
});
afterEach(() => {
  lambdaMock.reset();
  ecsMock.reset();
  vi.unstubAllEnvs();
});

/** Sets the function environment (a fresh mirror prefix) and imports the handler as Lambda would. */
async function loadHandlers(overrides: Record<string, string> = {}): Promise<{
  orchestrator: Handler<OrchestratorResult>;
  worker: Handler<{ status: string; detail: string } | DryRunResult>;
  prefix: string;
}> {
  const prefix = `mirror-${++prefixes}`;
  const env = { ...functionEnv(upstream(), s3, { MIRROR_PREFIX: prefix, ...overrides }) };
  for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
  vi.stubEnv("POWERTOOLS_LOG_LEVEL", "SILENT");
  vi.stubEnv("POWERTOOLS_METRICS_DISABLED", "true");
  vi.resetModules();
  const orchestrator = (await import("../../../src/runtime/lambda/orchestrator.ts")).handler;
  const worker = (await import("../../../src/runtime/lambda/worker.ts")).handler;
  return { orchestrator, worker, prefix };
}

function invokedPayloads(): WorkerPayload[] {
  return lambdaMock
    .commandCalls(InvokeCommand)
    .map((call) => JSON.parse(Buffer.from(call.args[0].input.Payload as Uint8Array).toString("utf8")));
}

describe("runtime/lambda/orchestrator", () => {
  describe("handler", () => {
    const cases: Array<{ where: string; threshold: (bytes: number) => number; route: "lambda" | "ecs" }> = [
      { where: "below", threshold: (bytes) => bytes + 1, route: "lambda" },
      { where: "at", threshold: (bytes) => bytes, route: "lambda" },
      { where: "above", threshold: (bytes) => bytes - 1, route: "ecs" },
    ];
    it.each(cases)("routes a run $where the threshold to $route", async ({ threshold, route }) => {
      const bytes = plannedBytes(upstream(), ["x86_64_linux"]);
      const { orchestrator } = await loadHandlers({ SIZE_THRESHOLD_GB: String(threshold(bytes) / GIB) });

      const result = await orchestrator({}, shortLivedContext("orchestrate-1", "hbsync-test-orchestrator"));

      expect(result).toMatchObject({ route, bytes, bottles: 8 });
      if (route === "lambda") {
        expect(ecsMock.commandCalls(RunTaskCommand)).toHaveLength(0);
        const input = lambdaMock.commandCalls(InvokeCommand)[0]?.args[0].input;
        expect(input?.FunctionName).toBe("hbsync-test-worker");
        expect(input?.InvocationType).toBe("Event");
        expect(invokedPayloads()).toEqual([{ runId: result.runId, continuation: 0 }]);
      } else {
        expect(lambdaMock.commandCalls(InvokeCommand)).toHaveLength(0);
        const input = ecsMock.commandCalls(RunTaskCommand)[0]?.args[0].input;
        expect(input?.capacityProviderStrategy).toEqual([{ capacityProvider: "FARGATE_SPOT", weight: 1 }]);
        expect(input?.networkConfiguration?.awsvpcConfiguration).toEqual({
          subnets: ["subnet-a", "subnet-b"],
          securityGroups: ["sg-1"],
          assignPublicIp: "ENABLED",
        });
        expect(input?.overrides?.containerOverrides?.[0]?.environment).toEqual([
          { name: "RUN_ID", value: result.runId },
        ]);
      }
      expect(upstream().stats.blobRequests).toBe(0);
    });
  });
});

describe("runtime/lambda/worker", () => {
  describe("handler", () => {
    it("completes a plan across three forced continuations, downloading nothing twice", async () => {
      const { orchestrator, worker, prefix } = await loadHandlers({ WORKER_SLICE_SIZE: "2" });
      const { runId } = await orchestrator(
        {},
        shortLivedContext("orchestrate-1", "hbsync-test-orchestrator"),
      );

      const results: string[] = [];
      for (let invocation = 0; invocation < 10; invocation++) {
        const payload = invokedPayloads().at(-1);
        if (payload === undefined || payload.continuation !== invocation) break;
        const result = await worker(payload, shortLivedContext(`worker-${invocation}`));
        results.push(result.status);
      }

      expect(results).toEqual(["paused", "paused", "paused", "succeeded"]);
      expect(invokedPayloads().map((payload) => payload.continuation)).toEqual([0, 1, 2, 3]);
      expect(invokedPayloads().every((payload) => payload.runId === runId)).toBe(true);
      expect(upstream().stats.blobRequests).toBe(8);
      expect(blobsRequestedTwice(upstream())).toEqual([]);
      const store = openStore(`s3://${s3.bucket}/${prefix}`);
      const report = JSON.parse((await readText(store, runReportKey(runId))) ?? "{}");
      expect(report).toMatchObject({
        status: "succeeded",
        counts: { planned: 8, transferred: 8, failed: 0 },
      });
      expect(await store.stat("api/formula.jws.json")).not.toBeNull();
      expect(await readLease(store)).toBeNull();
      await store.close?.();
    });

    it("does nothing when Lambda delivers the last event again after the run finished", async () => {
      const { orchestrator, worker } = await loadHandlers();
      await orchestrator({}, shortLivedContext("orchestrate-1", "hbsync-test-orchestrator"));
      const payload = invokedPayloads()[0] as WorkerPayload;
      await worker(payload, shortLivedContext("worker-0"));
      const requests = upstream().stats.blobRequests;

      const again = await worker(payload, shortLivedContext("worker-0-again"));

      expect(again.status).toBe("skipped");
      expect(upstream().stats.blobRequests).toBe(requests);
    });

    it("plans in dry run through the real index and state, and writes, locks and downloads nothing", async () => {
      const { worker, prefix } = await loadHandlers({ ARTIFACT_VERSION: "0123abc" });
      const store = openStore(`s3://${s3.bucket}/${prefix}`);
      const keys = async (): Promise<string[]> => {
        const found: string[] = [];
        for await (const entry of store.list("")) found.push(entry.key);
        return found;
      };

      const result = await worker({ dryRun: true }, shortLivedContext("smoke-1"));

      expect(result).toMatchObject({
        status: "dry-run",
        environment: "test",
        artifactVersion: "0123abc",
        formulae: 8,
        plan: { transfers: 8, keeps: 0, prunes: 0 },
        missing: 0,
      });
      expect(upstream().stats.apiRequests).toBeGreaterThan(0);
      expect(upstream().stats.manifestRequests + upstream().stats.blobRequests).toBe(0);
      expect(await keys()).toEqual([]);
      expect(await readLease(store)).toBeNull();
      expect(lambdaMock.commandCalls(InvokeCommand)).toHaveLength(0);
      await store.close?.();
    });

    it("fails the dry run when the index signature does not verify (a broken deployment is not verified)", async () => {
      const { worker } = await loadHandlers({ TRUSTED_KEY: "builtin" });

      await expect(worker({ dryRun: true }, shortLivedContext("smoke-2"))).rejects.toThrow(/signature/i);
    });

    it("refuses an event without a run id", async () => {
      const { worker } = await loadHandlers();

      await expect(worker({ hello: "world" }, shortLivedContext("bad"))).rejects.toThrow(/no valid runId/);
    });
  });

  describe("module init", () => {
    it.each([
      ["worker", "MIRROR_BUCKET"],
      ["orchestrator", "MIRROR_BUCKET"],
      ["orchestrator", "WORKER_FUNCTION_NAME"],
      ["orchestrator", "ECS_SUBNETS"],
    ])("fails fast when the %s's %s is missing", async (fn, variable) => {
      for (const [name, value] of Object.entries(functionEnv(upstream(), s3))) vi.stubEnv(name, value);
      vi.stubEnv(variable, "");
      vi.resetModules();

      await expect(import(`../../../src/runtime/lambda/${fn}.ts`)).rejects.toThrow(`${variable} is required`);
    });
  });
});
