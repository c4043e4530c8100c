import type { ApiFile } from "../homebrew/api-client.ts";
import type { RetryOptions } from "../homebrew/retry.ts";
import { errorMessage } from "../shared/errors.ts";
import type { BlobStore } from "../storage/blob-store.ts";
import { StateError } from "./errors.ts";
import type { Lease } from "./lock.ts";
import { runPool } from "./pool.ts";
import { type StoredPlan, toRunError } from "./prepare.ts";
import type { ProgressListener } from "./progress.ts";
import { emptyReport, type RunReport, runReportKey } from "./report.ts";
import { loadState, type MirrorState, readBytes, STATE_KEY, saveState, writeJson } from "./state.ts";
import {
  type BlobSource,
  type FetchedManifest,
  fetchManifest,
  type ManifestSource,
  storeManifest,
  transferBottle,
} from "./transfer.ts";

export interface ExecuteOptions {
  store: BlobStore;
  registry: BlobSource & ManifestSource;
  plan: StoredPlan;
  /** The verified API files in memory; when absent they are read from the plan's staged copies. */
  apiFiles?: ApiFile[];
  /** Manifests already read while planning; the rest are fetched again. */
  manifests?: Map<string, FetchedManifest>;
  /**
   * The keys the store held when this process planned moments ago: a transfer whose key was not among
   * them has no object to adopt and skips the check (a stat, or a HEAD on S3, per bottle). Only for a
   * plan made in the same process: a plan resumed after a crash may find its own finished bottles.
   */
  listed?: ReadonlySet<string>;
  retry?: RetryOptions;
  signal?: AbortSignal;
  onProgress?: ProgressListener;
  now?: () => Date;
  /** Save the state after this many completed transfers (default 25), so a killed run resumes. */
  saveEvery?: number;
  /** …and at most this often (default 10 000 ms): each save writes the whole state and flushes. */
  saveIntervalMs?: number;
  /** Renewed as the run goes; losing it aborts the run (the caller took it and releases it). */
  lease?: Lease;
  /** Timings already spent (index, plan, manifests) to carry into the report. */
  durationsMs?: Record<string, number>;
  startedAt?: Date;
  /**
   * Where the report goes (default `_sync/runs/<runId>.json`). The AWS worker executes a plan in
   * slices and keeps each slice's report beside the plan, writing the run's report itself at the end.
   */
  reportKey?: string;
}

/**
 * Applies a plan (rclone's copy; changesets' applyReleasePlan): transfers (bounded by
 * `concurrency.transfers`) → manifests → if anything failed: state for what succeeded + report, no
 * publish, no prune → else API files LAST → state → run report → prune superseded past retention.
 * Idempotent: a re-run of the same plan adopts what is already stored and verified.
 */
export async function executePlan(options: ExecuteOptions): Promise<RunReport> {
  const controller = new AbortController();
  const abort = (): void => controller.abort(options.signal?.reason);
  if (options.signal?.aborted) abort();
  options.signal?.addEventListener("abort", abort, { once: true });
  const stopRenewing = options.lease?.keepAlive((error) => controller.abort(error));
  try {
    return await execute(options, controller.signal);
  } finally {
    stopRenewing?.();
    options.signal?.removeEventListener("abort", abort);
  }
}

