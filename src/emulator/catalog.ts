import { createHash, type KeyObject } from "node:crypto";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { isLinuxTag, macosVersionOf, VALID_OS_ARCH_TAGS } from "../homebrew/bottle-tags.ts";
import { dependencyClosure, formulaDependencies } from "../homebrew/dependencies.ts";
import { type PackagesMetadata, renderInternalPackages } from "../homebrew/internal-packages.ts";
import { signJws } from "../homebrew/jws.ts";
import { bottleRefs } from "../homebrew/naming.ts";
import type { BottleRef, FormulaInfo } from "../homebrew/types.ts";
import { type BlobSpec, blobDigest } from "./blob-source.ts";
import { type BottleSpec, bottleTab, buildBottle, type RuntimeDependency } from "./bottle.ts";
import { renderManifest } from "./oci.ts";

/**
 * What the emulator serves: the real fixture formulae (tests/fixtures/homebrew) and optional synthetic
 * ones, with every bottle's sha256 rewritten to the synthetic blob served for it, and the API files
 * rendered and signed with the emulator's key.
 */
export interface SizeRange {
  min: number;
  max: number;
}

export type SizeFunction = (bottle: {
  name: string;
  tag: string;
  index: number;
  synthetic: boolean;
}) => number;

export interface SyntheticOptions {
  /** How many synthetic formulae (`synth00000`, `synth00003@2`, `synth00007++`, …). */
  formulae: number;
  /** Tags each synthetic formula has bottles for (default arm64_sequoia, arm64_sonoma, x86_64_linux). */
  tags?: string[];
  /** Bottle sizes in bytes (default 256 B – 16 KiB, deterministic per bottle). */
  sizes?: SizeRange | SizeFunction;
}

export interface CatalogOptions {
  /** Include the real fixture entries (default true). */
  fixtures?: boolean;
  /** Where formula-sample.json, openssl@3.json and ca-certificates.json are (default tests/fixtures/homebrew). */
  fixturesDir?: string;
  /** Sizes of the fixture formulae's bottles (default 1 KiB – 256 KiB). */
  fixtureSizes?: SizeRange | SizeFunction;
  synthetic?: SyntheticOptions;
  /** Raw entries appended to formula.json as they are (e.g. hostile ones); no blobs are served for them. */
  extraFormulae?: unknown[];
  /** Seeds sizes (default 1). */
  seed?: number;
  /**
   * What a blob is: `bottles` (default), a real bottle brew can pour (bottle.ts); `raw`, pseudo-random
   * bytes of exactly the size asked for, never held in memory — for benchmarks and GiB-sized tests
   * (brew cannot pour them).
   */
  blobs?: "bottles" | "raw";
  /**
   * Tags served as `internal/packages.<tag>.jws.json` (default: every tag brew 6 generates,
   * VALID_OS_ARCH_TAGS, plus any other Linux or known macOS tag a bottle is listed under).
   */
  internalTags?: string[];
  /**
   * Serve the v1 index, formula.json and formula.jws.json (default true). false is an upstream that
   * serves only brew 6's `internal/packages.<tag>` files (plus the cask and migration files).
   */
  formulaIndex?: boolean;
}

/** One bottle the emulator serves. */
export interface EmulatorBottle extends BottleRef {
  size: number;
  /** The bytes: generated (`raw`) or a real bottle built from `spec` (see bottle.ts). */
  blob: { kind: "raw"; spec: BlobSpec } | { kind: "bottle"; spec: BottleSpec };
  /** `sh.brew.tab` of the bottle (its receipt's Tab#to_bottle_hash). */
  tab: Record<string, unknown>;
}

export interface EmulatorIndex {
  /** The formula entries as served (sha256 rewritten), without `extraFormulae`. */
  formulae: FormulaInfo[];
  /** Every bottle of every formula, for every tag it lists. */
  bottles: EmulatorBottle[];
  /** Tags with an `internal/packages.<tag>.jws.json` (see CatalogOptions.internalTags). */
  tags: string[];
  /** API files by path under the API base (`formula.jws.json`, `internal/packages.x86_64_linux.jws.json`). */
  files: Map<string, Buffer>;
  /** Bottles by sha256. */
  bySha256: Map<string, EmulatorBottle>;
  /** Bottles by `<image>\n<version_rebuild>`: what one manifest lists (no scan per manifest request). */
  byManifest: Map<string, EmulatorBottle[]>;
}

