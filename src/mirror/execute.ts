import type { ApiFile } from "../homebrew/api-client.ts";
import type { RetryOptions } from "../homebrew/retry.ts";
import { forEachBounded } from "../shared/concurrency.ts";
import { errorMessage, type HbsyncError } from "../shared/errors.ts";
import type { BlobStore } from "../storage/blob-store.ts";
import { type StorageFullError, storageFullIn } from "../storage/errors.ts";
import { RunFailedError, RunOutOfSpaceError, StateError } from "./errors.ts";
import { emptyOciReport, pruneOciLayout, writeOciLayout } from "./layouts.ts";
import { type Lease, LOCK_KEY } from "./lock.ts";
import { ManifestWriter } from "./manifest-writer.ts";
import type { PlannedManifest } from "./plan.ts";
import { runPool } from "./pool.ts";
import { fetchPortableRuby } from "./portable-ruby.ts";
import { PLANS_PREFIX, type StoredPlan, toRunError } from "./prepare.ts";
import type { ProgressListener } from "./progress.ts";
import { emptyReport, type RunReport, runReportKey } from "./report.ts";
import { type SettledRecord, settledRecord } from "./settled.ts";
import { loadState, type MirrorState, readBytes, STATE_KEY, saveState, writeJson } from "./state.ts";
import {
  type BlobSource,
  type FetchedManifest,
  fetchManifest,
  type ManifestSource,
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
  /**
   * Where the state is read and recorded (default `_sync/state.json`). A shard of a sharded run
   * (src/mirror/shards.ts) records its part instead: it never writes the state other shards share.
   */
  record?: StateRecord;
  /**
   * This execution carries out the whole plan (not a slice or a shard of it): when it publishes, the
   * state it records says the mirror is settled for the plan's inputs (src/mirror/settled.ts).
   */
  settles?: boolean;
  /** The state as the planner left it moments ago in this process (default: loaded from the store). */
  state?: MirrorState;
}

/** Reads the state a run starts from and records what it finished. */
export interface StateRecord {
  load(): Promise<MirrorState>;
  save(state: MirrorState, now: Date): Promise<void>;
}

/**
 * Applies a plan (rclone's copy; changesets' applyReleasePlan) in named phases: manifests →
 * transfers (bounded by `concurrency.transfers`; manifests stored as their bottles land) → if anything
 * failed: state for what succeeded + report, no publish, no prune → else publish (API files LAST) →
 * commit (state, run report) → prune (superseded past retention). Idempotent: a re-run of the same
 * plan adopts what is already stored and verified.
 *
 * A full store (ENOSPC/EDQUOT, at any write) stops the run: no transfer starts after the first such
 * write, those in flight end, the state and report are written if they fit, and a RunOutOfSpaceError
 * says how much space the run still needs.
 */
export async function executePlan(options: ExecuteOptions): Promise<RunReport> {
  const controller = new AbortController();
  const abort = (): void => controller.abort(options.signal?.reason);
  if (options.signal?.aborted) abort();
  options.signal?.addEventListener("abort", abort, { once: true });
  const stopRenewing = options.lease?.keepAlive((error) => controller.abort(error));
  try {
    const run = await startRun(options, controller.signal);
    if (options.store.reserve) await options.store.reserve(await reserveFor(run));
    try {
      return await execute(run);
    } catch (error) {
      if (error instanceof RunOutOfSpaceError) throw error;
      throw await recordEscape(run, error);
    } finally {
      await options.store.releaseReserve?.().catch(() => {});
    }
  } finally {
    stopRenewing?.();
    options.signal?.removeEventListener("abort", abort);
  }
}

/**
 * The phases of one run, in order; each is a function below that reads in one sitting. Every phase
 * after `transfers` runs only if nothing failed (a failed run records what it finished and stops).
 */
