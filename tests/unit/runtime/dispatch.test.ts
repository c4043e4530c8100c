import { ECSClient, RunTaskCommand } from "@aws-sdk/client-ecs";
import { InvokeCommand, LambdaClient } from "@aws-sdk/client-lambda";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, describe, expect, it } from "vitest";
import {
  chooseRoute,
  type EcsSettings,
  ecsTaskRunner,
  lambdaWorkerInvoker,
  parseWorkerPayload,
} from "../../../src/runtime/dispatch.ts";
import { GIB } from "../../../src/runtime/env.ts";
import { DispatchError, WorkerEventError } from "../../../src/runtime/errors.ts";

// Lambda Invoke and ECS RunTask have no local server: aws-sdk-client-mock stands in for the AWS APIs, and
// these tests prove the request shapes we send (and how we read the answers), not AWS's behaviour.
const lambdaMock = mockClient(LambdaClient);
const ecsMock = mockClient(ECSClient);
afterEach(() => {
  lambdaMock.reset();
  ecsMock.reset();
});

const ECS: EcsSettings = {
  cluster: "arn:aws:ecs:eu-west-1:123456789012:cluster/hbsync-dev",
  taskDefinition: "hbsync-dev-sync",
  containerName: "sync",
  capacityProvider: "FARGATE_SPOT",
  subnets: ["subnet-aaa", "subnet-bbb"],
  securityGroups: ["sg-123"],
  assignPublicIp: "ENABLED",
};

