import {
  type AcceptedApiFiles,
  API_PREFIX,
  type ApiFile,
  type ApiIndex,
  type FetchIndexOptions,
  FORMULA_INDEX,
} from "../homebrew/api-client.ts";
import { InvalidUpstreamDataError } from "../homebrew/errors.ts";
import { jwsPayload, type ParsedPackages, parseInternalPackages } from "../homebrew/internal-packages.ts";
import { errorMessage } from "../shared/errors.ts";
import type { BlobStore } from "../storage/blob-store.ts";
import { readAcceptedApi, recordAcceptedApi } from "./accepted-api.ts";
import { StateError } from "./errors.ts";
import { isOciKey, type Layout } from "./layouts.ts";
import {
  bytesByTag,
  isNameSelected,
  type PlanInput,
  type PlannedTransfer,
  planSync,
  type RejectedFormula,
  type SyncPlan,
} from "./plan.ts";
import { runPool } from "./pool.ts";
import type { RunError } from "./report.ts";
import { settledInputs, settledPlan } from "./settled.ts";
import type { PlanShards } from "./shards.ts";
import { loadState, loadStateTagged, type MirrorState, readText, STATE_KEY, writeJson } from "./state.ts";
import { type FetchedManifest, fetchManifest, type ManifestSource } from "./transfer.ts";
import { recordedObjects, verifyMirror } from "./verify.ts";

const FORMULA_INDEX_KEY = `${API_PREFIX}${FORMULA_INDEX}`;

/** The `mirror` section of config.yaml, normalised (DESIGN.md §4). */
export interface MirrorSettings {
  tags: string[];
  include: string[];
  exclude: string[];
  retentionDays: number;
  concurrency: { checkers: number; transfers: number };
  /** mirror.layouts: `flat` always; `oci` adds `v2/homebrew/core/` (absent in plans written before it: flat). */
  layouts?: Layout[];
}

/** The Homebrew API calls a sync needs (HomebrewApiClient satisfies it). */
export interface IndexSource {
  fetchIndex(options?: FetchIndexOptions): Promise<ApiIndex>;
  fetchInternalPackages(tag: string, options?: { accepted?: AcceptedApiFiles }): Promise<ApiFile | null>;
  /** What its signature checks depend on besides the bytes (HomebrewApiClient.trust); none: always checked. */
  readonly trust?: string;
}

/** The index and per-tag files fetched and verified once, answered from memory (fetchVerifiedIndex). */
export interface VerifiedIndex extends IndexSource {
  /** Every file fetched: the index's, then the per-tag files. */
  readonly files: readonly ApiFile[];
}

/**
 * The per-tag files of the mirrored tags (null where the upstream has none), then the index. The
 * v1 formula.jws.json is optional only when every mirrored tag has its `internal/packages.<tag>`
 * file: brew 6 reads nothing else, and the plan can be made from those alone.
 */
async function fetchBoth(
  api: IndexSource,
  tags: readonly string[],
  accepted?: AcceptedApiFiles,
): Promise<{ index: ApiIndex; internal: Map<string, ApiFile | null> }> {
  const internal = new Map<string, ApiFile | null>();
  const given = accepted === undefined ? {} : { accepted };
  for (const tag of tags.filter((tag) => tag !== "all")) {
    internal.set(tag, await api.fetchInternalPackages(tag, given));
  }
  const index = await api.fetchIndex({ formulaOptional: true, ...given });
  const without = [...internal].filter(([, file]) => file === null).map(([tag]) => tag);
  if (index.missing.includes(FORMULA_INDEX_KEY) && (internal.size === 0 || without.length > 0)) {
    const lacking = without.length > 0 ? without : tags.filter((tag) => tag !== "all");
    throw new InvalidUpstreamDataError(
      `the upstream has no ${FORMULA_INDEX} and no internal/packages file for ${lacking.join(", ") || "the tags mirrored"}: nothing to plan ${lacking.length === 1 ? "that tag" : "those tags"} from`,
      FORMULA_INDEX,
      {
        fix: "nothing was written; check mirror.upstream.api (it must serve formula.jws.json, or internal/packages.<tag>.jws.json for every tag in mirror.tags), or drop those tags from mirror.tags",
      },
    );
  }
  return { index, internal };
}

