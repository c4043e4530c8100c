import type { RetryOptions } from "../homebrew/retry.ts";
import { executePlan } from "../mirror/execute.ts";
import type { Lease } from "../mirror/lock.ts";
import { resumeLease } from "../mirror/lock.ts";
import { PLANS_PREFIX, readPlan, type StoredPlan } from "../mirror/prepare.ts";
import { emptyReport, type RunReport, runReportKey } from "../mirror/report.ts";
import { loadState, type MirrorState, readText, writeJson } from "../mirror/state.ts";
import type { BlobSource, ManifestSource } from "../mirror/transfer.ts";
import { errorMessage } from "../shared/errors.ts";
import type { BlobStore } from "../storage/blob-store.ts";
import type { WorkerPayload } from "./dispatch.ts";
import { failureEvent, type Notifier, syncSummaryEvent } from "./events.ts";
import type { Telemetry } from "./telemetry.ts";

/**
 * Executes a stored plan (`_sync/plans/<runId>.json`) in a process other than the one that planned it —
 * the worker Lambda or the ECS task — in slices: transfer a slice of the pending bottles (executePlan on
 * a sub-plan: download, verify, record in `_sync/state.json`), check the clock, repeat; when no bottle is
 * pending, execute the rest of the plan (manifests, API last, state, run report, prune) and release the
 * lock. When the deadline nears, it stops between slices and returns `paused` so the caller re-invokes
 * (the state is the progress: a bottle in the state with the planned sha256 is never downloaded again).
 *
 * Idempotent: a finished run does nothing (progress.finishedAt); a run whose lock another run now holds
 * does nothing; with `requestId`, one invocation per continuation claims it (a duplicate delivery of
 * the same event is skipped, Lambda's retry of a crashed invocation — same request id — resumes).
 */
export interface RunPlanDeps {
  store: BlobStore;
  registry: BlobSource & ManifestSource;
  telemetry: Telemetry;
  notifier: Notifier;
  environment: string;
  /** Written into the lease when renewed (e.g. `lambda:<requestId>`, `ecs:<task>`). */
  owner: string;
  leaseMs: number;
  /** Bottles per slice between deadline checks (default: all pending bottles in one slice). */
  sliceSize?: number;
  retry?: RetryOptions;
  now?: () => Date;
  /** Give up after this many continuations (default 100). */
  maxContinuations?: number;
}

export interface RunPlanRequest {
  runId: string;
  continuation: number;
  /** Milliseconds before the host stops this process; absent: no deadline (ECS, local). */
  timeLeftMs?: () => number;
  /** Stop between slices once less than this is left (default 120 s). */
  safetyMarginMs?: number;
  /** Lambda's awsRequestId (identical across Lambda's retries of one event). */
  requestId?: string;
  /** External stop (SIGTERM of a Spot interruption). */
  signal?: AbortSignal;
  /**
   * When stopped by `signal`: "pause" (default) returns `paused`; "abandon" records the run as failed
   * and releases the lock (an ECS task has nobody to continue it: the next scheduled run re-plans and
   * adopts what this one stored).
   */
  onStop?: "pause" | "abandon";
}

export type RunOutcome =
  | { status: "finished"; report: RunReport }
  | { status: "paused"; next: WorkerPayload; pending: number }
  | { status: "skipped"; reason: string };

/** `_sync/plans/<runId>/progress.json`: what earlier invocations of the run did. */
export interface RunProgress {
  version: 1;
  runId: string;
  continuations: number;
  slices: number;
  transferred: number;
  adopted: number;
  bytesTransferred: number;
  transfersMs: number;
  /** Bottles that failed (after retries) in a slice: retried once more by the final step. */
  failed: Record<string, string>;
  finishedAt?: string;
  status?: RunReport["status"];
}

export function progressKey(runId: string): string {
  return `${PLANS_PREFIX}${runId}/progress.json`;
}

