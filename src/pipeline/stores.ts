/**
 * The stores the pipeline keeps state in: the ledger store (`--ledger DIR|s3://bucket/prefix`; the
 * ledger lives under `_ledger/`, pause/resume state under `_schedule/`) and the artifact store
 * (`artifacts/<version>/`). In AWS both are the artifacts bucket; locally a folder.
 */
import { resolve } from "node:path";
import type { BlobStore } from "../storage/blob-store.ts";
import { FsStore } from "../storage/fs.ts";
import { PipelineError } from "./errors.ts";

/** Where the ledger lives when neither `--ledger` nor HBSYNC_LEDGER says: a folder in the working dir. */
export const DEFAULT_LEDGER_LOCATION = ".hbsync";

export function ledgerLocation(flag: string | undefined, env: NodeJS.ProcessEnv): string {
  return flag ?? (env.HBSYNC_LEDGER?.trim() || DEFAULT_LEDGER_LOCATION);
}

/**
 * Opens a folder or `s3://bucket/prefix`. Uses src/storage/open.ts `openStore` when present (it knows
 * S3); otherwise a folder opens as FsStore and s3:// is refused with a clear message.
 */
export async function openPipelineStore(location: string, cwd: string): Promise<BlobStore> {
  const target = location.startsWith("s3://") ? location : resolve(cwd, location);
  const modulePath = "../storage/open.ts";
  try {
    const module = (await import(modulePath)) as {
      openStore?: (dest: string) => Promise<BlobStore> | BlobStore;
    };
    if (typeof module.openStore === "function") return await module.openStore(target);
  } catch (error) {
    if ((error as NodeJS.ErrnoException)?.code !== "ERR_MODULE_NOT_FOUND") {
      throw new PipelineError("HBS-INF-007", `cannot open ${location}: ${String(error)}`, { cause: error });
    }
  }
  if (target.startsWith("s3://")) {
    throw new PipelineError("HBS-INF-007", `cannot open ${location}: this build has no S3 backend`, {
      fix: "pass a folder to --ledger / --artifacts",
    });
  }
  return new FsStore(target);
}