export interface LoadedIndex {
  index: ApiIndex;
  /** Every verified API file: the index's, then the per-tag files. */
  apiFiles: ApiFile[];
  /** The parsed `internal/packages.<tag>` of each mirrored tag the upstream has one for. */
  internal: Map<string, ParsedPackages>;
}

/** The index and the per-tag files of `tags`, verified and parsed: what a plan is made from. */
export async function loadIndex(api: IndexSource, tags: readonly string[]): Promise<LoadedIndex> {
  const fetched = await fetchBoth(api, tags);
  const apiFiles = [...fetched.index.files];
  for (const file of fetched.internal.values()) if (file !== null) apiFiles.push(file);
  return { index: fetched.index, apiFiles, internal: readPackagesFiles(fetched.internal) };
}

/** The per-tag files the upstream has, parsed for planning. */
function readPackagesFiles(files: ReadonlyMap<string, ApiFile | null>): Map<string, ParsedPackages> {
  const internal = new Map<string, ParsedPackages>();
  for (const [tag, file] of files) if (file !== null) internal.set(tag, readPackagesFile(file, tag));
  return internal;
}

/**
 * Fetches (and so verifies: the client checks every signature) the index and the per-tag package files
 * once, up front, so a bad signature on any of them stops a run before its first write — the lease.
 * A file whose bytes `accepted` records is not verified again (ApiFile.accepted). Returns a source
 * that answers from what was fetched.
 */
export async function fetchVerifiedIndex(
  api: IndexSource,
  tags: readonly string[],
  accepted?: AcceptedApiFiles,
): Promise<VerifiedIndex> {
  const { index, internal } = await fetchBoth(api, tags, accepted);
  const files = [...index.files];
  for (const file of internal.values()) if (file !== null) files.push(file);
  return {
    files,
    fetchIndex: async () => index,
    fetchInternalPackages: async (tag) => internal.get(tag) ?? null,
  };
}

/** An API file as the plan records it (bytes live in memory, or staged in the store). */
export interface ApiFileRef {
  key: string;
  sha256: string;
  size: number;
  lastModified?: string;
  /** Where the verified bytes were staged for a worker in another process. */
  staged?: string;
}

/** The serialisable plan: `_sync/plans/<runId>.json`, handed from the orchestrator to a worker. */
export interface StoredPlan extends SyncPlan {
  version: 1;
  runId: string;
  createdAt: string;
  location: string;
  settings: MirrorSettings;
  formulaeCount: number;
  api: ApiFileRef[];
  /** Manifests that could not be read: the run cannot publish (brew ≥ 6.0.13 needs them). */
  manifestErrors: RunError[];
  /**
   * The manifests were left to the executor (PrepareOptions.manifestsBeside): the transfers have no
   * sizes yet, and each waits for its manifest's read before its put.
   */
  manifestsBeside?: true;
  /** API files the upstream does not serve (404): removed from the mirror when the run publishes, so
   * no client reads a stale copy next to fresh ones (optional in plans written before it existed). */
  apiGone?: string[];
  /** Keys the state recorded but the store no longer holds (or holds with other bytes: `forget`,
   * `verifyExisting`): forgotten by the executor (optional in plans written before it existed). */
  forgotten?: string[];
  totals: { bottles: number; bytes: number; unknownSizes: number };
  byTag: ReturnType<typeof bytesByTag>;
  /** Set when the orchestrator split the run over several ECS tasks (src/mirror/shards.ts). */
  shards?: PlanShards;
  /** The digest of what the plan was made from (src/mirror/settled.ts; absent in older plans). */
  inputs?: string;
}

export interface PreparedSync {
  plan: StoredPlan;
  /** The verified API files, in memory. */
  apiFiles: ApiFile[];
  /** Manifests read while planning (their raw bytes are stored by the executor). */
  manifests: Map<string, FetchedManifest>;
  /**
   * Keys under `bottles/` the store held while planning, when it listed them (in memory only; see
   * executePlan's `listed`); undefined when the store was asked per recorded key.
   */
  listed: ReadonlySet<string> | undefined;
  durationsMs: Record<string, number>;
  /**
   * What the plan was made from (in memory only): `hbsync plan --explain` asks it again. Parsed on the
   * first call when the run was settled (src/mirror/settled.ts) and so never planned.
   */
  planInput: () => PlanInput;
  /** The state the plan was made against, minus what the check found gone (for executePlan). */
  state: MirrorState;
}

