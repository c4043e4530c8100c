import type { BlobStore } from "../../storage/blob-store.ts";
import { StateError } from "../errors.ts";
import { readText, writeJson } from "../state.ts";

/** Where brew's repository is published for git's dumb HTTP protocol (`<base>/git/brew.git`). */
export const BREW_GIT_PREFIX = "git/brew.git/";
/** What is published there: the packs (live and retired) and the refs their objects cover. */
export const BREW_GIT_RECORD_KEY = "_sync/git/brew.json";

export const packKey = (name: string, ext: "pack" | "idx"): string =>
  `${BREW_GIT_PREFIX}objects/pack/${name}.${ext}`;
export const INFO_PACKS_KEY = `${BREW_GIT_PREFIX}objects/info/packs`;
export const INFO_REFS_KEY = `${BREW_GIT_PREFIX}info/refs`;
export const HEAD_KEY = `${BREW_GIT_PREFIX}HEAD`;

/** One published pack: `git/brew.git/objects/pack/<name>.{pack,idx}` (names are content hashes). */
export interface PackRecord {
  size: number;
  sha256: string;
  idxSize: number;
  idxSha256: string;
  objects: number;
  publishedAt: string;
}

/** `_sync/git/brew.json`. */
export interface BrewGitRecord {
  version: 1;
  upstream: string;
  /** What `HEAD` names, e.g. `refs/heads/main`. */
  head: string;
  /**
   * Ref name → object id, for every ref whose reachable objects all lie in the live packs. The next run
   * packs only what the new refs reach beyond these (`git pack-objects --revs new… ^old…`).
   */
  refs: Record<string, string>;
  /** The packs `objects/info/packs` lists, by name (`pack-<hash>`). */
  packs: Record<string, PackRecord>;
  /**
   * Packs no longer listed (merged into a bigger one) but still in the store for clients that read an
   * older `objects/info/packs`: deleted once `retiredAt` is older than the grace period.
   */
  retired: Record<string, { retiredAt: string }>;
  updatedAt: string;
}

export function emptyRecord(upstream: string): BrewGitRecord {
  return {
    version: 1,
    upstream,
    head: "",
    refs: {},
    packs: {},
    retired: {},
    updatedAt: new Date(0).toISOString(),
  };
}

const PACK_NAME = /^pack-[0-9a-f]{40}(?:[0-9a-f]{24})?$/;
const OBJECT_ID = /^[0-9a-f]{40}(?:[0-9a-f]{24})?$/;
const SHA256 = /^[0-9a-f]{64}$/;

export function isPackName(name: string): boolean {
  return PACK_NAME.test(name);
}

/** The record, or null before the first publish. A damaged record is an error that says how to recover. */
export async function loadRecord(store: BlobStore): Promise<BrewGitRecord | null> {
  const text = await readText(store, BREW_GIT_RECORD_KEY);
  if (text === null) return null;
  const damaged = (why: string, cause?: unknown): StateError =>
    new StateError(`${BREW_GIT_RECORD_KEY} ${why}`, {
      key: BREW_GIT_RECORD_KEY,
      ...(cause === undefined ? {} : { cause }),
      fix: `delete ${BREW_GIT_RECORD_KEY}: the next sync publishes brew's git again from scratch (the packs already published are retired, not deleted at once)`,
    });
  let value: Partial<BrewGitRecord>;
  try {
    value = JSON.parse(text) as Partial<BrewGitRecord>;
  } catch (error) {
    throw damaged("is not valid JSON", error);
  }
  if (value?.version !== 1 || typeof value.refs !== "object" || typeof value.packs !== "object")
    throw damaged("is not a version 1 record");
  for (const [ref, id] of Object.entries(value.refs ?? {})) {
    if (!ref.startsWith("refs/") || typeof id !== "string" || !OBJECT_ID.test(id))
      throw damaged(`names a bad ref: ${JSON.stringify(ref)} → ${JSON.stringify(id)}`);
  }
  for (const [name, pack] of Object.entries(value.packs ?? {})) {
    if (
      !PACK_NAME.test(name) ||
      !SHA256.test(String(pack?.sha256)) ||
      !SHA256.test(String(pack?.idxSha256)) ||
      !Number.isSafeInteger(pack?.size) ||
      !Number.isSafeInteger(pack?.idxSize)
    )
      throw damaged(`has a bad pack entry: ${JSON.stringify(name)}`);
  }
  const retired = typeof value.retired === "object" && value.retired !== null ? value.retired : {};
  for (const name of Object.keys(retired)) {
    if (!PACK_NAME.test(name)) throw damaged(`has a bad retired pack: ${JSON.stringify(name)}`);
  }
  return {
    version: 1,
    upstream: String(value.upstream ?? ""),
    head: String(value.head ?? ""),
    refs: { ...value.refs },
    packs: { ...value.packs },
    retired: { ...retired },
    updatedAt: String(value.updatedAt ?? new Date(0).toISOString()),
  };
}

export async function saveRecord(store: BlobStore, record: BrewGitRecord, now: Date): Promise<void> {
  record.updatedAt = now.toISOString();
  await writeJson(store, BREW_GIT_RECORD_KEY, record);
}

/** `objects/info/packs` as `git update-server-info` writes it: `P <name>.pack` per pack, then a blank line. */
export function infoPacks(packs: Iterable<string>): string {
  return `${[...packs]
    .sort()
    .map((name) => `P ${name}.pack\n`)
    .join("")}\n`;
}

/** The pack names an `objects/info/packs` file lists. */
export function parseInfoPacks(text: string): string[] {
  return text
    .split("\n")
    .map((line) => /^P (pack-[0-9a-f]+)\.pack$/.exec(line.trim())?.[1])
    .filter((name): name is string => name !== undefined && PACK_NAME.test(name));
}
