import { ECSClient } from "@aws-sdk/client-ecs";
import { LambdaClient } from "@aws-sdk/client-lambda";
import type { Context } from "aws-lambda";
import { newRunId } from "../../mirror/report.ts";
import { awsDispatcher } from "../dispatch.ts";
import { orchestratorConfigFromEnv } from "../env.ts";
import { once, openResources } from "../open.ts";
import { type OrchestrateOutcome, orchestrate } from "../orchestrate.ts";
import { powertoolsTelemetry } from "../telemetry.ts";

/** The outcome without the (large) run report: what an async invocation's logs and tests see. */
export type OrchestratorResult = Omit<OrchestrateOutcome, "report"> & { status?: string };

// Read once at init: a missing variable fails the function before any event (`MIRROR_BUCKET is required`).
const config = orchestratorConfigFromEnv();
const telemetry = powertoolsTelemetry("orchestrator", config.environment);
const dispatcher = awsDispatcher(
  new LambdaClient({}),
  config.workerFunctionName,
  new ECSClient({}),
  config.ecs,
);
const resources = once(() => openResources(config));

/** EventBridge schedule → plan, then hand the run to the worker Lambda or the ECS task (DESIGN.md §5). */
export async function handler(_event: unknown, context: Context): Promise<OrchestratorResult> {
  const runId = newRunId();
  telemetry.setKeys({ runId, requestId: context.awsRequestId });
  try {
    const outcome = await orchestrate(
      {
        ...(await resources()),
        settings: config.settings,
        dispatcher,
        telemetry,
        environment: config.environment,
        thresholdBytes: config.thresholdBytes,
        owner: `lambda:${context.functionName}:${context.awsRequestId}`,
        leaseMs: config.leaseMs,
        shards: config.shards,
      },
      runId,
    );
    if (outcome.route === "locked" || !outcome.report) return outcome;
    const { report, ...summary } = outcome;
    return { ...summary, status: report.status };
  } finally {
    telemetry.flush();
  }
}
