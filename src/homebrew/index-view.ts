import { bottleFileFor } from "./bottle-tags.ts";
import { formulaDependencies, packageDependencies } from "./dependencies.ts";
import { InvalidUpstreamDataError } from "./errors.ts";
import type { ParsedPackages } from "./internal-packages.ts";
import { pkgVersion } from "./naming.ts";
import type { FormulaInfo } from "./types.ts";

/**
 * What a client on one tag sees of the index: per formula, the bottle brew pours there and the
 * formulae it installs with it. brew 6 reads this from `internal/packages.<tag>` (the per-tag file
 * already carries the tag's variations and the bottle brew chose, `bottle_tag` naming an older macOS
 * tag or `all`); brew < 6 computes the same from formula.json. Both are built here, and compared.
 */
export interface TagPackage {
  name: string;
  pkgVersion: string | null;
  /** The bottle poured on the tag: the file key it lives under and its sha256. */
  bottle: { tag: string; rebuild: number; sha256: string } | null;
  dependencies: readonly string[];
}

export interface TagView {
  tag: string;
  source: "internal" | "formula.json";
  packages: Map<string, TagPackage>;
}

/** The view of `tag` from formula.json entries (brew < 6, and tags without a per-tag file). */
export function viewFromFormulae(formulae: readonly FormulaInfo[], tag: string): TagView {
  const packages = new Map<string, TagPackage>();
  for (const formula of formulae) {
    if (packages.has(formula.name)) continue;
    const stable = formula.bottle?.stable;
    const version = formula.versions?.stable ? pkgVersion(formula) : null;
    const fileTag = stable && version !== null ? bottleFileFor(Object.keys(stable.files), tag) : null;
    const file = fileTag === null ? undefined : stable?.files[fileTag];
    packages.set(formula.name, {
      name: formula.name,
      pkgVersion: version,
      bottle:
        file && fileTag !== null
          ? { tag: fileTag, rebuild: stable?.rebuild ?? 0, sha256: file.sha256 }
          : null,
      dependencies: formulaDependencies(formula, tag),
    });
  }
  return { tag, source: "formula.json", packages };
}

/** The view of `tag` from its `internal/packages.<tag>` file (what brew 6 installs from). */
export function viewFromPackages(parsed: ParsedPackages): TagView {
  const packages = new Map<string, TagPackage>();
  for (const entry of parsed.entries) {
    const version =
      entry.stableVersion === null
        ? null
        : entry.revision > 0
          ? `${entry.stableVersion}_${entry.revision}`
          : entry.stableVersion;
    packages.set(entry.name, {
      name: entry.name,
      pkgVersion: version,
      bottle:
        entry.bottle && version !== null
          ? { tag: entry.bottle.tag, rebuild: entry.rebuild, sha256: entry.bottle.sha256 }
          : null,
      dependencies: packageDependencies(entry.dependencies, entry.usesFromMacos, parsed.tag),
    });
  }
  return { tag: parsed.tag, source: "internal", packages };
}

export interface Disagreement {
  formula: string;
  tag: string;
  what: string;
}

/**
 * Where the two views of one tag name the same bottle file differently (sha256, version, rebuild):
 * brew 6 and older clients would then verify one file against two digests, so the mirror cannot serve both.
 */
export function disagreements(internal: TagView, formulae: readonly FormulaInfo[]): Disagreement[] {
  const byName = new Map(formulae.map((formula) => [formula.name, formula]));
  const found: Disagreement[] = [];
  for (const entry of internal.packages.values()) {
    const bottle = entry.bottle;
    const formula = byName.get(entry.name);
    if (!bottle || !formula) continue;
    const stable = formula.bottle?.stable;
    const file = stable?.files[bottle.tag];
    const say = (what: string): void => {
      found.push({ formula: entry.name, tag: internal.tag, what });
    };
    if (!file) {
      say(`internal/packages.${internal.tag} names a ${bottle.tag} bottle that formula.json does not list`);
      continue;
    }
    if (file.sha256 !== bottle.sha256) {
      say(
        `the ${bottle.tag} bottle's sha256 is ${bottle.sha256} in internal/packages.${internal.tag} but ${file.sha256} in formula.json`,
      );
    }
    const version = formula.versions?.stable ? pkgVersion(formula) : null;
    if (version !== entry.pkgVersion) {
      say(`version ${entry.pkgVersion} in internal/packages.${internal.tag} but ${version} in formula.json`);
    }
    if ((stable?.rebuild ?? 0) !== bottle.rebuild) {
      say(
        `rebuild ${bottle.rebuild} in internal/packages.${internal.tag} but ${stable?.rebuild ?? 0} in formula.json`,
      );
    }
  }
  return found;
}

/** Refuses an index whose two views disagree (the error names the first few disagreements). */
export function assertAgreement(internal: TagView, formulae: readonly FormulaInfo[], url: string): void {
  const found = disagreements(internal, formulae);
  if (found.length === 0) return;
  const listed = found
    .slice(0, 3)
    .map((item) => `${item.formula}: ${item.what}`)
    .join("; ");
  throw new InvalidUpstreamDataError(
    `the upstream's formula.json and internal/packages.${internal.tag} disagree for ${found.length} formula${found.length === 1 ? "" : "e"} (${listed})`,
    url,
    {
      fix: "nothing was written; the upstream is mid-update or inconsistent: retry later, and if it persists report it to whoever runs mirror.upstream.api",
    },
  );
}
