import { RunFailedError, StateError } from "../mirror/errors.ts";
import { executePlan } from "../mirror/execute.ts";
import { resumeLease } from "../mirror/lock.ts";
import { readPlan, type StoredPlan } from "../mirror/prepare.ts";
import { emptyReport, type RunReport } from "../mirror/report.ts";
import {
  claimMerge,
  deleteParts,
  foldParts,
  PartRecord,
  partReportKey,
  partRuns,
  partTotals,
  readPart,
  readParts,
  type ShardPart,
  type ShardSpec,
  shardPlan,
} from "../mirror/shards.ts";
import { loadState, saveState, writeJson } from "../mirror/state.ts";
import { errorMessage } from "../shared/errors.ts";
import {
  abandon,
  newProgress,
  progressKey,
  type RunOutcome,
  type RunPlanDeps,
  type RunProgress,
  readProgress,
  runPlan,
} from "./run-plan.ts";

export interface ShardRequest {
  runId: string;
  shard: ShardSpec;
  /** External stop (SIGTERM of a Spot interruption): the part ends as failed, the run with it. */
  signal?: AbortSignal;
}

export type ShardOutcome =
  | RunOutcome
  /** This shard's part is written; `waiting` other shards have not finished theirs. */
  | { status: "part"; part: ShardPart; waiting: number };

/**
 * One ECS task of a sharded run (src/mirror/shards.ts): renews the run's lease (never takes or releases
 * it), transfers its shard's bottles and manifests, records them in its part, then settles the run if
 * it is the last shard to finish. Idempotent: a finished run, or a shard whose part already succeeded,
 * transfers nothing.
 */
export async function runShard(deps: RunPlanDeps, request: ShardRequest): Promise<ShardOutcome> {
  const { store, telemetry } = deps;
  const { runId, shard } = request;
  const now = deps.now ?? (() => new Date());
  const plan = await readPlan(store, runId);
  const planned = plan.shards?.count ?? 1;
  if (planned !== shard.count || shard.index < 0 || shard.index >= shard.count) {
    throw new StateError(
      `run ${runId} was planned for ${planned} task(s), but this task was started as shard ${shard.index + 1} of ${shard.count}`,
      {
        key: `_sync/plans/${runId}.json`,
        fix: "start the tasks with the SHARD_INDEX/SHARD_COUNT the orchestrator passes",
      },
    );
  }
  const progress = await readProgress(store, runId);
  if (progress?.finishedAt) return skip(deps, `run ${runId} already finished (${progress.status})`);
  const leaseMs = plan.shards?.leaseMs ?? deps.leaseMs;
  const previous = await readPart(store, runId, shard.index);
  if (previous?.status !== "succeeded") {
    const lease = await resumeLease(store, { runId, owner: deps.owner, leaseMs, now, shared: true });
    if (lease === null)
      return skip(deps, `the lock no longer names run ${runId}: it expired or was released`);
    await lease.renew();
    const startedAt = now();
    const sub = shardPlan(plan, shard);
    const record = new PartRecord(store, sub, shard, startedAt, previous);
    telemetry.info("executing shard", {
      shard: `${shard.index + 1}/${shard.count}`,
      bottles: sub.transfers.length,
      bytes: sub.totals.bytes,
    });
    let report: RunReport;
    try {
      report = await executePlan({
        store,
        registry: deps.registry,
        plan: sub,
        record,
        lease,
        reportKey: partReportKey(runId, shard.index),
        startedAt,
        now,
        ...(request.signal ? { signal: request.signal } : {}),
        ...(deps.retry ? { retry: deps.retry } : {}),
      });
    } catch (error) {
      // Already recorded what it finished (executePlan's escape path); the part says why it failed.
      report = emptyReport(runId, store.location, plan.settings.tags, startedAt);
      report.status = "failed";
      const cause = error instanceof RunFailedError ? error.cause : error;
      report.errors.push({ key: "(shard)", message: errorMessage(cause) });
    }
    const part = await record.finish(report, now());
    telemetry.info(`shard ${shard.index + 1}/${shard.count} ${part.status}`, {
      transferred: part.counts.transferred,
      adopted: part.counts.adopted,
      ...(part.error ? { error: part.error } : {}),
    });
  }
  return settle(deps, plan, shard.index, request.signal);
}

