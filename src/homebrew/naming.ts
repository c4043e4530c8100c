import type { BottleRef, FormulaInfo } from "./types.ts";

/**
 * Bottle naming exactly as Homebrew/brew computes it (DESIGN.md §1):
 * - Library/Homebrew/software_spec.rb `Bottle::Filename#to_s`, `#url_encode`
 * - Library/Homebrew/pkg_version.rb `PkgVersion#to_s`
 * - Library/Homebrew/github_packages.rb `image_formula_name`, `image_version_rebuild`
 */

/** `versions.stable` plus `_<revision>` when revision > 0: `rust` 1.83.0 rev 1 → `1.83.0_1`. */
export function pkgVersion(formula: Pick<FormulaInfo, "versions" | "revision">): string {
  const stable = formula.versions.stable;
  if (stable === null || stable === undefined || stable === "") {
    throw new Error("formula has no stable version");
  }
  return formula.revision > 0 ? `${stable}_${formula.revision}` : stable;
}

/** The flat bottle file name with literal characters: `openssl@3-3.4.0.arm64_sequoia.bottle.tar.gz`. */
export function bottleFilename(name: string, version: string, tag: string, rebuild: number): string {
  const rebuildPart = rebuild > 0 ? `.${rebuild}` : "";
  return `${name}-${version}.${tag}.bottle${rebuildPart}.tar.gz`;
}

/**
 * The path segment brew requests: everything outside `[A-Za-z0-9_.~-]` percent-encoded, as Ruby's
 * `ERB::Util.url_encode` does (`openssl@3` → `openssl%403`).
 */
export function urlEncodeSegment(segment: string): string {
  let out = "";
  for (const byte of new TextEncoder().encode(segment)) {
    const char = String.fromCharCode(byte);
    out += /[A-Za-z0-9_.~-]/.test(char) ? char : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

/** OCI repository name: `@` → `/`, `+` → `x` (`openssl@3` → `openssl/3`, `libstdc++` → `libstdcxx`). */
export function imageName(name: string): string {
  return name.replaceAll("@", "/").replaceAll("+", "x");
}

/** Manifest reference: pkg_version plus `-<rebuild>` when rebuild > 0. */
export function versionRebuild(version: string, rebuild: number): string {
  return rebuild > 0 ? `${version}-${rebuild}` : version;
}

export const BOTTLES_PREFIX = "bottles/";

/** Every bottle the formula lists for `tags` (plus `all`), in the order of `tags`. Empty when unbottled. */
export function bottleRefs(formula: FormulaInfo, tags: readonly string[]): BottleRef[] {
  const stable = formula.bottle?.stable;
  if (!stable || formula.versions.stable === null) return [];
  const version = pkgVersion(formula);
  const rebuild = stable.rebuild ?? 0;
  const wanted = tags.includes("all") ? tags : [...tags, "all"];
  const refs: BottleRef[] = [];
  for (const tag of wanted) {
    const file = stable.files[tag];
    if (!file) continue;
    refs.push(bottleRef({ formula: formula.name, pkgVersion: version, tag, rebuild, sha256: file.sha256 }));
  }
  return refs;
}

/** One bottle's names and keys from its parts (`tag` is the file key it is listed under). */
export function bottleRef(
  parts: Pick<BottleRef, "formula" | "pkgVersion" | "tag" | "rebuild" | "sha256">,
): BottleRef {
  const image = imageName(parts.formula);
  const reference = versionRebuild(parts.pkgVersion, parts.rebuild);
  return {
    ...parts,
    image,
    versionRebuild: reference,
    key: `${BOTTLES_PREFIX}${bottleFilename(parts.formula, parts.pkgVersion, parts.tag, parts.rebuild)}`,
    manifestKey: `${BOTTLES_PREFIX}${image}/manifests/${reference}`,
  };
}