export interface PrepareOptions {
  store: BlobStore;
  api: IndexSource;
  registry: ManifestSource;
  settings: MirrorSettings;
  runId: string;
  now?: () => Date;
  signal?: AbortSignal;
  onPhase?: (phase: string, detail?: string) => void;
  /**
   * Re-hash every object the state records before planning (`sync --verify-existing`): one whose bytes
   * do not match is forgotten, so the plan fetches it again (see `forget`).
   */
  verifyExisting?: boolean;
  /**
   * Recorded keys known not to hold their bytes (`verify --repair` passes what verify found): dropped
   * from the state before planning, so bottles and manifests the index names are transferred again and
   * API files re-published; those the index no longer names are pruned once the run succeeds.
   */
  forget?: readonly string[];
  /** Plan in full even when the state is settled for these inputs (src/mirror/settled.ts). */
  replan?: boolean;
  /** What checkAhead read before the lease: used when the state has not changed since. */
  ahead?: Promise<CheckedAhead | undefined>;
  /**
   * Leave the manifests to the executor, which reads them beside the transfers (the in-process sync:
   * nothing needs the sizes before the transfers start, and each transfer waits only for its own
   * manifest). The plan's transfers then have no sizes (`totals.unknownSizes`).
   */
  manifestsBeside?: boolean;
}

export const PLANS_PREFIX = "_sync/plans/";

export function planKey(runId: string): string {
  return `${PLANS_PREFIX}${runId}.json`;
}

/**
 * Drops from `state` every bottle and manifest the store no longer holds with the recorded size;
 * returns their keys, and the keys under `bottles/` the store holds when it listed them. A store that
 * answers per key (`sizes`: fs) is asked for the recorded keys only, and `listed` is undefined (each
 * transfer then looks for an object to adopt); otherwise one listing of `bottles/`.
 */
export async function forgetMissing(
  store: BlobStore,
  state: MirrorState,
  signal?: AbortSignal,
): Promise<{ missing: string[]; listed: Set<string> | undefined }> {
  let sizes: Map<string, number>;
  let listed: Set<string> | undefined;
  if (store.sizes) {
    const keys = [
      ...Object.keys(state.entries),
      ...Object.keys(state.manifests ?? {}),
      ...Object.keys(state.portableRuby ?? {}),
    ];
    sizes = await store.sizes(keys, signal === undefined ? {} : { signal });
  } else {
    sizes = new Map();
    for await (const object of store.list("bottles/")) {
      signal?.throwIfAborted();
      sizes.set(object.key, object.size);
    }
    listed = new Set(sizes.keys());
  }
  const missing: string[] = [];
  // for…in, not Object.entries: no pair array per record (100,000 of them on each run).
  for (const records of [state.entries, state.manifests ?? {}]) {
    for (const key in records) {
      if (sizes.get(key) === records[key]?.size) continue;
      missing.push(key);
    }
  }
  for (const key of missing) {
    delete state.entries[key];
    delete state.manifests?.[key];
  }
  // A missing Portable Ruby keeps its record (nothing else names it): the executor fetches it again.
  for (const [key, record] of Object.entries(state.portableRuby ?? {})) {
    if (sizes.get(key) !== record.size) missing.push(key);
  }
  return { missing, listed };
}

/** The state and the store's check against it, made before the lease (checkAhead). */
export interface CheckedAhead {
  /** The state's entity tag before it was read; null when there was none. */
  etag: string | null;
  state: MirrorState;
  missing: string[];
  listed: Set<string> | undefined;
  checkMs: number;
}

/**
 * Reads the state and checks the store against it (forgetMissing) without the lease, so that both
 * run beside the index download rather than after it. Nothing is written. prepareSync uses the result
 * only if the state's entity tag is still the one taken before the read: a run that wrote the state
 * since (or settled a crashed one) makes it read and check again under the lease. Undefined when
 * anything fails (a state caught mid-write): the same read under the lease then says why. An abort
 * of `signal` (the index failed: the run ends) stops it between reads.
 */
export async function checkAhead(store: BlobStore, signal?: AbortSignal): Promise<CheckedAhead | undefined> {
  try {
    const { state, etag } = await loadStateTagged(store);
    if (etag === undefined) return undefined;
    signal?.throwIfAborted();
    const started = performance.now();
    const { missing, listed } = await forgetMissing(store, state, signal);
    return { etag, state, missing, listed, checkMs: performance.now() - started };
  } catch {
    return undefined;
  }
}

