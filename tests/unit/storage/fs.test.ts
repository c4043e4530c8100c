import { createHash } from "node:crypto";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { FsStore } from "../../../src/storage/fs.ts";
import { runBlobStoreConformance } from "./conformance.ts";

runBlobStoreConformance("FsStore", async () => {
  const parent = await mkdtemp(join(tmpdir(), "hbsync-fs-"));
  const root = join(parent, "store");
  return {
    store: new FsStore(root),
    // Temp files left in <root>/.tmp, and anything written next to the root (an escaped `../x`).
    leftovers: async () => [
      ...(await readdir(join(root, ".tmp")).catch(() => [])),
      ...(await readdir(parent)).filter((name) => name !== "store"),
    ],
    cleanup: () => rm(parent, { recursive: true, force: true }),
  };
});

describe("storage/fs", () => {
  describe("FsStore.put", () => {
    it("writes a stream of thousands of tiny chunks byte for byte (batches larger than one writev takes)", async () => {
      const parent = await mkdtemp(join(tmpdir(), "hbsync-fs-batch-"));
      try {
        const store = new FsStore(join(parent, "store"));
        // ~2.5 MB in 5,000 chunks of 1–1,000 bytes: a 1 MiB batch holds ~2,000 buffers, more than the
        // 1,024 iovecs one writev syscall accepts (the batch must still land whole and in order).
        const chunks = Array.from({ length: 5000 }, (_, i) => Buffer.alloc(1 + ((i * 7919) % 1000), i % 251));
        const whole = Buffer.concat(chunks);
        const sha256 = createHash("sha256").update(whole).digest("hex");

        const result = await store.put("bottles/tiny.tar.gz", Readable.from(chunks), {
          sha256,
          size: whole.length,
        });

        expect(result).toEqual({ key: "bottles/tiny.tar.gz", size: whole.length, sha256 });
        expect((await readFile(join(parent, "store/bottles/tiny.tar.gz"))).equals(whole)).toBe(true);
      } finally {
        await rm(parent, { recursive: true, force: true });
      }
    });
  });
});
