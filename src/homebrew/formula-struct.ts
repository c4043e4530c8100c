import { bottleFileFor, canonicalTag, macosNameOf, sameTag } from "./bottle-tags.ts";

/**
 * One formula of brew 6's `internal/packages.<tag>.json`, computed from its formula.json entry the way
 * `brew generate-internal-api` does it:
 * `Homebrew::API::Formula::FormulaStructGenerator.generate_formula_struct_hash(hash, bottle_tag:)
 * .serialize(bottle_tag:)` (Homebrew/brew api/formula/formula_struct_generator.rb, api/formula_struct.rb,
 * utils.rb `deep_stringify_symbols` / `deep_compact_blank`, utils/spdx.rb `string_to_license_expression`).
 *
 * Ruby symbols are written as `":name"` and strings that start with `:` or `\` get a leading `\`
 * (`deep_stringify_symbols`); then every blank value (nil, false, 0, "", whitespace, [], {}) is dropped,
 * recursively (`deep_compact_blank`). Keys come in FormulaStruct's declaration order, then
 * `bottle_tag`, `bottle_cellar`, `bottle_checksum`.
 *
 * Not modelled (the emulator never serves them): `service` (throws), and the generating machine's
 * `$HOMEBREW_CELLAR` substitution in caveats (kept as the placeholder).
 */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Entry = Record<string, unknown>;

/** Requirements the API can express (`API_SUPPORTED_REQUIREMENTS`); others are dropped. */
const API_SUPPORTED_REQUIREMENTS = new Set(["arch", "linux", "macos", "maximum_macos", "xcode"]);
/** `FORMULA_DEPRECATE_DISABLE_REASONS` keys: a `because` naming one becomes a symbol. */
const DEPRECATE_DISABLE_REASONS = new Set([
  "does_not_build",
  "no_license",
  "repo_archived",
  "repo_removed",
  "unmaintained",
  "unreachable",
  "unsupported",
  "deprecated_upstream",
  "versioned_formula",
  "checksum_mismatch",
]);
/** `NO_AUTOBUMP_REASONS_LIST` keys (with the internal and deprecated ones). */
const NO_AUTOBUMP_REASONS = new Set([
  "incompatible_version_format",
  "bumped_by_upstream",
  "extract_plist",
  "latest_version",
  "requires_manual_review",
]);
const LICENSEREF_PREFIX = "LicenseRef-Homebrew-";
const ALLOWED_LICENSE_SYMBOLS = new Set(["public_domain", "cannot_represent", "truncated"]);
/** `FormulaStruct::DEFAULT_CELLAR`: not written. */
const DEFAULT_CELLAR = ":any_skip_relocation";

/** A Ruby symbol as `deep_stringify_symbols` writes it. */
const sym = (name: string): string => `:${name}`;
/** A Ruby string as `deep_stringify_symbols` writes it (escaped when it could read as a symbol). */
const str = (value: string): string =>
  value.startsWith(":") || value.startsWith("\\") ? `\\${value}` : value;
/** `Utils.convert_to_string_or_symbol`, then stringified: `":any"` stays `:any`, `"/opt/x"` stays a string. */
const stringOrSymbol = (value: string): string => (value.startsWith(":") ? sym(value.slice(1)) : str(value));

/** Every string in a plain JSON value passed through `str` (keys too): a Ruby value with string contents. */
function strings(value: unknown): Json {
  if (typeof value === "string") return str(value);
  if (Array.isArray(value)) return value.map(strings);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [str(key), strings(inner)]));
  }
  return (value ?? null) as Json;
}

/** `Homebrew::API.merge_variations`: the tag's `variations` entry merged over the top level. */
export function mergeVariations(entry: Entry, tag: string): Entry {
  if (!Object.hasOwn(entry, "variations")) return entry;
  const variations = entry.variations as Record<string, unknown> | null | undefined;
  const variation = variations?.[tag];
  const merged: Entry =
    variation !== null && typeof variation === "object" && Object.keys(variation).length > 0
      ? { ...entry, ...(variation as Entry) }
      : { ...entry };
  delete merged.variations;
  return merged;
}

