import { bottleRefs } from "../homebrew/naming.ts";
import type { BottleRef, FormulaInfo } from "../homebrew/types.ts";
import { errorMessage } from "../shared/errors.ts";
import type { BlobStore } from "../storage/blob-store.ts";
import { MigrationError } from "./errors.ts";
import { acquireLock, currentProcess } from "./lock.ts";
import { runPool } from "./pool.ts";
import { isSha256, unsafeReason } from "./safe-names.ts";
import { loadState, saveState } from "./state.ts";
import { adoptIfVerified, hashStored } from "./transfer.ts";

/**
 * Imports the original Python system's `bottles_hash.json` (`{"<name>-<version>-<platform>": "<sha256>"}`)
 * so bottles it already mirrored are adopted instead of downloaded again. Nothing in the file is
 * trusted: an entry is adopted only when it names a bottle of the current (verified) index with the
 * same sha256 AND the stored bytes re-hash to it. Everything else is reported with the reason.
 */
export interface LegacyEntry {
  id: string;
  sha256: string;
}

export type MigrationOutcome =
  /** Stored bytes re-hashed to the indexed sha256: recorded in the state. */
  | "adopted"
  /** Already in the state with this sha256. */
  | "already-mirrored"
  /** Matches the index but no bytes are stored: the next sync downloads it. */
  | "absent"
  /** Stored bytes do not hash to the sha256: not adopted (the next sync replaces them). */
  | "mismatch"
  /** The index names this bottle with another sha256 (the old entry is stale). */
  | "stale"
  /** No bottle of the current index (for the mirrored tags) has this name. */
  | "unknown"
  /** Not a `name-version-platform` → 64-hex-sha256 entry. */
  | "invalid";

export interface MigrationReport {
  entries: number;
  counts: Record<MigrationOutcome, number>;
  details: Array<{ id: string; outcome: MigrationOutcome; key?: string; reason?: string }>;
}

/** Parses the file; a corrupt document is a MigrationError, odd entries come back as `invalid`. */
export function parseBottlesHash(
  text: string,
  file = "bottles_hash.json",
): {
  entries: LegacyEntry[];
  invalid: Array<{ id: string; reason: string }>;
} {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new MigrationError(`${file} is not valid JSON: ${errorMessage(error)}`, {
      cause: error,
      fix: `check that ${file} is the original system's bottles_hash.json; nothing was imported`,
    });
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new MigrationError(`${file} is not a JSON object of "name-version-platform": "sha256" entries`, {
      fix: `check that ${file} is the original system's bottles_hash.json; nothing was imported`,
    });
  }
  const entries: LegacyEntry[] = [];
  const invalid: Array<{ id: string; reason: string }> = [];
  for (const [id, raw] of Object.entries(value)) {
    const sha256 = typeof raw === "string" ? raw : (raw as { sha256?: unknown } | null)?.sha256;
    if (!isSha256(typeof sha256 === "string" ? sha256.toLowerCase() : sha256)) {
      invalid.push({ id, reason: "value is not a 64-hex sha256" });
    } else {
      entries.push({ id, sha256: (sha256 as string).toLowerCase() });
    }
  }
  return { entries, invalid };
}

export interface MigrateOptions {
  store: BlobStore;
  formulae: readonly FormulaInfo[];
  tags: readonly string[];
  legacy: string;
  fileName?: string;
  runId: string;
  /** Also look for the bytes under these prefixes (copied into place after a verified read). */
  legacyPrefixes?: string[];
  concurrency?: number;
  now?: () => Date;
}

export async function migrateBottlesHash(options: MigrateOptions): Promise<MigrationReport> {
  const now = options.now ?? (() => new Date());
  const { entries, invalid } = parseBottlesHash(options.legacy, options.fileName);
  const byId = new Map<string, BottleRef>();
  for (const formula of options.formulae) {
    if (unsafeReason(formula, options.tags) !== null) continue;
    for (const ref of bottleRefs(formula, options.tags)) {
      byId.set(`${ref.formula}-${ref.pkgVersion}-${ref.tag}`, ref);
      // The old system may have written the version without the `_<revision>` suffix.
      const stable = formula.versions.stable;
      if (stable && stable !== ref.pkgVersion) {
        const alias = `${ref.formula}-${stable}-${ref.tag}`;
        if (!byId.has(alias)) byId.set(alias, ref);
      }
    }
  }
  const counts: Record<MigrationOutcome, number> = {
    adopted: 0,
    "already-mirrored": 0,
    absent: 0,
    mismatch: 0,
    stale: 0,
    unknown: 0,
    invalid: 0,
  };
  const details: MigrationReport["details"] = invalid.map((entry) => ({
    id: entry.id,
    outcome: "invalid" as const,
    reason: entry.reason,
  }));
  counts.invalid = invalid.length;

  const lease = await acquireLock(options.store, { runId: options.runId, now, process: currentProcess() });
  try {
    const state = await loadState(options.store);
    const results = await runPool(
      entries,
      { name: "checkers", limit: options.concurrency ?? 4 },
      async (entry) => {
        const ref = byId.get(entry.id);
        if (!ref)
          return { id: entry.id, outcome: "unknown" as const, reason: "not a bottle of the current index" };
        if (ref.sha256 !== entry.sha256) {
          return {
            id: entry.id,
            outcome: "stale" as const,
            key: ref.key,
            reason: `index has sha256 ${ref.sha256}`,
          };
        }
        if (state.entries[ref.key]?.sha256 === ref.sha256) {
          return { id: entry.id, outcome: "already-mirrored" as const, key: ref.key };
        }
        let found = await adoptIfVerified(options.store, ref.key, ref.sha256);
        if (found === null && (await options.store.stat(ref.key)) !== null) {
          return {
            id: entry.id,
            outcome: "mismatch" as const,
            key: ref.key,
            reason: "stored bytes do not hash to it",
          };
        }
        if (found === null) found = await copyFromLegacy(options, ref);
        if (found === null) return { id: entry.id, outcome: "absent" as const, key: ref.key };
        state.entries[ref.key] = {
          sha256: ref.sha256,
          size: found.size,
          formula: ref.formula,
          tag: ref.tag,
          syncedAt: now().toISOString(),
        };
        return { id: entry.id, outcome: "adopted" as const, key: ref.key };
      },
    );
    for (const result of results) {
      if (!result) continue;
      if (result.ok) {
        counts[result.value.outcome]++;
        details.push(result.value);
      } else {
        throw result.error;
      }
    }
    if (counts.adopted > 0) await saveState(options.store, state, now());
  } finally {
    await lease.release();
  }
  return { entries: entries.length + invalid.length, counts, details };
}

/** A verified copy from a legacy location (`<prefix><filename>`) into the bottle key, or null. */
async function copyFromLegacy(
  options: MigrateOptions,
  ref: BottleRef,
): Promise<{ size: number; sha256: string } | null> {
  const filename = ref.key.slice("bottles/".length);
  for (const prefix of options.legacyPrefixes ?? []) {
    const legacyKey = `${prefix}${filename}`;
    if (legacyKey === ref.key || (await options.store.stat(legacyKey)) === null) continue;
    const digest = await hashStored(options.store, legacyKey);
    if (digest.sha256 !== ref.sha256) continue;
    await options.store.put(ref.key, await options.store.get(legacyKey), {
      sha256: ref.sha256,
      size: digest.size,
      deferSync: true,
    });
    return digest;
  }
  return null;
}