async function execute(run: Run): Promise<RunReport> {
  const manifests = new ManifestWriter(run.plan, run.options.manifests ?? new Map(), {
    store: run.store,
    manifests: run.state.manifests,
    now: run.now,
    onStored: () => run.report.counts.manifestsStored++,
    onError: (error, cause) => {
      run.noteFull(cause);
      run.report.errors.push(error);
    },
  });
  // The manifests the plan lacks are read beside the transfers (a bottle's transfer does not need its
  // manifest; a manifest is stored once it is read and its bottles are in, whichever comes last).
  const [fetched, transferred] = await Promise.allSettled([
    fetchManifests(run, manifests),
    transferBottles(run, manifests),
  ]);
  // Manifest writes started beside the transfers (or after a read) have all ended, failed or not.
  await manifests.settled();
  if (fetched.status === "rejected") throw fetched.reason;
  if (transferred.status === "rejected") throw transferred.reason;
  const failedBottles = transferred.value;
  if (run.full) throw await outOfSpace(run, run.full);
  await storeRemainingManifests(run, manifests, failedBottles);
  await restorePortableRuby(run);
  await writeLayouts(run);
  if (!(await readyToPublish(run))) return commitFailed(run);
  await publishApi(run);
  await commit(run);
  await prune(run);
  await pruneLayouts(run);
  await prunePlans(run);
  for (const ref of run.plan.api) if (ref.staged) await run.store.delete(ref.staged);
  return run.report;
}

/** Per planned object, room for its state entry and a report line (an entry is ~250 bytes). */
const RESERVE_PER_OBJECT = 512;
const RESERVE_BASE = 256 * 1024;

/**
 * The space to hold back for a full disk (BlobStore.reserve): the state as it can be at the end and
 * the report. Once the reserve is deleted, the new state is written beside the old one, whose space
 * is already taken: so the state's size now, a quarter more (a `supersededAt` on every entry), and
 * room for each object the plan adds. (Not one copy per recorded object: at 100,000 objects that
 * was 100 MB of writes on every run, a third of a no-op re-sync.)
 */
async function reserveFor(run: Run): Promise<number> {
  const current = (await run.store.stat(STATE_KEY))?.size ?? 0;
  const added = run.plan.transfers.length + run.plan.manifests.length;
  return RESERVE_BASE + Math.ceil(current * 1.25) + added * RESERVE_PER_OBJECT;
}

/** What every phase shares: the plan, the store, the state being built and the report. */
interface Run {
  options: ExecuteOptions;
  store: BlobStore;
  plan: StoredPlan;
  state: MirrorState & { manifests: NonNullable<MirrorState["manifests"]> };
  report: RunReport;
  signal: AbortSignal;
  /** Aborted with `signal`, or at the first write that finds the store full: no new task starts. */
  starting: AbortSignal;
  /** The first write that found the store full (ENOSPC/EDQUOT), if any. */
  full: StorageFullError | undefined;
  /** Set once the run has published everything it planned (`commit`, with `settles`). */
  settled: SettledRecord | undefined;
  /** Bytes of the bottles this run has stored (transferred or adopted). */
  storedBytes: number;
  /** The bytes planned: the plan's, plus the sizes of manifests read beside the transfers. */
  plannedBytes: number;
  /** Planned bottles whose size no manifest has given yet. */
  unsized: Set<string>;
  /** True when `error` is a full store: records the first one and stops new tasks from starting. */
  noteFull(error: unknown): boolean;
  now: () => Date;
  emit: ProgressListener;
  /** Runs `step`, adding its duration to `report.durationsMs[name]`. */
  time<T>(name: string, step: () => Promise<T>): Promise<T>;
}