const claimsPrefix = (runId: string): string => `${PLANS_PREFIX}${runId}/claims/`;
const slicesPrefix = (runId: string): string => `${PLANS_PREFIX}${runId}/slices/`;
const DEFAULT_MARGIN_MS = 120_000;
const HARD_MARGIN_MS = 20_000;

export async function runPlan(deps: RunPlanDeps, request: RunPlanRequest): Promise<RunOutcome> {
  const { store, telemetry } = deps;
  const { runId } = request;
  const now = deps.now ?? (() => new Date());
  const started = performance.now();
  const plan = await readPlan(store, runId);
  const progress = (await readProgress(store, runId)) ?? newProgress(runId);
  if (progress.finishedAt) return skip(telemetry, `run ${runId} already finished (${progress.status})`);

  if (
    request.requestId !== undefined &&
    !(await claim(store, runId, request.continuation, request.requestId))
  ) {
    return skip(
      telemetry,
      `continuation ${request.continuation} of run ${runId} is handled by another invocation`,
    );
  }
  const lease = await resumeLease(store, { runId, owner: deps.owner, leaseMs: deps.leaseMs, now });
  if (lease === null)
    return skip(telemetry, `the lock no longer names run ${runId}: it expired or was released`);
  await lease.renew();

  if (request.continuation > (deps.maxContinuations ?? 100)) {
    return abandon(deps, plan, lease, `gave up after ${request.continuation} continuations`);
  }

  const controller = new AbortController();
  const external = (): void => controller.abort(request.signal?.reason ?? new Error("stopped"));
  if (request.signal?.aborted) external();
  request.signal?.addEventListener("abort", external, { once: true });
  let lostLease: unknown;
  const stopRenewing = lease.keepAlive((error) => {
    lostLease = error;
    controller.abort(error);
  });
  const margin = request.safetyMarginMs ?? DEFAULT_MARGIN_MS;
  // Hard stop: abort in-flight transfers shortly before the host would kill the process (the soft stop
  // between slices should make this rare; an aborted bottle is downloaded again by the next invocation).
  const hardMargin = Math.min(HARD_MARGIN_MS, margin / 2);
  const hardStop = request.timeLeftMs
    ? setTimeout(
        () => controller.abort(new Error("deadline")),
        Math.max(0, request.timeLeftMs() - hardMargin),
      )
    : undefined;
  hardStop?.unref();
  const moved = { bottles: 0, bytes: 0 };
  try {
    for (;;) {
      const state = await loadState(store);
      const pending = plan.transfers.filter(
        (ref) => !isDone(state, ref) && progress.failed[ref.key] === undefined,
      );
      if (pending.length === 0) break;
      const slice = pending.slice(0, deps.sliceSize ?? pending.length);
      telemetry.info("executing slice", {
        slice: progress.slices,
        bottles: slice.length,
        pending: pending.length,
      });
      const sliceReport = await executePlan({
        store,
        reportKey: `${slicesPrefix(runId)}${progress.slices}.json`,
        registry: deps.registry,
        plan: subPlan(plan, slice),
        signal: controller.signal,
        now,
        ...(deps.retry ? { retry: deps.retry } : {}),
      });
      progress.slices++;
      progress.transferred += sliceReport.counts.transferred;
      progress.adopted += sliceReport.counts.adopted;
      progress.bytesTransferred += sliceReport.bytes.transferred;
      progress.transfersMs += sliceReport.durationsMs.transfers ?? 0;
      moved.bottles += sliceReport.counts.transferred + sliceReport.counts.adopted;
      moved.bytes += sliceReport.bytes.transferred;
      if (lostLease !== undefined) return skip(telemetry, `lost the lock: ${errorMessage(lostLease)}`);
      if (controller.signal.aborted) {
        if (stoppedByCaller(request)) return await abandon(deps, plan, lease, stopReason(request), progress);
        return await pause(deps, request, progress, pending.length - slice.length);
      }
      const sliceKeys = new Set(slice.map((ref) => ref.key));
      for (const error of sliceReport.errors)
        if (sliceKeys.has(error.key)) progress.failed[error.key] = error.message;
      await writeJson(store, progressKey(runId), progress);
      const left = pending.length - slice.length;
      if (left > 0 && request.timeLeftMs && request.timeLeftMs() < margin) {
        return await pause(deps, request, progress, left);
      }
    }

    // No bottle pending: the rest of the plan (failed bottles get one more try, then manifests, API, prune).
    const state = await loadState(store);
    const stored = new Set(plan.transfers.filter((ref) => isDone(state, ref)).map((ref) => ref.key));
    const finalPlan: StoredPlan = {
      ...plan,
      transfers: plan.transfers.filter((ref) => !stored.has(ref.key)),
      // Manifests an earlier step of this run stored (the shards of a sharded run) are not fetched again.
      manifests: plan.manifests.filter((manifest) => !storedSince(state, manifest.key, plan.createdAt)),
      // What the plan found gone and an earlier slice or shard has stored again stays recorded.
      forgotten: (plan.forgotten ?? []).filter(
        (key) => !stored.has(key) && !storedSince(state, key, plan.createdAt),
      ),
    };
    const report = await executePlan({
      store,
      registry: deps.registry,
      plan: finalPlan,
      signal: controller.signal,
      settles: true,
      startedAt: new Date(plan.createdAt),
      now,
      ...(deps.retry ? { retry: deps.retry } : {}),
    });
    moved.bottles += report.counts.transferred + report.counts.adopted;
    moved.bytes += report.bytes.transferred;
    if (lostLease !== undefined) return skip(telemetry, `lost the lock: ${errorMessage(lostLease)}`);
    if (controller.signal.aborted) {
      if (stoppedByCaller(request)) return await abandon(deps, plan, lease, stopReason(request), progress);
      return await pause(deps, request, progress, finalPlan.transfers.length);
    }
    mergeProgress(report, plan, progress);
    await writeJson(store, runReportKey(runId), report);
    await finishRun(store, progress, report, now);
    await lease.release();
    telemetry.info(`run ${report.status}`, { counts: report.counts, bytes: report.bytes });
    telemetry.recordRun({
      bottles: moved.bottles,
      bytes: moved.bytes,
      failures: report.counts.failed,
      durationMs: Math.round(performance.now() - started),
    });
    await deps.notifier.send(
      syncSummaryEvent(deps.environment, report, await loadState(store).catch(() => null)),
    );
    return { status: "finished", report };
  } finally {
    if (hardStop) clearTimeout(hardStop);
    stopRenewing();
    request.signal?.removeEventListener("abort", external);
    if (moved.bottles > 0 && progress.finishedAt === undefined) {
      telemetry.recordRun({
        bottles: moved.bottles,
        bytes: moved.bytes,
        failures: 0,
        durationMs: Math.round(performance.now() - started),
      });
    }
  }
}

