import { hostname } from "node:os";
import type { BlobStore } from "../storage/blob-store.ts";
import { LockHeldError, MirrorError } from "./errors.ts";
import { readText } from "./state.ts";

export const LOCK_KEY = "_sync/lock";
const TAKEOVER_PREFIX = "_sync/lock-takeover/";
export const DEFAULT_LEASE_MS = 10 * 60 * 1000;

export interface LeaseDocument {
  runId: string;
  owner: string;
  expiresAt: string;
}

export interface LockOptions {
  runId: string;
  owner?: string;
  leaseMs?: number;
  now?: () => Date;
}

/** A held lease on `_sync/lock`. Renew it during long runs; release it at the end. */
export interface Lease {
  readonly runId: string;
  readonly owner: string;
  expiresAt(): string;
  /** Extends the lease; throws MirrorError if another run has taken it over. */
  renew(): Promise<void>;
  /** Deletes the lock if it is still ours (a taken-over lock is left alone). */
  release(): Promise<void>;
  /** Renews every leaseMs/3 until release; returns a stop function. */
  keepAlive(onError?: (error: unknown) => void): () => void;
}

export function defaultOwner(): string {
  return `${hostname()}:${process.pid}`;
}

/**
 * Takes the lease with create-if-absent. A held, unexpired lease → LockHeldError (exit 75). An expired
 * lease is taken over: first a create-if-absent claim on `_sync/lock-takeover/<stale runId>` (so of two
 * takers racing for the same stale lease only one proceeds), then delete + create-if-absent.
 */
export async function acquireLock(store: BlobStore, options: LockOptions): Promise<Lease> {
  const now = options.now ?? (() => new Date());
  const leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
  const owner = options.owner ?? defaultOwner();
  let expiresAt = new Date(now().getTime() + leaseMs).toISOString();
  const document = (): string => JSON.stringify({ runId: options.runId, owner, expiresAt });
  let takeoverKey: string | undefined;

  if (!(await store.putIfAbsent(LOCK_KEY, document()))) {
    const holder = await readLease(store);
    if (holder === null) {
      // Released between our attempt and the read: one more try.
      if (!(await store.putIfAbsent(LOCK_KEY, document()))) {
        throw new LockHeldError({ runId: "unknown", owner: "unknown", expiresAt: "unknown" }, LOCK_KEY);
      }
    } else {
      const expiry = Date.parse(holder.expiresAt);
      if (Number.isFinite(expiry) && expiry > now().getTime()) throw new LockHeldError(holder, LOCK_KEY);
      takeoverKey = `${TAKEOVER_PREFIX}${encodeURIComponent(holder.runId)}-${encodeURIComponent(holder.expiresAt)}`;
      if (!(await store.putIfAbsent(takeoverKey, document()))) throw new LockHeldError(holder, LOCK_KEY);
      // The claim names the stale lease we read; a claim released by an earlier taker can be won again,
      // so delete only if the lock still holds that very lease (never a live one taken since).
      const read = await readLock(store);
      const current = read?.lease ?? null;
      if (current !== null && (current.runId !== holder.runId || current.expiresAt !== holder.expiresAt)) {
        await store.delete(takeoverKey);
        throw new LockHeldError(current, LOCK_KEY);
      }
      // Where the store can compare-and-delete, the stale lease goes only if it is still that one.
      if (read?.etag !== undefined && store.deleteIfMatch) {
        if (!(await store.deleteIfMatch(LOCK_KEY, read.etag))) {
          const winner = (await readLease(store)) ?? holder;
          await store.delete(takeoverKey);
          throw new LockHeldError(winner, LOCK_KEY);
        }
      } else await store.delete(LOCK_KEY);
      expiresAt = new Date(now().getTime() + leaseMs).toISOString();
      if (!(await store.putIfAbsent(LOCK_KEY, document()))) {
        const winner = (await readLease(store)) ?? holder;
        throw new LockHeldError(winner, LOCK_KEY);
      }
    }
  }
  // Read back: on a store without conditional writes, the last writer wins; make sure it is us.
  const written = await readLock(store);
  if (written?.lease.runId !== options.runId) {
    throw new LockHeldError(
      written?.lease ?? { runId: "unknown", owner: "unknown", expiresAt: "unknown" },
      LOCK_KEY,
    );
  }

  return leaseHandle(store, {
    runId: options.runId,
    owner,
    leaseMs,
    now,
    expiresAt,
    takeoverKey,
    etag: written.etag,
  });
}