/** The report as planned, and the state as stored minus what the planner found gone. */
async function startRun(options: ExecuteOptions, signal: AbortSignal): Promise<Run> {
  const { store, plan } = options;
  const now = options.now ?? (() => new Date());
  const report = emptyReport(plan.runId, store.location, plan.settings.tags, options.startedAt ?? now());
  Object.assign(report.durationsMs, options.durationsMs);
  report.counts.formulae = plan.formulaeCount;
  report.counts.rejected = plan.rejected.length;
  report.rejected = plan.rejected;
  if (plan.missingDependencies?.length) report.missingDependencies = plan.missingDependencies;
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
  const loaded = options.state ?? (await (options.record ? options.record.load() : loadState(store)));
  const state = { ...loaded, manifests: loaded.manifests ?? {} };
  // What the planner found gone from the store (the plan moves it again if the index still names it).
  for (const key of plan.forgotten ?? []) {
    delete state.entries[key];
    delete state.manifests[key];
    delete state.api?.[key];
    delete state.oci?.[key];
  }
  const time = async <T>(name: string, step: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    try {
      return await step();
    } finally {
      report.durationsMs[name] = (report.durationsMs[name] ?? 0) + Math.round(performance.now() - t0);
    }
  };
  const starting = new AbortController();
  if (signal.aborted) starting.abort(signal.reason);
  // A lease renewal that found the store full aborts the run: that is a full store too.
  signal.addEventListener("abort", () => run.noteFull(signal.reason) || starting.abort(signal.reason), {
    once: true,
  });
  const run: Run = {
    options,
    store,
    plan,
    state,
    report,
    signal,
    starting: starting.signal,
    full: undefined,
    settled: undefined,
    storedBytes: 0,
    plannedBytes: plan.totals.bytes,
    unsized: new Set(plan.transfers.filter((ref) => ref.size === undefined).map((ref) => ref.key)),
    noteFull: (error) => {
      const full = storageFullIn(error, store.location);
      if (full === undefined) return false;
      run.full ??= full;
      starting.abort(full);
      return true;
    },
    now,
    emit: options.onProgress ?? (() => {}),
    time,
  };
  return run;
}

/**
 * Phase `manifests`: reads the manifests not read while planning (a worker in another process), beside
 * the transfers (the two phases' durations overlap).
 */
async function fetchManifests(run: Run, manifests: ManifestWriter): Promise<void> {
  const missing = manifests.missing();
  if (missing.length === 0) {
    manifests.readsEnded();
    return;
  }
  run.emit({ type: "phase", phase: "manifests", detail: `${missing.length} manifests` });
  try {
    await run.time("manifests", async () => {
      await runPool(
        missing,
        poolOptions("checkers", run.plan.settings.concurrency.checkers, run.signal),
        async (manifest) => {
          let fetched: FetchedManifest;
          try {
            fetched = await fetchManifest(manifest, run.options.registry);
          } catch (error) {
            manifests.fetchFailed(manifest.key, error);
            throw error;
          }
          plannedSizes(run, manifest, fetched);
          await manifests.fetchedOne(manifest.key, fetched);
          return fetched;
        },
      );
    });
  } finally {
    manifests.readsEnded();
  }
}

/** A manifest read beside the transfers sizes the bottles the plan had no size for (report, progress). */
function plannedSizes(run: Run, manifest: PlannedManifest, fetched: FetchedManifest): void {
  for (const bottle of manifest.bottles) {
    const size = fetched.sizes.get(bottle.tag);
    if (size === undefined || !run.unsized.delete(bottle.key)) continue;
    run.plannedBytes += size;
    run.report.bytes.planned += size;
  }
}

/**
 * Phase `transfers`: every planned bottle (bounded by `concurrency.transfers`), each manifest stored
 * once its bottles are in, the state checkpointed in the background. Returns the bottles that failed
 * (or never started, in an aborted run); each is a report error.
 */