/** Marks a run finished without executing it (interrupted ECS task, too many continuations) and frees the lock. */
export async function abandon(
  deps: RunPlanDeps,
  plan: StoredPlan,
  lease: Pick<Lease, "release">,
  reason: string,
  known?: RunProgress,
): Promise<RunOutcome> {
  const now = deps.now ?? (() => new Date());
  const progress = known ?? (await readProgress(deps.store, plan.runId)) ?? newProgress(plan.runId);
  const report = emptyReport(plan.runId, deps.store.location, plan.settings.tags, new Date(plan.createdAt));
  report.status = "failed";
  report.errors.push({ key: "run", message: reason });
  mergeProgress(report, plan, progress);
  report.finishedAt = now().toISOString();
  await writeJson(deps.store, runReportKey(plan.runId), report);
  await finishRun(deps.store, progress, report, now);
  await lease.release();
  deps.telemetry.error(`run abandoned: ${reason}`);
  await deps.notifier.send(failureEvent(deps.environment, plan.runId, reason));
  return { status: "finished", report };
}

export async function readProgress(store: BlobStore, runId: string): Promise<RunProgress | null> {
  const text = await readText(store, progressKey(runId));
  if (text === null) return null;
  const value = JSON.parse(text) as RunProgress;
  return { ...newProgress(runId), ...value, failed: { ...value.failed } };
}

