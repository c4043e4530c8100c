import { compareVersions, isLinuxTag, macosVersionNamed, macosVersionOf } from "./bottle-tags.ts";
import { mergeVariations } from "./formula-struct.ts";

/**
 * The formulae brew installs with a bottle on one tag (FormulaInstaller `expand_dependencies_for_formula`
 * when pouring): declared dependencies and `recommended` ones; not `build`, `test` or `optional` ones; and
 * `uses_from_macos` entries — on Linux always (dependency/uses_from_macos_dependency.rb
 * `use_macos_install?` is false there), on macOS only when a `since:` bound names a release newer
 * than the tag's — except `build`/`test` ones. Requirements (`:macos`, `:arch`, …) are not formulae.
 */
const SKIPPED_TYPES = new Set(["build", "test", "optional"]);

/** Whether a `uses_from_macos` entry with this `since:` bound is a formula to install on `tag`. */
function usesFromMacosNeeded(tag: string, since: string | undefined): boolean {
  if (isLinuxTag(tag)) return true;
  const version = macosVersionOf(tag);
  if (version === null || since === undefined) return false;
  const bound = macosVersionNamed(since);
  return bound !== null && compareVersions(version, bound) < 0;
}

const asTypes = (types: unknown): string[] =>
  (Array.isArray(types) ? types : [types]).map((type) => String(type).replace(/^:/, ""));
const skipped = (types: unknown): boolean => asTypes(types).some((type) => SKIPPED_TYPES.has(type));

/** Runtime dependencies on `tag` of a formula.json entry (its `variations.<tag>` merged first). */
export function formulaDependencies(entry: Record<string, unknown>, tag: string): string[] {
  const merged = mergeVariations(entry, tag);
  const names: string[] = [];
  for (const key of ["dependencies", "recommended_dependencies"]) {
    const list = merged[key];
    if (Array.isArray(list)) for (const name of list) if (typeof name === "string") names.push(name);
  }
  const uses = Array.isArray(merged.uses_from_macos) ? merged.uses_from_macos : [];
  const bounds = Array.isArray(merged.uses_from_macos_bounds) ? merged.uses_from_macos_bounds : [];
  uses.forEach((use, index) => {
    const bound = bounds[index] as { since?: unknown } | null | undefined;
    const since = typeof bound?.since === "string" ? bound.since : undefined;
    if (typeof use === "string") {
      if (usesFromMacosNeeded(tag, since)) names.push(use);
      return;
    }
    if (use === null || typeof use !== "object") return;
    for (const [name, types] of Object.entries(use)) {
      if (name === "since") continue;
      if (!skipped(types) && usesFromMacosNeeded(tag, since)) names.push(name);
    }
  });
  return unique(names);
}

/** A serialised Ruby string (`deep_unstringify_symbols`): `"\\:x"` → `":x"`; null for a symbol. */
function rubyString(value: string): string | null {
  if (value.startsWith("\\")) return value.slice(1);
  return value.startsWith(":") ? null : value;
}

/**
 * Runtime dependencies on the file's tag of an `internal/packages.<tag>` entry (already that tag's
 * variation): `stable_dependencies` (`"foo"`, `{"foo": ":build"}`, requirements as symbols) and
 * `stable_uses_from_macos` (`["zlib"]`, `[{"python": ":build"}]`, `["curl", {":since": ":sonoma"}]`).
 */
export function packageDependencies(
  dependencies: unknown[],
  usesFromMacos: unknown[],
  tag: string,
): string[] {
  const names: string[] = [];
  const typed = (hash: Record<string, unknown>, since: string | undefined, uses: boolean): void => {
    for (const [key, types] of Object.entries(hash)) {
      const name = rubyString(key);
      if (name === null || skipped(types)) continue;
      if (!uses || usesFromMacosNeeded(tag, since)) names.push(name);
    }
  };
  for (const dependency of dependencies) {
    if (typeof dependency === "string") {
      const name = rubyString(dependency);
      if (name !== null) names.push(name);
    } else if (dependency !== null && typeof dependency === "object" && !Array.isArray(dependency)) {
      typed(dependency as Record<string, unknown>, undefined, false);
    }
  }
  for (const pair of usesFromMacos) {
    if (!Array.isArray(pair)) continue;
    const [first, bounds] = pair as [unknown, unknown];
    const sinceOf = (hash: unknown): string | undefined => {
      const since = (hash as Record<string, unknown> | undefined)?.[":since"];
      return typeof since === "string" ? since.replace(/^:/, "") : undefined;
    };
    if (typeof first === "string") {
      const name = rubyString(first);
      if (name !== null && usesFromMacosNeeded(tag, sinceOf(bounds))) names.push(name);
    } else if (first !== null && typeof first === "object") {
      typed(first as Record<string, unknown>, sinceOf(first) ?? sinceOf(bounds), true);
    }
  }
  return unique(names);
}

function unique(names: string[]): string[] {
  return [...new Set(names)];
}

export interface Closure {
  /** Every formula in the closure → the formula that pulled it in (null for a root). */
  via: Map<string, string | null>;
  /** Dependencies that are not in the index: name → the formulae that need it. */
  missing: Map<string, string[]>;
  /** Dependencies left out by `excluded`: name → the formulae that need it. */
  excluded: Map<string, string[]>;
}

/**
 * The transitive closure of `roots` over `dependenciesOf` (breadth-first, so `via` is a shortest
 * chain). `dependenciesOf` returns undefined for a name the index does not have.
 */
export function dependencyClosure(
  roots: readonly string[],
  dependenciesOf: (name: string) => readonly string[] | undefined,
  isExcluded: (name: string) => boolean = () => false,
): Closure {
  const via = new Map<string, string | null>();
  const missing = new Map<string, string[]>();
  const excluded = new Map<string, string[]>();
  const note = (into: Map<string, string[]>, name: string, by: string): void => {
    const list = into.get(name) ?? [];
    if (!list.includes(by)) list.push(by);
    into.set(name, list);
  };
  const queue: Array<[string, string | null]> = [];
  for (const root of roots) if (!isExcluded(root)) queue.push([root, null]);
  for (let head = 0; head < queue.length; head++) {
    const [name, by] = queue[head] as [string, string | null];
    if (via.has(name)) continue;
    const dependencies = dependenciesOf(name);
    if (dependencies === undefined) {
      if (by !== null) note(missing, name, by);
      continue;
    }
    via.set(name, by);
    for (const dependency of dependencies) {
      if (isExcluded(dependency)) note(excluded, dependency, name);
      else if (!via.has(dependency)) queue.push([dependency, name]);
    }
  }
  return { via, missing, excluded };
}

/** The chain from a root to `name` (`["wget", "openssl@3", "ca-certificates"]`), or [] when not in. */
export function chainTo(closure: Closure, name: string): string[] {
  const chain: string[] = [];
  for (let current: string | null | undefined = name; current !== null && current !== undefined; ) {
    if (!closure.via.has(current) || chain.includes(current))
      return chain.length === 0 ? [] : chain.reverse();
    chain.push(current);
    current = closure.via.get(current);
  }
  return chain.reverse();
}
