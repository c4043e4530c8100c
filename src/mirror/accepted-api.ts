import type { AcceptedApiFiles, ApiFile } from "../homebrew/api-client.ts";
import type { BlobStore } from "../storage/blob-store.ts";
import { isRecord, readText, writeJson } from "./state.ts";

/**
 * `_sync/api-accepted.json`: the sha256 of each API file the last run verified and accepted, and the
 * trust (trusted key and kid: api-client.ts `trustOf`) it was verified under. A re-sync that downloads
 * the same bytes under the same trust skips their signature check (0.6 s of a no-op re-sync at
 * 110 MB of signed files): a check is a function of the bytes, the key and the kid, so bytes that
 * passed once pass again. Bytes that differ in any way, or another trusted key, are verified as
 * always; a bad signature is still refused before the first write.
 *
 * What it does not weaken: whoever can write this file can write the mirror's API files themselves;
 * making a run skip a check still needs the upstream to serve bytes with a recorded sha256, which
 * are bytes that verified. An unreadable or foreign record only costs the checks.
 */
export const ACCEPTED_API_RECORD = "_sync/api-accepted.json";

interface AcceptedRecord {
  version: 1;
  trust: string;
  files: Record<string, string>;
}

/** The files recorded under `trust`; none without a trust, a record, or one for another trust. */
export async function readAcceptedApi(
  store: BlobStore,
  trust: string | undefined,
): Promise<AcceptedApiFiles> {
  if (trust === undefined) return new Map();
  const text = await readText(store, ACCEPTED_API_RECORD);
  if (text === null) return new Map();
  let record: unknown;
  try {
    record = JSON.parse(text);
  } catch {
    return new Map();
  }
  if (!isRecord(record) || record.version !== 1 || record.trust !== trust || !isRecord(record.files))
    return new Map();
  const files = new Map<string, string>();
  for (const [key, sha256] of Object.entries(record.files))
    if (typeof sha256 === "string" && /^[0-9a-f]{64}$/.test(sha256)) files.set(key, sha256);
  return files;
}

/**
 * Records the files this run verified (or found accepted) under `trust`, after the lease (a write);
 * nothing when the record already says exactly that, so a no-op re-sync writes nothing here.
 */
export async function recordAcceptedApi(
  store: BlobStore,
  trust: string | undefined,
  files: readonly ApiFile[],
  previous: AcceptedApiFiles,
): Promise<void> {
  if (trust === undefined) return;
  const same =
    files.length === previous.size && files.every((file) => previous.get(file.key) === file.sha256);
  if (same) return;
  const record: AcceptedRecord = {
    version: 1,
    trust,
    files: Object.fromEntries(files.map((file) => [file.key, file.sha256])),
  };
  await writeJson(store, ACCEPTED_API_RECORD, record);
}
