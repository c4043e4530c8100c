import { z } from "zod";
import { parseTag } from "./bottle-tags.ts";
import {
  FORMULA_NAME,
  MAX_NAME_LENGTH,
  MAX_REBUILD,
  MAX_REVISION,
  MAX_VERSION_LENGTH,
  SHA256_HEX,
} from "./formula-schema.ts";
import { formulaStruct, type Json } from "./formula-struct.ts";

/**
 * brew 6's `internal/packages.<tag>.json` (the payload of `.jws.json`): written here as
 * `brew generate-internal-api` writes it (dev-cmd/generate-internal-api.rb, for the emulator), and read
 * back for planning (api/internal.rb, api/formula_struct.rb `deserialize`).
 */
export interface PackagesMetadata {
  /** `metadata.homebrew_version` (brew writes its own HOMEBREW_VERSION). */
  homebrewVersion: string;
  /** `metadata.generated_at`, seconds since the epoch. */
  generatedAt: number;
  /** `formula_tap_git_head` / `cask_tap_git_head` (the tap commits the data came from). */
  formulaTapGitHead: string | null;
  caskTapGitHead: string | null;
}

/**
 * The whole file for `tag`, byte for byte as `JSON.generate(json_contents)`: formulae in the order given;
 * `formula_aliases` from each entry's `aliases` (sorted by alias, as brew globs the tap's Aliases/),
 * `formula_renames` from each entry's `oldnames` (sorted by old name); no casks, no tap migrations.
 */
export function renderInternalPackages(
  entries: readonly Record<string, unknown>[],
  tag: string,
  metadata: PackagesMetadata,
): string {
  const formulae: Record<string, Json> = {};
  const aliases: Array<[string, string]> = [];
  const renames: Array<[string, string]> = [];
  for (const entry of entries) {
    const name = String(entry.name);
    formulae[name] = formulaStruct(entry, tag);
    for (const alias of Array.isArray(entry.aliases) ? entry.aliases : [])
      aliases.push([String(alias), name]);
    for (const old of Array.isArray(entry.oldnames) ? entry.oldnames : []) renames.push([String(old), name]);
  }
  const sorted = (pairs: Array<[string, string]>): Record<string, string> =>
    Object.fromEntries(pairs.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return JSON.stringify({
    metadata: {
      homebrew_version: metadata.homebrewVersion,
      bottle_tag: tag,
      generated_at: metadata.generatedAt,
    },
    formulae,
    casks: {},
    formula_aliases: sorted(aliases),
    formula_renames: sorted(renames),
    cask_renames: {},
    formula_tap_git_head: metadata.formulaTapGitHead,
    cask_tap_git_head: metadata.caskTapGitHead,
    formula_tap_migrations: {},
    cask_tap_migrations: {},
  });
}

/** What the mirror reads of one formula in `internal/packages.<tag>`. */
export interface PackageEntry {
  name: string;
  stableVersion: string | null;
  revision: number;
  rebuild: number;
  /** The bottle brew pours on the file's tag: the file key it lives under (`bottle_tag`, else the tag). */
  bottle: { tag: string; sha256: string; cellar: string } | null;
  /** `stable_dependencies` and `stable_uses_from_macos`, as serialised (see dependencies.ts). */
  dependencies: unknown[];
  usesFromMacos: unknown[];
}

export interface ParsedPackages {
  tag: string;
  entries: PackageEntry[];
  /** Entries refused (unsafe names, versions, digests), with the reason; never among `entries`. */
  rejected: Array<{ name: string; reason: string }>;
}

const versionSchema = z
  .string()
  .max(MAX_VERSION_LENGTH)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._+~-]*$/, "must match [A-Za-z0-9][A-Za-z0-9._+~-]*")
  .refine((value) => !value.includes(".."), "must not contain ..");

const packageSchema = z.looseObject({
  stable_version: versionSchema.optional(),
  revision: z.int().min(0).max(MAX_REVISION).optional(),
  bottle_rebuild: z.int().min(0).max(MAX_REBUILD).optional(),
  bottle_checksum: z.string().regex(SHA256_HEX, "must be 64 lowercase hex characters").optional(),
  bottle_tag: z
    .string()
    .regex(/^:[a-z0-9_]{1,64}$/, "must be a tag symbol such as :arm64_sonoma or :all")
    .optional(),
  bottle_cellar: z.string().max(500).optional(),
  stable_dependencies: z.array(z.unknown()).optional(),
  stable_uses_from_macos: z.array(z.unknown()).optional(),
});

const fileSchema = z.looseObject({
  metadata: z.looseObject({ bottle_tag: z.string() }).optional(),
  formulae: z.record(z.string(), z.unknown()),
});

/**
 * Reads a (verified) packages payload for `tag`. A file that is not a packages file at all throws; an
 * entry that would make an unsafe key is rejected by name, like formula.json's (formula-schema.ts).
 */
export function parseInternalPackages(payload: unknown, tag: string): ParsedPackages {
  const file = fileSchema.safeParse(payload);
  if (!file.success) {
    throw new Error(`not an internal packages file: ${file.error.issues[0]?.message ?? "unreadable"}`);
  }
  const fileTag = file.data.metadata?.bottle_tag;
  if (fileTag !== undefined && fileTag !== tag) {
    throw new Error(`its metadata.bottle_tag is ${JSON.stringify(fileTag)}, not ${tag}`);
  }
  const entries: PackageEntry[] = [];
  const rejected: ParsedPackages["rejected"] = [];
  for (const [name, raw] of Object.entries(file.data.formulae)) {
    if (name.length > MAX_NAME_LENGTH || !FORMULA_NAME.test(name) || name.includes("..")) {
      rejected.push({ name: JSON.stringify(name).slice(1, -1).slice(0, 80), reason: "unsafe formula name" });
      continue;
    }
    const result = packageSchema.safeParse(raw);
    if (!result.success) {
      const issue = result.error.issues[0];
      rejected.push({ name, reason: `${issue?.path.map(String).join(".") || "(entry)"}: ${issue?.message}` });
      continue;
    }
    const data = result.data;
    const bottleTag = data.bottle_tag === undefined ? tag : data.bottle_tag.slice(1);
    if (data.bottle_checksum !== undefined && parseTag(bottleTag) === null) {
      rejected.push({ name, reason: `bottle_tag ${data.bottle_tag} is not a bottle tag` });
      continue;
    }
    entries.push({
      name,
      stableVersion: data.stable_version ?? null,
      revision: data.revision ?? 0,
      rebuild: data.bottle_rebuild ?? 0,
      bottle:
        data.bottle_checksum === undefined
          ? null
          : {
              tag: bottleTag,
              sha256: data.bottle_checksum,
              cellar: data.bottle_cellar ?? ":any_skip_relocation",
            },
      dependencies: data.stable_dependencies ?? [],
      usesFromMacos: data.stable_uses_from_macos ?? [],
    });
  }
  return { tag, entries, rejected };
}

/** The payload of a verified `.jws.json` (its bytes as fetched), parsed. */
export function jwsPayload(bytes: Uint8Array): unknown {
  const envelope = JSON.parse(Buffer.from(bytes).toString("utf8")) as { payload?: unknown };
  if (typeof envelope.payload !== "string") throw new Error("no payload in the signed file");
  return JSON.parse(envelope.payload);
}