/** `SPDX.string_to_license_expression`, stringified. */
export function licenseExpression(license: string): Json {
  const andParts = license.split(/ and (?![^(]*\))/i);
  let parts: string[] | null = null;
  let type = "";
  if (andParts.length > 1) {
    parts = andParts;
    type = "all_of";
  } else {
    const orParts = license.split(/ or (?![^(]*\))/i);
    if (orParts.length > 1) {
      parts = orParts;
      type = "any_of";
    }
  }
  if (parts) {
    return {
      [sym(type)]: parts.map((part) =>
        licenseExpression(part.startsWith("(") && part.endsWith(")") ? part.slice(1, -1) : part),
      ),
    };
  }
  const withIndex = license.search(/ with /i);
  if (withIndex >= 0) {
    return { [str(license.slice(0, withIndex))]: { [sym("with")]: str(license.slice(withIndex + 6)) } };
  }
  if (!license.startsWith(LICENSEREF_PREFIX)) return str(license);
  const name = license.slice(LICENSEREF_PREFIX.length).toLowerCase().replaceAll("-", "_");
  return ALLOWED_LICENSE_SYMBOLS.has(name) ? sym(name) : str(license);
}

const isBlankString = (value: string): boolean =>
  /^[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$/.test(value);

/** `Object#blank?` (brew's extend/blank.rb) on a value that is plain JSON. */
function isBlank(value: unknown): boolean {
  if (value === null || value === undefined || value === false) return true;
  if (typeof value === "string") return isBlankString(value);
  if (Array.isArray(value)) return value.length === 0;
  if (typeof value === "object") return Object.keys(value).length === 0;
  return false;
}

/** `Utils.deep_compact_blank` (compact_zero and compact_false): undefined for a value that is dropped. */
export function deepCompactBlank(value: Json | undefined): Json | undefined {
  let compacted: Json | undefined = value;
  if (Array.isArray(value)) {
    compacted = value.map(deepCompactBlank).filter((inner): inner is Json => inner !== undefined);
  } else if (value !== null && typeof value === "object") {
    const out: { [key: string]: Json } = {};
    for (const [key, inner] of Object.entries(value)) {
      const kept = deepCompactBlank(inner);
      if (kept !== undefined) out[key] = kept;
    }
    compacted = out;
  }
  if (isBlank(compacted) || compacted === 0) return undefined;
  return compacted;
}

const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);
const text = (value: unknown): string | undefined => (typeof value === "string" ? value : undefined);
const record = (value: unknown): Entry | undefined =>
  value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Entry) : undefined;
/** `&.to_sym` on an optional string. */
const optionalSym = (value: unknown): string | undefined =>
  typeof value === "string" ? sym(value) : undefined;
/** Drops undefined (Ruby's `compact` on a hash literal). */
function compactHash(entries: Record<string, Json | undefined>): { [key: string]: Json } {
  return Object.fromEntries(Object.entries(entries).filter(([, value]) => value !== undefined)) as {
    [key: string]: Json;
  };
}

/** The dependency fields of a spec (`stable_dependency_hash`, or `head_dependencies`). */
interface DependencyHash {
  dependencies?: unknown;
  build_dependencies?: unknown;
  test_dependencies?: unknown;
  recommended_dependencies?: unknown;
  optional_dependencies?: unknown;
  uses_from_macos?: unknown;
  uses_from_macos_bounds?: unknown;
}

/** A dependency type list (`"build"`, `["build", "test"]`) as symbols. */
function dependencyTypes(types: unknown): Json {
  return Array.isArray(types) ? types.map((type) => sym(String(type))) : sym(String(types));
}

/** `process_dependencies` + `process_requirements` + `process_uses_from_macos` for one spec. */
function processDependencies(
  deps: DependencyHash,
  requirements: unknown,
  spec: "stable" | "head",
): { dependencies: Json[]; usesFromMacos: Json[] } {
  const dependencies: Json[] = list(deps.dependencies).map((dep) => {
    const hash = record(dep);
    if (!hash) return strings(dep);
    return Object.fromEntries(
      Object.entries(hash).map(([name, types]) => [str(name), dependencyTypes(types)]),
    );
  });
  for (const type of ["build", "test", "recommended", "optional"] as const) {
    for (const dep of list(deps[`${type}_dependencies`]))
      dependencies.push({ [str(String(dep))]: sym(type) });
  }
  for (const requirement of list(requirements)) {
    const processed = processRequirement(record(requirement) ?? {}, spec);
    if (processed !== undefined) dependencies.push(processed);
  }
  const bounds = list(deps.uses_from_macos_bounds);
  const usesFromMacos: Json[] = list(deps.uses_from_macos).map((entry, index) => {
    const bound = Object.fromEntries(
      Object.entries(record(bounds[index]) ?? {}).map(([key, value]) => [sym(key), sym(String(value))]),
    );
    const hash = record(entry);
    if (hash) {
      const typed = Object.fromEntries(
        Object.entries(hash).map(([name, types]) => [str(name), dependencyTypes(types)]),
      );
      return [{ ...typed, ...bound }, {}];
    }
    return [strings(entry), bound];
  });
  return { dependencies, usesFromMacos };
}

