import { createHash, type KeyObject } from "node:crypto";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { signJws } from "../homebrew/jws.ts";
import { bottleRefs } from "../homebrew/naming.ts";
import type { BottleRef, FormulaInfo } from "../homebrew/types.ts";
import { type BlobSpec, blobDigest } from "./blob-source.ts";
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
}

/** One bottle the emulator serves. */
export interface EmulatorBottle extends BottleRef {
  size: number;
  blob: BlobSpec;
}

export interface EmulatorIndex {
  /** The formula entries as served (sha256 rewritten), without `extraFormulae`. */
  formulae: FormulaInfo[];
  /** Every bottle of every formula, for every tag it lists. */
  bottles: EmulatorBottle[];
  /** Tags with an `internal/packages.<tag>.jws.json` (every tag listed, except `all`). */
  tags: string[];
  /** API files by path under the API base (`formula.jws.json`, `internal/packages.x86_64_linux.jws.json`). */
  files: Map<string, Buffer>;
  /** Bottles by sha256. */
  bySha256: Map<string, EmulatorBottle>;
}

export const DEFAULT_SYNTHETIC_TAGS = ["arm64_sequoia", "arm64_sonoma", "x86_64_linux"];
const DEFAULT_FIXTURE_SIZES: SizeRange = { min: 1024, max: 256 * 1024 };
const DEFAULT_SYNTHETIC_SIZES: SizeRange = { min: 256, max: 16 * 1024 };
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

  /** The current index (built on first use, rebuilt after `bump`). */
  current(): EmulatorIndex {
    this.index ??= this.build();
    return this.index;
  }

  /** Publishes a new revision of `name` (new bottles, new sha256s); returns the new index. */
  bump(name: string): EmulatorIndex {
    const template = this.templates.find((candidate) => candidate.formula.name === name);
    if (!template) throw new Error(`the emulator has no formula ${name}`);
    template.formula.revision += 1;
    this.manifests.clear();
    this.index = this.build();
    return this.index;
  }

  /** The OCI image index for `<image>/manifests/<reference>`, or undefined. */
  manifest(image: string, reference: string): Buffer | undefined {
    const key = `${image}\n${reference}`;
    const cached = this.manifests.get(key);
    if (cached) return cached;
    const bottles = this.current().bottles.filter(
      (bottle) => bottle.image === image && bottle.versionRebuild === reference,
    );
    if (bottles.length === 0) return undefined;
    const rendered = renderManifest(bottles);
    this.manifests.set(key, rendered);
    return rendered;
  }

  private build(): EmulatorIndex {
    const seed = this.options.seed ?? 1;
    const formulae: FormulaInfo[] = [];
    const bottles: EmulatorBottle[] = [];
    const tags = new Set<string>(
      this.options.synthetic ? (this.options.synthetic.tags ?? DEFAULT_SYNTHETIC_TAGS) : [],
    );
    for (const { formula: template, synthetic, index } of this.templates) {
      const formula = cloneForRewrite(template);
      const stable = formula.bottle.stable;
      if (stable) {
        stable.root_url = this.registry;
        const sizes = synthetic
          ? (this.options.synthetic?.sizes ?? DEFAULT_SYNTHETIC_SIZES)
          : DEFAULT_FIXTURE_SIZES;
        const sizeOf = synthetic ? sizes : (this.options.fixtureSizes ?? sizes);
        for (const ref of bottleRefs(formula, Object.keys(stable.files))) {
          const file = stable.files[ref.tag];
          if (!file) continue;
          const size = resolveSize(sizeOf, { name: formula.name, tag: ref.tag, index, synthetic }, seed);
          const blob: BlobSpec = { id: `${formula.name}|${ref.pkgVersion}|${ref.tag}|${ref.rebuild}`, size };
          const sha256 = blobDigest(blob);
          file.sha256 = sha256;
          file.url = `${this.registry}/${ref.image}/blobs/sha256:${sha256}`;
          bottles.push({ ...ref, sha256, size, blob });
          if (ref.tag !== "all") tags.add(ref.tag);
        }
      }
      formulae.push(formula);
    }
    const files = this.renderApiFiles(formulae, [...tags].sort());
    return {
      formulae,
      bottles,
      tags: [...tags].sort(),
      files,
      bySha256: new Map(bottles.map((bottle) => [bottle.sha256, bottle])),
    };
  }

  private renderApiFiles(formulae: FormulaInfo[], tags: string[]): Map<string, Buffer> {
    const files = new Map<string, Buffer>();
    const sign = (payload: string): Buffer =>
      Buffer.from(signJws(payload, this.signer.privateKey, this.signer.kid), "utf8");
    const formulaJson = JSON.stringify([...formulae, ...(this.options.extraFormulae ?? [])]);
    files.set("formula.json", Buffer.from(formulaJson, "utf8"));
    files.set("formula.jws.json", sign(formulaJson));
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
      files.set(`internal/packages.${tag}.jws.json`, sign(JSON.stringify(internalPackages(formulae, tag))));
    }
    return files;
  }
}

