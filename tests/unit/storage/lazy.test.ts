import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FsStore } from "../../../src/storage/fs.ts";
import { LazyStore } from "../../../src/storage/lazy.ts";
import { casMemoryStore } from "../mirror/memory-store.ts";
import { runBlobStoreConformance } from "./conformance.ts";

// The wrapper openStore puts around S3Store must behave exactly like the store it defers to.
runBlobStoreConformance("LazyStore(FsStore)", async () => {
  const parent = await mkdtemp(join(tmpdir(), "hbsync-lazy-"));
  const root = join(parent, "store");
  return {
    store: new LazyStore(root, async () => new FsStore(root)),
    leftovers: async () => [
      ...(await readdir(join(root, ".tmp")).catch(() => [])),
      ...(await readdir(parent)).filter((name) => name !== "store"),
    ],
    cleanup: () => rm(parent, { recursive: true, force: true }),
  };
});

describe("storage/lazy", () => {
  describe("LazyStore", () => {
    it("loads its backend once, on first use, and not at all when only closed", async () => {
      let loads = 0;
      const root = await mkdtemp(join(tmpdir(), "hbsync-lazy-once-"));
      const store = new LazyStore(root, async () => {
        loads += 1;
        return new FsStore(root);
      });

      await store.close();
      expect(loads).toBe(0);
      await Promise.all([store.stat("a"), store.stat("b"), store.put("c", "x")]);

      expect(loads).toBe(1);
      await rm(root, { recursive: true, force: true });
    });

    it("passes compare-and-swap through when declared, and offers none when not", async () => {
      const backend = casMemoryStore({ "_sync/lock": "v1" });
      const store = new LazyStore("memory://cas", async () => backend, { compareAndSwap: true });
      const etag = (await store.stat("_sync/lock"))?.etag ?? "";

      expect(await store.replaceIfMatch?.("_sync/lock", "v2", '"stale"')).toBeNull();
      const next = await store.replaceIfMatch?.("_sync/lock", "v2", etag);
      expect(next).toEqual(expect.any(String));
      expect(await store.deleteIfMatch?.("_sync/lock", etag)).toBe(false);
      expect(await store.deleteIfMatch?.("_sync/lock", next ?? "")).toBe(true);
      expect(backend.objects.has("_sync/lock")).toBe(false);
      expect(new LazyStore("memory://plain", async () => backend).replaceIfMatch).toBeUndefined();
    });

    it("forwards flush to a backend that has one", async () => {
      let flushed = 0;
      const backend = casMemoryStore();
      backend.flush = async () => {
        flushed++;
      };
      await new LazyStore("memory://flush", async () => backend).flush();
      expect(flushed).toBe(1);
    });
  });
});
