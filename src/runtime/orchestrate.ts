import { LockHeldError } from "../mirror/errors.ts";
import { executePlan } from "../mirror/execute.ts";
import { acquireLock, type Lease, readLease } from "../mirror/lock.ts";
import {
  fetchIndexBeside,
  type IndexSource,
  type MirrorSettings,
  prepareSync,
  type StoredPlan,
  writePlan,
} from "../mirror/prepare.ts";
import type { RunReport } from "../mirror/report.ts";
import { type ShardSettings, shardCount } from "../mirror/shards.ts";
import { loadState } from "../mirror/state.ts";
import type { BlobSource, ManifestSource } from "../mirror/transfer.ts";
import { errorMessage } from "../shared/errors.ts";
import type { BlobStore } from "../storage/blob-store.ts";
import { chooseRoute, type Dispatcher, type Route } from "./dispatch.ts";
import {
  changedNothing,
  failureEvent,
  type Notifier,
  syncStartedEvent,
  syncSummaryEvent,
  upToDateEvent,
} from "./events.ts";
import { settleAbandonedShards } from "./run-shard.ts";
import { runMetrics, type Telemetry } from "./telemetry.ts";

export interface OrchestrateDeps {
  store: BlobStore;
  api: IndexSource;
  registry: BlobSource & ManifestSource;
  settings: MirrorSettings;
  dispatcher: Dispatcher;
  notifier: Notifier;
  telemetry: Telemetry;
  environment: string;
  thresholdBytes: number;
  owner: string;
  /** How long the lease outlives the hand-over; the worker or task renews it while it runs. */
  leaseMs: number;
  /** Split an ECS run over several tasks (`mirror.shards`); absent: one task. */
  shards?: ShardSettings;
  now?: () => Date;
}

export type OrchestrateOutcome =
  | { route: "locked"; runId: string; holder: string }
  | {
      route: Route;
      runId: string;
      bottles: number;
      bytes: number;
      taskArn?: string;
      /** A sharded ECS run: one task per shard, in shard order. */
      taskArns?: string[];
      report?: RunReport;
    };

/**
 * One scheduled run, EventBridge → here (DESIGN.md §5): a held lease → "locked" (the previous run is
 * still going; not an error) → fetch and verify the index (a bad signature stops before any write;
 * files as verified before are not checked again), and beside it read the state and list the store
 * (checkAhead) → take the lease → plan + manifest sizes → `_sync/plans/<runId>.json` with the verified API files staged
 * → route by bytes to move: nothing → finish in-process (manifests, API, state, report, prune), release,
 * notify "up to date"; ≤ threshold → invoke the worker Lambda; above → ECS RunTask, one task per shard
 * when `shards` splits the run (src/mirror/shards.ts). After a hand-over the lease stays held: the
 * worker, the task, or a sharded run's last task releases it. A sharded run whose tasks stopped without
 * settling is settled here first (failed, what its parts stored recorded). On any failure the lease is
 * released and the failure notified, then the error is rethrown.
 */
