import { createHash } from "node:crypto";
import type { BlobStore } from "../storage/blob-store.ts";
import { StateError } from "./errors.ts";
import type { StateRecord } from "./execute.ts";
import type { StoredPlan } from "./prepare.ts";
import type { RunReport } from "./report.ts";
import { loadState, type MirrorState, readText, type StateEntry, writeJson } from "./state.ts";

/**
 * A sharded run (the initial full mirror: thousands of formulae, hundreds of GB): the orchestrator
 * splits the plan by formula hash over N ECS tasks. Each task transfers its shard's bottles and
 * manifests and records them in its part, `_sync/parts/<runId>/<shard>.json` — never in
 * `_sync/state.json`, never the API. The last task to finish merges the parts into the state and runs
 * the rest of the plan once (API last, state, report, prune); see docs/sharded-runs.md.
 */
export const PARTS_PREFIX = "_sync/parts/";

/** Shard `index` (0-based) of `count`. */
export interface ShardSpec {
  index: number;
  count: number;
}

/** `mirror.shards`, normalised: at most `maxTasks` tasks, one per `bytesPerTask` planned bytes. */
export interface ShardSettings {
  maxTasks: number;
  bytesPerTask: number;
}

/** What the plan says about its sharding (absent: one process executes the whole plan). */
export interface PlanShards {
  count: number;
  /** The run's lease length: every shard renews the orchestrator's lease by this much. */
  leaseMs: number;
}

/** Which shard a formula belongs to: the first 4 bytes of sha256(name), big-endian, modulo `count`. */
export function shardOf(formula: string, count: number): number {
  if (count <= 1) return 0;
  return createHash("sha256").update(formula).digest().readUInt32BE(0) % count;
}

/** Tasks for a run moving `bytes`: one per `bytesPerTask` (rounded up), at least 1, at most `maxTasks`. */
export function shardCount(bytes: number, settings: ShardSettings): number {
  const wanted = Math.ceil(Math.max(0, bytes) / Math.max(1, settings.bytesPerTask));
  return Math.max(1, Math.min(settings.maxTasks, wanted));
}

/**
 * Shard `index` of a plan: the transfers, manifests and manifest errors of its formulae, nothing else
 * (no API, no retirement, no prune, nothing forgotten: the final step does those once for the run).
 */
export function shardPlan(plan: StoredPlan, shard: ShardSpec): StoredPlan {
  const mine = (formula: string): boolean => shardOf(formula, shard.count) === shard.index;
  const manifests = plan.manifests.filter((manifest) => mine(manifest.formula));
  const manifestKeys = new Set(manifests.map((manifest) => manifest.key));
  const transfers = plan.transfers.filter((ref) => mine(ref.formula));
  return {
    ...plan,
    transfers,
    keeps: [],
    manifests,
    manifestKeeps: [],
    supersede: [],
    prunes: [],
    rejected: [],
    api: [],
    manifestErrors: plan.manifestErrors.filter((error) => manifestKeys.has(error.key)),
    forgotten: [],
    totals: {
      bottles: transfers.length,
      bytes: transfers.reduce((sum, ref) => sum + (ref.size ?? 0), 0),
      unknownSizes: transfers.filter((ref) => ref.size === undefined).length,
    },
  };
}

export function partKey(runId: string, index: number): string {
  return `${PARTS_PREFIX}${runId}/${index}.json`;
}

export function partReportKey(runId: string, index: number): string {
  return `${PARTS_PREFIX}${runId}/${index}.report.json`;
}

export function mergeClaimKey(runId: string): string {
  return `${PARTS_PREFIX}${runId}/merge.json`;
}

/** `_sync/parts/<runId>/<shard>.json`: what one shard of the run stored. */
export interface ShardPart {
  version: 1;
  runId: string;
  shard: number;
  count: number;
  /** `running` while the shard checkpoints; its task ends it as `succeeded` or `failed`. */
  status: "running" | "succeeded" | "failed";
  updatedAt: string;
  /** Bottles of the shard stored with their planned sha256. */
  entries: Record<string, StateEntry>;
  /** Manifests of the shard stored by this run. */
  manifests: Record<string, StateEntry>;
  counts: { transferred: number; adopted: number; failed: number };
  bytesTransferred: number;
  transfersMs: number;
  /** Why the shard failed, in one line (the first error; the part's report has them all). */
  error?: string;
}

