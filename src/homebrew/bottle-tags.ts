/**
 * Bottle tags as Homebrew/brew reads them (Library/Homebrew/utils/bottles.rb `Tag`, `Collector`;
 * extend/os/mac/utils/bottles.rb `find_older_compatible_tag`; macos_version.rb `SYMBOLS`;
 * on_system.rb `VALID_OS_ARCH_TAGS`; hardware.rb `ALL_ARCHS`).
 */

/** macOS releases brew knows, newest first (`MacOSVersion::SYMBOLS`). Older names are not macOS versions to brew 6. */
export const MACOS_VERSIONS: ReadonlyArray<readonly [name: string, version: string]> = [
  ["golden_gate", "27"],
  ["tahoe", "26"],
  ["sequoia", "15"],
  ["sonoma", "14"],
  ["ventura", "13"],
  ["monterey", "12"],
  ["big_sur", "11"],
  ["catalina", "10.15"],
];
const MACOS_BY_NAME = new Map(MACOS_VERSIONS);

/** `Hardware::CPU::ALL_ARCHS`: the prefixes `Tag.from_symbol` recognises. */
const ARCHS = [
  "i386",
  "x86_64",
  "ppc",
  "ppc32",
  "ppc7400",
  "ppc7450",
  "ppc970",
  "ppc64",
  "ppc64le",
  "arm64",
  "aarch64",
];
const TAG_PATTERN = new RegExp(`^(?:(${ARCHS.join("|")})_)?([\\w.]+)$`);

export interface ParsedTag {
  /** `linux`, `all`, or a macOS name (`sequoia`); anything else brew does not know. */
  system: string;
  /** Standardised: `x86_64` (also for no prefix, `intel`) or `arm64` (also `arm`, `aarch64`). */
  arch: string;
}

/** `Utils::Bottles::Tag.from_symbol`: `arm64_sequoia` → {sequoia, arm64}; `sonoma` → {sonoma, x86_64}. */
export function parseTag(tag: string): ParsedTag | null {
  if (tag === "all") return { system: "all", arch: "all" };
  const match = TAG_PATTERN.exec(tag);
  if (!match) return null;
  const arch = match[1] ?? "x86_64";
  return { system: match[2] ?? "", arch: standardArch(arch) };
}

function standardArch(arch: string): string {
  if (arch === "intel") return "x86_64";
  if (arch === "arm" || arch === "aarch64") return "arm64";
  return arch;
}

/** `Tag#to_sym`: the canonical spelling (`aarch64_linux` → `arm64_linux`, `x86_64_sonoma` → `sonoma`). */
export function canonicalTag(tag: string): string {
  const parsed = parseTag(tag);
  if (!parsed) return tag;
  if (parsed.system === "all") return "all";
  if (MACOS_BY_NAME.has(parsed.system) && parsed.arch === "x86_64") return parsed.system;
  return `${parsed.arch}_${parsed.system}`;
}

export function isLinuxTag(tag: string): boolean {
  return parseTag(tag)?.system === "linux";
}

/** The macOS version of a tag (`arm64_sonoma` → `14`), or null for Linux, `all` and names brew 6 dropped. */
export function macosVersionOf(tag: string): string | null {
  const parsed = parseTag(tag);
  return parsed ? (MACOS_BY_NAME.get(parsed.system) ?? null) : null;
}

/** The macOS version named by a symbol such as `sonoma` (uses_from_macos `since:` bounds), or null. */
export function macosVersionNamed(name: string): string | null {
  return MACOS_BY_NAME.get(name) ?? null;
}

/** The symbol of a macOS version (`MacOSVersion::SYMBOLS.key("14")` → `sonoma`), or null. */
export function macosNameOf(version: string): string | null {
  for (const [name, known] of MACOS_VERSIONS) if (known === version) return name;
  return null;
}

/** Compares dotted versions numerically (`10.15` < `11` < `26`). */
export function compareVersions(a: string, b: string): number {
  const left = a.split(".").map(Number);
  const right = b.split(".").map(Number);
  for (let i = 0; i < Math.max(left.length, right.length); i++) {
    const difference = (left[i] ?? 0) - (right[i] ?? 0);
    if (difference !== 0) return difference;
  }
  return 0;
}

/** `Tag#==`: the same system and standardised arch (`aarch64_linux` is `arm64_linux`). */
export function sameTag(a: string, b: string): boolean {
  const left = parseTag(a);
  const right = parseTag(b);
  return left !== null && right !== null && left.system === right.system && left.arch === right.arch;
}

/**
 * `OnSystem::VALID_OS_ARCH_TAGS`: every tag `brew generate-internal-api` writes a
 * `packages.<tag>.json` for (macOS names × intel/arm where arm runs them, then Linux).
 */
export const VALID_OS_ARCH_TAGS: readonly string[] = [
  ...MACOS_VERSIONS.flatMap(([name, version]) =>
    compareVersions(version, "11") >= 0 ? [name, `arm64_${name}`] : [name],
  ),
  "x86_64_linux",
  "arm64_linux",
];

/**
 * The file key under `bottle.stable.files` whose bottle brew uses on `tag` — `Collector#specification_for`
 * as it runs on macOS (where formulae.brew.sh generates the API): the tag itself, else `all`, else (for
 * a macOS tag) the first listed tag of the same arch whose macOS version is not newer. Null: no bottle.
 */
export function bottleFileFor(fileTags: readonly string[], tag: string): string | null {
  const wanted = parseTag(tag);
  if (!wanted) return null;
  const exact = fileTags.findLast((candidate) => sameTag(candidate, tag));
  if (exact !== undefined) return exact;
  if (fileTags.includes("all")) return "all";
  const version = macosVersionOf(tag);
  if (version === null) return null;
  return (
    fileTags.find((candidate) => {
      const parsed = parseTag(candidate);
      const candidateVersion = macosVersionOf(candidate);
      return (
        parsed !== null &&
        parsed.arch === wanted.arch &&
        candidateVersion !== null &&
        compareVersions(candidateVersion, version) <= 0
      );
    }) ?? null
  );
}