export function newProgress(runId: string): RunProgress {
  return {
    version: 1,
    runId,
    continuations: 0,
    slices: 0,
    transferred: 0,
    adopted: 0,
    bytesTransferred: 0,
    transfersMs: 0,
    failed: {},
  };
}

function storedSince(state: MirrorState, key: string, createdAt: string): boolean {
  const entry = state.manifests?.[key];
  return entry !== undefined && Date.parse(entry.syncedAt) >= Date.parse(createdAt);
}

function isDone(state: MirrorState, ref: { key: string; sha256: string }): boolean {
  return state.entries[ref.key]?.sha256 === ref.sha256;
}

/** A plan that only transfers `transfers`: no manifests, no API, no retirement, no prune. */
function subPlan(plan: StoredPlan, transfers: StoredPlan["transfers"]): StoredPlan {
  return {
    ...plan,
    transfers,
    keeps: [],
    manifests: [],
    manifestKeeps: [],
    supersede: [],
    prunes: [],
    rejected: [],
    api: [],
    manifestErrors: [],
  };
}

/** The run's report with what earlier slices and invocations did. */
function mergeProgress(report: RunReport, plan: StoredPlan, progress: RunProgress): void {
  report.counts.planned = plan.transfers.length;
  report.bytes.planned = plan.totals.bytes;
  report.counts.transferred += progress.transferred;
  report.counts.adopted += progress.adopted;
  report.bytes.transferred += progress.bytesTransferred;
  report.durationsMs.transfers = (report.durationsMs.transfers ?? 0) + progress.transfersMs;
}

async function finishRun(
  store: BlobStore,
  progress: RunProgress,
  report: RunReport,
  now: () => Date,
): Promise<void> {
  progress.finishedAt = now().toISOString();
  progress.status = report.status;
  await writeJson(store, progressKey(report.runId), progress);
  for (const prefix of [claimsPrefix(report.runId), slicesPrefix(report.runId)]) {
    const keys: string[] = [];
    for await (const stat of store.list(prefix)) keys.push(stat.key);
    for (const key of keys) await store.delete(key);
  }
}

async function pause(
  deps: RunPlanDeps,
  request: RunPlanRequest,
  progress: RunProgress,
  pending: number,
): Promise<RunOutcome> {
  progress.continuations = request.continuation + 1;
  await writeJson(deps.store, progressKey(request.runId), progress);
  deps.telemetry.info("pausing: the deadline is near", { pending, continuation: progress.continuations });
  return {
    status: "paused",
    next: { runId: request.runId, continuation: request.continuation + 1 },
    pending,
  };
}

/** Create-if-absent claim of one continuation; true when it is ours (new, or the same request id). */
async function claim(
  store: BlobStore,
  runId: string,
  continuation: number,
  requestId: string,
): Promise<boolean> {
  const key = `${claimsPrefix(runId)}${continuation}.json`;
  if (await store.putIfAbsent(key, JSON.stringify({ requestId }))) return true;
  const text = await readText(store, key);
  return text !== null && (JSON.parse(text) as { requestId?: string }).requestId === requestId;
}

function stoppedByCaller(request: RunPlanRequest): boolean {
  return request.onStop === "abandon" && request.signal?.aborted === true;
}

function stopReason(request: RunPlanRequest): string {
  return `interrupted: ${errorMessage(request.signal?.reason ?? "stopped")}; completed bottles are kept`;
}

function skip(telemetry: Telemetry, reason: string): RunOutcome {
  telemetry.warn(`nothing to do: ${reason}`);
  return { status: "skipped", reason };
}