async function transferBottles(run: Run, manifests: ManifestWriter): Promise<Set<string>> {
  const { plan, report, state, options } = run;
  run.emit({ type: "phase", phase: "transfers", detail: `${plan.transfers.length} bottles` });
  const checkpoints = new Checkpoints(run);
  const failed = new Set<string>();
  let done = 0;
  let bytes = 0;
  await run.time("transfers", async () => {
    const results = await runPool(
      plan.transfers,
      poolOptions("transfers", plan.settings.concurrency.transfers, run.starting),
      async (planned) => {
        // Read beside the transfers, a bottle's manifest gives the size its put needs (S3: one PUT).
        const size = planned.size ?? (plan.manifestsBeside ? await manifests.sizeOf(planned.key) : undefined);
        const ref = size === undefined ? planned : { ...planned, size };
        const result = await transferBottle(ref, {
          store: run.store,
          registry: options.registry,
          ...(options.listed && !options.listed.has(ref.key) ? { absent: true } : {}),
          ...(options.retry ? { retry: options.retry } : {}),
          signal: run.signal,
          onBytes: (delta) => {
            bytes += delta;
          },
          onRetry: (key, attempt, delayMs, error) =>
            run.emit({ type: "retry", key, attempt, delayMs, error: errorMessage(error) }),
        }).catch((error: unknown) => {
          run.noteFull(error);
          throw error;
        });
        run.storedBytes += result.size;
        state.entries[ref.key] = {
          sha256: result.sha256,
          size: result.size,
          formula: ref.formula,
          tag: ref.tag,
          syncedAt: run.now().toISOString(),
        };
        done++;
        await manifests.bottleStoredInBackground(ref.key);
        const outcome = result.adopted ? "adopted" : "transferred";
        run.emit({ type: "file", key: ref.key, outcome, size: result.size });
        run.emit({
          type: "bytes",
          bytes,
          totalBytes: run.plannedBytes,
          done,
          total: plan.transfers.length,
        });
        checkpoints.completed();
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
        failed.add(ref.key);
        report.errors.push(toRunError(ref.key, result.error));
        // A full store is said once, by the run's own error (RunOutOfSpaceError), not per bottle.
        if (storageFullIn(result.error, run.store.location) === undefined)
          run.emit({ type: "file", key: ref.key, outcome: "failed", error: errorMessage(result.error) });
      }
    });
  });
  await checkpoints.settled();
  // Items the pool never started (aborted run, full store) count as failed.
  let notStarted = 0;
  for (const ref of plan.transfers) {
    if (failed.has(ref.key) || state.entries[ref.key]?.sha256 === ref.sha256) continue;
    failed.add(ref.key);
    notStarted++;
    // A full store: one entry for them all (the report must fit in what space is left).
    if (!run.full) report.errors.push({ key: ref.key, message: "not started: the run was cancelled" });
  }
  if (run.full && notStarted > 0) {
    report.errors.push({
      key: "(run)",
      message: `${notStarted} transfer(s) not started: ${run.full.message}`,
    });
  }
  return failed;
}

/**
 * The state saved in the background while transfers run (after `saveEvery` completions and at most
 * every `saveIntervalMs`), so a killed run resumes without re-hashing what it had finished. No
 * transfer waits for a save; a failed save is a report error once the transfers settle.
 */
class Checkpoints {
  private sinceSave = 0;
  private lastSave = performance.now();
  private saving: Promise<void> = Promise.resolve();
  private error: unknown;
  private readonly every: number;
  private readonly intervalMs: number;

  constructor(private readonly run: Run) {
    this.every = run.options.saveEvery ?? 25;
    this.intervalMs = run.options.saveIntervalMs ?? 10_000;
  }

  completed(): void {
    if (++this.sinceSave < this.every || performance.now() - this.lastSave < this.intervalMs) return;
    this.sinceSave = 0;
    this.lastSave = performance.now();
    this.saving = this.saving
      .then(() => record(this.run, this.run.state))
      .catch((error: unknown) => {
        this.run.noteFull(error);
        this.error ??= error;
      });
  }

  /** Waits for the save in flight; records its failure, if any. */
  async settled(): Promise<void> {
    await this.saving;
    if (this.error !== undefined) this.run.report.errors.push(toRunError(STATE_KEY, this.error));
  }
}

/** Manifests whose bottles were all kept or made it (none left in transfer): store them now. */
async function storeRemainingManifests(
  run: Run,
  manifests: ManifestWriter,
  failedBottles: ReadonlySet<string>,
): Promise<void> {
  await run.time("storeManifests", async () => {
    await runPool(
      manifests.notStoredWithout(failedBottles),
      poolOptions("checkers", run.plan.settings.concurrency.checkers, run.signal),
      (manifest) => manifests.store(manifest),
    );
  });
}

/** The run publishes the API (not a slice of a worker's transfers, whose plan names no API file). */
function publishes(run: Run): boolean {
  return run.plan.api.length > 0;
}

/**
 * Phase `portable-ruby`: a recorded Portable Ruby the planner found missing or damaged is fetched again
 * by its recorded sha256 (verify --repair needs no git fetch; the brew git phase chooses which are named).
 */
