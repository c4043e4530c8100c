import { bottleRefs } from "../homebrew/naming.ts";
import type { BottleRef, FormulaInfo } from "../homebrew/types.ts";
import { unsafeReason } from "./safe-names.ts";
import type { MirrorState } from "./state.ts";

/** A bottle to download; `size` comes from the registry manifest once it has been read. */
export interface PlannedTransfer extends BottleRef {
  size?: number;
}

/** A manifest to fetch from the registry and store at `key` (brew ≥ 6.0.13 reads it from the mirror). */
export interface PlannedManifest {
  key: string;
  formula: string;
  image: string;
  versionRebuild: string;
  /** The bottles this manifest describes (for the tags mirrored). */
  bottles: Array<{ key: string; tag: string }>;
}

export interface RejectedFormula {
  name: string;
  reason: string;
}

export interface PlanInput {
  formulae: readonly FormulaInfo[];
  state: MirrorState;
  /** Bottle tags to mirror; `all` bottles always come along. */
  tags: readonly string[];
  /** Formula names or `*` globs; empty = every formula. Runtime dependencies of included formulae come along. */
  include?: readonly string[];
  /** Formula names or `*` globs; wins over include. */
  exclude?: readonly string[];
  now: Date;
  retentionDays: number;
}

/** The pure diff of index × state × config (rclone's march; changesets' assembleReleasePlan). */
export interface SyncPlan {
  /** Bottles the index names that the state lacks, or holds with another sha256. */
  transfers: PlannedTransfer[];
  /** Bottle keys the state already holds with the indexed sha256. */
  keeps: string[];
  /** Manifests to fetch and store: those of every transfer, and those the state lacks. */
  manifests: PlannedManifest[];
  /** Manifest keys already stored and still named. */
  manifestKeeps: string[];
  /** State keys (bottles and manifests) the index no longer names and not yet marked superseded. */
  supersede: string[];
  /** Superseded state keys older than the retention: deleted after a successful run. */
  prunes: string[];
  /** Formulae that cannot be planned (unsafe names, bad digests, duplicates). */
  rejected: RejectedFormula[];
}

const DAY_MS = 24 * 60 * 60 * 1000;

export function planSync(input: PlanInput): SyncPlan {
  const { state, now } = input;
  const selected = selectFormulae(input.formulae, input.include ?? [], input.exclude ?? []);
  const rejected: RejectedFormula[] = [];
  const transfers: PlannedTransfer[] = [];
  const keeps: string[] = [];
  const wantedBottles = new Set<string>();
  const manifestsByKey = new Map<string, PlannedManifest & { needed: boolean }>();
  const seenNames = new Set<string>();

  for (const formula of selected) {
    const reason = unsafeReason(formula, input.tags);
    if (reason !== null) {
      rejected.push({ name: String((formula as { name?: unknown })?.name), reason });
      continue;
    }
    if (seenNames.has(formula.name)) {
      rejected.push({ name: formula.name, reason: "duplicate formula name in the index" });
      continue;
    }
    seenNames.add(formula.name);
    for (const ref of bottleRefs(formula, input.tags)) {
      if (wantedBottles.has(ref.key)) continue;
      wantedBottles.add(ref.key);
      const held = state.entries[ref.key];
      const needsTransfer = held === undefined || held.sha256 !== ref.sha256;
      if (needsTransfer) transfers.push(ref);
      else keeps.push(ref.key);
      let manifest = manifestsByKey.get(ref.manifestKey);
      if (!manifest) {
        manifest = {
          key: ref.manifestKey,
          formula: ref.formula,
          image: ref.image,
          versionRebuild: ref.versionRebuild,
          bottles: [],
          needed: state.manifests?.[ref.manifestKey] === undefined,
        };
        manifestsByKey.set(ref.manifestKey, manifest);
      }
      manifest.bottles.push({ key: ref.key, tag: ref.tag });
      if (needsTransfer) manifest.needed = true;
    }
  }

  const manifests: PlannedManifest[] = [];
  const manifestKeeps: string[] = [];
  for (const { needed, ...manifest } of manifestsByKey.values()) {
    if (needed) manifests.push(manifest);
    else manifestKeeps.push(manifest.key);
  }

  const supersede: string[] = [];
  const prunes: string[] = [];
  const cutoff = now.getTime() - input.retentionDays * DAY_MS;
  const retire = (entries: MirrorState["entries"], wanted: (key: string) => boolean): void => {
    for (const [key, entry] of Object.entries(entries)) {
      if (wanted(key)) continue;
      if (entry.supersededAt === undefined) {
        supersede.push(key);
        continue;
      }
      const since = Date.parse(entry.supersededAt);
      // An unreadable date is kept (never delete on a guess); it is re-marked on the next run.
      if (Number.isFinite(since) && since < cutoff) prunes.push(key);
    }
  };
  retire(state.entries, (key) => wantedBottles.has(key));
  retire(state.manifests ?? {}, (key) => manifestsByKey.has(key));

  return { transfers, keeps, manifests, manifestKeeps, supersede, prunes, rejected };
}