/** `ahead`'s result while the state is as it was read, else undefined. */
async function stillAhead(
  store: BlobStore,
  ahead: Promise<CheckedAhead | undefined> | undefined,
): Promise<CheckedAhead | undefined> {
  const checked = await ahead;
  if (checked === undefined) return undefined;
  const now = await store.stat(STATE_KEY);
  return (now === null ? null : (now.etag ?? "")) === checked.etag ? checked : undefined;
}

/** The verified index, fetched beside checkAhead (fetchIndexBeside). */
export interface IndexBeside {
  index: VerifiedIndex;
  /** checkAhead's result, for prepareSync's `ahead`. */
  ahead: Promise<CheckedAhead | undefined>;
  /** Files byte for byte as verified before under the same trust: not checked again. */
  unchanged: number;
  indexMs: number;
  /** Runs a further step before the lease is ours (taking it); if it fails, checkAhead stops too. */
  guard<T>(step: () => Promise<T>): Promise<T>;
  /** Records the files verified (accepted-api.ts): a write, so only under the lease. */
  recordAccepted(): Promise<void>;
}

/**
 * How every run starts (a sync, the orchestrator, `hbsync plan`): checkAhead, and beside it the index
 * fetched and verified, the files an earlier run accepted not checked again. When that (or a step
 * `guard` runs) fails, checkAhead is aborted: the run is over, and its process need not wait for the
 * check to end.
 */
export async function fetchIndexBeside(
  store: BlobStore,
  api: IndexSource,
  tags: readonly string[],
): Promise<IndexBeside> {
  const started = performance.now();
  const early = new AbortController();
  const ahead = checkAhead(store, early.signal);
  const guard = async <T>(step: () => Promise<T>): Promise<T> => {
    try {
      return await step();
    } catch (error) {
      early.abort();
      throw error;
    }
  };
  const { index, accepted } = await guard(async () => {
    const accepted = await readAcceptedApi(store, api.trust);
    return { index: await fetchVerifiedIndex(api, tags, accepted), accepted };
  });
  return {
    index,
    ahead,
    unchanged: index.files.filter((file) => file.accepted).length,
    indexMs: Math.round(performance.now() - started),
    guard,
    recordAccepted: () => recordAcceptedApi(store, api.trust, index.files, accepted),
  };
}

/** prepareSync for a run that writes nothing (`hbsync plan`, `sync --dry-run`), started as a sync is. */
export async function prepareReadOnly(options: PrepareOptions): Promise<PreparedSync> {
  const started = await fetchIndexBeside(options.store, options.api, options.settings.tags);
  const prepared = await prepareSync({ ...options, api: started.index, ahead: started.ahead });
  prepared.durationsMs.index = (prepared.durationsMs.index ?? 0) + started.indexMs;
  return prepared;
}

/**
 * Everything before the first write: fetch and verify the index (a bad signature throws here, before
 * anything is written), load the state, plan, and read the manifests of what will move (sizes for the
 * plan and progress) with the `checkers` concurrency, unless `manifestsBeside` leaves them to the
 * executor.
 */