function byManifest(bottles: readonly EmulatorBottle[]): Map<string, EmulatorBottle[]> {
  const grouped = new Map<string, EmulatorBottle[]>();
  for (const bottle of bottles) {
    const key = `${bottle.image}\n${bottle.versionRebuild}`;
    const group = grouped.get(key);
    if (group) group.push(bottle);
    else grouped.set(key, [bottle]);
  }
  return grouped;
}

export const DEFAULT_SYNTHETIC_TAGS = ["arm64_sequoia", "arm64_sonoma", "x86_64_linux"];
const DEFAULT_FIXTURE_SIZES: SizeRange = { min: 1024, max: 256 * 1024 };
const DEFAULT_SYNTHETIC_SIZES: SizeRange = { min: 256, max: 16 * 1024 };
/** Real bottles are built in memory: past this, use `blobs: "raw"`. */
export const MAX_BOTTLE_SIZE = 256 * 1024 * 1024;
/** Built bottles kept in memory (others are rebuilt when served: the same bytes). */
const BOTTLE_CACHE_BYTES = 128 * 1024 * 1024;
/** What the emulator writes as `metadata.homebrew_version` and the tap heads of its per-tag files. */
export const EMULATOR_PACKAGES_METADATA: PackagesMetadata = {
  homebrewVersion: "6.0.18",
  generatedAt: 0,
  formulaTapGitHead: createHash("sha1").update("hbsync-emulator homebrew/core").digest("hex"),
  caskTapGitHead: createHash("sha1").update("hbsync-emulator homebrew/cask").digest("hex"),
};
export const DEFAULT_FIXTURES_DIR: string = fileURLToPath(
  new URL("../../tests/fixtures/homebrew/", import.meta.url),
);

export interface Signer {
  privateKey: KeyObject;
  kid: string;
}

export class Catalog {
  private readonly templates: Array<{ formula: FormulaInfo; synthetic: boolean; index: number }>;
  private readonly manifests = new Map<string, Buffer>();
  /** Runtime dependencies per formula and tag, fixed when first built (a dependency's bump does not rebuild it). */
  private readonly runtimeDependencies = new Map<string, RuntimeDependency[]>();
  private readonly bottleCache = new Map<string, Buffer>();
  private bottleCacheBytes = 0;
  private index: EmulatorIndex | undefined;

  constructor(
    private readonly options: CatalogOptions,
    private readonly registry: string,
    private readonly signer: Signer,
  ) {
    this.templates = [];
    if (options.fixtures ?? true) {
      for (const [index, formula] of loadFixtureFormulae(options.fixturesDir).entries()) {
        this.templates.push({ formula, synthetic: false, index });
      }
    }
    const synthetic = options.synthetic;
    if (synthetic) {
      const tags = synthetic.tags ?? DEFAULT_SYNTHETIC_TAGS;
      for (let index = 0; index < synthetic.formulae; index++) {
        this.templates.push({ formula: syntheticFormula(index, tags), synthetic: true, index });
      }
    }
  }

  /** The current index (once `build` has run). */
  current(): EmulatorIndex {
    if (!this.index) throw new Error("the emulator's catalog is not built yet");
    return this.index;
  }

  /** Builds the index: bottles and their digests, manifests on demand, the signed API files. */
  async build(): Promise<EmulatorIndex> {
    this.index = await this.render();
    return this.index;
  }

  /** Publishes a new revision of `name` (new bottles, new sha256s); returns the new index. */
  async bump(name: string): Promise<EmulatorIndex> {
    const template = this.templates.find((candidate) => candidate.formula.name === name);
    if (!template) throw new Error(`the emulator has no formula ${name}`);
    template.formula.revision += 1;
    this.manifests.clear();
    return this.build();
  }

  /** The OCI image index for `<image>/manifests/<reference>`, or undefined. */
  manifest(image: string, reference: string): Buffer | undefined {
    const key = `${image}\n${reference}`;
    const cached = this.manifests.get(key);
    if (cached) return cached;
    const bottles = this.current().byManifest.get(key);
    if (bottles === undefined) return undefined;
    const rendered = renderManifest(bottles);
    this.manifests.set(key, rendered);
    return rendered;
  }

