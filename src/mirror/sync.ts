import type { RetryOptions } from "../homebrew/retry.ts";
import type { BlobStore } from "../storage/blob-store.ts";
import { executePlan } from "./execute.ts";
import { brewGitPhase } from "./git/publish.ts";
import { BREW_GIT_PREFIX } from "./git/record.ts";
import { acquireLock, assertNotHeld, currentProcess, LOCK_KEY, readLease } from "./lock.ts";
import { portableRubyPhase } from "./portable-ruby.ts";
import {
  fetchIndexBeside,
  type IndexSource,
  type MirrorSettings,
  prepareReadOnly,
  prepareSync,
  type StoredPlan,
  writePlan,
} from "./prepare.ts";
import type { ProgressListener } from "./progress.ts";
import { emptyReport, type RunReport, runReportKey } from "./report.ts";
import { writeJson } from "./state.ts";
import type { BlobSource, ManifestSource } from "./transfer.ts";

export interface SyncOptions {
  store: BlobStore;
  api: IndexSource;
  registry: BlobSource & ManifestSource;
  settings: MirrorSettings;
  runId: string;
  /** Plan only: no lock, no write at all; the report has status "dry-run". */
  dryRun?: boolean;
  onProgress?: ProgressListener;
  signal?: AbortSignal;
  retry?: RetryOptions;
  now?: () => Date;
  /** Lease length (default 10 min; renewed every third of it). */
  leaseMs?: number;
  owner?: string;
  saveEvery?: number;
  /** Checkpoints at most this often (default 10 000 ms; see executePlan). */
  saveIntervalMs?: number;
  /** Re-hash every recorded object first and fetch again what does not match (see prepareSync). */
  verifyExisting?: boolean;
  /** Plan in full even when the mirror is settled for these inputs (src/mirror/settled.ts). */
  replan?: boolean;
  /** Recorded keys known to be damaged: fetched again (see prepareSync). */
  forget?: readonly string[];
  /** mirror.brew_git: publish brew's own repository after the bottles and the API (git/publish.ts). */
  brewGit?: BrewGitSettings;
}

export interface BrewGitSettings {
  upstream: string;
  /** The local bare repository the phase works in (a cache; see brewGitWorkDir). */
  workDir: string;
  /** Merge packs beyond this many (default 16). */
  maxPacks?: number;
}

export interface SyncResult {
  report: RunReport;
  plan: StoredPlan;
}

/**
 * One sync, in-process (DESIGN.md §2, §5): a read-only look at the lock (a live lease is refused before
 * any download; one whose process on this host is gone is taken over at once, and said so) → fetch and
 * verify the index (a bad signature stops everything before ANY write; files byte for byte as verified
 * before under the same key are not checked again: accepted-api.ts), and beside it read the state and
 * check the store (checkAhead: no write; done again under the lease if the state changed meanwhile) →
 * take the lease → plan → `_sync/plans/<runId>.json` → execute (the manifests read beside the
 * transfers, each transfer waiting only for its own manifest's size; each manifest stored once its
 * bottles are in → publish API last → state → report → prune) → brew's git (mirror.brew_git) →
 * release the lease. (The orchestrator reads the manifests before it writes the plan: it dispatches by
 * their sizes.)
 *
 * The brew git phase runs under the same lease, after the API: it depends on nothing the bottles do,
 * and a failure there (GitHub unreachable) must not hold back the bottles and API. It fails the run
 * (status "failed", exit 1) with its own error; the previously published refs stay as they were.
 */