export async function prepareSync(options: PrepareOptions): Promise<PreparedSync> {
  const now = options.now ?? (() => new Date());
  const durationsMs: Record<string, number> = {};
  const time = async <T>(name: string, step: () => Promise<T>): Promise<T> => {
    const started = performance.now();
    try {
      return await step();
    } finally {
      durationsMs[name] = (durationsMs[name] ?? 0) + Math.round(performance.now() - started);
    }
  };
  const { settings } = options;

  options.onPhase?.("index", "fetching and verifying the Homebrew API");
  const fetched = await time("index", () => fetchBoth(options.api, settings.tags));
  const { index } = fetched;
  const apiFiles = [...index.files, ...[...fetched.internal.values()].filter((file) => file !== null)];

  // The state says what was stored; the store says what is there now (a file deleted by hand, a
  // bucket restored from a backup). What is gone is planned again rather than kept, so the API never
  // names a bottle the store lacks.
  const ahead = await stillAhead(options.store, options.ahead);
  if (ahead) durationsMs.check = Math.round(ahead.checkMs);
  const state = ahead?.state ?? (await loadState(options.store));
  const { missing, listed } = ahead ?? (await time("check", () => forgetMissing(options.store, state)));
  if (missing.length > 0) {
    options.onPhase?.("check", `${missing.length} recorded objects are missing from the store`);
  }
  const damaged = new Set(options.forget ?? []);
  if (options.verifyExisting) {
    options.onPhase?.("verify", `re-hashing ${recordedObjects(state).length} recorded objects`);
    const verified = await time("verify", () =>
      verifyMirror({
        store: options.store,
        state,
        concurrency: settings.concurrency.checkers,
        ...(options.signal ? { signal: options.signal } : {}),
      }),
    );
    for (const problem of verified.problems) damaged.add(problem.key);
    options.onPhase?.(
      "verify",
      `${verified.problems.length} of ${verified.checked} do not match: fetching them again`,
    );
  }
  for (const key of damaged) {
    delete state.entries[key];
    delete state.manifests?.[key];
    delete state.api?.[key];
    delete state.oci?.[key];
  }
  let input: PlanInput | undefined;
  // Parsed and validated only when planned from (a settled run never reads the entries).
  const planInput = (): PlanInput => {
    input ??= {
      formulae: index.formulae,
      internal: readPackagesFiles(fetched.internal),
      state,
      tags: settings.tags,
      include: settings.include,
      exclude: settings.exclude,
      now: now(),
      retentionDays: settings.retentionDays,
    };
    return input;
  };
  const inputs = settledInputs({
    apiFiles,
    missing: index.missing,
    tags: settings.tags,
    include: settings.include,
    exclude: settings.exclude,
  });
  const settled =
    missing.length === 0 && damaged.size === 0 && !options.replan
      ? settledPlan(state, inputs, now(), settings.retentionDays)
      : undefined;
  let formulaeCount: number;
  let plan: SyncPlan;
  let indexRejected: RejectedFormula[] = [];
  if (settled) {
    ({ formulaeCount, ...plan } = settled);
    options.onPhase?.(
      "plan",
      `settled: the signed index and the selection are those of the last complete run (${formulaeCount} formulae), nothing to plan`,
    );
  } else {
    await time("index", async () => planInput());
    formulaeCount = index.formulae.length;
    options.onPhase?.(
      "plan",
      index.missing.includes(FORMULA_INDEX_KEY)
        ? `from ${[...fetched.internal.keys()].map((tag) => `internal/packages.${tag}`).join(", ")} (the upstream has no ${FORMULA_INDEX_KEY})`
        : `${formulaeCount} formulae`,
    );
    plan = await time("plan", async () => planSync(planInput()));
    // Entries the config does not ask for are not mirrored anyway: they never block publishing.
    indexRejected = index.rejected
      .filter((entry) => isNameSelected(String(entry.name), settings.include, settings.exclude))
      .map((entry) => ({ name: String(entry.name), reason: entry.reason }));
  }

  // A damaged object the index no longer names cannot be fetched again: delete it after a successful
  // run (with the other prunes), so no key keeps bytes that match nothing.
  const replanned = new Set([
    ...plan.transfers.map((transfer) => transfer.key),
    ...plan.manifests.map((manifest) => manifest.key),
    ...apiFiles.map((file) => file.key),
  ]);
  // (A damaged OCI object is written again from its source by the layout phase, a Portable Ruby from its
  // record by the executor: never pruned here.)
  for (const key of damaged) {
    if (isOciKey(key) || state.portableRuby?.[key] !== undefined) continue;
    if (!replanned.has(key) && !plan.prunes.includes(key)) plan.prunes.push(key);
  }

  const manifests = new Map<string, FetchedManifest>();
  const manifestErrors: RunError[] = [];
  const sizes = new Map<string, number>();
  // The in-process sync leaves them to the executor, beside the transfers (manifestsBeside).
  if (!options.manifestsBeside) {
    options.onPhase?.("manifests", `${plan.manifests.length} manifests`);
    await time("manifests", async () => {
      const results = await runPool(
        plan.manifests,
        {
          name: "checkers",
          limit: settings.concurrency.checkers,
          ...(options.signal ? { signal: options.signal } : {}),
        },
        (manifest) => fetchManifest(manifest, options.registry),
      );
      results.forEach((result, position) => {
        const manifest = plan.manifests[position];
        if (!manifest || !result) return;
        if (!result.ok) {
          manifestErrors.push(toRunError(manifest.key, result.error));
          return;
        }
        manifests.set(manifest.key, result.value);
        for (const bottle of manifest.bottles) {
          const size = result.value.sizes.get(bottle.tag);
          if (size !== undefined) sizes.set(bottle.key, size);
        }
      });
    });
  }

  const transfers: PlannedTransfer[] = plan.transfers.map((transfer) => {
    const size = sizes.get(transfer.key);
    return size === undefined ? transfer : { ...transfer, size };
  });
  const rejected: RejectedFormula[] = [...indexRejected, ...plan.rejected];
  const byTag = bytesByTag(transfers);
  const totals = Object.values(byTag).reduce(
    (sum, tag) => ({
      bottles: sum.bottles + tag.bottles,
      bytes: sum.bytes + tag.bytes,
      unknownSizes: sum.unknownSizes + tag.unknownSizes,
    }),
    { bottles: 0, bytes: 0, unknownSizes: 0 },
  );
  const stored: StoredPlan = {
    version: 1,
    runId: options.runId,
    createdAt: now().toISOString(),
    location: options.store.location,
    settings,
    formulaeCount,
    ...plan,
    inputs,
    transfers,
    rejected,
    api: apiFiles.map((file) => ({
      key: file.key,
      sha256: file.sha256,
      size: file.bytes.byteLength,
      ...(file.lastModified === undefined ? {} : { lastModified: file.lastModified }),
    })),
    manifestErrors,
    ...(options.manifestsBeside ? { manifestsBeside: true as const } : {}),
    ...(index.missing.length > 0 ? { apiGone: [...index.missing] } : {}),
    ...(missing.length + damaged.size > 0 ? { forgotten: [...new Set([...missing, ...damaged])] } : {}),
    totals,
    byTag,
  };
  return { plan: stored, apiFiles, manifests, listed, durationsMs, planInput, state };
}