function processRequirement(requirement: Entry, spec: "stable" | "head"): Json | undefined {
  const specs = requirement.specs;
  if (!Array.isArray(specs)) {
    // brew's generator calls `req["specs"].include?` and stops on an entry without `specs`.
    throw new Error(
      `requirement ${JSON.stringify(requirement.name)} has no "specs" (brew's generator needs it)`,
    );
  }
  if (!specs.includes(spec)) return undefined;
  const name = String(requirement.name);
  if (!API_SUPPORTED_REQUIREMENTS.has(name)) return undefined;
  const version = requirement.version;
  let tagged: Json | undefined;
  if (name === "arch") tagged = optionalSym(version);
  else if (name === "macos" || name === "maximum_macos") {
    const symbol = typeof version === "string" ? macosNameOf(version) : null;
    tagged = symbol === null ? undefined : sym(symbol);
  } else tagged = version === null || version === undefined ? undefined : strings(version);
  const tags: Json[] = [];
  if (tagged !== undefined && !isBlank(tagged)) tags.push(tagged);
  for (const context of list(requirement.contexts)) {
    if (typeof context === "string") tags.push(sym(context));
    else if (record(context)) {
      tags.push(
        Object.fromEntries(
          Object.entries(record(context) ?? {}).map(([key, value]) => [sym(key), strings(value)]),
        ),
      );
    } else tags.push(strings(context));
  }
  return tags.length === 0 ? sym(name) : { [sym(name)]: tags };
}

/** `DeprecateDisable.to_reason_string_or_symbol` on `deprecate_args` / `disable_args`. */
function deprecateArgs(args: unknown): Json | undefined {
  const hash = record(args);
  if (!hash) return undefined;
  const out: { [key: string]: Json } = {};
  for (const [key, value] of Object.entries(hash)) {
    if (key === "because" && typeof value === "string" && DEPRECATE_DISABLE_REASONS.has(value)) {
      out[sym(key)] = sym(value);
    } else out[sym(key)] = strings(value);
  }
  return out;
}

/**
 * The serialised FormulaStruct of one formula.json entry for `tag`: what
 * `generate_formula_struct_hash(hash, bottle_tag:).serialize(bottle_tag:)` returns (as JSON).
 */
