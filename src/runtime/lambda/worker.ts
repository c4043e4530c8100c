import { LambdaClient } from "@aws-sdk/client-lambda";
import type { Context } from "aws-lambda";
import { installProcessGuard, onUnexpectedError } from "../../shared/process-guard.ts";
import { lambdaWorkerInvoker, parseWorkerPayload } from "../dispatch.ts";
import { type DryRunResult, dryRunPlan, isDryRunEvent } from "../dry-run.ts";
import { workerConfigFromEnv } from "../env.ts";
import { once, openResources } from "../open.ts";
import { runPlan } from "../run-plan.ts";
import { powertoolsTelemetry } from "../telemetry.ts";

// Read once at init: a missing variable fails the function before any event (`MIRROR_BUCKET is required`).
const config = workerConfigFromEnv();
const telemetry = powertoolsTelemetry("worker", config.environment);
const lambda = new LambdaClient({});
const resources = once(() => openResources(config));
// An error outside any await chain pauses the running slice (progress saved) instead of vanishing in a
// stack trace; Lambda's own handler still ends the invocation, and the lease expires by time.
installProcessGuard({
  report: (error) => telemetry.error("unexpected error; the slice stops", { error: error.message }),
});

/**
 * {runId, continuation} → execute the plan; near the timeout, save progress and re-invoke itself.
 * {dryRun: true} → plan without writing anything (the deploy smoke test, src/runtime/dry-run.ts).
 */
export async function handler(
  event: unknown,
  context: Context,
): Promise<{ status: string; detail: string } | DryRunResult> {
  if (isDryRunEvent(event)) {
    telemetry.setKeys({ dryRun: "true", requestId: context.awsRequestId });
    try {
      const { store, api } = await resources();
      const result = await dryRunPlan({
        store,
        api,
        settings: config.settings,
        environment: config.environment,
        artifactVersion: config.artifactVersion,
      });
      telemetry.info("dry run", { ...result });
      return result;
    } finally {
      telemetry.flush();
    }
  }
  const { runId, continuation } = parseWorkerPayload(event);
  telemetry.setKeys({ runId, continuation, requestId: context.awsRequestId });
  const controller = new AbortController();
  const stopWatching = onUnexpectedError((error) => controller.abort(error));
  try {
    const { store, registry, notifier } = await resources();
    const outcome = await runPlan(
      {
        store,
        registry,
        notifier,
        telemetry,
        environment: config.environment,
        owner: `lambda:${context.functionName}:${context.awsRequestId}`,
        leaseMs: config.leaseMs,
        sliceSize: config.sliceSize,
      },
      {
        runId,
        continuation,
        requestId: context.awsRequestId,
        timeLeftMs: () => context.getRemainingTimeInMillis(),
        safetyMarginMs: config.safetyMarginMs,
        signal: controller.signal,
      },
    );
    if (outcome.status === "paused") {
      await lambdaWorkerInvoker(lambda, config.workerFunctionName ?? context.functionName)(outcome.next);
      return {
        status: "paused",
        detail: `${outcome.pending} bottles left; continuation ${outcome.next.continuation}`,
      };
    }
    if (outcome.status === "skipped") return { status: "skipped", detail: outcome.reason };
    return { status: outcome.report.status, detail: `run ${runId} ${outcome.report.status}` };
  } finally {
    stopWatching();
    telemetry.flush();
  }
}
