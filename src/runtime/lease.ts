import { MirrorError } from "../mirror/errors.ts";
import { type Lease, LOCK_KEY, readLease } from "../mirror/lock.ts";
import type { BlobStore } from "../storage/blob-store.ts";

/**
 * The lease the orchestrator took for `runId`, picked up by the worker Lambda or the ECS task that
 * executes the run (a different process): renewals and the final release go through this handle.
 * `renew()` refuses (MirrorError) when the lock no longer names the run — it expired and another run
 * took it over, so this run must stop without writing.
 *
 * (src/mirror/lock.ts has no "resume a lease held by runId" entry point; this is the runtime's version.)
 */
export async function resumeLease(
  store: BlobStore,
  options: { runId: string; owner: string; leaseMs: number; now?: () => Date },
): Promise<Lease | null> {
  const now = options.now ?? (() => new Date());
  const current = await readLease(store);
  if (current?.runId !== options.runId) return null;
  let expiresAt = current.expiresAt;
  let timer: NodeJS.Timeout | undefined;
  const stop = (): void => {
    if (timer) clearInterval(timer);
    timer = undefined;
  };
  const lease: Lease = {
    runId: options.runId,
    owner: options.owner,
    expiresAt: () => expiresAt,
    async renew() {
      const holder = await readLease(store);
      if (holder?.runId !== options.runId) {
        throw new MirrorError(
          `lost the sync lock: ${holder ? `run ${holder.runId} (owner ${holder.owner}) took it over` : `${LOCK_KEY} was deleted`}`,
          { fix: "another sync may be running; check _sync/lock and re-run later" },
        );
      }
      expiresAt = new Date(now().getTime() + options.leaseMs).toISOString();
      const document = JSON.stringify({ runId: options.runId, owner: options.owner, expiresAt });
      await store.put(LOCK_KEY, document, { contentType: "application/json" });
    },
    async release() {
      stop();
      const holder = await readLease(store);
      if (holder?.runId === options.runId) await store.delete(LOCK_KEY);
    },
    keepAlive(onError) {
      stop();
      timer = setInterval(
        () => {
          lease.renew().catch((error: unknown) => onError?.(error));
        },
        Math.max(1000, Math.floor(options.leaseMs / 3)),
      );
      timer.unref();
      return stop;
    },
  };
  return lease;
}
