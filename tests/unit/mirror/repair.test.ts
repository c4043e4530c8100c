import { describe, expect, it } from "vitest";
import { loadState, saveState } from "../../../src/mirror/state.ts";
import type { SyncOptions } from "../../../src/mirror/sync.ts";
import { verifyMirror } from "../../../src/mirror/verify.ts";
import { fakeUpstream, syncFrom } from "./fake-upstream.ts";
import { type MemoryStore, memoryStore } from "./memory-store.ts";

const BOTTLE = "bottles/openssl@3-1.0.arm64_sequoia.bottle.tar.gz";
const OTHER = "bottles/wget-1.0.x86_64_linux.bottle.tar.gz";
const MANIFEST = "bottles/openssl/3/manifests/1.0";
const API = "api/formula.jws.json";

function sync(
  store: MemoryStore,
  upstream: ReturnType<typeof fakeUpstream>,
  runId: string,
  extra: Partial<SyncOptions> = {},
) {
  return syncFrom(store, upstream, runId, extra);
}

/** Same length, one byte different: the size check passes, only a re-hash can tell. */
function flipByte(store: MemoryStore, key: string): void {
  const object = store.objects.get(key);
  if (!object) throw new Error(`no ${key}`);
  const bytes = Buffer.from(object.bytes);
  bytes[0] = (bytes[0] ?? 0) ^ 0xff;
  store.objects.set(key, { ...object, bytes });
}

describe("mirror/sync repairing damaged objects", () => {
  describe("syncMirror with forget (verify --repair)", () => {
    it("fetches again a flipped bottle, a flipped manifest and a flipped API file; a plain sync keeps them", async () => {
      const upstream = fakeUpstream(["wget", "openssl@3"]);
      const store = memoryStore();
      await sync(store, upstream, "run-1");
      for (const key of [BOTTLE, MANIFEST, API]) flipByte(store, key);
      store.objects.delete(OTHER);

      // The bug this guards against: state says the sha matches, so a re-sync keeps the bad bytes.
      await sync(store, upstream, "plain");
      expect((await verifyMirror({ store })).problems.map((p) => p.key).sort()).toEqual(
        [API, BOTTLE, MANIFEST].sort(),
      );

      const damaged = (await verifyMirror({ store })).problems.map((problem) => problem.key);
      const { report } = await sync(store, upstream, "repair", { forget: damaged });

      expect(report.status).toBe("succeeded");
      expect(report.counts.transferred).toBe(1);
      expect(report.counts.apiPublished).toBe(1);
      const after = await verifyMirror({ store });
      expect(after.problems).toEqual([]);
      expect(after.checked).toBe((await verifyMirror({ store: await fresh(upstream) })).checked);
    });

    it("prunes a damaged object the index no longer names, and only after the run succeeded", async () => {
      const upstream = fakeUpstream(["wget"]);
      const store = memoryStore();
      await sync(store, upstream, "run-1");
      const stale = "bottles/gone-0.1.arm64_sequoia.bottle.tar.gz";
      await store.put(stale, "bad bytes");
      const state = await loadState(store);
      state.entries[stale] = {
        sha256: "0".repeat(64),
        size: "bad bytes".length,
        formula: "gone",
        tag: "arm64_sequoia",
        syncedAt: "2026-01-01T00:00:00Z",
        supersededAt: "2026-03-09T00:00:00Z",
      };
      await saveState(store, state);

      const { report } = await sync(store, upstream, "repair", { forget: [stale] });

      expect(report.status).toBe("succeeded");
      expect(report.counts.pruned).toBe(1);
      expect(store.objects.has(stale)).toBe(false);
      expect((await loadState(store)).entries[stale]).toBeUndefined();
    });
  });

  describe("syncMirror with verifyExisting (sync --verify-existing)", () => {
    it("re-hashes what is recorded and fetches again only what does not match", async () => {
      const upstream = fakeUpstream(["wget", "openssl@3"]);
      const store = memoryStore();
      await sync(store, upstream, "run-1");
      flipByte(store, BOTTLE);
      upstream.blobRequests.length = 0;

      const { report } = await sync(store, upstream, "check", { verifyExisting: true });

      expect(report.status).toBe("succeeded");
      expect(upstream.blobRequests).toEqual([`openssl/3@${upstream.shaOf("openssl@3", "arm64_sequoia")}`]);
      expect((await verifyMirror({ store })).problems).toEqual([]);
    });

    it("writes nothing on a dry run, but plans the damaged bottle again", async () => {
      const upstream = fakeUpstream(["wget", "openssl@3"]);
      const store = memoryStore();
      await sync(store, upstream, "run-1");
      flipByte(store, BOTTLE);
      const writes = store.writes.length;

      const { plan } = await sync(store, upstream, "dry", { verifyExisting: true, dryRun: true });

      expect(plan.transfers.map((transfer) => transfer.key)).toEqual([BOTTLE]);
      expect(store.writes.length).toBe(writes);
    });
  });
});

/** A mirror synced once from scratch: how many objects a healthy one records. */
async function fresh(upstream: ReturnType<typeof fakeUpstream>): Promise<MemoryStore> {
  const store = memoryStore();
  await sync(store, upstream, "fresh");
  return store;
}
