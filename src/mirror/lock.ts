import { hostname } from "node:os";
import type { BlobStore } from "../storage/blob-store.ts";
import { LockHeldError, MirrorError } from "./errors.ts";
import { type HolderState, holderState, type LeaseProcess } from "./lease-process.ts";
import { readText } from "./state.ts";

export { currentProcess, type HolderState, holderState, type LeaseProcess } from "./lease-process.ts";

export const LOCK_KEY = "_sync/lock";
const TAKEOVER_PREFIX = "_sync/lock-takeover/";
export const DEFAULT_LEASE_MS = 10 * 60 * 1000;

export interface LeaseDocument {
  runId: string;
  owner: string;
  expiresAt: string;
  /** The holding process, for runs on a machine (CLI): a run on the same host may see it is gone. */
  process?: LeaseProcess;
}

export interface LockOptions {
  runId: string;
  owner?: string;
  leaseMs?: number;
  now?: () => Date;
  /**
   * Record the holding process (currentProcess()): a later run on the same host then takes the lease
   * over at once when that process is gone. Lambda and ECS leases carry none and expire by time.
   */
  process?: LeaseProcess;
}

/** How a lease was taken from a previous holder (the caller says so). */
export interface Takeover {
  from: LeaseDocument;
  /** `expired at …`, or why the holder is known to be gone. */
  reason: string;
}