/**
 * The lease that `runId` already holds, picked up by another process that carries on the run (the
 * worker Lambda or the ECS task executing the orchestrator's plan); null when the lock no longer names
 * the run. Renewals and the final release go through the returned handle.
 */
export async function resumeLease(
  store: BlobStore,
  options: { runId: string; owner: string; leaseMs: number; now?: () => Date },
): Promise<Lease | null> {
  const current = await readLock(store);
  if (current?.lease.runId !== options.runId) return null;
  return leaseHandle(store, {
    runId: options.runId,
    owner: options.owner,
    leaseMs: options.leaseMs,
    now: options.now ?? (() => new Date()),
    expiresAt: current.lease.expiresAt,
    etag: current.etag,
  });
}

/** Renew / release / keep-alive for a lease on `_sync/lock` held by `runId`. */
function leaseHandle(
  store: BlobStore,
  held: {
    runId: string;
    owner: string;
    leaseMs: number;
    now: () => Date;
    expiresAt: string;
    /** The takeover claim acquireLock made, deleted on release. */
    takeoverKey?: string | undefined;
    /** The lock's entity tag as this run last wrote it (for compare-and-swap stores). */
    etag?: string | undefined;
  },
): Lease {
  let expiresAt = held.expiresAt;
  let etag = held.etag;
  const lost = (current: LeaseDocument | null): MirrorError =>
    new MirrorError(
      `lost the sync lock: ${current ? `run ${current.runId} (owner ${current.owner}) took it over` : `${LOCK_KEY} was deleted`}`,
      { fix: "another sync may be running; check _sync/lock and re-run later" },
    );
  let timer: NodeJS.Timeout | undefined;
  const stop = (): void => {
    if (timer) clearInterval(timer);
    timer = undefined;
  };
  const lease: Lease = {
    runId: held.runId,
    owner: held.owner,
    expiresAt: () => expiresAt,
    async renew() {
      const next = new Date(held.now().getTime() + held.leaseMs).toISOString();
      const document = JSON.stringify({ runId: held.runId, owner: held.owner, expiresAt: next });
      if (etag !== undefined && store.replaceIfMatch) {
        // Compare-and-swap: the lock is ours exactly while it is the version this run last wrote.
        const written = await store.replaceIfMatch(LOCK_KEY, document, etag);
        if (written === null) throw lost(await readLease(store));
        etag = written;
      } else {
        // Read-then-write (fs): a takeover landing between the two is not seen (it needs a stalled run).
        const current = await readLease(store);
        if (current?.runId !== held.runId) throw lost(current);
        await store.put(LOCK_KEY, document, { contentType: "application/json" });
      }
      expiresAt = next;
    },
    async release() {
      stop();
      if (etag !== undefined && store.deleteIfMatch) await store.deleteIfMatch(LOCK_KEY, etag);
      else if ((await readLease(store))?.runId === held.runId) await store.delete(LOCK_KEY);
      if (held.takeoverKey) await store.delete(held.takeoverKey);
    },
    keepAlive(onError) {
      stop();
      timer = setInterval(
        () => {
          lease.renew().catch((error: unknown) => onError?.(error));
        },
        Math.max(1000, Math.floor(held.leaseMs / 3)),
      );
      timer.unref();
      return stop;
    },
  };
  return lease;
}

/**
 * The current lease and the entity tag of the version read (stat before and after the read agree),
 * or null when there is none.
 */
async function readLock(store: BlobStore): Promise<{ lease: LeaseDocument; etag?: string } | null> {
  for (let attempt = 0; ; attempt++) {
    const before = (await store.stat(LOCK_KEY))?.etag;
    const lease = await readLease(store);
    if (lease === null) return null;
    const after = (await store.stat(LOCK_KEY))?.etag;
    if (before === after) return after === undefined ? { lease } : { lease, etag: after };
    // It kept changing under the read: no etag, so the handle falls back to read-then-write.
    if (attempt >= 2) return { lease };
  }
}

/** The current lease, or null when there is none (an unreadable lock reads as long expired). */
export async function readLease(store: BlobStore): Promise<LeaseDocument | null> {
  const text = await readText(store, LOCK_KEY);
  if (text === null) return null;
  try {
    const value = JSON.parse(text) as Partial<LeaseDocument>;
    return {
      runId: String(value.runId ?? "unknown"),
      owner: String(value.owner ?? "unknown"),
      expiresAt: String(value.expiresAt ?? new Date(0).toISOString()),
    };
  } catch {
    return { runId: "unreadable", owner: "unknown", expiresAt: new Date(0).toISOString() };
  }
}
