import type { ECSClient } from "@aws-sdk/client-ecs";
import { RunTaskCommand } from "@aws-sdk/client-ecs";
import type { LambdaClient } from "@aws-sdk/client-lambda";
import { InvokeCommand } from "@aws-sdk/client-lambda";
import type { ShardSpec } from "../mirror/shards.ts";
import { type SyncOptions, type SyncResult, syncMirror } from "../mirror/sync.ts";
import { DispatchError, WorkerEventError } from "./errors.ts";

/**
 * Where a planned run executes (DESIGN.md §5): nothing to move → the orchestrator finishes it itself;
 * bytes to move ≤ size_threshold_gb → the sync worker Lambda; above → the ECS Fargate task.
 * Locally (`hbsync sync`) everything runs in-process: see runLocal.
 */
export type Route = "none" | "lambda" | "ecs";

export interface PlannedWork {
  /** Bottles to transfer. */
  bottles: number;
  /** Bytes the manifests declare for them (unknown sizes count 0). */
  bytes: number;
}

/** The routing decision, pure: at the threshold still goes to Lambda (≤), one byte above goes to ECS. */
export function chooseRoute(work: PlannedWork, thresholdBytes: number): Route {
  if (work.bottles === 0) return "none";
  return work.bytes <= thresholdBytes ? "lambda" : "ecs";
}

/** What the orchestrator sends the worker (and the worker sends itself to continue). */
export interface WorkerPayload {
  runId: string;
  /** 0 for the orchestrator's invocation; +1 at each self re-invocation. */
  continuation: number;
}

const RUN_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** Checks a worker event: `{runId, continuation?}`; anything else is a WorkerEventError. */
export function parseWorkerPayload(event: unknown): WorkerPayload {
  const value = (typeof event === "string" ? safeJson(event) : event) as Partial<WorkerPayload> | null;
  if (
    typeof value !== "object" ||
    value === null ||
    typeof value.runId !== "string" ||
    !RUN_ID.test(value.runId)
  ) {
    throw new WorkerEventError(
      `the worker event has no valid runId: ${JSON.stringify(event)?.slice(0, 200)}`,
    );
  }
  const continuation = value.continuation ?? 0;
  if (!Number.isInteger(continuation) || continuation < 0) {
    throw new WorkerEventError(
      `the worker event's continuation must be a whole number ≥ 0, got ${JSON.stringify(continuation)}`,
    );
  }
  return { runId: value.runId, continuation };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

export interface EcsSettings {
  cluster: string;
  /** Family (runs the latest ACTIVE revision) or family:revision or ARN. */
  taskDefinition: string;
  containerName: string;
  capacityProvider: "FARGATE" | "FARGATE_SPOT";
  subnets: string[];
  securityGroups: string[];
  assignPublicIp: "ENABLED" | "DISABLED";
}

/** The two ways to hand a run over. */
export interface Dispatcher {
  invokeWorker(payload: WorkerPayload): Promise<void>;
  /** With `shard`, one task of a sharded run (SHARD_INDEX/SHARD_COUNT in its environment). */
  runTask(runId: string, shard?: ShardSpec): Promise<{ taskArn?: string }>;
}

/** Asynchronous (InvocationType "Event") invocation of the worker: Lambda queues it and answers 202. */
export function lambdaWorkerInvoker(
  client: Pick<LambdaClient, "send">,
  functionName: string,
): (payload: WorkerPayload) => Promise<void> {
  return async (payload) => {
    const response = await client.send(
      new InvokeCommand({
        FunctionName: functionName,
        InvocationType: "Event",
        Payload: Buffer.from(JSON.stringify(payload)),
      }),
    );
    if (response.StatusCode !== 202) {
      throw new DispatchError(
        `invoking ${functionName} for run ${payload.runId} answered ${response.StatusCode ?? "no status"}, expected 202`,
        payload.runId,
        { fix: "check the function exists and the orchestrator's role may lambda:InvokeFunction it" },
      );
    }
  };
}

/**
 * `ecs:RunTask` of the sync task on Fargate (Spot when configured), with RUN_ID in the container
 * overrides, and SHARD_INDEX/SHARD_COUNT for one task of a sharded run (one call per shard: RunTask's
 * `count` would start identical tasks).
 */
export function ecsTaskRunner(
  client: Pick<ECSClient, "send">,
  settings: EcsSettings,
): (runId: string, shard?: ShardSpec) => Promise<{ taskArn?: string }> {
  return async (runId, shard) => {
    const environment = [{ name: "RUN_ID", value: runId }];
    if (shard) {
      environment.push(
        { name: "SHARD_INDEX", value: String(shard.index) },
        { name: "SHARD_COUNT", value: String(shard.count) },
      );
    }
    const which = shard ? `shard ${shard.index + 1}/${shard.count} of run ${runId}` : `run ${runId}`;
    const response = await client.send(
      new RunTaskCommand({
        cluster: settings.cluster,
        taskDefinition: settings.taskDefinition,
        count: 1,
        capacityProviderStrategy: [{ capacityProvider: settings.capacityProvider, weight: 1 }],
        networkConfiguration: {
          awsvpcConfiguration: {
            subnets: settings.subnets,
            securityGroups: settings.securityGroups,
            assignPublicIp: settings.assignPublicIp,
          },
        },
        overrides: {
          containerOverrides: [{ name: settings.containerName, environment }],
        },
        startedBy: `hbsync-${runId}${shard ? `-${shard.index}` : ""}`.slice(0, 128),
      }),
    );
    const failure = response.failures?.[0];
    const taskArn = response.tasks?.[0]?.taskArn;
    if (failure || !taskArn) {
      const reason = failure
        ? `${failure.reason ?? "unknown reason"}${failure.detail ? ` (${failure.detail})` : ""}`
        : "no task started";
      throw new DispatchError(`ecs:RunTask for ${which} in ${settings.cluster} failed: ${reason}`, runId, {
        fix: "check the cluster's capacity providers, the subnets and security groups, and the Fargate quota; the next scheduled run retries",
      });
    }
    return { taskArn };
  };
}

export function awsDispatcher(
  lambda: Pick<LambdaClient, "send">,
  workerFunctionName: string,
  ecs: Pick<ECSClient, "send">,
  settings: EcsSettings,
): Dispatcher {
  const invokeWorker = lambdaWorkerInvoker(lambda, workerFunctionName);
  const runTask = ecsTaskRunner(ecs, settings);
  return { invokeWorker, runTask };
}

/**
 * The local path (`hbsync sync`): plan and execute in this process, no hand-over, no size routing —
 * the same engine the Lambda worker and the ECS task run.
 */
export function runLocal(options: SyncOptions): Promise<SyncResult> {
  return syncMirror(options);
}