/** A held lease on `_sync/lock`. Renew it during long runs; release it at the end. */
export interface Lease {
  readonly runId: string;
  readonly owner: string;
  /** Set when this lease replaced one that had expired or whose process was gone. */
  readonly takenOver?: Takeover;
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
 * Takes the lease with create-if-absent. A held, live lease → LockHeldError (exit 75). A lease that
 * expired, or whose process is gone (same host; see holderState), is taken over: first a
 * create-if-absent claim on `_sync/lock-takeover/<stale runId>` (so of two takers racing for the same
 * stale lease only one proceeds), then delete + create-if-absent.
 */
export async function acquireLock(store: BlobStore, options: LockOptions): Promise<Lease> {
  const now = options.now ?? (() => new Date());
  const leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
  const owner = options.owner ?? defaultOwner();
  let expiresAt = new Date(now().getTime() + leaseMs).toISOString();
  const document = (): string =>
    JSON.stringify({
      runId: options.runId,
      owner,
      expiresAt,
      ...(options.process ? { process: options.process } : {}),
    });
  let takeoverKey: string | undefined;
  let takenOver: Takeover | undefined;

  if (!(await store.putIfAbsent(LOCK_KEY, document()))) {
    const holder = await readLease(store);
    if (holder === null) {
      // Released between our attempt and the read: one more try.
      if (!(await store.putIfAbsent(LOCK_KEY, document()))) {
        throw new LockHeldError({ runId: "unknown", owner: "unknown", expiresAt: "unknown" }, LOCK_KEY);
      }
    } else {
      const status = holderState(holder, now());
      if (status.state === "live") throw new LockHeldError(holder, LOCK_KEY);
      takenOver = { from: holder, reason: status.reason };
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

  const lease = leaseHandle(store, {
    runId: options.runId,
    owner,
    leaseMs,
    now,
    expiresAt,
    takeoverKey,
    etag: written.etag,
    ...(options.process ? { process: options.process } : {}),
  });
  return takenOver ? Object.assign(lease, { takenOver }) : lease;
}

/**
 * The lease that `runId` already holds, picked up by another process that carries on the run (the
 * worker Lambda or the ECS task executing the orchestrator's plan); null when the lock no longer names
 * the run. Renewals and the final release go through the returned handle.
 */
export async function resumeLease(
  store: BlobStore,
  options: {
    runId: string;
    owner: string;
    leaseMs: number;
    now?: () => Date;
    /**
     * One of several processes renewing the same run's lease (the tasks of a sharded run,
     * src/mirror/shards.ts): each renewal compares against the version it just read (another shard
     * may have renewed since), and release only stops the renewals — the run's final step releases.
     */
    shared?: boolean;
  },
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
    ...(options.shared ? { shared: true } : {}),
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
    process?: LeaseProcess;
    shared?: boolean;
  },
): Lease {
  let expiresAt = held.expiresAt;
  let etag = held.etag;
  const lost = (current: LeaseDocument | null): MirrorError =>
    new MirrorError(
      `lost the sync lock: ${current ? `run ${current.runId} (owner ${current.owner}) took it over` : `${LOCK_KEY} was deleted`}`,
      { fix: "another sync may be running; check _sync/lock and re-run later" },
    );
  /**
   * A shared renewal, against the version just read (the run's other shards renew it too). A failed
   * request is tried again twice: with several renewers on one key, a read can meet a write.
   */
  const renewShared = async (document: string): Promise<void> => {
    for (let attempt = 1; ; attempt++) {
      try {
        // readLock looks again at a lock that reads back half-written (another shard's write met).
        const current = await readLock(store);
        if (current?.lease.runId !== held.runId) throw lost(current?.lease ?? null);
        if (current.etag !== undefined && store.replaceIfMatch) {
          if ((await store.replaceIfMatch(LOCK_KEY, document, current.etag)) === null) {
            // Renewed (or taken) in between: still ours while it still names the run.
            const again = (await readLock(store))?.lease ?? null;
            if (again?.runId !== held.runId) throw lost(again);
          }
        } else await store.put(LOCK_KEY, document, { contentType: "application/json" });
        return;
      } catch (error) {
        if (attempt >= 3 || (error instanceof MirrorError && error.message.startsWith("lost the sync lock")))
          throw error;
        await new Promise((done) => setTimeout(done, 100 * attempt));
      }
    }
  };
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
      const document = JSON.stringify({
        runId: held.runId,
        owner: held.owner,
        expiresAt: next,
        ...(held.process ? { process: held.process } : {}),
      });
      if (held.shared) {
        await renewShared(document);
        expiresAt = next;
        return;
      }
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
      if (held.shared) return;
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
  let unreadable = 0;
  for (let attempt = 0; ; attempt++) {
    const before = (await store.stat(LOCK_KEY))?.etag;
    const lease = await readLease(store);
    if (lease === null) return null;
    if (lease.runId === UNREADABLE && unreadable < 2) {
      // Most likely a read that met a write (a store whose overwrites are not atomic, as s3rver's
      // are not: one shard reading while another renews), not a takeover: look again, twice.
      unreadable++;
      attempt--;
      await new Promise((done) => setTimeout(done, 100 * unreadable));
      continue;
    }
    const after = (await store.stat(LOCK_KEY))?.etag;
    if (before === after) return after === undefined ? { lease } : { lease, etag: after };
    // It kept changing under the read: no etag, so the handle falls back to read-then-write.
    if (attempt >= 2) return { lease };
  }
}

/** The runId an unreadable lock reads as. */
const UNREADABLE = "unreadable";

/** The current lease, or null when there is none (an unreadable lock reads as long expired). */
export async function readLease(store: BlobStore): Promise<LeaseDocument | null> {
  const text = await readText(store, LOCK_KEY);
  if (text === null) return null;
  try {
    const value = JSON.parse(text) as Partial<LeaseDocument>;
    const lease: LeaseDocument = {
      runId: String(value.runId ?? "unknown"),
      owner: String(value.owner ?? "unknown"),
      expiresAt: String(value.expiresAt ?? new Date(0).toISOString()),
    };
    const process = value.process as Partial<LeaseProcess> | undefined;
    if (typeof process?.host === "string" && Number.isSafeInteger(process.pid)) {
      lease.process = {
        host: process.host,
        pid: process.pid as number,
        ...(typeof process.startTime === "string" ? { startTime: process.startTime } : {}),
        ...(typeof process.pidSpace === "string" ? { pidSpace: process.pidSpace } : {}),
      };
    }
    return lease;
  } catch {
    return { runId: UNREADABLE, owner: "unknown", expiresAt: new Date(0).toISOString() };
  }
}

/** Refuses with LockHeldError while `holder` is live (a quick read-only look before any work). */
export function assertNotHeld(holder: LeaseDocument | null, now: Date): void {
  if (holder !== null && holderState(holder, now).state === "live") throw new LockHeldError(holder, LOCK_KEY);
}

export interface UnlockResult {
  /** The lease found (null: there was none). */
  holder: LeaseDocument | null;
  state: HolderState | null;
  released: boolean;
}

/**
 * `hbsync unlock`: removes `_sync/lock` after reading who holds it. A holder that still looks alive
 * (unexpired, and not known to be gone) is left alone unless `force`. Where the store can
 * compare-and-delete, only the lease read is deleted (never one a new run took meanwhile).
 */
export async function releaseLock(
  store: BlobStore,
  options: { force?: boolean; now?: () => Date } = {},
): Promise<UnlockResult> {
  const read = await readLock(store);
  if (read === null) return { holder: null, state: null, released: false };
  const state = holderState(read.lease, (options.now ?? (() => new Date()))());
  if (state.state === "live" && !options.force) return { holder: read.lease, state, released: false };
  if (read.etag !== undefined && store.deleteIfMatch) {
    if (!(await store.deleteIfMatch(LOCK_KEY, read.etag))) {
      throw new LockHeldError((await readLease(store)) ?? read.lease, LOCK_KEY);
    }
  } else await store.delete(LOCK_KEY);
  return { holder: read.lease, state, released: true };
}