/**
 * The state record of one shard (executePlan's `record`): it starts from the shared state plus what
 * its own part already holds (a re-run shard resumes), and saves only its own bottles and manifests,
 * into its part.
 */
export class PartRecord implements StateRecord {
  private readonly planned: Map<string, string>;
  private readonly manifestKeys: Set<string>;
  private last: ShardPart;

  constructor(
    private readonly store: BlobStore,
    private readonly plan: StoredPlan,
    private readonly shard: ShardSpec,
    /** When this shard started: manifests recorded since then are its own. */
    private readonly startedAt: Date,
    previous: ShardPart | null,
  ) {
    this.planned = new Map(plan.transfers.map((ref) => [ref.key, ref.sha256]));
    this.manifestKeys = new Set(plan.manifests.map((manifest) => manifest.key));
    this.last = previous ?? {
      version: 1,
      runId: plan.runId,
      shard: shard.index,
      count: shard.count,
      status: "running",
      updatedAt: startedAt.toISOString(),
      entries: {},
      manifests: {},
      counts: { transferred: 0, adopted: 0, failed: 0 },
      bytesTransferred: 0,
      transfersMs: 0,
    };
  }

  async load(): Promise<MirrorState> {
    return foldParts(await loadState(this.store), [this.last]);
  }

  async save(state: MirrorState, now: Date): Promise<void> {
    const entries: Record<string, StateEntry> = {};
    for (const [key, sha256] of this.planned) {
      const entry = state.entries[key];
      if (entry?.sha256 === sha256) entries[key] = entry;
    }
    const manifests: Record<string, StateEntry> = { ...this.last.manifests };
    for (const key of this.manifestKeys) {
      const entry = state.manifests?.[key];
      if (entry && Date.parse(entry.syncedAt) >= this.startedAt.getTime()) manifests[key] = entry;
    }
    this.last = { ...this.last, status: "running", updatedAt: now.toISOString(), entries, manifests };
    // The part is this shard's commit point: the objects it names are flushed first (as for the state).
    await this.store.flush?.();
    await writeJson(this.store, partKey(this.plan.runId, this.shard.index), this.last);
  }

  /** Ends the part with the shard's report (executePlan saved the entries just before). */
  async finish(report: RunReport, now: Date): Promise<ShardPart> {
    const first = report.errors[0];
    this.last = {
      ...this.last,
      status: report.status === "succeeded" ? "succeeded" : "failed",
      updatedAt: now.toISOString(),
      counts: {
        transferred: this.last.counts.transferred + report.counts.transferred,
        adopted: this.last.counts.adopted + report.counts.adopted,
        failed: report.counts.failed,
      },
      bytesTransferred: this.last.bytesTransferred + report.bytes.transferred,
      transfersMs: this.last.transfersMs + (report.durationsMs.transfers ?? 0),
    };
    if (this.last.status === "failed") {
      // Transfer errors name their key already (`bottles/…: corrupted on transfer: …`).
      this.last.error = first ? (first.message.split("\n")[0] ?? first.message) : "failed";
    } else delete this.last.error;
    await writeJson(this.store, partKey(this.plan.runId, this.shard.index), this.last);
    return this.last;
  }
}

/**
 * A shard's part, or null when it has written none. A part that does not parse is read again first
 * (readSettledJson): the merging shard's read may have met that shard's checkpoint write.
 */
