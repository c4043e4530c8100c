import { type RetryOptions, withRetry } from "../homebrew/retry.ts";
import { type BlobStore, readAllOf } from "../storage/blob-store.ts";
import { StateError } from "./errors.ts";
import type { SettledRecord } from "./settled.ts";

export const STATE_KEY = "_sync/state.json";

/** One mirrored object: a bottle (`tag` is its bottle tag) or a manifest (`tag` is "manifest"). */
export interface StateEntry {
  sha256: string;
  size: number;
  formula: string;
  tag: string;
  /** ISO time the object was verified into the store. */
  syncedAt: string;
  /** ISO time the index stopped naming it; pruned `retention_days` later. */
  supersededAt?: string;
}

/** `_sync/state.json`: what is mirrored (DESIGN.md §2). */
export interface MirrorState {
  version: 1;
  updatedAt: string;
  /** Bottles: `bottles/<filename>` → entry. */
  entries: Record<string, StateEntry>;
  /** Manifests: `bottles/<image>/manifests/<version_rebuild>` → entry (tag "manifest"). */
  manifests?: Record<string, StateEntry>;
  /** Published API files: `api/formula.jws.json` → digest (an unchanged file is not re-published). */
  api?: Record<string, { sha256: string; size: number; syncedAt: string }>;
  /**
   * The OCI layout (mirror.layouts: oci): `v2/homebrew/core/<image>/blobs/sha256:<sha>` and
   * `…/manifests/<ref>` → the recorded object (bottles/…) whose bytes it holds (src/mirror/layouts.ts).
   */
  oci?: Record<string, OciRecord>;
  /**
   * Portable Ruby (mirror.brew_git): `bottles/portable-ruby-<version>.<tag>.bottle.tar.gz` → entry (formula
   * `portable-ruby`), as the published brew's vendor files name them (src/mirror/portable-ruby.ts).
   */
  portableRuby?: Record<string, StateEntry>;
  /**
   * Set by a run that published everything it planned: what it was planned from (src/mirror/settled.ts).
   * Any other write of the state drops it (`saveState`).
   */
  settled?: SettledRecord;
}

/** One object of the OCI layout: a second name for the bytes of `source`. */
export interface OciRecord {
  sha256: string;
  size: number;
  source: string;
  syncedAt: string;
}

export function emptyState(now: Date = new Date(0)): MirrorState {
  return { version: 1, updatedAt: now.toISOString(), entries: {}, manifests: {} };
}

/**
 * The state document each store last read, with the entity tag of the bytes read: saveState
 * writes nothing when its document is that one but for `updatedAt` and the store still holds it
 * (a no-op re-sync then leaves a 22 MB state of 100,000 objects as it was, instead of rewriting it).
 */
const lastRead = new WeakMap<BlobStore, { etag: string; text: string }>();

/** `{"version":1,"updatedAt":"<24 characters>"` opens every document saveState writes. */
const STAMPED = '{"version":1,"updatedAt":"';
const STAMP_END = STAMPED.length + new Date(0).toISOString().length;

/** Reads the state; an absent state is an empty mirror. A corrupt state is an error, never guessed at. */
export async function loadState(store: BlobStore): Promise<MirrorState> {
  return (await loadStateTagged(store)).state;
}

/**
 * loadState, with the entity tag of the bytes read (readAllOf): null when there is no state, undefined
 * when the store has no entity tags.
 */
export async function loadStateTagged(
  store: BlobStore,
): Promise<{ state: MirrorState; etag: string | null | undefined }> {
  const read = await readTagged(store, STATE_KEY);
  if (read === null) return { state: emptyState(), etag: null };
  const text = read.bytes.toString("utf8");
  const state = parseState(text);
  if (read.etag === undefined) lastRead.delete(store);
  else lastRead.set(store, { etag: read.etag, text });
  return { state, etag: read.etag };
}

/** True when `document` is `text` but for the `updatedAt` both open with. */
function sameButStamp(document: string, text: string): boolean {
  return (
    document.length === text.length &&
    document.startsWith(STAMPED) &&
    text.startsWith(STAMPED) &&
    document[STAMP_END] === '"' &&
    text[STAMP_END] === '"' &&
    document.slice(STAMP_END) === text.slice(STAMP_END)
  );
}

export function parseState(text: string): MirrorState {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new StateError(`${STATE_KEY} is not valid JSON`, {
      key: STATE_KEY,
      cause: error,
      fix: `restore ${STATE_KEY} from a backup, or delete it: the next sync re-checks every bottle (sha256 re-hash) instead of re-downloading`,
    });
  }
  if (!isRecord(value) || value.version !== 1 || !isRecord(value.entries)) {
    throw new StateError(`${STATE_KEY} is not a version 1 state document`, {
      key: STATE_KEY,
      fix: `delete ${STATE_KEY}: the next sync re-checks every bottle (sha256 re-hash) instead of re-downloading`,
    });
  }
  const entries = checkEntries(value.entries, "entries");
  const manifests = isRecord(value.manifests) ? checkEntries(value.manifests, "manifests") : {};
  const updatedAt = typeof value.updatedAt === "string" ? value.updatedAt : new Date(0).toISOString();
  const api: NonNullable<MirrorState["api"]> = {};
  if (isRecord(value.api)) {
    for (const [key, file] of Object.entries(value.api)) {
      if (isRecord(file) && typeof file.sha256 === "string" && typeof file.size === "number") {
        api[key] = { sha256: file.sha256, size: file.size, syncedAt: String(file.syncedAt ?? "") };
      }
    }
  }
  const oci: Record<string, OciRecord> = {};
  if (isRecord(value.oci)) {
    for (const [key, record] of Object.entries(value.oci)) {
      if (
        isRecord(record) &&
        typeof record.sha256 === "string" &&
        typeof record.size === "number" &&
        typeof record.source === "string"
      ) {
        const { sha256, size, source } = record;
        oci[key] = { sha256, size, source, syncedAt: String(record.syncedAt ?? "") };
      }
    }
  }
  return {
    version: 1,
    updatedAt,
    entries,
    manifests,
    api,
    ...(isRecord(value.oci) ? { oci } : {}),
    ...(isRecord(value.portableRuby)
      ? { portableRuby: checkEntries(value.portableRuby, "portableRuby") }
      : {}),
    ...settledOf(value.settled),
  };
}