  /** A real bottle's bytes (kept in memory up to BOTTLE_CACHE_BYTES, else rebuilt: the same bytes). */
  async bottleBytes(spec: BottleSpec): Promise<Buffer> {
    const cached = this.bottleCache.get(spec.id);
    if (cached) return cached;
    const bytes = await buildBottle(spec);
    this.bottleCache.set(spec.id, bytes);
    this.bottleCacheBytes += bytes.length;
    for (const [id, old] of this.bottleCache) {
      if (this.bottleCacheBytes <= BOTTLE_CACHE_BYTES || id === spec.id) break;
      this.bottleCache.delete(id);
      this.bottleCacheBytes -= old.length;
    }
    return bytes;
  }

  private async render(): Promise<EmulatorIndex> {
    const seed = this.options.seed ?? 1;
    const formulae = this.templates.map(({ formula }) => cloneForRewrite(formula));
    const byName = new Map(formulae.map((formula) => [formula.name, formula]));
    const bottles: EmulatorBottle[] = [];
    const listedTags = new Set<string>();
    for (const [position, formula] of formulae.entries()) {
      const { synthetic, index } = this.templates[position] as { synthetic: boolean; index: number };
      const stable = formula.bottle.stable;
      if (!stable) continue;
      stable.root_url = this.registry;
      const sizes = synthetic
        ? (this.options.synthetic?.sizes ?? DEFAULT_SYNTHETIC_SIZES)
        : DEFAULT_FIXTURE_SIZES;
      const sizeOf = synthetic ? sizes : (this.options.fixtureSizes ?? sizes);
      for (const ref of bottleRefs(formula, Object.keys(stable.files))) {
        const file = stable.files[ref.tag];
        if (!file) continue;
        const size = resolveSize(sizeOf, { name: formula.name, tag: ref.tag, index, synthetic }, seed);
        const bottle = await this.bottle(formula, ref, size, byName);
        file.sha256 = bottle.sha256;
        file.url = `${this.registry}/${ref.image}/blobs/sha256:${bottle.sha256}`;
        bottles.push(bottle);
        if (ref.tag !== "all") listedTags.add(ref.tag);
      }
    }
    // brew 6 asks only for tags it knows (a 2022 entry's `mojave` bottle is no longer one).
    const known = [...listedTags].filter((tag) => isLinuxTag(tag) || macosVersionOf(tag) !== null);
    const tags = [...new Set(this.options.internalTags ?? [...VALID_OS_ARCH_TAGS, ...known])].sort();
    return {
      formulae,
      bottles,
      tags,
      files: this.renderApiFiles(formulae, tags),
      bySha256: new Map(bottles.map((bottle) => [bottle.sha256, bottle])),
      byManifest: byManifest(bottles),
    };
  }

  private async bottle(
    formula: FormulaInfo,
    ref: BottleRef,
    size: number,
    byName: ReadonlyMap<string, FormulaInfo>,
  ): Promise<EmulatorBottle> {
    const spec = this.bottleSpec(formula, ref, size, byName);
    const tab = bottleTab(spec);
    if (this.options.blobs === "raw") {
      const raw: BlobSpec = { id: spec.id, size };
      return { ...ref, sha256: blobDigest(raw), size, blob: { kind: "raw", spec: raw }, tab };
    }
    if (size > MAX_BOTTLE_SIZE) {
      throw new Error(
        `the emulator builds real bottles in memory: ${formula.name} asks for ${size} bytes (more than ${MAX_BOTTLE_SIZE}); start it with blobs: "raw"`,
      );
    }
    const bytes = await this.bottleBytes(spec);
    const sha256 = createHash("sha256").update(bytes).digest("hex");
    return { ...ref, sha256, size: bytes.length, blob: { kind: "bottle", spec }, tab };
  }

  /** What goes in the bottle; its receipt lists what it pours with on its tag, at the first build's versions. */
  private bottleSpec(
    formula: FormulaInfo,
    ref: BottleRef,
    size: number,
    byName: ReadonlyMap<string, FormulaInfo>,
  ): BottleSpec {
    const key = `${formula.name}|${ref.tag}`;
    let runtime = this.runtimeDependencies.get(key);
    if (!runtime) {
      runtime = runtimeDependencies(formula, ref.tag, byName);
      this.runtimeDependencies.set(key, runtime);
    }
    return {
      name: formula.name,
      pkgVersion: ref.pkgVersion,
      stableVersion: formula.versions.stable ?? "",
      tag: ref.tag,
      runtimeDependencies: runtime,
      size,
      id: `${formula.name}|${ref.pkgVersion}|${ref.tag}|${ref.rebuild}`,
    };
  }

