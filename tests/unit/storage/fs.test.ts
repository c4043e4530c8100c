import { createHash } from "node:crypto";
import { mkdtemp, open, readdir, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { afterEach, describe, expect, it, vi } from "vitest";
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

  describe("FsStore.flush", () => {
    afterEach(() => {
      vi.restoreAllMocks();
    });

    /**
     * Paths fsynced through FileHandle.sync (the store's only way to reach the disk), recorded when
     * each fsync completes; every fsync first waits for `gate` (default: open).
     */
    async function watchSyncs(parent: string, gate: Promise<void> = Promise.resolve()): Promise<string[]> {
      const probe = await open(join(parent, "probe"), "w");
      const prototype = Object.getPrototypeOf(probe) as { sync(): Promise<void> };
      await probe.close();
      const synced: string[] = [];
      const original = prototype.sync;
      vi.spyOn(prototype, "sync").mockImplementation(async function (this: { fd: number }) {
        const path = await readlinkFd(this.fd);
        await gate;
        await original.call(this);
        synced.push(path);
      });
      return synced;
    }

    it("fsyncs a put file and its folder before put returns", async () => {
      const parent = await mkdtemp(join(tmpdir(), "hbsync-fs-flush-"));
      try {
        const store = new FsStore(join(parent, "store"));
        const synced = await watchSyncs(parent);

        await store.put("bottles/a.tar.gz", "a");

        expect(synced).toContain(join(parent, "store/bottles"));
        expect(synced.some((path) => path.startsWith(join(parent, "store/.tmp/")))).toBe(true);
      } finally {
        await rm(parent, { recursive: true, force: true });
      }
    });

    it("fsyncs deferSync files in the background as they land, before anyone calls flush()", async () => {
      const parent = await mkdtemp(join(tmpdir(), "hbsync-fs-flush-"));
      try {
        const store = new FsStore(join(parent, "store"));
        const synced = await watchSyncs(parent);

        await store.put("bottles/a.tar.gz", "a", { deferSync: true });

        await vi.waitFor(() => expect(synced).toContain(join(parent, "store/bottles/a.tar.gz")));
        expect(synced).not.toContain(join(parent, "store/bottles")); // the folder waits for flush()
      } finally {
        await rm(parent, { recursive: true, force: true });
      }
    });

    it("with deferSync returns before the fsync, which flush() waits for (file and folder)", async () => {
      const parent = await mkdtemp(join(tmpdir(), "hbsync-fs-flush-"));
      try {
        const store = new FsStore(join(parent, "store"));
        // Every fsync waits at this gate: a put that waited for one would never return.
        let openGate = (): void => {};
        const gate = new Promise<void>((resolve) => {
          openGate = resolve;
        });
        const synced = await watchSyncs(parent, gate);

        await store.put("bottles/a.tar.gz", "a", { deferSync: true });
        await store.put("bottles/b.tar.gz", "b", { deferSync: true });
        await store.put("bottles/gone.tar.gz", "c", { deferSync: true });
        await store.delete("bottles/gone.tar.gz");
        expect(await readFile(join(parent, "store/bottles/a.tar.gz"), "utf8")).toBe("a");

        let flushed = false;
        const flushing = store.flush().then(() => {
          flushed = true;
        });
        await new Promise((resolve) => setTimeout(resolve, 50));
        expect(flushed).toBe(false);
        openGate();
        await flushing;
        expect([...new Set(synced)].sort()).toEqual(
          [
            join(parent, "store/bottles"),
            join(parent, "store/bottles/a.tar.gz"),
            join(parent, "store/bottles/b.tar.gz"),
          ].sort(),
        );
        synced.length = 0;
        await store.flush();
        expect(synced).toEqual([]);
      } finally {
        await rm(parent, { recursive: true, force: true });
      }
    });
  });
});

/** The path an open file descriptor refers to (Linux /proc). */
async function readlinkFd(fd: number): Promise<string> {
  const { readlink } = await import("node:fs/promises");
  return readlink(`/proc/self/fd/${fd}`);
}

describe("storage/fs copy", () => {
  const body = "bottle bytes stored once";
  const expected = { sha256: createHash("sha256").update(body).digest("hex"), size: Buffer.byteLength(body) };
  const source = "bottles/a-1.0.x86_64_linux.bottle.tar.gz";
  const target = `v2/homebrew/core/a/blobs/sha256:${expected.sha256}`;

  it("hard-links: both keys name one file (one inode, two links), so the bytes are stored once", async () => {
    const parent = await mkdtemp(join(tmpdir(), "hbsync-fs-link-"));
    try {
      const root = join(parent, "store");
      const store = new FsStore(root);
      await store.put(source, body, expected);
      expect(await store.copy(source, target, expected)).toBe("link");
      const [a, b] = await Promise.all([stat(join(root, source)), stat(join(root, target))]);
      expect(b.ino).toBe(a.ino);
      expect(a.nlink).toBe(2);
    } finally {
      await rm(parent, { recursive: true, force: true });
    }
  });

  it("copies, verified, where the filesystem has no hard links (two files, same bytes)", async () => {
    const parent = await mkdtemp(join(tmpdir(), "hbsync-fs-nolink-"));
    try {
      const root = join(parent, "store");
      const store = new FsStore(root, { hardLinks: false });
      await store.put(source, body, expected);
      expect(await store.copy(source, target, expected)).toBe("copy");
      const [a, b] = await Promise.all([stat(join(root, source)), stat(join(root, target))]);
      expect(b.ino).not.toBe(a.ino);
      expect(await readFile(join(root, target), "utf8")).toBe(body);
      // The copy is a put: bytes that do not match the sha256 are refused and nothing is stored.
      const other = "x".repeat(expected.size);
      await store.put(source, other);
      const elsewhere = `v2/homebrew/core/a/blobs/sha256:${"0".repeat(64)}`;
      await expect(store.copy(source, elsewhere, expected)).rejects.toThrow(/sha256 differs/);
      expect(await store.stat(elsewhere)).toBeNull();
      expect(await readdir(join(root, ".tmp"))).toEqual([]);
    } finally {
      await rm(parent, { recursive: true, force: true });
    }
  });
});