export async function orchestrate(deps: OrchestrateDeps, runId: string): Promise<OrchestrateOutcome> {
  const { store, telemetry } = deps;
  const now = deps.now ?? (() => new Date());
  const startedAt = now();
  telemetry.setKeys({ runId });

  const holder = await readLease(store);
  if (holder !== null && Date.parse(holder.expiresAt) > now().getTime())
    return locked(telemetry, runId, holder);

  let lease: Lease | undefined;
  try {
    // The state and the store's check (a listing of bottles/) beside the download: no write; done
    // again under the lease if the state changed meanwhile (settling abandoned shards writes it).
    const started = await fetchIndexBeside(store, deps.api, deps.settings.tags);
    telemetry.info("index verified", {
      apiFiles: started.index.files.length,
      // Byte for byte as verified before under the same trusted key: not checked again (accepted-api.ts).
      unchangedSinceVerified: started.unchanged,
    });
    try {
      lease = await started.guard(() =>
        acquireLock(store, { runId, owner: deps.owner, leaseMs: deps.leaseMs, now }),
      );
    } catch (error) {
      if (error instanceof LockHeldError) return locked(telemetry, runId, error);
      throw error;
    }
    await started.recordAccepted();
    await settleAbandonedShards(
      {
        store,
        registry: deps.registry,
        telemetry,
        notifier: deps.notifier,
        environment: deps.environment,
        owner: deps.owner,
        leaseMs: deps.leaseMs,
        now,
      },
      runId,
    );
    const prepared = await prepareSync({
      store,
      ahead: started.ahead,
      api: started.index,
      registry: deps.registry,
      settings: deps.settings,
      runId,
      now,
    });
    const work = { bottles: prepared.plan.transfers.length, bytes: prepared.plan.totals.bytes };
    const route = chooseRoute(work, deps.thresholdBytes);
    const shards = route === "ecs" && deps.shards ? shardCount(work.bytes, deps.shards) : 1;
    if (shards > 1) prepared.plan.shards = { count: shards, leaseMs: deps.leaseMs };
    const plan = await writePlan(store, prepared, { stageApiFiles: true });
    telemetry.info("planned", {
      route,
      ...work,
      shards,
      unknownSizes: plan.totals.unknownSizes,
      thresholdBytes: deps.thresholdBytes,
    });

    if (route === "none") {
      const report = await executePlan({
        store,
        registry: deps.registry,
        plan,
        apiFiles: prepared.apiFiles,
        manifests: prepared.manifests,
        durationsMs: prepared.durationsMs,
        state: prepared.state,
        // The whole plan, here: a run that publishes records the mirror as settled (src/mirror/settled.ts).
        settles: true,
        startedAt,
        lease,
        now,
      });
      await lease.release();
      telemetry.recordRun(runMetrics(report));
      const state = await loadState(store);
      await deps.notifier.send(
        changedNothing(report)
          ? upToDateEvent(deps.environment, report, state)
          : syncSummaryEvent(deps.environment, report, state),
      );
      return { route, runId, ...work, report };
    }

    await deps.notifier.send(syncStartedEvent(deps.environment, plan, route));
    const taskArns = await handOver(deps, plan, route);
    const taskArn = taskArns[0];
    telemetry.info(`handed over to ${route}`, { ...(taskArn ? { taskArn } : {}), tasks: taskArns.length });
    return {
      route,
      runId,
      ...work,
      ...(taskArn ? { taskArn } : {}),
      ...(taskArns.length > 1 ? { taskArns } : {}),
    };
  } catch (error) {
    await lease?.release().catch(() => undefined);
    telemetry.error("orchestration failed", { error: errorMessage(error) });
    await deps.notifier.send(failureEvent(deps.environment, runId, errorMessage(error)));
    throw error;
  }
}

async function handOver(deps: OrchestrateDeps, plan: StoredPlan, route: "lambda" | "ecs"): Promise<string[]> {
  if (route === "lambda") {
    await deps.dispatcher.invokeWorker({ runId: plan.runId, continuation: 0 });
    return [];
  }
  const count = plan.shards?.count ?? 1;
  if (count === 1) {
    const { taskArn } = await deps.dispatcher.runTask(plan.runId);
    return taskArn ? [taskArn] : [];
  }
  // One task per shard. If a RunTask fails, the error releases the lease: the tasks already started
  // find the lock gone and stop, and the next run adopts what they stored.
  const taskArns: string[] = [];
  for (let index = 0; index < count; index++) {
    const { taskArn } = await deps.dispatcher.runTask(plan.runId, { index, count });
    if (taskArn) taskArns.push(taskArn);
  }
  return taskArns;
}

function locked(
  telemetry: Telemetry,
  runId: string,
  holder: { runId: string; owner: string; expiresAt: string },
): OrchestrateOutcome {
  telemetry.warn("another run holds the lock; skipping this schedule", { holder });
  return { route: "locked", runId, holder: holder.runId };
}
