import { createHash } from "node:crypto";
import { chmod, mkdtemp, open, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { afterEach, describe, expect, it, vi } from "vitest";
import { StorageError, StorageFullError } from "../../../src/storage/errors.ts";
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

  // A deferSync put of a known size up to 256 KiB (a manifest, a small bottle) reads its stream into
  // memory with listeners of its own, not stream.pipeline: each way the body can go wrong is its own.
  describe("FsStore.put of a small streamed body (deferSync)", () => {
    const parts = [Buffer.alloc(9000, 1), Buffer.alloc(7384, 2)];
    const whole = Buffer.concat(parts);
    const digest = createHash("sha256").update(whole).digest("hex");
    const expected = { sha256: digest, size: whole.length, deferSync: true };

    async function withStore(run: (store: FsStore, root: string) => Promise<void>): Promise<void> {
      const parent = await mkdtemp(join(tmpdir(), "hbsync-fs-small-"));
      try {
        await run(new FsStore(join(parent, "store")), join(parent, "store"));
      } finally {
        await rm(parent, { recursive: true, force: true });
      }
    }
    const nothingStored = async (store: FsStore, root: string): Promise<void> => {
      expect(await store.stat("bottles/s.tar.gz")).toBeNull();
      expect(await readdir(join(root, ".tmp")).catch(() => [])).toEqual([]);
    };

    it("stores the body byte for byte", async () => {
      await withStore(async (store, root) => {
        const result = await store.put("bottles/s.tar.gz", Readable.from(parts), expected);
        expect(result).toEqual({ key: "bottles/s.tar.gz", size: whole.length, sha256: digest });
        expect((await readFile(join(root, "bottles/s.tar.gz"))).equals(whole)).toBe(true);
      });
    });

    it("refuses another digest, or a body longer or shorter than its size (the long one is stopped)", async () => {
      await withStore(async (store, root) => {
        await expect(
          store.put("bottles/s.tar.gz", Readable.from([Buffer.alloc(whole.length, 3)]), expected),
        ).rejects.toMatchObject({ name: "IntegrityError", field: "sha256" });
        // Endless: only the put's destroy ends it.
        const long = new Readable({
          read() {
            this.push(Buffer.alloc(4096));
          },
        });
        await expect(store.put("bottles/s.tar.gz", long, expected)).rejects.toMatchObject({
          name: "IntegrityError",
          field: "size",
        });
        expect(long.destroyed).toBe(true);
        await expect(
          store.put("bottles/s.tar.gz", Readable.from(parts.slice(0, 1)), expected),
        ).rejects.toMatchObject({ name: "IntegrityError", field: "size" });
        await nothingStored(store, root);
      });
    });

    it("rejects with the body's error when it fails midway, and stores nothing", async () => {
      await withStore(async (store, root) => {
        async function* failing(): AsyncGenerator<Buffer> {
          yield parts[0] as Buffer;
          throw new Error("connection reset");
        }
        await expect(store.put("bottles/s.tar.gz", Readable.from(failing()), expected)).rejects.toThrow(
          "connection reset",
        );
        await nothingStored(store, root);
      });
    });

    it("rejects a body that closes before its end without an error, or was destroyed before the put", async () => {
      await withStore(async (store, root) => {
        // Its first part, then a close with no error and no end.
        let sent = false;
        const cut = new Readable({
          read() {
            if (sent) this.destroy();
            else this.push(parts[0]);
            sent = true;
          },
        });
        await expect(store.put("bottles/s.tar.gz", cut, expected)).rejects.toThrow(
          "the body of bottles/s.tar.gz closed before its end",
        );
        const gone = Readable.from(parts);
        gone.destroy();
        await expect(store.put("bottles/s.tar.gz", gone, expected)).rejects.toThrow(
          "the body of bottles/s.tar.gz was destroyed before it was read",
        );
        await nothingStored(store, root);
      });
    });
  });

  describe("FsStore.flush", () => {
    afterEach(() => {
      vi.restoreAllMocks();
    });

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
        const store = new FsStore(join(parent, "store"), { flushMode: "files" });
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
        const store = new FsStore(join(parent, "store"), { flushMode: "files" });
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

    it("a second flush() waits for the one in progress (whose files it may also have put)", async () => {
      const parent = await mkdtemp(join(tmpdir(), "hbsync-fs-flush-"));
      try {
        const store = new FsStore(join(parent, "store"), { flushMode: "files", backgroundSyncMinBytes: 1e9 });
        let openGate = (): void => {};
        const gate = new Promise<void>((resolve) => {
          openGate = resolve;
        });
        const synced = await watchSyncs(parent, gate);
        await store.put("bottles/a.tar.gz", "a", { deferSync: true });

        const first = store.flush();
        let secondDone = false;
        const second = store.flush().then(() => {
          secondDone = true;
        });
        await new Promise((resolve) => setTimeout(resolve, 50));
        // The first took a.tar.gz; the second has nothing of its own, yet must not return before it is on disk.
        expect(secondDone).toBe(false);
        openGate();
        await Promise.all([first, second]);
        expect(synced).toContain(join(parent, "store/bottles/a.tar.gz"));
      } finally {
        await rm(parent, { recursive: true, force: true });
      }
    });
  });

  describe("FsStore.flush with syncfs", () => {
    const savedPath = process.env.PATH;
    afterEach(() => {
      process.env.PATH = savedPath;
      vi.restoreAllMocks();
    });

    /** A `sync` first on PATH running `script` (sh) after logging its arguments to <bin>/calls. */
    async function fakeSync(parent: string, script: string): Promise<() => Promise<string[]>> {
      const bin = join(parent, "bin");
      await import("node:fs/promises").then((fs) => fs.mkdir(bin));
      const log = join(bin, "calls");
      await writeFile(join(bin, "sync"), `#!/bin/sh\necho "$*" >> '${log}'\n${script}\n`);
      await chmod(join(bin, "sync"), 0o755);
      process.env.PATH = `${bin}:${savedPath}`;
      return async () => (await readFile(log, "utf8").catch(() => "")).split("\n").filter(Boolean);
    }

    it("makes deferred puts durable with one `sync -f <root>` and waits for it", async () => {
      const parent = await mkdtemp(join(tmpdir(), "hbsync-fs-syncfs-"));
      try {
        const gate = join(parent, "gate");
        const calls = await fakeSync(
          parent,
          `while [ ! -f '${gate}' ]; do sleep 0.02; done\nexec /usr/bin/env -u PATH /bin/sync "$@"`,
        );
        const store = new FsStore(join(parent, "store"), { flushMode: "syncfs" });
        const synced = await watchSyncs(parent);
        for (let i = 0; i < 20; i++)
          await store.put(`bottles/b${i}.tar.gz`, `bottle ${i}`, { deferSync: true });
        await store.put("bottles/x/manifests/1.0", "{}", { deferSync: true });

        let flushed = false;
        const flushing = store.flush().then(() => {
          flushed = true;
        });
        await vi.waitFor(async () => expect(await calls()).toEqual([`-f ${join(parent, "store")}`]));
        await new Promise((resolve) => setTimeout(resolve, 50));
        expect(flushed).toBe(false);
        await writeFile(gate, "");
        await flushing;
        // One call for the filesystem, no fsync per small file or folder.
        expect(synced).toEqual([]);
        await store.flush();
        expect(await calls()).toHaveLength(1);
      } finally {
        await rm(parent, { recursive: true, force: true });
      }
    });

    it("a failing `sync -f` is a StorageError, and the next flush tries again", async () => {
      const parent = await mkdtemp(join(tmpdir(), "hbsync-fs-syncfs-"));
      try {
        const calls = await fakeSync(
          parent,
          `echo "sync: error syncing '$2': Input/output error" >&2\nexit 1`,
        );
        const store = new FsStore(join(parent, "store"), { flushMode: "syncfs" });
        await store.put("bottles/a.tar.gz", "a", { deferSync: true });

        const error = await store.flush().catch((caught: unknown) => caught);
        expect(error).toBeInstanceOf(StorageError);
        expect((error as Error).message).toMatch(/could not flush .* Input\/output error/);
        await expect(store.flush()).rejects.toBeInstanceOf(StorageError);
        expect(await calls()).toHaveLength(2);
      } finally {
        await rm(parent, { recursive: true, force: true });
      }
    });

    it.each([
      ["ENOSPC", "No space left on device"],
      ["EDQUOT", "Disk quota exceeded"],
    ])("a `sync -f` that fails with %s is a StorageFullError naming the store", async (code, words) => {
      const parent = await mkdtemp(join(tmpdir(), "hbsync-fs-syncfs-"));
      try {
        await fakeSync(parent, `echo "sync: error syncing '$2': ${words}" >&2\nexit 1`);
        const root = join(parent, "store");
        const store = new FsStore(root, { flushMode: "syncfs" });
        await store.put("bottles/a.tar.gz", "a", { deferSync: true });

        const error = await store.flush().catch((caught: unknown) => caught);

        expect(error).toBeInstanceOf(StorageFullError);
        expect(error).toMatchObject({ code, location: root });
        // Still unflushed: the next flush tries again.
        await expect(store.flush()).rejects.toBeInstanceOf(StorageFullError);
      } finally {
        await rm(parent, { recursive: true, force: true });
      }
    });

    it("where `sync` has no -f, fsyncs each file and folder instead", async () => {
      const parent = await mkdtemp(join(tmpdir(), "hbsync-fs-syncfs-"));
      try {
        await fakeSync(parent, `echo "sync: invalid option -- 'f'" >&2\nexit 1`);
        const store = new FsStore(join(parent, "store"), { flushMode: "syncfs" });
        const synced = await watchSyncs(parent);
        await store.put("bottles/a.tar.gz", "a", { deferSync: true });

        await store.flush();

        expect([...new Set(synced)].sort()).toEqual(
          [join(parent, "store/bottles"), join(parent, "store/bottles/a.tar.gz")].sort(),
        );
      } finally {
        await rm(parent, { recursive: true, force: true });
      }
    });

    it("fsyncs large deferred files in the background, small ones only at the flush", async () => {
      const parent = await mkdtemp(join(tmpdir(), "hbsync-fs-syncfs-"));
      try {
        await fakeSync(parent, 'exec /bin/sync "$@"');
        const store = new FsStore(join(parent, "store"), {
          flushMode: "syncfs",
          backgroundSyncMinBytes: 1000,
        });
        const synced = await watchSyncs(parent);
        await store.put("bottles/large.tar.gz", Buffer.alloc(1000, 1), { deferSync: true });
        await store.put("bottles/small.tar.gz", Buffer.alloc(999, 1), { deferSync: true });

        await vi.waitFor(() => expect(synced).toContain(join(parent, "store/bottles/large.tar.gz")));
        await store.flush();
        expect(synced).not.toContain(join(parent, "store/bottles/small.tar.gz"));
      } finally {
        await rm(parent, { recursive: true, force: true });
      }
    });
  });

  describe("FsStore folders", () => {
    it("creates a remembered folder again when it was removed since", async () => {
      const parent = await mkdtemp(join(tmpdir(), "hbsync-fs-dirs-"));
      try {
        const store = new FsStore(join(parent, "store"));
        await store.put("bottles/x/manifests/1.0", "one");
        await rm(join(parent, "store/bottles/x"), { recursive: true });

        await store.put("bottles/x/manifests/2.0", "two");

        expect(await readFile(join(parent, "store/bottles/x/manifests/2.0"), "utf8")).toBe("two");
        expect((await stat(join(parent, "store/bottles/x/manifests"))).isDirectory()).toBe(true);
      } finally {
        await rm(parent, { recursive: true, force: true });
      }
    });
  });
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
