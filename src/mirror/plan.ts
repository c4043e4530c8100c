import { type Closure, chainTo, dependencyClosure } from "../homebrew/dependencies.ts";
import { assertAgreement, type TagView, viewFromFormulae, viewFromPackages } from "../homebrew/index-view.ts";
import type { ParsedPackages } from "../homebrew/internal-packages.ts";
import { bottleRef } from "../homebrew/naming.ts";
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
  /**
   * The verified `internal/packages.<tag>` files, by tag: a tag with one is planned from it alone (what
   * brew 6 installs from), and formula.json must agree with it on every bottle both name.
   */
  internal?: ReadonlyMap<string, ParsedPackages>;
  state: MirrorState;
  /** Bottle tags to mirror; `all` bottles always come along. */
  tags: readonly string[];
  /**
   * Formula names or `*` globs; empty = every formula. What each included formula pours with on a tag
   * comes along for that tag (see src/homebrew/dependencies.ts), transitively.
   */
  include?: readonly string[];
  /** Formula names or `*` globs; wins over include. */
  exclude?: readonly string[];
  now: Date;
  retentionDays: number;
}

/** A dependency the index does not have: brew cannot install what needs it from the mirror. */
export interface MissingDependency {
  name: string;
  /** The formulae that need it, and on which tags. */
  requiredBy: string[];
  tags: string[];
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
  /** Dependencies of selected formulae that the index lacks (optional in plans written before it existed). */
  missingDependencies?: MissingDependency[];
  /** Which file each tag was planned from (optional in plans written before it existed). */
  sources?: Record<string, TagView["source"]>;
}

const DAY_MS = 24 * 60 * 60 * 1000;