export function formulaStruct(entry: Entry, tag: string): { [key: string]: Json } {
  const hash = mergeVariations(entry, tag);
  if (!isBlank(hash.service)) {
    throw new Error(`${String(hash.name)}: the emulator does not model formulae with a service`);
  }
  const urls = record(hash.urls) ?? {};
  const stableUrl = record(urls.stable);
  const headUrl = record(urls.head);
  const stable = record(record(hash.bottle)?.stable);

  const conflictsWith = list(hash.conflicts_with);
  const reasons = list(hash.conflicts_with_reasons);
  const conflicts: Json[] = conflictsWith.map((name, index) => {
    const reason = reasons[index];
    return [str(String(name)), isBlank(reason) ? {} : { [sym("because")]: strings(reason) }];
  });

  const kegOnly = record(hash.keg_only_reason);
  const noAutobump = text(hash.no_autobump_message);
  const pourOnlyIf = text(hash.pour_bottle_only_if);

  const stableDeps: DependencyHash = {
    dependencies: hash.dependencies ?? [],
    build_dependencies: hash.build_dependencies ?? [],
    test_dependencies: hash.test_dependencies ?? [],
    recommended_dependencies: hash.recommended_dependencies ?? [],
    optional_dependencies: hash.optional_dependencies ?? [],
    uses_from_macos: hash.uses_from_macos ?? [],
    uses_from_macos_bounds: hash.uses_from_macos_bounds ?? [],
  };
  const stableProcessed = processDependencies(stableDeps, hash.requirements, "stable");
  const headProcessed = processDependencies(
    (record(hash.head_dependencies) as DependencyHash | undefined) ?? stableDeps,
    hash.requirements,
    "head",
  );

  // FormulaStruct's props in declaration order (PREDICATES' *_present and bottle_checksums are not written).
  const props: Record<string, Json | undefined> = {
    aliases: strings(hash.aliases ?? []),
    bottle_rebuild: (stable?.rebuild as Json | undefined) ?? 0,
    caveats: typeof hash.caveats === "string" ? str(hash.caveats) : null,
    conflicts,
    deprecate_args: deprecateArgs(hash.deprecate_args) ?? {},
    desc: strings(hash.desc),
    disable_args: deprecateArgs(hash.disable_args) ?? {},
    executables: strings(hash.executables ?? []),
    head_dependencies: headProcessed.dependencies,
    head_url_args: [
      str(text(headUrl?.url) ?? ""),
      compactHash({
        [sym("branch")]: strings(headUrl?.branch ?? undefined),
        [sym("using")]: optionalSym(headUrl?.using),
      }),
    ],
    head_uses_from_macos: headProcessed.usesFromMacos,
    homepage: strings(hash.homepage),
    keg_only_args: kegOnly
      ? [
          stringOrSymbol(String(kegOnly.reason)),
          ...(kegOnly.explanation === null || kegOnly.explanation === undefined
            ? []
            : [strings(kegOnly.explanation)]),
        ]
      : [],
    license:
      typeof hash.license === "string" && !isBlankString(hash.license)
        ? licenseExpression(hash.license)
        : null,
    link_overwrite_paths: strings(hash.link_overwrite ?? []),
    no_autobump_args:
      noAutobump === undefined
        ? {}
        : { [sym("because")]: NO_AUTOBUMP_REASONS.has(noAutobump) ? sym(noAutobump) : str(noAutobump) },
    oldnames: strings(hash.oldnames ?? []),
    post_install_defined: (hash.post_install_defined as Json | undefined) ?? false,
    post_install_steps: strings(hash.post_install_steps ?? []),
    pour_bottle_args: pourOnlyIf === undefined ? {} : { [sym("only_if")]: sym(pourOnlyIf) },
    revision: (hash.revision as Json | undefined) ?? 0,
    ruby_source_checksum: strings(record(hash.ruby_source_checksum)?.sha256 ?? null),
    service_args: [],
    service_name_args: {},
    service_run_args: [],
    service_run_kwargs: {},
    stable_dependencies: stableProcessed.dependencies,
    stable_patches: strings(hash.patches ?? []),
    stable_checksum: strings(stableUrl?.checksum ?? null),
    stable_url_args: [
      strings(stableUrl?.url ?? null),
      compactHash({
        [sym("tag")]: strings(stableUrl?.tag ?? undefined),
        [sym("revision")]: strings(stableUrl?.revision ?? undefined),
        [sym("using")]: optionalSym(stableUrl?.using),
      }),
    ],
    stable_uses_from_macos: stableProcessed.usesFromMacos,
    stable_version: strings(record(hash.versions)?.stable ?? null),
    version_scheme: (hash.version_scheme as Json | undefined) ?? 0,
    versioned_formulae: strings(hash.versioned_formulae ?? []),
    ...serializeBottle(record(stable?.files) ?? {}, tag),
  };
  return (deepCompactBlank(props as Json) ?? {}) as { [key: string]: Json };
}

/** `FormulaStruct#serialize_bottle`: the bottle brew picks on `tag` (see bottleFileFor). */
function serializeBottle(files: Entry, tag: string): Record<string, Json> {
  const chosen = bottleFileFor(Object.keys(files), tag);
  if (chosen === null) return {};
  const file = record(files[chosen]) ?? {};
  const cellar = typeof file.cellar === "string" ? stringOrSymbol(file.cellar) : sym("any");
  return {
    bottle_tag: sameTag(chosen, tag) ? null : sym(canonicalTag(chosen)),
    bottle_cellar: cellar === DEFAULT_CELLAR ? null : cellar,
    bottle_checksum: String(file.sha256),
  };
}
