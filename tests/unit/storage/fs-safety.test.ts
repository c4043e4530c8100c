/** FsStore behaviour beyond the conformance suite: symlinks planted in the tree, stale temp files. */
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { InvalidKeyError } from "../../../src/storage/errors.ts";
import { FsStore } from "../../../src/storage/fs.ts";

describe("storage/fs", () => {
  let parent: string;
  let root: string;
  let outside: string;

  beforeEach(async () => {
    parent = await mkdtemp(join(tmpdir(), "hbsync-fs-safety-"));
    root = join(parent, "mirror");
    outside = join(parent, "outside");
    await mkdir(root);
    await mkdir(outside);
    await writeFile(join(outside, "secret"), "do not read");
  });
  afterEach(() => rm(parent, { recursive: true, force: true }));

  describe("FsStore", () => {
    it("refuses to write, read or delete through a symlinked folder that leads outside the root", async () => {
      await symlink(outside, join(root, "bottles"));
      const store = new FsStore(root);

      await expect(store.put("bottles/evil.tar.gz", "x")).rejects.toBeInstanceOf(InvalidKeyError);
      await expect(store.putIfAbsent("bottles/evil", "x")).rejects.toBeInstanceOf(InvalidKeyError);
      await expect(store.get("bottles/secret")).rejects.toBeInstanceOf(InvalidKeyError);
      await expect(store.stat("bottles/secret")).rejects.toBeInstanceOf(InvalidKeyError);
      await expect(store.delete("bottles/secret")).rejects.toBeInstanceOf(InvalidKeyError);

      expect(await readdir(outside)).toEqual(["secret"]);
      expect(await readFile(join(outside, "secret"), "utf8")).toBe("do not read");
      const listed: string[] = [];
      for await (const entry of store.list("")) listed.push(entry.key);
      expect(listed).toEqual([]);
    });

    it("checks each new folder once it exists: a symlink under a folder already written to is refused", async () => {
      const store = new FsStore(root);
      await store.put("bottles/ok.tar.gz", "fine"); // bottles/ is remembered now
      await symlink(outside, join(root, "bottles", "evil"));

      await expect(store.put("bottles/evil/manifests/1.0", "x")).rejects.toBeInstanceOf(InvalidKeyError);
      await expect(store.put("bottles/evil/x.tar.gz", "x", { deferSync: true })).rejects.toBeInstanceOf(
        InvalidKeyError,
      );

      expect(await readdir(outside)).toEqual(["secret"]);
      expect(await readdir(join(root, ".tmp"))).toEqual([]);
    });

    it("stat in a folder already written to: a file in one lstat, a symlink leading outside still refused", async () => {
      const store = new FsStore(root);
      await store.put("bottles/ok.tar.gz", "fine"); // bottles/ is remembered now
      await symlink(join(outside, "secret"), join(root, "bottles", "evil.tar.gz"));
      await symlink(join(root, "bottles", "ok.tar.gz"), join(root, "bottles", "alias.tar.gz"));

      expect(await store.stat("bottles/ok.tar.gz")).toMatchObject({ key: "bottles/ok.tar.gz", size: 4 });
      expect(await store.stat("bottles/gone.tar.gz")).toBeNull();
      expect(await store.stat("bottles/alias.tar.gz")).toMatchObject({ size: 4 });
      await expect(store.stat("bottles/evil.tar.gz")).rejects.toBeInstanceOf(InvalidKeyError);
    });

    it("a put killed between staging and rename leaves only its temp file: no key, nothing listed; the next put lands", async () => {
      const store = new FsStore(root);
      await store.put("bottles/a.tar.gz", "a");
      // What a SIGKILL after the bytes were staged and before the rename leaves behind.
      await writeFile(join(root, ".tmp", "0f0e0d0c-killed"), "complete but never renamed");

      const reopened = new FsStore(root);
      expect(await reopened.stat("bottles/b.tar.gz")).toBeNull();
      const listed: string[] = [];
      for await (const entry of reopened.list("")) listed.push(entry.key);
      expect(listed).toEqual(["bottles/a.tar.gz"]);

      await reopened.put("bottles/b.tar.gz", "b", { deferSync: true });
      await reopened.flush();
      expect(await readFile(join(root, "bottles/b.tar.gz"), "utf8")).toBe("b");
    });

    it.each([
      ["with an lstat per folder", 0, undefined],
      // After LIST_FOLDERS_FROM folders looked up in one folder, sizes reads that folder's entries once.
      ["with the folder holding 70 more folders read once", 70, undefined],
      // Every other key looked up by a worker thread (from WORKER_FROM keys; here from the first).
      ["half the keys looked up by a worker thread", 70, 1],
    ])(
      "sizes reports for each key what list reports: real folders only, symlinks only to files inside (%s)",
      async (_how, padding, sizesWorkerFrom) => {
        const store = new FsStore(root, sizesWorkerFrom === undefined ? {} : { sizesWorkerFrom });
        const padded: Record<string, number> = {};
        for (let i = 0; i < padding; i++) {
          await store.put(`bottles/pad${i}/manifests/1`, "p");
          padded[`bottles/pad${i}/manifests/1`] = 1;
        }
        await store.put("bottles/a.tar.gz", "aa");
        await store.put("bottles/wget/manifests/1.0", "manifest");
        await store.put("bottles/b.tar.gz", "bbb");
        await mkdir(join(outside, "manifests"));
        await writeFile(join(outside, "manifests", "1.0"), "planted");
        await symlink(outside, join(root, "bottles", "evil")); // a folder leading outside
        await symlink(join(root, "bottles", "wget"), join(root, "bottles", "alias")); // a folder inside
        await symlink(join(root, "bottles", "b.tar.gz"), join(root, "bottles", "inside.tar.gz"));
        await symlink(join(outside, "secret"), join(root, "bottles", "secret.tar.gz"));
        // The padding first: the folders below are then looked up in a folder already read whole.
        const keys = [
          ...Object.keys(padded),
          "bottles/a.tar.gz",
          "bottles/wget/manifests/1.0",
          "bottles/b.tar.gz",
          "bottles/evil/manifests/1.0",
          "bottles/alias/manifests/1.0",
          "bottles/inside.tar.gz",
          "bottles/secret.tar.gz",
          "bottles/gone.tar.gz",
          "bottles/a.tar.gz/under-a-file",
          "bottles/wget/manifests",
        ];

        const sizes = await store.sizes(keys);

        const listed = new Map<string, number>();
        for await (const entry of store.list("bottles/")) listed.set(entry.key, entry.size);
        expect(Object.fromEntries(sizes)).toEqual({
          "bottles/a.tar.gz": 2,
          "bottles/b.tar.gz": 3,
          "bottles/inside.tar.gz": 3,
          "bottles/wget/manifests/1.0": 8,
          ...padded,
        });
        expect(Object.fromEntries(sizes)).toEqual(Object.fromEntries(listed));
      },
    );

    it("does not follow a symlinked file that points outside the root", async () => {
      await symlink(join(outside, "secret"), join(root, "state.json"));
      const store = new FsStore(root);

      await expect(store.get("state.json")).rejects.toBeInstanceOf(InvalidKeyError);
    });

    it("removes temp files older than a day when first used, and keeps fresh ones", async () => {
      await mkdir(join(root, ".tmp"));
      await writeFile(join(root, ".tmp", "stale"), "killed run");
      await writeFile(join(root, ".tmp", "fresh"), "running now");
      const twoDaysAgo = new Date(Date.now() - 2 * 24 * 3600 * 1000);
      await utimes(join(root, ".tmp", "stale"), twoDaysAgo, twoDaysAgo);

      await new FsStore(root).stat("anything");

      expect(await readdir(join(root, ".tmp"))).toEqual(["fresh"]);
    });

    it("creates the root on first write and reports it as its location", async () => {
      const store = new FsStore(join(root, "new", "folder"));

      await store.put("a/b", "x");

      expect(store.location).toBe(join(root, "new", "folder"));
      expect(await readFile(join(root, "new", "folder", "a", "b"), "utf8")).toBe("x");
    });
  });
});