async function restorePortableRuby(run: Run): Promise<void> {
  const records = run.state.portableRuby ?? {};
  const damaged = (run.plan.forgotten ?? []).filter((key) => records[key] !== undefined);
  if (!publishes(run) || damaged.length === 0 || run.signal.aborted) return;
  run.emit({ type: "phase", phase: "portable-ruby", detail: `${damaged.length} to fetch again` });
  await run.time("portableRuby", async () => {
    for (const key of damaged) {
      const record = records[key] as NonNullable<(typeof records)[string]>;
      try {
        const { size } = await fetchPortableRuby(
          run.store,
          run.options.registry,
          { key, sha256: record.sha256, tag: record.tag, version: "" },
          { ...(run.options.retry ? { retry: run.options.retry } : {}), signal: run.signal },
        );
        records[key] = { ...record, size, syncedAt: run.now().toISOString() };
      } catch (error) {
        run.report.errors.push(toRunError(key, error));
      }
    }
  });
}

/**
 * Phase `layouts` (mirror.layouts: oci): the OCI names of every recorded bottle and manifest, written
 * before the API that names them is published (src/mirror/layouts.ts). Its failures fail the run.
 */
async function writeLayouts(run: Run): Promise<void> {
  if (!publishes(run) || !(run.plan.settings.layouts ?? []).includes("oci") || run.signal.aborted) return;
  const oci = emptyOciReport();
  run.report.layouts = { oci };
  run.emit({ type: "phase", phase: "layouts", detail: "OCI layout (v2/homebrew/core/)" });
  await run.time("layouts", () =>
    writeOciLayout({
      store: run.store,
      state: run.state,
      concurrency: run.plan.settings.concurrency.transfers,
      now: run.now,
      signal: run.signal,
      report: oci,
      onError: (error) => run.report.errors.push(error),
    }),
  );
}

/** After a successful run's prune: OCI objects whose source is gone (all of them with `oci` off). */
async function pruneLayouts(run: Run): Promise<void> {
  if (!publishes(run)) return;
  const enabled = (run.plan.settings.layouts ?? []).includes("oci");
  if (!enabled && run.state.oci === undefined) return;
  if (!(await stillLeased(run.options.lease, run.signal))) return;
  const oci = run.report.layouts?.oci ?? emptyOciReport();
  const before = oci.pruned;
  await run.time("prune", () => pruneOciLayout({ store: run.store, state: run.state, enabled, report: oci }));
  if (enabled || oci.pruned > 0) run.report.layouts = { oci };
  if (oci.pruned === before && enabled) return;
  await saveState(run.store, run.state, run.now(), { settled: run.settled });
  await finish(run);
}

/** Plans kept besides the run's own: the newest ones (`hbsync status` reads the last successful run's). */
export const PLANS_KEPT = 20;

/**
 * After a complete run: the plans (and what was staged beside them) of all but the newest PLANS_KEPT
 * earlier runs. A plan is only needed while its run goes on, and no other run goes on while this one
 * holds the lease; without this, `_sync/plans/` grows by a plan per run (5 MB at 50,000 entries).
 */
async function prunePlans(run: Run): Promise<void> {
  if (!run.options.settles || !publishes(run)) return;
  if (!(await stillLeased(run.options.lease, run.signal))) return;
  const runs = new Map<string, { runId: string; keys: string[]; planned: number }>();
  for await (const object of run.store.list(PLANS_PREFIX)) {
    const rest = object.key.slice(PLANS_PREFIX.length);
    const slash = rest.indexOf("/");
    const runId = slash < 0 ? rest.replace(/\.json$/, "") : rest.slice(0, slash);
    if (runId === run.plan.runId) continue;
    const entry = runs.get(runId) ?? { runId, keys: [], planned: 0 };
    entry.keys.push(object.key);
    // When the plan itself was written (what was staged beside it may be older or newer).
    if (slash < 0) entry.planned = object.modified.getTime();
    runs.set(runId, entry);
  }
  // Newest first; run ids made by `newRunId` sort by time too, for plans written in the same millisecond.
  const old = [...runs.values()]
    .sort((a, b) => b.planned - a.planned || (a.runId < b.runId ? 1 : a.runId > b.runId ? -1 : 0))
    .slice(PLANS_KEPT);
  if (old.length === 0) return;
  run.emit({ type: "phase", phase: "prune", detail: `the plans of ${old.length} earlier runs` });
  // Housekeeping after the run published: a delete that fails is said, and retried by the next run.
  await run
    .time("prune", async () => {
      for (const entry of old) for (const key of entry.keys) await run.store.delete(key);
    })
    .catch((error: unknown) =>
      run.emit({
        type: "phase",
        phase: "prune",
        detail: `old plans left for the next run: ${errorMessage(error)}`,
      }),
    );
}