/**
 * The run's final step, taken by the shard that finds every part ended: one claims it; the parts are
 * folded into `_sync/state.json` (what they stored is recorded either way, so a re-run resumes it);
 * a failed part fails the run in one line, nothing published; otherwise the rest of the plan runs once
 * (manifests the shards did not store, API last, state, report, prune) and the lease is released.
 */
async function settle(
  deps: RunPlanDeps,
  plan: StoredPlan,
  index: number,
  signal: AbortSignal | undefined,
): Promise<ShardOutcome> {
  const { store } = deps;
  const count = plan.shards?.count ?? 1;
  const parts = await readParts(store, plan.runId, count);
  const waiting = parts.filter((part) => part === null || part.status === "running").length;
  const mine = parts[index] as ShardPart;
  if (waiting > 0 || !(await claimMerge(store, plan.runId, index))) {
    return { status: "part", part: mine, waiting };
  }
  const leaseMs = plan.shards?.leaseMs ?? deps.leaseMs;
  const now = deps.now ?? (() => new Date());
  const lease = await resumeLease(store, { runId: plan.runId, owner: deps.owner, leaseMs, now });
  if (lease === null)
    return skip(deps, `the lock no longer names run ${plan.runId}: it expired or was released`);
  const progress = await foldIntoState(deps, plan, parts);
  const reason = failureReason(parts);
  if (reason !== null) {
    const outcome = await abandon(deps, plan, lease, reason, progress);
    await deleteParts(store, plan.runId);
    return outcome;
  }
  const outcome = await runPlan(
    { ...deps, leaseMs },
    { runId: plan.runId, continuation: 0, onStop: "abandon", ...(signal ? { signal } : {}) },
  );
  if (outcome.status === "finished") await deleteParts(store, plan.runId);
  return outcome;
}

/** Records what the parts stored in the state and the run's progress (counts for its report). */
async function foldIntoState(
  deps: RunPlanDeps,
  plan: StoredPlan,
  parts: ReadonlyArray<ShardPart | null>,
): Promise<RunProgress> {
  const now = deps.now ?? (() => new Date());
  await saveState(deps.store, foldParts(await loadState(deps.store), parts), now());
  const progress = (await readProgress(deps.store, plan.runId)) ?? newProgress(plan.runId);
  const totals = partTotals(parts);
  progress.transferred = totals.transferred;
  progress.adopted = totals.adopted;
  progress.bytesTransferred = totals.bytesTransferred;
  progress.transfersMs = totals.transfersMs;
  await writeJson(deps.store, progressKey(plan.runId), progress);
  return progress;
}

/** Why the run cannot publish (a failed or missing part), in one line; null when every part succeeded. */
function failureReason(parts: ReadonlyArray<ShardPart | null>): string | null {
  const count = parts.length;
  const failed = parts.flatMap((part, index) => (part?.status === "succeeded" ? [] : [{ part, index }]));
  const first = failed[0];
  if (first === undefined) return null;
  const which = failed.map(({ index }) => `${index + 1}`).join(", ");
  const why =
    first.part === null
      ? "its task stopped before writing its part"
      : first.part.status === "running"
        ? "its task stopped before finishing its part"
        : (first.part.error ?? "failed");
  return `shard ${which} of ${count} did not succeed (shard ${first.index + 1}: ${why}); nothing was published, and the next run resumes from the bottles the shards stored`;
}

/**
 * Sharded runs whose tasks stopped without settling (a task killed, the lease left to expire): run by
 * the orchestrator once it holds the lock, before it plans. What their parts stored goes into the
 * state (the new plan does not move it again), the run is recorded as failed in one line, and the
 * parts are removed.
 */
export async function settleAbandonedShards(deps: RunPlanDeps, currentRunId: string): Promise<string[]> {
  const { store } = deps;
  const settled: string[] = [];
  for (const runId of await partRuns(store)) {
    if (runId === currentRunId) continue;
    const plan = await readPlan(store, runId).catch(() => null);
    const progress = plan ? await readProgress(store, runId) : null;
    if (plan && !progress?.finishedAt) {
      const parts = await readParts(store, runId, plan.shards?.count ?? 1);
      const known = await foldIntoState(deps, plan, parts);
      const reason = failureReason(parts) ?? "its tasks stopped before the final step";
      await abandon(deps, plan, { release: async () => {} }, reason, known);
      settled.push(runId);
    }
    await deleteParts(store, runId);
  }
  return settled;
}

function skip(deps: RunPlanDeps, reason: string): RunOutcome {
  deps.telemetry.warn(`nothing to do: ${reason}`);
  return { status: "skipped", reason };
}