/**
 * The formulae to mirror: every one when `include` is empty, else the included names (globs allowed)
 * plus their runtime `dependencies`, transitively; `exclude` wins over both.
 */
export function selectFormulae(
  formulae: readonly FormulaInfo[],
  include: readonly string[],
  exclude: readonly string[],
): FormulaInfo[] {
  const excluded = matcher(exclude);
  if (include.length === 0) {
    return exclude.length === 0 ? [...formulae] : formulae.filter((formula) => !excluded(formula?.name));
  }
  const byName = new Map<string, FormulaInfo>();
  for (const formula of formulae) {
    if (typeof formula?.name === "string" && !byName.has(formula.name)) byName.set(formula.name, formula);
  }
  const included = matcher(include);
  const chosen = new Set<string>();
  const queue = [...byName.keys()].filter((name) => included(name));
  while (queue.length > 0) {
    const name = queue.pop() as string;
    if (chosen.has(name) || excluded(name)) continue;
    const formula = byName.get(name);
    if (!formula) continue;
    chosen.add(name);
    const dependencies = formula.dependencies;
    if (Array.isArray(dependencies)) {
      for (const dependency of dependencies) if (typeof dependency === "string") queue.push(dependency);
    }
  }
  return formulae.filter((formula) => chosen.has(formula?.name));
}

/**
 * Whether the config asks for a formula by name (the rule of selectFormulae without the dependency
 * walk): for an index entry that could not be read, whose dependencies are unknown.
 */
export function isNameSelected(
  name: string,
  include: readonly string[],
  exclude: readonly string[],
): boolean {
  if (matcher(exclude)(name)) return false;
  return include.length === 0 || matcher(include)(name);
}

function matcher(patterns: readonly string[]): (name: unknown) => boolean {
  const exact = new Set(patterns.filter((pattern) => !pattern.includes("*")));
  const globs = patterns
    .filter((pattern) => pattern.includes("*"))
    .map((pattern) => new RegExp(`^${pattern.split("*").map(escapeRegExp).join(".*")}$`));
  return (name) =>
    typeof name === "string" && (exact.has(name) || globs.some((pattern) => pattern.test(name)));
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Bytes to move per tag (unknown sizes count as 0 and are counted separately). */
export function bytesByTag(
  transfers: readonly PlannedTransfer[],
): Record<string, { bottles: number; bytes: number; unknownSizes: number }> {
  const totals: Record<string, { bottles: number; bytes: number; unknownSizes: number }> = {};
  for (const transfer of transfers) {
    const total = (totals[transfer.tag] ??= { bottles: 0, bytes: 0, unknownSizes: 0 });
    total.bottles += 1;
    if (transfer.size === undefined) total.unknownSizes += 1;
    else total.bytes += transfer.size;
  }
  return totals;
}
