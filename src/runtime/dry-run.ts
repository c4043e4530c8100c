import { planSync } from "../mirror/plan.ts";
import { forgetMissing, type IndexSource, loadIndex, type MirrorSettings } from "../mirror/prepare.ts";
import { loadState } from "../mirror/state.ts";
import type { BlobStore } from "../storage/blob-store.ts";

/**
 * The worker's dry run: the deploy smoke test (src/pipeline/smoke-test.ts) invokes the freshly deployed
 * worker Lambda with `{"dryRun": true}`. It goes through the real plan path — the bundle loads, its
 * configuration parses, the Homebrew index is fetched and its signature verified, the mirror's state is
 * read and its bottles/ listed, the plan is computed — and writes nothing: no lease, no plan, no state,
 * no notification. Manifests are not read (a plan's sizes are not needed to know the code works, and a
 * fresh mirror would need thousands).
 */
export interface DryRunEvent {
  dryRun: true;
}

export interface DryRunResult {
  status: "dry-run";
  detail: string;
  environment: string;
  /** ARTIFACT_VERSION of the function that answered: the smoke test compares it with the deployed one. */
  artifactVersion: string;
  formulae: number;
  plan: { transfers: number; keeps: number; supersede: number; prunes: number; rejected: number };
  /** Recorded objects the store no longer holds (they would be planned again). */
  missing: number;
  durationMs: number;
}

export function isDryRunEvent(event: unknown): event is DryRunEvent {
  const value = typeof event === "string" ? safeJson(event) : event;
  return typeof value === "object" && value !== null && (value as { dryRun?: unknown }).dryRun === true;
}

export interface DryRunDeps {
  store: BlobStore;
  api: IndexSource;
  settings: MirrorSettings;
  environment: string;
  artifactVersion: string;
  now?: () => Date;
}

export async function dryRunPlan(deps: DryRunDeps): Promise<DryRunResult> {
  const started = performance.now();
  const now = deps.now ?? (() => new Date());
  const { index, internal } = await loadIndex(deps.api, deps.settings.tags);
  const state = await loadState(deps.store);
  const { missing } = await forgetMissing(deps.store, state);
  const plan = planSync({
    formulae: index.formulae,
    internal,
    state,
    tags: deps.settings.tags,
    include: deps.settings.include,
    exclude: deps.settings.exclude,
    now: now(),
    retentionDays: deps.settings.retentionDays,
  });
  const rejected = plan.rejected.length + index.rejected.length;
  return {
    status: "dry-run",
    detail: `planned ${plan.transfers.length} transfer(s), ${plan.keeps.length} kept, ${plan.prunes.length} prune(s) over ${index.formulae.length} formulae; wrote nothing`,
    environment: deps.environment,
    artifactVersion: deps.artifactVersion,
    formulae: index.formulae.length,
    plan: {
      transfers: plan.transfers.length,
      keeps: plan.keeps.length,
      supersede: plan.supersede.length,
      prunes: plan.prunes.length,
      rejected,
    },
    missing: missing.length,
    durationMs: Math.round(performance.now() - started),
  };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
