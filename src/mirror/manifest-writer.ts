import type { BlobStore } from "../storage/blob-store.ts";
import type { PlannedManifest } from "./plan.ts";
import { type StoredPlan, toRunError } from "./prepare.ts";
import type { RunError } from "./report.ts";
import type { MirrorState } from "./state.ts";
import { type FetchedManifest, storeManifest } from "./transfer.ts";

/**
 * The executor's bookkeeping for manifests: which were fetched, which failed, and how many of each
 * one's bottles are still in transfer. A manifest is stored as soon as every bottle it describes is in
 * the store (so manifests land while other transfers run), and never twice.
 */
export class ManifestWriter {
  private readonly fetched: Map<string, FetchedManifest>;
  private readonly failed: Set<string>;
  private readonly stored = new Set<string>();
  private readonly byKey: Map<string, PlannedManifest>;
  /** Bottle key → the key of the manifest that describes it. */
  private readonly manifestOf = new Map<string, string>();
  /** Manifest key → bottles of it still in transfer. */
  private readonly waitingOn = new Map<string, number>();
  /** Manifest writes started by bottleStoredInBackground and not ended. */
  private readonly inFlight = new Set<Promise<void>>();
  /** Manifest key → transfers waiting (sizeOf) for it to be read, or to fail. */
  private readonly waiting = new Map<string, Array<() => void>>();
  private readsOver = false;

  constructor(
    private readonly plan: StoredPlan,
    fetched: ReadonlyMap<string, FetchedManifest>,
    private readonly record: {
      store: BlobStore;
      manifests: NonNullable<MirrorState["manifests"]>;
      now: () => Date;
      onStored: () => void;
      /** A manifest could not be read or stored: the report's entry, and the error itself. */
      onError: (error: RunError, cause: unknown) => void;
    },
  ) {
    this.fetched = new Map(fetched);
    this.failed = new Set(plan.manifestErrors.map((error) => error.key));
    this.byKey = new Map(plan.manifests.map((manifest) => [manifest.key, manifest]));
    const transferring = new Set(plan.transfers.map((ref) => ref.key));
    for (const manifest of plan.manifests) {
      for (const bottle of manifest.bottles) this.manifestOf.set(bottle.key, manifest.key);
      this.waitingOn.set(manifest.key, manifest.bottles.filter((b) => transferring.has(b.key)).length);
    }
  }

  /** Manifests the run needs and has neither read nor failed to read. */
  missing(): PlannedManifest[] {
    return this.plan.manifests.filter((m) => !this.fetched.has(m.key) && !this.failed.has(m.key));
  }

  /**
   * A manifest was read. Reads run beside the transfers: when every bottle it describes is already in
   * the store (kept, or transferred before the read ended), it is stored now, in the background (see
   * bottleStoredInBackground).
   */
  async fetchedOne(key: string, manifest: FetchedManifest): Promise<void> {
    this.fetched.set(key, manifest);
    this.wake(key);
    const planned = this.byKey.get(key);
    if (planned === undefined || (this.waitingOn.get(key) ?? 0) > 0) return;
    await this.inBackground(() => this.store(planned));
  }

  /**
   * The size the manifest gives a bottle (a put needs it: S3's single PUT, a small put in memory):
   * at once when it was read (or cannot be), else once its read ends. Undefined when the manifest
   * failed, names no size, or is not the run's to read (`readsEnded`).
   */
  async sizeOf(bottleKey: string): Promise<number | undefined> {
    const manifestKey = this.manifestOf.get(bottleKey);
    const planned = manifestKey === undefined ? undefined : this.byKey.get(manifestKey);
    if (manifestKey === undefined || planned === undefined) return undefined;
    if (!this.fetched.has(manifestKey) && !this.failed.has(manifestKey) && !this.readsOver) {
      await new Promise<void>((resolve) => {
        const list = this.waiting.get(manifestKey) ?? [];
        list.push(resolve);
        this.waiting.set(manifestKey, list);
      });
    }
    const tag = planned.bottles.find((bottle) => bottle.key === bottleKey)?.tag;
    return tag === undefined ? undefined : this.fetched.get(manifestKey)?.sizes.get(tag);
  }

  /** No more manifest will be read (all were, or the run stopped): nothing waits any longer. */
  readsEnded(): void {
    this.readsOver = true;
    for (const key of [...this.waiting.keys()]) this.wake(key);
  }

  private wake(key: string): void {
    const waiters = this.waiting.get(key);
    this.waiting.delete(key);
    for (const resolve of waiters ?? []) resolve();
  }

  fetchFailed(key: string, error: unknown): void {
    this.failed.add(key);
    this.wake(key);
    this.record.onError(toRunError(key, error), error);
  }

  /** A bottle is in the store: stores its manifest if that was the last bottle it waited for. */
  async bottleStored(bottleKey: string): Promise<void> {
    const manifestKey = this.manifestOf.get(bottleKey);
    if (manifestKey === undefined) return;
    const left = (this.waitingOn.get(manifestKey) ?? 1) - 1;
    this.waitingOn.set(manifestKey, left);
    const manifest = this.byKey.get(manifestKey);
    if (left === 0 && manifest) await this.store(manifest);
  }

  /**
   * bottleStored without holding the caller (a transfer slot) while the manifest is written: the write
   * runs beside the next transfers, at most `concurrency.transfers` at a time (the caller waits only for
   * a free place). `settled()` waits for them all, before anything (state, API) may name what they write.
   */
  async bottleStoredInBackground(bottleKey: string): Promise<void> {
    await this.inBackground(() => this.bottleStored(bottleKey));
  }

  /** Starts `write` (which never rejects: store() reports its failures) once a place is free. */
  private async inBackground(write: () => Promise<void>): Promise<void> {
    const limit = Math.max(1, this.plan.settings.concurrency.transfers);
    while (this.inFlight.size >= limit) await Promise.race(this.inFlight);
    const writing = write();
    this.inFlight.add(writing);
    const done = (): void => {
      this.inFlight.delete(writing);
    };
    writing.then(done, done);
  }

  /** Every manifest write started by bottleStoredInBackground has ended. */
  async settled(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all(this.inFlight);
  }

  /** Manifests not stored yet whose bottles all made it (kept ones, or none transferred). */
  notStoredWithout(failedBottles: ReadonlySet<string>): PlannedManifest[] {
    return this.plan.manifests.filter(
      (m) => !this.stored.has(m.key) && m.bottles.every((bottle) => !failedBottles.has(bottle.key)),
    );
  }

  /** Stores one manifest's raw bytes and records it in the state; a failure is a run error. */
  async store(manifest: PlannedManifest): Promise<void> {
    const fetched = this.fetched.get(manifest.key);
    if (!fetched || this.stored.has(manifest.key) || this.failed.has(manifest.key)) return;
    this.stored.add(manifest.key);
    try {
      await storeManifest(this.record.store, fetched);
    } catch (error) {
      this.stored.delete(manifest.key);
      this.failed.add(manifest.key);
      this.record.onError(toRunError(manifest.key, error), error);
      return;
    }
    this.record.manifests[manifest.key] = {
      sha256: fetched.sha256,
      size: fetched.raw.byteLength,
      formula: manifest.formula,
      tag: "manifest",
      syncedAt: this.record.now().toISOString(),
    };
    this.record.onStored();
  }
}
