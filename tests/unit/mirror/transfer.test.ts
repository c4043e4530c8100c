import { describe, expect, it } from "vitest";
import type { PlannedTransfer } from "../../../src/mirror/plan.ts";
import { transferBottle } from "../../../src/mirror/transfer.ts";
import { fakeUpstream, instantRetry } from "./fake-upstream.ts";
import { memoryStore } from "./memory-store.ts";

const KEY = "bottles/wget-1.0.arm64_sequoia.bottle.tar.gz";

function planned(upstream: ReturnType<typeof fakeUpstream>): PlannedTransfer {
  const sha256 = upstream.shaOf("wget", "arm64_sequoia");
  return {
    formula: "wget",
    pkgVersion: "1.0",
    tag: "arm64_sequoia",
    rebuild: 0,
    sha256,
    image: "wget",
    versionRebuild: "1.0",
    key: KEY,
    manifestKey: "bottles/wget/manifests/1.0",
    size: upstream.bytes.get(sha256)?.length ?? 0,
  };
}

describe("mirror/transfer", () => {
  describe("transferBottle", () => {
    it("puts a bottle the listing did not show with ifAbsent (S3: If-None-Match, one version per bottle)", async () => {
      const upstream = fakeUpstream(["wget"]);
      const store = memoryStore();

      const result = await transferBottle(planned(upstream), {
        store,
        registry: upstream.registry,
        absent: true,
        retry: instantRetry(),
      });

      expect(result).toMatchObject({ key: KEY, adopted: false, attempts: 1 });
      expect(store.putOptions.get(KEY)).toMatchObject({ ifAbsent: true, deferSync: true });
    });

    it("also puts with ifAbsent when its own stat finds nothing", async () => {
      const upstream = fakeUpstream(["wget"]);
      const store = memoryStore();

      await transferBottle(planned(upstream), { store, registry: upstream.registry, retry: instantRetry() });

      expect(store.putOptions.get(KEY)?.ifAbsent).toBe(true);
    });

    it("replaces an object that fails the adopt check without ifAbsent, so the repair can overwrite it", async () => {
      const upstream = fakeUpstream(["wget"]);
      const ref = planned(upstream);
      const good = upstream.bytes.get(ref.sha256) ?? Buffer.alloc(0);
      const damaged = Buffer.from(good);
      damaged[0] = (damaged[0] ?? 0) ^ 0xff;
      const store = memoryStore({ [KEY]: damaged });

      const result = await transferBottle(ref, { store, registry: upstream.registry, retry: instantRetry() });

      expect(result.adopted).toBe(false);
      expect(store.putOptions.get(KEY)?.ifAbsent).toBeUndefined();
      expect(store.objects.get(KEY)?.bytes.equals(good)).toBe(true);
    });

    it("adopts an object with the right bytes and downloads nothing", async () => {
      const upstream = fakeUpstream(["wget"]);
      const ref = planned(upstream);
      const store = memoryStore({ [KEY]: upstream.bytes.get(ref.sha256) ?? "" });

      const result = await transferBottle(ref, { store, registry: upstream.registry, retry: instantRetry() });

      expect(result).toMatchObject({ adopted: true, attempts: 0 });
      expect(upstream.blobRequests).toEqual([]);
      expect(store.writes).toEqual([]);
    });
  });
});