/** A verified `internal/packages.<tag>.jws.json`, read for planning (brew 6 installs from it). */
function readPackagesFile(file: ApiFile, tag: string): ParsedPackages {
  try {
    return parseInternalPackages(
      file.payload === undefined ? jwsPayload(file.bytes) : JSON.parse(file.payload),
      tag,
    );
  } catch (error) {
    throw new InvalidUpstreamDataError(
      `${file.key} is not a usable packages file: ${errorMessage(error)}`,
      file.key,
      {
        cause: error,
      },
    );
  }
}

export function toRunError(key: string, error: unknown): RunError {
  const status = (error as { status?: unknown })?.status;
  return { key, message: errorMessage(error), ...(typeof status === "number" ? { status } : {}) };
}

/**
 * Writes `_sync/plans/<runId>.json`; with `stageApiFiles`, also the verified API bytes under
 * `_sync/plans/<runId>/api/…` so a worker in another process publishes exactly what was verified.
 */
export async function writePlan(
  store: BlobStore,
  prepared: PreparedSync,
  options: { stageApiFiles?: boolean } = {},
): Promise<StoredPlan> {
  const plan = prepared.plan;
  if (options.stageApiFiles) {
    for (const file of prepared.apiFiles) {
      const staged = `${PLANS_PREFIX}${plan.runId}/${file.key}`;
      await store.put(staged, file.bytes, { sha256: file.sha256, size: file.bytes.byteLength });
      const ref = plan.api.find((entry) => entry.key === file.key);
      if (ref) ref.staged = staged;
    }
  }
  await writeJson(store, planKey(plan.runId), plan);
  return plan;
}

export async function readPlan(store: BlobStore, runId: string): Promise<StoredPlan> {
  const key = planKey(runId);
  const text = await readText(store, key);
  if (text === null) {
    throw new StateError(`no plan ${key} in ${store.location}`, {
      key,
      fix: "run the orchestrator (or `hbsync sync`) to create a plan first",
    });
  }
  try {
    const plan = JSON.parse(text) as StoredPlan;
    if (plan.version !== 1 || plan.runId !== runId) throw new Error("not a version 1 plan for this run");
    return plan;
  } catch (error) {
    throw new StateError(`${key} is not a readable plan: ${errorMessage(error)}`, { key, cause: error });
  }
}