/**
 * The shape brew ≥ 6 reads from `internal/packages.<tag>.jws.json` (Homebrew/brew api/internal.rb
 * `download_and_cache_data!`): per-formula hashes with the bottle for that tag.
 */
function internalPackages(formulae: FormulaInfo[], tag: string): Record<string, unknown> {
  const packages: Record<string, unknown> = {};
  for (const formula of formulae) {
    const stable = formula.bottle.stable;
    const file = stable?.files[tag] ?? stable?.files.all;
    packages[formula.name] = {
      desc: formula.desc,
      homepage: formula.homepage,
      license: formula.license,
      stable_version: formula.versions.stable,
      ...(formula.revision > 0 ? { revision: formula.revision } : {}),
      ...(stable && stable.rebuild > 0 ? { bottle_rebuild: stable.rebuild } : {}),
      ...(file ? { bottle_checksum: file.sha256, bottle_cellar: file.cellar } : {}),
    };
  }
  return {
    metadata: { bottle_tag: tag, generated_at: 0 },
    formulae: packages,
    casks: {},
    formula_aliases: {},
    formula_renames: {},
    formula_tap_migrations: {},
    cask_renames: {},
    cask_tap_migrations: {},
  };
}

/** A copy whose bottle part (the only part rewritten) is fresh; everything else is shared. */
function cloneForRewrite(template: FormulaInfo): FormulaInfo {
  const stable = template.bottle.stable;
  if (!stable) return { ...template, bottle: { ...template.bottle } };
  const files = Object.fromEntries(Object.entries(stable.files).map(([tag, file]) => [tag, { ...file }]));
  return { ...template, bottle: { ...template.bottle, stable: { ...stable, files } } };
}

/** The real entries: formula-sample.json, then openssl@3.json and ca-certificates.json unless already in. */
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
  return formulae;
}

function syntheticFormula(index: number, tags: readonly string[]): FormulaInfo {
  const number = String(index).padStart(5, "0");
  const name =
    index % 10 === 3
      ? `synth${number}@${(index % 3) + 2}`
      : index % 10 === 7
        ? `synth${number}++`
        : `synth${number}`;
  const version = `1.${index % 10}.${index}`;
  const fileTags = index % 13 === 5 ? ["all"] : tags;
  const files: Record<string, { cellar: string; sha256: string }> = {};
  for (const tag of fileTags) files[tag] = { cellar: ":any_skip_relocation", sha256: "0".repeat(64) };
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
    urls: { stable: { url: `https://example.invalid/${encodeURIComponent(name)}-${version}.tar.gz` } },
    revision: index % 5 === 1 ? 1 : 0,
    version_scheme: 0,
    bottle: { stable: { rebuild: index % 4 === 2 ? 1 : 0, files } },
    dependencies: [],
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