export function planSync(input: PlanInput): SyncPlan {
  const { state, now } = input;
  const rejected: RejectedFormula[] = [];
  const transfers: PlannedTransfer[] = [];
  const keeps: string[] = [];
  const wantedBottles = new Set<string>();
  const manifestsByKey = new Map<string, PlannedManifest & { needed: boolean }>();

  const { safe, unsafe } = partitionFormulae(input.formulae, input.tags);
  const selection = selectByTag(input, safe);
  const formulaSelected = new Set(selectFormulae(input.formulae, input.include ?? [], input.exclude ?? []));
  const missingNames = new Set((selection.missing ?? []).map((dependency) => dependency.name));
  for (const { formula, reason } of unsafe) {
    const name = String((formula as { name?: unknown })?.name);
    if (formulaSelected.has(formula) || missingNames.has(name)) rejected.push({ name, reason });
  }
  const rejectedNames = new Set(rejected.map((entry) => entry.name));
  const names = new Set(safe.map((formula) => formula.name));
  for (const [tag, view] of selection.views) {
    for (const entry of input.internal?.get(tag)?.rejected ?? []) {
      if (rejectedNames.has(entry.name)) continue;
      if (
        isNameSelected(entry.name, input.include ?? [], input.exclude ?? []) ||
        missingNames.has(entry.name)
      ) {
        rejected.push({ name: entry.name, reason: `internal/packages.${tag}: ${entry.reason}` });
        rejectedNames.add(entry.name);
      }
    }
    for (const name of view.packages.keys()) names.add(name);
  }

  for (const name of names) {
    for (const [tag, view] of selection.views) {
      if (!selection.chosen.get(tag)?.has(name)) continue;
      for (const ref of bottlesOf(name, view, selection.fallbacks.get(tag))) {
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

  const sources = Object.fromEntries([...selection.views].map(([tag, view]) => [tag, view.source]));
  return {
    transfers,
    keeps,
    manifests,
    manifestKeeps,
    supersede,
    prunes,
    rejected,
    missingDependencies: selection.missing.filter((dependency) => !rejectedNames.has(dependency.name)),
    sources,
  };
}

/** formula.json entries that are safe to plan (the first of each name), and the others with the reason. */
function partitionFormulae(
  formulae: readonly FormulaInfo[],
  tags: readonly string[],
): { safe: FormulaInfo[]; unsafe: Array<{ formula: FormulaInfo; reason: string }> } {
  const safe: FormulaInfo[] = [];
  const unsafe: Array<{ formula: FormulaInfo; reason: string }> = [];
  const seen = new Set<string>();
  for (const formula of formulae) {
    const reason = unsafeReason(formula, tags);
    if (reason !== null) unsafe.push({ formula, reason });
    else if (seen.has(formula.name)) unsafe.push({ formula, reason: "duplicate formula name in the index" });
    else {
      seen.add(formula.name);
      safe.push(formula);
    }
  }
  return { safe, unsafe };
}

export interface TagSelection {
  /** The view each tag is planned from (`all` stands for itself when listed). */
  views: Map<string, TagView>;
  /** Per tag, the formulae mirrored for it, each with the formula that pulled it in (null: asked for). */
  chosen: Map<string, Closure["via"]>;
  /** Per tag, the formula.json view when the tag is planned from its internal file (brew < 6 clients). */
  fallbacks: Map<string, TagView>;
  /** Per tag, the closure (for explaining). */
  closures: Map<string, Closure>;
  missing: MissingDependency[];
}

/**
 * Per tag: the view (internal/packages.<tag>, refused when formula.json disagrees with it, else
 * formula.json), and the formulae to mirror for it: every one when `include` is empty, else the
 * included ones and what they pour with there, transitively; `exclude` wins over both.
 */
export function selectByTag(input: PlanInput, safe: readonly FormulaInfo[]): TagSelection {
  const include = input.include ?? [];
  const excluded = matcher(input.exclude ?? []);
  const included = matcher(include);
  const views = new Map<string, TagView>();
  const fallbacks = new Map<string, TagView>();
  const chosen = new Map<string, Closure["via"]>();
  const closures = new Map<string, Closure>();
  const missing = new Map<string, MissingDependency>();
  const tags = [...new Set(input.tags)];
  for (const tag of tags) {
    const parsed = input.internal?.get(tag);
    const fromFormulae = viewFromFormulae(safe, tag);
    let view = fromFormulae;
    if (parsed) {
      view = viewFromPackages(parsed);
      assertAgreement(view, safe, `internal/packages.${tag}.jws.json`);
      fallbacks.set(tag, fromFormulae);
    }
    views.set(tag, view);
    const names = [...view.packages.keys()];
    const roots = include.length === 0 ? names : names.filter((name) => included(name));
    const closure = dependencyClosure(roots, (name) => view.packages.get(name)?.dependencies, excluded);
    closures.set(tag, closure);
    chosen.set(tag, closure.via);
    for (const [name, requiredBy] of closure.missing) {
      const known = missing.get(name) ?? { name, requiredBy: [], tags: [] };
      for (const by of requiredBy) if (!known.requiredBy.includes(by)) known.requiredBy.push(by);
      if (!known.tags.includes(tag)) known.tags.push(tag);
      missing.set(name, known);
    }
  }
  return { views, chosen, fallbacks, closures, missing: [...missing.values()] };
}

/** The bottles to mirror for `name` on a view's tag: brew 6's pick, and brew < 6's when it differs. */
function bottlesOf(name: string, view: TagView, fallback: TagView | undefined): BottleRef[] {
  const refs: BottleRef[] = [];
  for (const source of fallback ? [view, fallback] : [view]) {
    const entry = source.packages.get(name);
    if (!entry?.bottle || entry.pkgVersion === null) continue;
    const ref = bottleRef({ formula: name, pkgVersion: entry.pkgVersion, ...entry.bottle });
    if (!refs.some((known) => known.key === ref.key)) refs.push(ref);
  }
  return refs;
}

/**
 * The formulae to mirror by formula.json's own dependencies (any tag): every one when `include` is
 * empty, else the included names (globs allowed) plus their runtime `dependencies`, transitively;
 * `exclude` wins over both. planSync selects per tag instead (selectByTag).
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

/** Why a formula is (or is not) in the mirror, on one tag. */
export interface TagExplanation {
  tag: string;
  /** The file the tag is planned from. */
  source: TagView["source"];
  status: "mirrored" | "no-bottle" | "excluded" | "not-selected" | "not-in-index" | "rejected";
  /** `mirrored` / `no-bottle`: from the formula asked for (by include, or every formula when include is empty) to this one. */
  chain?: string[];
  /** `mirrored`: the store keys of its bottles for this tag. */
  bottles?: string[];
  /** `excluded` / `not-in-index`: the selected formulae that need it on this tag. */
  neededBy?: string[];
  /** `rejected`: why the index entry was refused. */
  reason?: string;
}

/** `hbsync plan --explain NAME`: per configured tag, the chain of dependents that brings `name` in, or why not. */
export function explainFormula(input: PlanInput, name: string): TagExplanation[] {
  const { safe, unsafe } = partitionFormulae(input.formulae, input.tags);
  const selection = selectByTag(input, safe);
  const excluded = matcher(input.exclude ?? []);
  const explanations: TagExplanation[] = [];
  for (const [tag, view] of selection.views) {
    const closure = selection.closures.get(tag) as Closure;
    const base = { tag, source: view.source };
    const internalRejection = input.internal?.get(tag)?.rejected.find((entry) => entry.name === name);
    const rejection =
      internalRejection ?? unsafe.find((entry) => (entry.formula as { name?: unknown })?.name === name);
    if (closure.via.has(name)) {
      const bottles = bottlesOf(name, view, selection.fallbacks.get(tag)).map((ref) => ref.key);
      const chain = chainTo(closure, name);
      explanations.push(
        bottles.length > 0
          ? { ...base, status: "mirrored", chain, bottles }
          : { ...base, status: "no-bottle", chain },
      );
    } else if (rejection) {
      explanations.push({ ...base, status: "rejected", reason: rejection.reason });
    } else if (excluded(name)) {
      explanations.push({ ...base, status: "excluded", neededBy: closure.excluded.get(name) ?? [] });
    } else if (!view.packages.has(name)) {
      explanations.push({ ...base, status: "not-in-index", neededBy: closure.missing.get(name) ?? [] });
    } else {
      explanations.push({ ...base, status: "not-selected" });
    }
  }
  return explanations;
}
