import { createHash } from "node:crypto";
import type { MissingDependency, SyncPlan } from "./plan.ts";
import type { MirrorState } from "./state.ts";

/**
 * A settled mirror: the last run planned from these very inputs (the signed API files, byte for byte,
 * and the config's selection) and did all of it. Planning again from the same inputs against the
 * state that run wrote finds nothing to do: every bottle and manifest the index names is recorded
 * with its sha256, everything it no longer names is already marked superseded. So a re-sync whose
 * inputs hash the same skips parsing the index and planning (at 50,000 entries, most of a no-op's
 * time) and gets the plan below instead.
 *
 * What keeps that claim true:
 * - only a run that published (nothing failed, nothing rejected) records it (execute.ts `commit`);
 * - every other write of the state drops it (`saveState` keeps it only when told to), so a checkpoint,
 *   a shard's fold, a migration or a repair all make the next run plan in full;
 * - the run still verifies every signature, and still checks that the store holds every recorded
 *   object (prepare.ts `forgetMissing`): a missing one, `--verify-existing` or `verify --repair` plan
 *   in full;
 * - a superseded object whose retention has run out is pruned by a full plan, so one due makes the
 *   run plan in full;
 * - the planner's own rules are part of the inputs (PLANNER_RULES): bump it when planSync would plan
 *   the same inputs differently.
 */
export interface SettledRecord {
  /** sha256 of the inputs (`settledInputs`). */
  inputs: string;
  /** What the run's report counts and says again on a settled run. */
  formulaeCount: number;
  sources?: SyncPlan["sources"];
  missingDependencies?: MissingDependency[];
}

/** Bump when planSync's output for the same index, state and selection changes. */
const PLANNER_RULES = 1;

export interface SettledInputs {
  apiFiles: ReadonlyArray<{ key: string; sha256: string }>;
  /** Keys the upstream does not serve. */
  missing: readonly string[];
  tags: readonly string[];
  include: readonly string[];
  exclude: readonly string[];
}

/** The digest a settled record must carry for these inputs. */
export function settledInputs(inputs: SettledInputs): string {
  const files = inputs.apiFiles.map((file) => [file.key, file.sha256]).sort();
  const document = JSON.stringify({
    rules: PLANNER_RULES,
    files,
    missing: [...inputs.missing].sort(),
    tags: [...inputs.tags].sort(),
    include: [...inputs.include],
    exclude: [...inputs.exclude],
  });
  return createHash("sha256").update(document).digest("hex");
}

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * The plan of a settled mirror, or undefined when the state's record is for other inputs (or there is
 * none), or a superseded object is due for pruning: then the caller plans in full.
 */
export function settledPlan(
  state: MirrorState,
  inputs: string,
  now: Date,
  retentionDays: number,
): (SyncPlan & { formulaeCount: number }) | undefined {
  const settled = state.settled;
  if (settled === undefined || settled.inputs !== inputs) return undefined;
  const cutoff = now.getTime() - retentionDays * DAY_MS;
  const keeps: string[] = [];
  const manifestKeeps: string[] = [];
  for (const [records, kept] of [
    [state.entries, keeps],
    [state.manifests ?? {}, manifestKeeps],
  ] as const) {
    for (const key in records) {
      const superseded = records[key]?.supersededAt;
      if (superseded === undefined) {
        kept.push(key);
        continue;
      }
      const since = Date.parse(superseded);
      if (Number.isFinite(since) && since < cutoff) return undefined;
    }
  }
  return {
    transfers: [],
    keeps,
    manifests: [],
    manifestKeeps,
    supersede: [],
    prunes: [],
    rejected: [],
    missingDependencies: settled.missingDependencies ?? [],
    ...(settled.sources ? { sources: settled.sources } : {}),
    formulaeCount: settled.formulaeCount,
  };
}

/** What a run that published `plan` records, when it was planned from `inputs`. */
export function settledRecord(
  plan: SyncPlan & { formulaeCount: number; inputs?: string },
): SettledRecord | undefined {
  if (plan.inputs === undefined || plan.rejected.length > 0) return undefined;
  return {
    inputs: plan.inputs,
    formulaeCount: plan.formulaeCount,
    ...(plan.sources ? { sources: plan.sources } : {}),
    ...(plan.missingDependencies?.length ? { missingDependencies: plan.missingDependencies } : {}),
  };
}