describe("runtime/dispatch", () => {
  describe("chooseRoute", () => {
    const threshold = 10 * GIB;

    it("sends a run below the threshold to the worker Lambda", () => {
      expect(chooseRoute({ bottles: 3, bytes: threshold - 1 }, threshold)).toBe("lambda");
    });

    it("sends a run exactly at the threshold to the worker Lambda (≤)", () => {
      expect(chooseRoute({ bottles: 3, bytes: threshold }, threshold)).toBe("lambda");
    });

    it("sends a run one byte above the threshold to ECS", () => {
      expect(chooseRoute({ bottles: 3, bytes: threshold + 1 }, threshold)).toBe("ecs");
    });

    it("keeps a run with no bottle to move in the orchestrator", () => {
      expect(chooseRoute({ bottles: 0, bytes: 0 }, threshold)).toBe("none");
    });
  });

  describe("lambdaWorkerInvoker", () => {
    it("invokes the worker asynchronously with the run id and continuation", async () => {
      lambdaMock.on(InvokeCommand).resolves({ StatusCode: 202 });
      const invoke = lambdaWorkerInvoker(new LambdaClient({ region: "eu-west-1" }), "hbsync-dev-worker");

      await invoke({ runId: "20260310T120000Z-abc123", continuation: 2 });

      const calls = lambdaMock.commandCalls(InvokeCommand);
      expect(calls).toHaveLength(1);
      const input = calls[0]?.args[0].input;
      expect(input?.FunctionName).toBe("hbsync-dev-worker");
      expect(input?.InvocationType).toBe("Event");
      expect(JSON.parse(Buffer.from(input?.Payload as Uint8Array).toString("utf8"))).toEqual({
        runId: "20260310T120000Z-abc123",
        continuation: 2,
      });
    });

    it("fails with a DispatchError when Lambda does not accept the event", async () => {
      lambdaMock.on(InvokeCommand).resolves({ StatusCode: 200 });
      const invoke = lambdaWorkerInvoker(new LambdaClient({ region: "eu-west-1" }), "hbsync-dev-worker");

      await expect(invoke({ runId: "r1", continuation: 0 })).rejects.toThrow(DispatchError);
    });
  });

  describe("ecsTaskRunner", () => {
    it("runs the task on FARGATE_SPOT in the given subnets with RUN_ID overridden", async () => {
      ecsMock.on(RunTaskCommand).resolves({ tasks: [{ taskArn: "arn:aws:ecs:task/1" }], failures: [] });
      const run = ecsTaskRunner(new ECSClient({ region: "eu-west-1" }), ECS);

      const result = await run("r-42");

      expect(result.taskArn).toBe("arn:aws:ecs:task/1");
      const input = ecsMock.commandCalls(RunTaskCommand)[0]?.args[0].input;
      expect(input?.cluster).toBe(ECS.cluster);
      expect(input?.taskDefinition).toBe("hbsync-dev-sync");
      expect(input?.count).toBe(1);
      expect(input?.launchType).toBeUndefined();
      expect(input?.capacityProviderStrategy).toEqual([{ capacityProvider: "FARGATE_SPOT", weight: 1 }]);
      expect(input?.networkConfiguration?.awsvpcConfiguration).toEqual({
        subnets: ["subnet-aaa", "subnet-bbb"],
        securityGroups: ["sg-123"],
        assignPublicIp: "ENABLED",
      });
      expect(input?.overrides?.containerOverrides).toEqual([
        { name: "sync", environment: [{ name: "RUN_ID", value: "r-42" }] },
      ]);
    });

    it("passes one shard's SHARD_INDEX and SHARD_COUNT beside RUN_ID, one task per call", async () => {
      ecsMock.on(RunTaskCommand).resolves({ tasks: [{ taskArn: "arn:aws:ecs:task/s" }], failures: [] });
      const run = ecsTaskRunner(new ECSClient({ region: "eu-west-1" }), ECS);

      for (let index = 0; index < 3; index++) await run("r-45", { index, count: 3 });

      const inputs = ecsMock.commandCalls(RunTaskCommand).map((call) => call.args[0].input);
      expect(inputs.map((input) => input.count)).toEqual([1, 1, 1]);
      expect(inputs.map((input) => input.overrides?.containerOverrides)).toEqual(
        [0, 1, 2].map((index) => [
          {
            name: "sync",
            environment: [
              { name: "RUN_ID", value: "r-45" },
              { name: "SHARD_INDEX", value: String(index) },
              { name: "SHARD_COUNT", value: "3" },
            ],
          },
        ]),
      );
      expect(inputs.map((input) => input.startedBy)).toEqual([
        "hbsync-r-45-0",
        "hbsync-r-45-1",
        "hbsync-r-45-2",
      ]);
    });

    it("names the shard whose RunTask failed", async () => {
      ecsMock.on(RunTaskCommand).resolves({ tasks: [], failures: [{ reason: "RESOURCE:ENI" }] });
      const run = ecsTaskRunner(new ECSClient({ region: "eu-west-1" }), ECS);

      await expect(run("r-46", { index: 1, count: 3 })).rejects.toThrow(
        "ecs:RunTask for shard 2/3 of run r-46 in arn:aws:ecs:eu-west-1:123456789012:cluster/hbsync-dev failed: RESOURCE:ENI",
      );
    });

    it("asks for on-demand FARGATE when Spot is off", async () => {
      ecsMock.on(RunTaskCommand).resolves({ tasks: [{ taskArn: "arn:aws:ecs:task/2" }], failures: [] });
      const run = ecsTaskRunner(new ECSClient({ region: "eu-west-1" }), {
        ...ECS,
        capacityProvider: "FARGATE",
        assignPublicIp: "DISABLED",
      });

      await run("r-43");

      const input = ecsMock.commandCalls(RunTaskCommand)[0]?.args[0].input;
      expect(input?.capacityProviderStrategy).toEqual([{ capacityProvider: "FARGATE", weight: 1 }]);
      expect(input?.networkConfiguration?.awsvpcConfiguration?.assignPublicIp).toBe("DISABLED");
    });

    it("turns a RunTask failure into a DispatchError with the reason", async () => {
      ecsMock
        .on(RunTaskCommand)
        .resolves({ tasks: [], failures: [{ reason: "Capacity is unavailable at this time" }] });
      const run = ecsTaskRunner(new ECSClient({ region: "eu-west-1" }), ECS);

      await expect(run("r-44")).rejects.toThrow(/Capacity is unavailable/);
    });
  });

  describe("parseWorkerPayload", () => {
    it("accepts the orchestrator's event and defaults the continuation to 0", () => {
      expect(parseWorkerPayload({ runId: "20260310T120000Z-abc123" })).toEqual({
        runId: "20260310T120000Z-abc123",
        continuation: 0,
      });
    });

    it("accepts JSON text", () => {
      expect(parseWorkerPayload('{"runId":"r1","continuation":3}')).toEqual({ runId: "r1", continuation: 3 });
    });

    it.each([
      [{}],
      [{ runId: "../../etc" }],
      [{ runId: "r1", continuation: -1 }],
      [{ runId: "r1", continuation: 1.5 }],
      [null],
      ["not json"],
    ])("refuses %j", (event) => {
      expect(() => parseWorkerPayload(event)).toThrow(WorkerEventError);
    });
  });
});
