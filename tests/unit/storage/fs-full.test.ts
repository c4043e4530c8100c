import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { StorageError, StorageFullError } from "../../../src/storage/errors.ts";
import { FsStore } from "../../../src/storage/fs.ts";
import { type FaultPoint, type FullCode, fsFaults, resetFsFaults } from "../../helpers/fs-faults.ts";

vi.mock("node:fs/promises", async (importOriginal) =>
  (await import("../../helpers/fs-faults.ts")).faultyFs(await importOriginal()),
);
vi.mock("node:fs", async (importOriginal) =>
  (await import("../../helpers/fs-faults.ts")).faultySyncFs(await importOriginal()),
);

// A full disk at each point of a put where the kernel can say so (write, fsync, rename), with the
// errors as Node raises them: the store reports a StorageFullError naming its root, and nothing
// partial is visible (the previous object under the key is untouched, the temp file is gone).
describe("storage/fs on a full disk", () => {
  let parent = "";
  let root = "";
  let store: FsStore;

  beforeEach(async () => {
    parent = await mkdtemp(join(tmpdir(), "hbsync-fs-full-"));
    root = join(parent, "store");
    store = new FsStore(root);
    await store.put("bottles/a.tar.gz", "old bytes");
  });
  afterEach(async () => {
    resetFsFaults();
    await rm(parent, { recursive: true, force: true });
  });

  const cases: [FullCode, FaultPoint][] = [
    ["ENOSPC", "write"],
    ["ENOSPC", "fsync"],
    ["ENOSPC", "rename"],
    ["EDQUOT", "write"],
    ["EDQUOT", "fsync"],
    ["EDQUOT", "rename"],
  ];

  // A streamed put (temp file on the thread pool, fsync'd), and a small deferred one (written with
  // synchronous calls, made durable by the next flush: no fsync of its own).
  const puts: Array<[string, (store: FsStore) => Promise<unknown>]> = [
    [
      "a streamed put",
      (target) => target.put("bottles/a.tar.gz", Readable.from([Buffer.from("new "), Buffer.from("bytes")])),
    ],
    [
      "a small deferred put",
      (target) => target.put("bottles/a.tar.gz", Buffer.from("new bytes"), { deferSync: true }),
    ],
  ];
  const putCases = puts.flatMap(([how, put]) =>
    cases
      .filter(([, point]) => how === "a streamed put" || point !== "fsync")
      .map(([code, point]) => [code, point, how, put] as const),
  );

  describe("FsStore.put", () => {
    it.each(putCases)(
      "%s at %s of %s: a StorageFullError naming the root; the old object stays whole",
      async (code, point, _how, putWith) => {
        fsFaults.code = code;
        fsFaults.failNext[point] = 1;

        const put = putWith(store);

        const error = await put.catch((caught: unknown) => caught);
        expect(fsFaults.raised[point]).toBe(1);
        expect(error).toBeInstanceOf(StorageFullError);
        expect(error).toBeInstanceOf(StorageError);
        expect(error).toMatchObject({ code, location: root, key: "bottles/a.tar.gz" });
        expect((error as Error).message).toBe(
          `cannot store bottles/a.tar.gz: ${code === "ENOSPC" ? "no space left" : "disk quota exceeded"} on ${root} (${code})`,
        );
        expect(((error as Error).cause as NodeJS.ErrnoException).code).toBe(code);
        expect(await readFile(join(root, "bottles/a.tar.gz"), "utf8")).toBe("old bytes");
        expect(await readdir(join(root, ".tmp"))).toEqual([]);
      },
    );

    it("frees what a failed put took: the next put that fits succeeds", async () => {
      fsFaults.quota = fsFaults.used + 1000;

      await expect(store.put("bottles/big.tar.gz", Buffer.alloc(5000, 1))).rejects.toBeInstanceOf(
        StorageFullError,
      );
      await store.put("bottles/small.tar.gz", Buffer.alloc(500, 2));

      expect((await store.stat("bottles/small.tar.gz"))?.size).toBe(500);
      expect(await store.stat("bottles/big.tar.gz")).toBeNull();
    });

    it("other write errors are not a full disk", async () => {
      await expect(store.put("bottles/x", "y", { size: 99 })).rejects.not.toBeInstanceOf(StorageFullError);
    });
  });

  describe("FsStore.flush", () => {
    it("an fsync that finds the disk full is a StorageFullError; the next flush makes the file durable", async () => {
      // Per-file fsyncs (the default on Linux is one `sync -f`, whose failure is a StorageError).
      store = new FsStore(root, { flushMode: "files" });
      fsFaults.failNext.fsync = Number.POSITIVE_INFINITY;
      await store.put("bottles/c.tar.gz", "deferred", { deferSync: true });

      const error = await store.flush().catch((caught: unknown) => caught);
      fsFaults.failNext.fsync = 0;
      const raised = fsFaults.raised.fsync;
      await store.flush();

      expect(error).toBeInstanceOf(StorageFullError);
      expect(error).toMatchObject({ code: "ENOSPC", location: root });
      expect(raised).toBeGreaterThan(0);
      expect(await readFile(join(root, "bottles/c.tar.gz"), "utf8")).toBe("deferred");
    });
  });

  describe("FsStore.putIfAbsent", () => {
    it("a full disk is a StorageFullError; nothing is created", async () => {
      fsFaults.code = "EDQUOT";
      fsFaults.failNext.write = 1;

      await expect(store.putIfAbsent("_sync/lock", "{}")).rejects.toMatchObject({
        name: "StorageFullError",
        code: "EDQUOT",
      });
      expect(await store.stat("_sync/lock")).toBeNull();
    });
  });

  describe("FsStore.reserve", () => {
    it("holds the space until released; one that does not fit leaves nothing behind", async () => {
      const before = fsFaults.used;
      fsFaults.quota = before + 100_000;

      expect(await store.reserve(60_000)).toBe(true);
      expect(fsFaults.used - before).toBe(60_000);
      await expect(store.put("bottles/d.tar.gz", Buffer.alloc(50_000))).rejects.toBeInstanceOf(
        StorageFullError,
      );
      await store.releaseReserve();
      await store.put("bottles/d.tar.gz", Buffer.alloc(50_000));

      expect(await store.reserve(200_000)).toBe(false);
      expect(await readdir(join(root, ".tmp"))).toEqual([]);
    });
  });
});