  private renderApiFiles(formulae: FormulaInfo[], tags: string[]): Map<string, Buffer> {
    const files = new Map<string, Buffer>();
    const sign = (payload: string): Buffer =>
      Buffer.from(signJws(payload, this.signer.privateKey, this.signer.kid), "utf8");
    const formulaJson = JSON.stringify([...formulae, ...(this.options.extraFormulae ?? [])]);
    if (this.options.formulaIndex !== false) {
      files.set("formula.json", Buffer.from(formulaJson, "utf8"));
      files.set("formula.jws.json", sign(formulaJson));
    }
    const casks = [
      {
        token: "hbsync-emulator-sample",
        name: ["hbsync emulator sample cask"],
        version: "1.0.0",
        sha256: createHash("sha256").update("hbsync-emulator-sample").digest("hex"),
        url: "https://example.invalid/hbsync-emulator-sample-1.0.0.dmg",
      },
    ];
    files.set("cask.json", Buffer.from(JSON.stringify(casks), "utf8"));
    files.set("cask.jws.json", sign(JSON.stringify(casks)));
    files.set("formula_tap_migrations.jws.json", sign("{}"));
    files.set("cask_tap_migrations.jws.json", sign("{}"));
    for (const tag of tags) {
      const packages = renderInternalPackages(formulae, tag, EMULATOR_PACKAGES_METADATA);
      files.set(`internal/packages.${tag}.jws.json`, sign(packages));
    }
    return files;
  }
}

/** `Tab.runtime_deps_hash`: every formula `formula` pours with on `tag` (transitively), with its version. */
function runtimeDependencies(
  formula: FormulaInfo,
  tag: string,
  byName: ReadonlyMap<string, FormulaInfo>,
): RuntimeDependency[] {
  const direct = new Set(formulaDependencies(formula, tag));
  const closure = dependencyClosure([formula.name], (name) => {
    const dependency = byName.get(name);
    return dependency ? formulaDependencies(dependency, tag) : undefined;
  });
  return [...closure.via.keys()]
    .filter((name) => name !== formula.name)
    .map((name) => {
      const dependency = byName.get(name) as FormulaInfo;
      const version = dependency.versions.stable ?? "";
      const revision = dependency.revision ?? 0;
      return {
        full_name: name,
        version,
        revision,
        bottle_rebuild: dependency.bottle.stable?.rebuild ?? 0,
        pkg_version: revision > 0 ? `${version}_${revision}` : version,
        declared_directly: direct.has(name),
      };
    });
}

/** A copy whose bottle part (the only part rewritten) is fresh; everything else is shared. */
function cloneForRewrite(template: FormulaInfo): FormulaInfo {
  const stable = template.bottle.stable;
  if (!stable) return { ...template, bottle: { ...template.bottle } };
  const files = Object.fromEntries(Object.entries(stable.files).map(([tag, file]) => [tag, { ...file }]));
  return { ...template, bottle: { ...template.bottle, stable: { ...stable, files } } };
}

/**
 * The real entries: formula-sample.json, then openssl@3.json and ca-certificates.json unless already in.
 * Entries from 2022 list requirements without `specs` (added to formula.json since; brew's generator
 * needs it and stops without it): those get `specs: ["stable", "head"]`, what a requirement without
 * specs applied to. Nothing else is changed (the sha256s are rewritten when the bottles are built).
 */
export function loadFixtureFormulae(dir: string = DEFAULT_FIXTURES_DIR): FormulaInfo[] {
  const base = dir.endsWith("/") ? dir : `${dir}/`;
  const sample = JSON.parse(readFileSync(`${base}formula-sample.json`, "utf8")) as {
    entries: Array<{ formula: FormulaInfo }>;
  };
  const formulae = sample.entries.map((entry) => entry.formula);
  for (const file of ["openssl@3.json", "ca-certificates.json"]) {
    const formula = JSON.parse(readFileSync(`${base}${file}`, "utf8")) as FormulaInfo;
    if (!formulae.some((existing) => existing.name === formula.name)) formulae.push(formula);
  }
  return formulae.map(withRequirementSpecs);
}