async function execute(options: ExecuteOptions, signal: AbortSignal): Promise<RunReport> {
  const { store, plan } = options;
  const now = options.now ?? (() => new Date());
  const report = emptyReport(plan.runId, store.location, plan.settings.tags, options.startedAt ?? now());
  Object.assign(report.durationsMs, options.durationsMs);
  report.counts.formulae = plan.formulaeCount;
  report.counts.rejected = plan.rejected.length;
  report.rejected = plan.rejected;
  report.counts.planned = plan.transfers.length;
  report.counts.kept = plan.keeps.length;
  report.bytes.planned = plan.totals.bytes;
  report.errors.push(...plan.manifestErrors);
  // The signed API files are published unmodified, so they name every formula's bottles: one that could
  // not be planned would be named but missing (DESIGN.md §2). The operator unblocks by excluding it.
  for (const entry of plan.rejected) {
    report.errors.push({
      key: entry.name,
      message: `${entry.name} was rejected (${entry.reason}); the API would name its bottles, so it is not published: add it to mirror.formulae.exclude to publish without it`,
    });
  }
  const emit = options.onProgress ?? (() => {});
  const time = async <T>(name: string, step: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    try {
      return await step();
    } finally {
      report.durationsMs[name] = (report.durationsMs[name] ?? 0) + Math.round(performance.now() - t0);
    }
  };

  const state = await loadState(store);
  state.manifests ??= {};
  // What the planner found gone from the store (the plan moves it again if the index still names it).
  for (const key of plan.forgotten ?? []) {
    delete state.entries[key];
    delete state.manifests[key];
  }
  const manifests = new Map(options.manifests ?? []);
  const failedManifests = new Set(plan.manifestErrors.map((error) => error.key));

  // Manifests not read while planning (a worker in another process): read them now, for their bytes.
  const missing = plan.manifests.filter((m) => !manifests.has(m.key) && !failedManifests.has(m.key));
  if (missing.length > 0) {
    emit({ type: "phase", phase: "manifests", detail: `${missing.length} manifests` });
    await time("manifests", async () => {
      const results = await runPool(
        missing,
        poolOptions("checkers", plan.settings.concurrency.checkers, signal),
        (manifest) => fetchManifest(manifest, options.registry),
      );
      results.forEach((result, position) => {
        const manifest = missing[position];
        if (!manifest || !result) return;
        if (result.ok) manifests.set(manifest.key, result.value);
        else {
          failedManifests.add(manifest.key);
          report.errors.push(toRunError(manifest.key, result.error));
        }
      });
    });
  }

  // A manifest is stored as soon as every bottle it describes is in the store (overlapping transfers).
  const manifestOf = new Map<string, string>();
  const waitingOn = new Map<string, number>();
  const transferring = new Set(plan.transfers.map((ref) => ref.key));
  for (const manifest of plan.manifests) {
    for (const bottle of manifest.bottles) manifestOf.set(bottle.key, manifest.key);
    waitingOn.set(manifest.key, manifest.bottles.filter((bottle) => transferring.has(bottle.key)).length);
  }
  const storedManifests = new Set<string>();
  const manifestErrors = new Set<string>();
  const storeReadyManifest = async (manifest: (typeof plan.manifests)[number]): Promise<void> => {
    const fetched = manifests.get(manifest.key);
    if (!fetched || storedManifests.has(manifest.key) || manifestErrors.has(manifest.key)) return;
    storedManifests.add(manifest.key);
    try {
      await storeManifest(store, fetched);
    } catch (error) {
      storedManifests.delete(manifest.key);
      manifestErrors.add(manifest.key);
      report.errors.push(toRunError(manifest.key, error));
      return;
    }
    (state.manifests as NonNullable<MirrorState["manifests"]>)[manifest.key] = {
      sha256: fetched.sha256,
      size: fetched.raw.byteLength,
      formula: manifest.formula,
      tag: "manifest",
      syncedAt: now().toISOString(),
    };
    report.counts.manifestsStored++;
  };
  const manifestsByKey = new Map(plan.manifests.map((manifest) => [manifest.key, manifest]));

  // Transfers, saving the state in the background (after `saveEvery` completions and `saveIntervalMs`)
  // so a killed run resumes without re-hashing what it had finished. No transfer waits for a save.
  emit({ type: "phase", phase: "transfers", detail: `${plan.transfers.length} bottles` });
  const saveEvery = options.saveEvery ?? 25;
  const saveIntervalMs = options.saveIntervalMs ?? 10_000;
  let sinceSave = 0;
  let lastSave = performance.now();
  let saving: Promise<void> = Promise.resolve();
  let saveError: unknown;
  const checkpoint = (): void => {
    saving = saving
      .then(() => saveState(store, state, now()))
      .catch((error: unknown) => {
        saveError ??= error;
      });
  };
  const failedBottles = new Set<string>();
  let done = 0;
  let bytes = 0;
  const progress = (): void =>
    emit({ type: "bytes", bytes, totalBytes: plan.totals.bytes, done, total: plan.transfers.length });
  await time("transfers", async () => {
    const results = await runPool(
      plan.transfers,
      poolOptions("transfers", plan.settings.concurrency.transfers, signal),
      async (ref) => {
        const result = await transferBottle(ref, {
          store,
          registry: options.registry,
          ...(options.listed && !options.listed.has(ref.key) ? { absent: true } : {}),
          ...(options.retry ? { retry: options.retry } : {}),
          ...(signal ? { signal: signal } : {}),
          onBytes: (delta) => {
            bytes += delta;
          },
          onRetry: (key, attempt, delayMs, error) =>
            emit({ type: "retry", key, attempt, delayMs, error: errorMessage(error) }),
        });
        state.entries[ref.key] = {
          sha256: result.sha256,
          size: result.size,
          formula: ref.formula,
          tag: ref.tag,
          syncedAt: now().toISOString(),
        };
        done++;
        const manifestKey = manifestOf.get(ref.key);
        if (manifestKey !== undefined) {
          const left = (waitingOn.get(manifestKey) ?? 1) - 1;
          waitingOn.set(manifestKey, left);
          const manifest = manifestsByKey.get(manifestKey);
          if (left === 0 && manifest) await storeReadyManifest(manifest);
        }
        emit({
          type: "file",
          key: ref.key,
          outcome: result.adopted ? "adopted" : "transferred",
          size: result.size,
        });
        progress();
        if (++sinceSave >= saveEvery && performance.now() - lastSave >= saveIntervalMs) {
          sinceSave = 0;
          lastSave = performance.now();
          checkpoint();
        }
        return result;
      },
    );
    // The pool settles every task; account for each.
    results.forEach((result, position) => {
      const ref = plan.transfers[position];
      if (!ref || !result) return;
      if (result.ok) {
        if (result.value.adopted) report.counts.adopted++;
        else {
          report.counts.transferred++;
          report.bytes.transferred += result.value.size;
        }
      } else {
        failedBottles.add(ref.key);
        report.errors.push(toRunError(ref.key, result.error));
        emit({ type: "file", key: ref.key, outcome: "failed", error: errorMessage(result.error) });
      }
    });
  });
  await saving;
  if (saveError !== undefined) report.errors.push(toRunError(STATE_KEY, saveError));

  // Items the pool never started (aborted run) count as failed.
  const settledCount = report.counts.transferred + report.counts.adopted + failedBottles.size;
  if (settledCount < plan.transfers.length) {
    for (const ref of plan.transfers) {
      if (!state.entries[ref.key] || state.entries[ref.key]?.sha256 !== ref.sha256) {
        if (!failedBottles.has(ref.key)) {
          failedBottles.add(ref.key);
          report.errors.push({ key: ref.key, message: "not started: the run was cancelled" });
        }
      }
    }
  }

  // Manifests whose bottles were all kept (none transferred): store them now.
  await time("storeManifests", async () => {
    const ready = plan.manifests.filter(
      (m) => !storedManifests.has(m.key) && m.bottles.every((bottle) => !failedBottles.has(bottle.key)),
    );
    await runPool(
      ready,
      poolOptions("checkers", plan.settings.concurrency.checkers, signal),
      storeReadyManifest,
    );
  });

  // Aborted by the caller, or by losing the lease: say why.
  if (signal.aborted && signal.reason instanceof Error) {
    report.errors.push(
      toRunError(signal.reason.name === "MirrorError" ? "_sync/lock" : "(run)", signal.reason),
    );
  }
  // The lease is renewed only every third of its length: make sure it is still ours right before
  // publishing, so a run that was taken over in between stops here (DESIGN.md §2).
  if (options.lease && report.errors.length === 0 && !signal.aborted) {
    await options.lease.renew().catch((error: unknown) => {
      report.errors.push(toRunError("_sync/lock", error));
    });
  }
  report.counts.failed = report.errors.length;
  if (report.errors.length > 0 || signal.aborted) {
    report.status = "failed";
    await saveState(store, state, now());
    return finish(store, report, now, options.reportKey);
  }

  // Publish the API LAST: every bottle it names (for the mirrored tags) is now in the store, and on
  // disk: the flush comes first, so a power loss cannot keep the API and lose a bottle it names.
  emit({ type: "phase", phase: "publish", detail: `${plan.api.length} API files` });
  await time("publish", async () => {
    await store.flush?.();
    const inMemory = new Map((options.apiFiles ?? []).map((file) => [file.key, file]));
    state.api ??= {};
    for (const ref of plan.api) {
      const previous = state.api[ref.key];
      if (previous?.sha256 === ref.sha256 && (await store.stat(ref.key)) !== null) {
        report.counts.apiUnchanged++;
        continue;
      }
      const file = inMemory.get(ref.key);
      const body = file ? file.bytes : await readStaged(store, ref.staged, ref.key);
      await store.put(ref.key, body, {
        sha256: ref.sha256,
        size: ref.size,
        contentType: "application/json",
        deferSync: true,
      });
      state.api[ref.key] = { sha256: ref.sha256, size: ref.size, syncedAt: now().toISOString() };
      report.counts.apiPublished++;
    }
  });

  // The index names these again (clear any supersededAt), or no longer names those (start retention).
  const stamp = now().toISOString();
  for (const key of plan.keeps) delete state.entries[key]?.supersededAt;
  for (const key of plan.manifestKeeps) delete state.manifests[key]?.supersededAt;
  for (const key of plan.supersede) {
    const entry = state.entries[key] ?? state.manifests[key];
    if (entry && entry.supersededAt === undefined) {
      entry.supersededAt = stamp;
      report.counts.superseded++;
    }
  }
  await saveState(store, state, now());
  await finish(store, report, now, options.reportKey);

  // Prune superseded objects past the retention (only ever after a successful run, and only while the
  // lease is still ours: a run that took over since may be relying on what this one would delete).
  if (plan.prunes.length > 0 && !(await stillLeased(options.lease, signal))) {
    emit({ type: "phase", phase: "prune", detail: "skipped: this run no longer holds the sync lock" });
  } else if (plan.prunes.length > 0) {
    emit({ type: "phase", phase: "prune", detail: `${plan.prunes.length} superseded objects` });
    await time("prune", async () => {
      for (const key of plan.prunes) {
        await store.delete(key);
        delete state.entries[key];
        delete state.manifests?.[key];
        report.counts.pruned++;
      }
    });
    await saveState(store, state, now());
    await finish(store, report, now, options.reportKey);
  }
  for (const ref of plan.api) if (ref.staged) await store.delete(ref.staged);
  return report;
}

/** True while the run's lease (if any) is still its own, checked with a renewal. */
async function stillLeased(lease: Lease | undefined, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return false;
  if (lease === undefined) return true;
  return lease.renew().then(
    () => true,
    () => false,
  );
}

async function finish(
  store: BlobStore,
  report: RunReport,
  now: () => Date,
  reportKey = runReportKey(report.runId),
): Promise<RunReport> {
  report.finishedAt = now().toISOString();
  report.durationsMs.total = Date.parse(report.finishedAt) - Date.parse(report.startedAt);
  await writeJson(store, reportKey, report);
  return report;
}

async function readStaged(store: BlobStore, staged: string | undefined, key: string): Promise<Buffer> {
  const bytes = staged === undefined ? null : await readBytes(store, staged);
  if (bytes === null) {
    throw new StateError(`the verified bytes of ${key} are neither in memory nor staged`, {
      key,
      fix: "re-run the orchestrator to create a new plan",
    });
  }
  return bytes;
}

function poolOptions(
  name: string,
  limit: number,
  signal: AbortSignal | undefined,
): { name: string; limit: number; signal?: AbortSignal } {
  return signal ? { name, limit, signal } : { name, limit };
}
