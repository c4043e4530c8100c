/**
 * Room held back on a local store for the records a run must still write when the disk fills up (the
 * state and the run report): a file of incompressible bytes (a filesystem that compresses would store
 * zeros in no space at all), written when a sync starts, deleted at the first ENOSPC/EDQUOT so those
 * records fit in the space it held, and deleted when the run ends either way.
 */
import { randomFillSync } from "node:crypto";
import { open, unlink } from "node:fs/promises";

const CHUNK_BYTES = 1024 * 1024;

/**
 * Writes `bytes` to `path` (replacing it). False when they do not fit (or cannot be written at all):
 * the partial file is removed and the run goes on without a reserve.
 */
export async function writeReserve(path: string, bytes: number): Promise<boolean> {
  const chunk = randomFillSync(Buffer.allocUnsafe(Math.min(CHUNK_BYTES, Math.max(bytes, 1))));
  try {
    const handle = await open(path, "w");
    try {
      for (let left = bytes; left > 0; left -= chunk.length) {
        await handle.write(chunk, 0, Math.min(chunk.length, left));
      }
    } finally {
      await handle.close();
    }
    return true;
  } catch {
    await releaseReserve(path);
    return false;
  }
}

/** Deletes the reserve; absent is fine. */
export async function releaseReserve(path: string): Promise<void> {
  await unlink(path).catch(() => {});
}
