/**
 * The parts of a Homebrew formula JSON entry (formula.json / the payload of formula.jws.json) that the
 * mirror reads. Everything else is passed through untouched: API files are served byte-identical.
 */
export interface BottleFileInfo {
  cellar: string;
  /** Lowercase hex sha256 of the bottle tarball; also its OCI blob digest. */
  sha256: string;
  /** Ignored by brew for non-GHCR domains; kept for reference only. */
  url?: string;
}

export interface FormulaInfo {
  name: string;
  versions: { stable: string | null; head?: string | null; bottle?: boolean };
  /** Added to pkg_version as `_<revision>` when > 0. */
  revision: number;
  bottle: {
    stable?: {
      rebuild: number;
      root_url?: string;
      files: Record<string, BottleFileInfo>;
    };
  };
  [other: string]: unknown;
}

/** One bottle the index names: a formula × a tag. */
export interface BottleRef {
  formula: string;
  /** pkg_version: `versions.stable` plus `_<revision>` when revision > 0. */
  pkgVersion: string;
  tag: string;
  rebuild: number;
  sha256: string;
  /** OCI repository name under the registry: `openssl@3` → `openssl/3`. */
  image: string;
  /** Manifest reference: pkgVersion plus `-<rebuild>` when rebuild > 0. */
  versionRebuild: string;
  /** Store key of the flat bottle file: `bottles/<filename>` (literal characters, not percent-encoded). */
  key: string;
  /** Store key of the manifest: `bottles/<image>/manifests/<versionRebuild>`. */
  manifestKey: string;
}
