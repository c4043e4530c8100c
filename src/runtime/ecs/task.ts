import { hostname } from "node:os";
import { pathToFileURL } from "node:url";
import { installProcessGuard, onUnexpectedError } from "../../shared/process-guard.ts";
import { taskConfigFromEnv } from "../env.ts";
import { failureEvent, type Notifier } from "../events.ts";
import { openResources } from "../open.ts";
import { runPlan } from "../run-plan.ts";
import { runShard } from "../run-shard.ts";
import { powertoolsTelemetry } from "../telemetry.ts";

// Read once at start: a missing variable fails the task before any work (`MIRROR_BUCKET is required`).
const config = taskConfigFromEnv();
const telemetry = powertoolsTelemetry("ecs-task", config.environment);

/**
 * The Fargate task: executes the plan RUN_ID names, in one go (no deadline) — or, with SHARD_INDEX and
 * SHARD_COUNT, one shard of it (src/runtime/run-shard.ts; the last shard settles the run). SIGTERM (a Spot
 * interruption gives 2 minutes; the task definition's stop timeout is 120 s) stops the transfers,
 * records the run as failed and releases the lock. Returns the process exit code.
 */
export async function main(signal?: AbortSignal): Promise<number> {
  telemetry.setKeys({ runId: config.runId });
  let notify: Notifier | undefined;
  try {
    const { store, registry, notifier } = await openResources(config);
    notify = notifier;
    const deps = {
      store,
      registry,
      notifier,
      telemetry,
      environment: config.environment,
      owner: `ecs:${hostname()}${config.shard ? `:shard-${config.shard.index}` : ""}`,
      leaseMs: config.leaseMs,
    };
    const outcome = config.shard
      ? await runShard(deps, { runId: config.runId, shard: config.shard, ...(signal ? { signal } : {}) })
      : await runPlan(deps, {
          runId: config.runId,
          continuation: 0,
          ...(signal ? { signal } : {}),
          onStop: "abandon",
        });
    await store.close?.();
    if (outcome.status === "skipped") return 0;
    // This shard's part is written; a later shard settles the run.
    if (outcome.status === "part") return outcome.part.status === "succeeded" ? 0 : 1;
    return outcome.status === "finished" && outcome.report.status === "succeeded" ? 0 : 1;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    telemetry.error("the sync task failed", { error: message });
    await notify?.send(failureEvent(config.environment, config.runId, message));
    return 1;
  } finally {
    telemetry.flush();
  }
}

// Run when executed as the container's entry point (`node task.mjs`), not when imported.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const controller = new AbortController();
  const stop = (): void => controller.abort(new Error("SIGTERM received"));
  process.once("SIGTERM", stop);
  // An error outside any await chain stops the run like SIGTERM does (failed, lock released), in one line.
  let unexpected = false;
  installProcessGuard({
    report: (error) => {
      unexpected = true;
      telemetry.error("unexpected error; the run stops as failed", { error: error.message });
    },
  });
  const stopWatching = onUnexpectedError((error) => controller.abort(error));
  const code = await main(controller.signal);
  process.exitCode = unexpected ? 1 : code;
  stopWatching();
  process.off("SIGTERM", stop);
}