/** A readable settled record, or nothing (an unreadable one only costs a full plan). */
function settledOf(value: unknown): { settled?: SettledRecord } {
  if (!isRecord(value) || typeof value.inputs !== "string" || typeof value.formulaeCount !== "number")
    return {};
  const settled: SettledRecord = { inputs: value.inputs, formulaeCount: value.formulaeCount };
  if (isRecord(value.sources)) settled.sources = value.sources as NonNullable<SettledRecord["sources"]>;
  if (Array.isArray(value.missingDependencies))
    settled.missingDependencies = value.missingDependencies as NonNullable<
      SettledRecord["missingDependencies"]
    >;
  return { settled };
}

const ENTRY_FIELDS = new Set(["sha256", "size", "formula", "tag", "syncedAt", "supersededAt"]);

/**
 * The entries of one record field, checked in place (a state holds 50,000 of them: no copies). A
 * malformed one is an error; a field the state does not know is dropped, not written back.
 */
function checkEntries(raw: Record<string, unknown>, field: string): Record<string, StateEntry> {
  for (const key in raw) {
    const entry = raw[key];
    if (
      !isRecord(entry) ||
      typeof entry.sha256 !== "string" ||
      typeof entry.size !== "number" ||
      typeof entry.formula !== "string" ||
      typeof entry.tag !== "string" ||
      typeof entry.syncedAt !== "string"
    ) {
      throw new StateError(`${STATE_KEY}: ${field}["${key}"] is malformed`, {
        key: STATE_KEY,
        fix: `delete the entry (or ${STATE_KEY}); the next sync re-checks it`,
      });
    }
    if (entry.supersededAt !== undefined && typeof entry.supersededAt !== "string") delete entry.supersededAt;
    for (const name in entry) if (!ENTRY_FIELDS.has(name)) delete entry[name];
  }
  return raw as Record<string, StateEntry>;
}

/**
 * Writes the state with one put: the store makes it atomic (readers see old or new, never a part).
 * Nothing is written when the store still holds this very document but for `updatedAt` (lastRead).
 * The state is the commit point: every object put with `deferSync` before it (bottles, manifests, API
 * files) is flushed to disk first, so the state never names an object a power loss could take back.
 */
export async function saveState(
  store: BlobStore,
  state: MirrorState,
  now: Date = new Date(),
  options: { settled?: SettledRecord | undefined } = {},
): Promise<void> {
  // Any write but a settled run's drops the record: the state it described is no longer this one.
  const { settled: _previous, ...rest } = state;
  const settled = options.settled === undefined ? {} : { settled: options.settled };
  // Serialised BEFORE the flush: transfers that finish while it runs are not in this document.
  const document = JSON.stringify({
    ...rest,
    ...settled,
    updatedAt: now.toISOString(),
  } satisfies MirrorState);
  await store.flush?.();
  const read = lastRead.get(store);
  // The store already holds this state (only `updatedAt` would change): nothing to write. Its entity
  // tag must still be the one it had when read: any other write since makes this one happen.
  if (read !== undefined && sameButStamp(document, read.text)) {
    const now = await store.stat(STATE_KEY);
    if (now?.etag !== undefined && now.etag === read.etag) return;
  }
  lastRead.delete(store);
  await store.put(STATE_KEY, document, { contentType: "application/json" });
}

/** The text of a small object, or null when absent. */
export async function readText(
  store: BlobStore,
  key: string,
  retry: Pick<RetryOptions, "sleep"> = {},
): Promise<string | null> {
  const bytes = await readBytes(store, key, retry);
  return bytes === null ? null : bytes.toString("utf8");
}

/**
 * The bytes of a small object, or null when absent. A read cut off by the connection (a reset, a body
 * ended early: S3 answers before it streams, so its own retries never see those) is read again,
 * twice at most, after a short backoff.
 */
export async function readBytes(
  store: BlobStore,
  key: string,
  retry: Pick<RetryOptions, "sleep"> = {},
): Promise<Buffer | null> {
  return (await readTagged(store, key, retry))?.bytes ?? null;
}

/** readBytes, with the entity tag of the bytes read (readAllOf; undefined where the store has none). */
function readTagged(
  store: BlobStore,
  key: string,
  retry: Pick<RetryOptions, "sleep"> = {},
): Promise<{ bytes: Buffer; etag?: string } | null> {
  return withRetry(() => readAllOf(store, key), { retries: 2, baseMs: 200, ...retry });
}

/** Writes a small JSON document. */
export async function writeJson(store: BlobStore, key: string, value: unknown): Promise<void> {
  await store.put(key, `${JSON.stringify(value, null, 2)}\n`, { contentType: "application/json" });
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