/**
 * True when the run may publish: no error so far, not aborted, and the lease still ours. The lease
 * is renewed only every third of its length: checking right before publishing makes a run that was
 * taken over in between stop here (DESIGN.md §2).
 */
async function readyToPublish(run: Run): Promise<boolean> {
  const { report, signal, options } = run;
  // Aborted by the caller, or by losing the lease: say why.
  if (signal.aborted && signal.reason instanceof Error) {
    report.errors.push(toRunError(signal.reason.name === "MirrorError" ? LOCK_KEY : "(run)", signal.reason));
  }
  if (options.lease && report.errors.length === 0 && !signal.aborted) {
    await options.lease.renew().catch((error: unknown) => {
      report.errors.push(toRunError(LOCK_KEY, error));
    });
  }
  report.counts.failed = report.errors.length;
  return report.errors.length === 0 && !signal.aborted;
}

/** A failed run: the state records what it finished (the next run resumes), then the report. */
async function commitFailed(run: Run): Promise<RunReport> {
  run.report.status = "failed";
  await record(run, run.state);
  return finish(run);
}

/** API files looked up or published at once (a staged one is read into memory for its put). */
const API_AT_ONCE = 4;

/**
 * Phase `publish`: the API files, LAST. Every bottle they name (for the mirrored tags) is now in the
 * store, and on disk: the flush comes first, so a power loss cannot keep the API and lose a bottle it
 * names.
 */
async function publishApi(run: Run): Promise<void> {
  const { store, plan, report, state } = run;
  const published = state.api ?? {};
  state.api = published;
  // Unchanged: recorded with the same sha256 and still in the store (looked up API_AT_ONCE at a time:
  // on S3 each is a round trip, and Homebrew's shape has 11 files).
  const gone = new Set<string>();
  await forEachBounded(plan.api, API_AT_ONCE, async (ref) => {
    if (published[ref.key]?.sha256 === ref.sha256 && (await store.stat(ref.key)) === null) gone.add(ref.key);
  });
  const changed = plan.api.filter((ref) => published[ref.key]?.sha256 !== ref.sha256 || gone.has(ref.key));
  const unchanged = plan.api.length - changed.length;
  run.emit({
    type: "phase",
    phase: "publish",
    detail:
      changed.length === 0
        ? `${plan.api.length} API files, all unchanged`
        : `${changed.length} of ${plan.api.length} API files changed (${unchanged} unchanged)`,
  });
  report.counts.apiUnchanged += unchanged;
  await run.time("publish", async () => {
    await store.flush?.();
    const inMemory = new Map((run.options.apiFiles ?? []).map((file) => [file.key, file]));
    // Several at once: each file names only bottles already stored, so their order does not matter.
    await forEachBounded(changed, API_AT_ONCE, async (ref) => {
      const file = inMemory.get(ref.key);
      const body = file ? file.bytes : await readStaged(store, ref.staged, ref.key);
      await store.put(ref.key, body, {
        sha256: ref.sha256,
        size: ref.size,
        contentType: "application/json",
        deferSync: true,
      });
      published[ref.key] = { sha256: ref.sha256, size: ref.size, syncedAt: run.now().toISOString() };
      report.counts.apiPublished++;
    });
    // What the upstream stopped serving goes too, after the fresh files: a stale formula.jws.json
    // would name bottles the mirror prunes after the retention.
    for (const key of plan.apiGone ?? []) {
      if (published[key] === undefined && (await store.stat(key)) === null) continue;
      await store.delete(key);
      delete published[key];
      report.counts.apiRemoved++;
    }
  });
}

/**
 * Phase `commit`: what the index names again loses its `supersededAt`, what it no longer names starts
 * its retention; then the state and the run report are written.
 */
async function commit(run: Run): Promise<void> {
  const { plan, state, report } = run;
  const stamp = run.now().toISOString();
  for (const key of plan.keeps) delete state.entries[key]?.supersededAt;
  for (const key of plan.manifestKeeps) delete state.manifests[key]?.supersededAt;
  for (const key of plan.supersede) {
    const entry = state.entries[key] ?? state.manifests[key];
    if (entry && entry.supersededAt === undefined) {
      entry.supersededAt = stamp;
      report.counts.superseded++;
    }
  }
  if (run.options.settles) run.settled = settledRecord(plan);
  await record(run, state);
  await finish(run);
}