export async function readPart(store: BlobStore, runId: string, index: number): Promise<ShardPart | null> {
  const key = partKey(runId, index);
  let part: ShardPart | null;
  try {
    part = (await readSettledJson(store, key)) as ShardPart | null;
  } catch (error) {
    throw unreadablePart(key, error);
  }
  if (part === null) return null;
  if (part.version !== 1 || part.runId !== runId || part.shard !== index)
    throw unreadablePart(key, new Error("not this shard's"));
  return { ...part, entries: { ...part.entries }, manifests: { ...part.manifests } };
}

/** How many times readSettledJson reads again an object that does not parse. */
const REREADS = 2;

/**
 * A small JSON object that other shards write, parsed; null when absent. One that does not parse is
 * read again, twice (after 100 and 200 ms), before its parse error is thrown: on a store whose
 * overwrites are not atomic (s3rver's are not; S3's and the folder store's are), a read can meet a write
 * in progress and see half a document, as readLock allows for the lock.
 */
async function readSettledJson(store: BlobStore, key: string): Promise<unknown> {
  for (let again = 0; ; again++) {
    const text = await readText(store, key);
    if (text === null) return null;
    try {
      return JSON.parse(text) as unknown;
    } catch (error) {
      if (again >= REREADS) throw error;
      await new Promise((done) => setTimeout(done, 100 * (again + 1)));
    }
  }
}

function unreadablePart(key: string, error: unknown): StateError {
  return new StateError(`${key} is not a readable part: ${(error as Error).message}`, {
    key,
    cause: error,
    fix: `delete ${key}: the next run re-checks that shard's bottles`,
  });
}

/** Every part of the run, by shard (null: the shard has written none). */
export async function readParts(
  store: BlobStore,
  runId: string,
  count: number,
): Promise<Array<ShardPart | null>> {
  const parts: Array<ShardPart | null> = [];
  for (let index = 0; index < count; index++) parts.push(await readPart(store, runId, index));
  return parts;
}

/** The state with what the parts stored (bottles with their planned sha256, manifests of this run). */
export function foldParts(state: MirrorState, parts: ReadonlyArray<ShardPart | null>): MirrorState {
  const folded: MirrorState = {
    ...state,
    entries: { ...state.entries },
    manifests: { ...state.manifests },
  };
  for (const part of parts) {
    if (part === null) continue;
    Object.assign(folded.entries, part.entries);
    Object.assign(folded.manifests ?? {}, part.manifests);
  }
  return folded;
}

/**
 * The shard that merges: a create-if-absent claim, read back (on a store that ignores conditional
 * writes, the last writer wins and every claimant sees the same one).
 */
export async function claimMerge(store: BlobStore, runId: string, index: number): Promise<boolean> {
  const key = mergeClaimKey(runId);
  if (!(await store.putIfAbsent(key, JSON.stringify({ shard: index })))) return false;
  const claim = (await readSettledJson(store, key)) as { shard?: number } | null;
  return claim?.shard === index;
}

/** Run ids that have parts (`_sync/parts/<runId>/…`). */
export async function partRuns(store: BlobStore): Promise<string[]> {
  const runs = new Set<string>();
  for await (const stat of store.list(PARTS_PREFIX)) {
    const runId = stat.key.slice(PARTS_PREFIX.length).split("/")[0];
    if (runId) runs.add(runId);
  }
  return [...runs];
}

export async function deleteParts(store: BlobStore, runId: string): Promise<void> {
  const keys: string[] = [];
  for await (const stat of store.list(`${PARTS_PREFIX}${runId}/`)) keys.push(stat.key);
  for (const key of keys) await store.delete(key);
}

/** The run's progress totals from its parts. */
export function partTotals(parts: ReadonlyArray<ShardPart | null>): {
  transferred: number;
  adopted: number;
  bytesTransferred: number;
  transfersMs: number;
} {
  const totals = { transferred: 0, adopted: 0, bytesTransferred: 0, transfersMs: 0 };
  for (const part of parts) {
    if (part === null) continue;
    totals.transferred += part.counts.transferred;
    totals.adopted += part.counts.adopted;
    totals.bytesTransferred += part.bytesTransferred;
    totals.transfersMs = Math.max(totals.transfersMs, part.transfersMs);
  }
  return totals;
}