function withRequirementSpecs(formula: FormulaInfo): FormulaInfo {
  const requirements = formula.requirements;
  if (!Array.isArray(requirements) || requirements.every((requirement) => "specs" in requirement))
    return formula;
  return {
    ...formula,
    requirements: requirements.map((requirement: Record<string, unknown>) =>
      "specs" in requirement ? requirement : { ...requirement, specs: ["stable", "head"] },
    ),
  };
}

/** `synth00000`, `synth00003@2`, `synth00007++`, … (every 10th has `@`, every 10th `++`). */
export function syntheticName(index: number): string {
  const number = String(index).padStart(5, "0");
  if (index % 10 === 3) return `synth${number}@${(index % 3) + 2}`;
  if (index % 10 === 7) return `synth${number}++`;
  return `synth${number}`;
}

/**
 * A synthetic formula.json entry, in the shape of today's `brew info --json=v2` (so brew's generator
 * takes it). Deterministic from the index: revisions (every 5th from 1), rebuilds (every 4th from 2),
 * `all`-only bottles (every 13th from 5), a runtime dependency on the previous formula (every 4th from 5),
 * a build-only dependency (every 10th from 6), a `uses_from_macos` dependency (every 10th from 9: a
 * runtime one on Linux only) and a Linux-only dependency through `variations` (every 10th from 8).
 */
function syntheticFormula(index: number, tags: readonly string[]): FormulaInfo {
  const name = syntheticName(index);
  const version = `1.${index % 10}.${index}`;
  const fileTags = index % 13 === 5 ? ["all"] : tags;
  const files: Record<string, { cellar: string; sha256: string }> = {};
  for (const tag of fileTags) files[tag] = { cellar: ":any_skip_relocation", sha256: "0".repeat(64) };
  const digest = (text: string): string => createHash("sha256").update(text).digest("hex");
  const dependencies = index % 4 === 1 && index >= 5 ? [syntheticName(index - 1)] : [];
  const usesFromMacos = index % 10 === 9 ? [syntheticName(index - 2)] : [];
  const source = `https://example.invalid/${encodeURIComponent(name)}-${version}.tar.gz`;
  return {
    name,
    full_name: name,
    tap: "homebrew/core",
    oldnames: [],
    aliases: [],
    versioned_formulae: [],
    desc: `Synthetic formula ${index} served by the hbsync emulator`,
    license: "MIT",
    homepage: `https://example.invalid/${encodeURIComponent(name)}`,
    versions: { stable: version, head: null, bottle: true },
    urls: { stable: { url: source, tag: null, revision: null, using: null, checksum: digest(source) } },
    revision: index % 5 === 1 ? 1 : 0,
    version_scheme: 0,
    bottle: { stable: { rebuild: index % 4 === 2 ? 1 : 0, files } },
    pour_bottle_only_if: null,
    keg_only: false,
    keg_only_reason: null,
    options: [],
    build_dependencies: index % 10 === 6 ? [syntheticName(index - 5)] : [],
    dependencies,
    test_dependencies: [],
    recommended_dependencies: [],
    optional_dependencies: [],
    uses_from_macos: usesFromMacos,
    uses_from_macos_bounds: usesFromMacos.map(() => ({})),
    requirements: [],
    conflicts_with: [],
    conflicts_with_reasons: [],
    link_overwrite: [],
    caveats: null,
    deprecated: false,
    disabled: false,
    post_install_defined: false,
    service: null,
    ruby_source_path: `Formula/s/${name}.rb`,
    ruby_source_checksum: { sha256: digest(`${name} ${version}`) },
    ...(index % 10 === 8
      ? { variations: { x86_64_linux: { dependencies: [...dependencies, syntheticName(index - 3)] } } }
      : {}),
  };
}

function resolveSize(
  sizes: SizeRange | SizeFunction,
  bottle: { name: string; tag: string; index: number; synthetic: boolean },
  seed: number,
): number {
  if (typeof sizes === "function") return Math.max(0, Math.floor(sizes(bottle)));
  const span = Math.max(0, sizes.max - sizes.min);
  const hash = createHash("sha256").update(`${seed}|${bottle.name}|${bottle.tag}`).digest();
  return sizes.min + (hash.readUIntBE(0, 6) % (span + 1));
}