/**
 * Phase `prune`: superseded objects past the retention (only ever after a successful run, and only
 * while the lease is still ours: a run that took over since may be relying on what this one would
 * delete); then the state and report again.
 */
async function prune(run: Run): Promise<void> {
  const { plan, state, report } = run;
  if (plan.prunes.length === 0) return;
  if (!(await stillLeased(run.options.lease, run.signal))) {
    run.emit({ type: "phase", phase: "prune", detail: "skipped: this run no longer holds the sync lock" });
    return;
  }
  run.emit({ type: "phase", phase: "prune", detail: `${plan.prunes.length} superseded objects` });
  await run.time("prune", async () => {
    for (const key of plan.prunes) {
      await run.store.delete(key);
      delete state.entries[key];
      delete state.manifests[key];
      report.counts.pruned++;
    }
  });
  await record(run, state);
  await finish(run);
}

/**
 * An error no phase expected (a failed state write, a store that broke mid-publish, a bug): the run
 * still ends as failed with what it finished recorded: the state checkpointed, the report written
 * (each best effort: the store may be what failed). Returns the error to throw: one line, the cause
 * kept; the caller releases the lease.
 */
async function recordEscape(run: Run, error: unknown): Promise<HbsyncError> {
  if (run.noteFull(error) && run.full) return outOfSpace(run, run.full);
  const { report } = run;
  report.status = "failed";
  run.settled = undefined;
  report.errors.push(toRunError("(run)", error));
  report.counts.failed = report.errors.length;
  await record(run, run.state).catch(() => {});
  const reportKey = run.options.reportKey ?? runReportKey(report.runId);
  const written = await finish(run).then(
    () => true,
    () => false,
  );
  return new RunFailedError(report.runId, error, written ? reportKey : undefined);
}

/**
 * The store is full: the run ends as failed with what it stored recorded, the state and the report
 * each written if they still fit (best effort: the lease is released by the caller either way).
 * Returns the one error to report: the space the run still needs, planned bytes minus stored.
 */
async function outOfSpace(run: Run, full: StorageFullError): Promise<RunOutOfSpaceError> {
  const { report, plan, state } = run;
  report.status = "failed";
  run.settled = undefined;
  // What was held back for this moment: the state and the report fit in it.
  await run.store.releaseReserve?.().catch(() => {});
  if (!report.errors.some((error) => error.message.includes(full.message)))
    report.errors.push({ key: "(run)", message: full.message });
  report.counts.failed = report.errors.length;
  const stateSaved = await record(run, state).then(
    () => true,
    () => false,
  );
  const reportKey = run.options.reportKey ?? runReportKey(report.runId);
  const written = await finish(run).then(
    () => true,
    () => false,
  );
  // The API files not published yet are part of what the run still has to write.
  const apiLeft = plan.api
    .filter((ref) => state.api?.[ref.key]?.sha256 !== ref.sha256)
    .reduce((sum, ref) => sum + ref.size, 0);
  return new RunOutOfSpaceError({
    runId: report.runId,
    full,
    plannedBytes: run.plannedBytes + apiLeft,
    storedBytes: run.storedBytes,
    stored: plan.transfers.filter((ref) => state.entries[ref.key]?.sha256 === ref.sha256).length,
    stateSaved,
    reportKey: written ? reportKey : undefined,
  });
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

/** Records the state where the run records it (the state, or a shard's part). */
function record(run: Run, state: MirrorState): Promise<void> {
  const sink = run.options.record;
  return sink
    ? sink.save(state, run.now())
    : saveState(run.store, state, run.now(), { settled: run.settled });
}

/** Writes the run report (the caller's `reportKey`, default `_sync/runs/<runId>.json`). */
async function finish(run: Run): Promise<RunReport> {
  const { report } = run;
  report.finishedAt = run.now().toISOString();
  report.durationsMs.total = Date.parse(report.finishedAt) - Date.parse(report.startedAt);
  await writeJson(run.store, run.options.reportKey ?? runReportKey(report.runId), report);
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
