/**
 * The stores the pipeline keeps state in: the ledger store (`--ledger DIR|s3://bucket/prefix`; the
 * ledger lives under `_ledger/`, pause/resume state under `_schedule/`) and the artifact store
 * (`artifacts/<version>/`). In AWS both are the artifacts bucket; locally a folder.
 */
import type { BlobStore } from "../storage/blob-store.ts";
import { openStore } from "../storage/open.ts";

/** Where the ledger lives when neither `--ledger` nor HBSYNC_LEDGER says: a folder in the working dir. */
export const DEFAULT_LEDGER_LOCATION = ".hbsync";

export function ledgerLocation(flag: string | undefined, env: NodeJS.ProcessEnv): string {
  return flag ?? (env.HBSYNC_LEDGER?.trim() || DEFAULT_LEDGER_LOCATION);
}

/** A folder (resolved against `cwd`) or `s3://bucket/prefix`, as every other `--dest`-like flag opens. */
export function openPipelineStore(location: string, cwd: string, env: NodeJS.ProcessEnv): BlobStore {
  return openStore(location, { cwd, env });
}