export async function syncMirror(options: SyncOptions): Promise<SyncResult> {
  const { store } = options;
  const now = options.now ?? (() => new Date());
  const startedAt = now();
  const emit = options.onProgress ?? (() => {});

  if (!options.dryRun) assertNotHeld(await readLease(store), now());

  const prepareOptions = {
    store,
    api: options.api,
    registry: options.registry,
    settings: options.settings,
    runId: options.runId,
    now,
    onPhase: (phase: string, detail?: string) =>
      emit({ type: "phase", phase, ...(detail ? { detail } : {}) }),
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.verifyExisting ? { verifyExisting: true } : {}),
    ...(options.replan ? { replan: true } : {}),
    ...(options.forget ? { forget: options.forget } : {}),
  };

  if (options.dryRun) {
    const prepared = await prepareReadOnly(prepareOptions);
    const report = emptyReport(options.runId, store.location, options.settings.tags, startedAt);
    report.status = "dry-run";
    report.counts.formulae = prepared.plan.formulaeCount;
    report.counts.rejected = prepared.plan.rejected.length;
    report.rejected = prepared.plan.rejected;
    if (prepared.plan.missingDependencies?.length)
      report.missingDependencies = prepared.plan.missingDependencies;
    report.counts.planned = prepared.plan.transfers.length;
    report.counts.kept = prepared.plan.keeps.length;
    report.counts.superseded = prepared.plan.supersede.length;
    report.bytes.planned = prepared.plan.totals.bytes;
    report.errors = prepared.plan.manifestErrors;
    report.durationsMs = prepared.durationsMs;
    report.finishedAt = now().toISOString();
    return { report, plan: prepared.plan };
  }

  // Verify the index before the first write (the lease is the first write); beside it, the state read
  // and the store checked (no write; done again under the lease if the state changed meanwhile).
  const started = await fetchIndexBeside(store, options.api, options.settings.tags);
  if (started.unchanged > 0) {
    emit({
      type: "phase",
      phase: "index",
      detail: `${started.unchanged} of ${started.index.files.length} API files are byte for byte those verified before under the same trusted key: their signatures were not checked again`,
    });
  }

  const lease = await started.guard(() =>
    acquireLock(store, {
      runId: options.runId,
      ...(options.owner ? { owner: options.owner } : {}),
      ...(options.leaseMs ? { leaseMs: options.leaseMs } : {}),
      process: currentProcess(),
      now,
    }),
  );
  if (lease.takenOver) {
    const { from, reason } = lease.takenOver;
    emit({
      type: "phase",
      phase: "lock",
      detail: `took over ${LOCK_KEY} from run ${from.runId} (owner ${from.owner}): ${reason}`,
    });
  }
  // Renew the lease for the whole run (manifests of 8,000 formulae take a while); losing it aborts.
  const controller = new AbortController();
  const abort = (): void => controller.abort(options.signal?.reason);
  if (options.signal?.aborted) abort();
  options.signal?.addEventListener("abort", abort, { once: true });
  const stopRenewing = lease.keepAlive((error) => controller.abort(error));
  try {
    await started.recordAccepted();
    const prepared = await prepareSync({
      ...prepareOptions,
      api: started.index,
      signal: controller.signal,
      ahead: started.ahead,
      // In-process, no dispatch needs the sizes first: the transfers start with the manifests' reads.
      manifestsBeside: true,
    });
    prepared.durationsMs.index = (prepared.durationsMs.index ?? 0) + started.indexMs;
    const plan = await writePlan(store, prepared);
    const report = await executePlan({
      store,
      registry: options.registry,
      plan,
      apiFiles: prepared.apiFiles,
      manifests: prepared.manifests,
      listed: prepared.listed,
      state: prepared.state,
      settles: true,
      durationsMs: prepared.durationsMs,
      startedAt,
      now,
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      signal: controller.signal,
      lease,
      ...(options.retry ? { retry: options.retry } : {}),
      ...(options.saveEvery ? { saveEvery: options.saveEvery } : {}),
      ...(options.saveIntervalMs === undefined ? {} : { saveIntervalMs: options.saveIntervalMs }),
    });
    if (options.brewGit && !controller.signal.aborted) {
      emit({ type: "phase", phase: "brew-git", detail: options.brewGit.upstream });
      report.git = await brewGitPhase({
        store,
        upstream: options.brewGit.upstream,
        workDir: options.brewGit.workDir,
        retentionDays: options.settings.retentionDays,
        lease,
        signal: controller.signal,
        now,
        ...(options.brewGit.maxPacks ? { maxPacks: options.brewGit.maxPacks } : {}),
        beforeRefs: portableRubyPhase({
          store,
          registry: options.registry,
          upstream: options.brewGit.upstream,
          layouts: options.settings.layouts ?? ["flat"],
          retentionDays: options.settings.retentionDays,
          now,
          signal: controller.signal,
          ...(options.retry ? { retry: options.retry } : {}),
        }),
        onPhase: (phase, detail) => emit({ type: "phase", phase, ...(detail ? { detail } : {}) }),
      });
      recordGitOutcome(report);
      report.durationsMs.brewGit = report.git.durationMs;
      report.finishedAt = now().toISOString();
      report.durationsMs.total = Date.parse(report.finishedAt) - Date.parse(report.startedAt);
      await writeJson(store, runReportKey(report.runId), report);
    }
    emit({ type: "phase", phase: "done", detail: report.status });
    stopRenewing();
    await lease.release();
    return { report, plan };
  } catch (error) {
    // Release what we can, but never let a failed release hide why the run failed.
    stopRenewing();
    await lease.release().catch(() => {});
    throw error;
  } finally {
    options.signal?.removeEventListener("abort", abort);
  }
}

/** A failed brew git phase fails the run, with an error of its own (the bottles and API are unaffected). */
export function recordGitOutcome(report: RunReport): void {
  if (report.git?.status !== "failed") return;
  report.status = "failed";
  report.errors.push({ key: BREW_GIT_PREFIX, message: `brew's git was not updated: ${report.git.error}` });
  report.counts.failed = report.errors.length;
}
