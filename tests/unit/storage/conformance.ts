/**
 * The one behaviour contract every BlobStore backend passes (unstorage `testDriver`, rclone `fstests`).
 * A backend's test file is a few lines: build a fresh, empty store per test and call
 * `runBlobStoreConformance(name, makeStore)`.
 */
import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type BlobStore, readAllOf } from "../../../src/storage/blob-store.ts";
import {
  IntegrityError,
  InvalidKeyError,
  NotFoundError,
  RangeNotSatisfiableError,
  StorageError,
} from "../../../src/storage/errors.ts";
import { compareKeys } from "../../../src/storage/keys.ts";

export interface ConformanceHarness {
  /** A fresh, empty store. */
  store: BlobStore;
  /** Anything the backend left behind outside its keys (temp files, escaped writes): must stay empty. */
  leftovers(): Promise<string[]>;
  /**
   * Only for a server that does NOT honour conditional writes (s3rver): the If-None-Match header of every
   * PUT request sent for `key`. The suite then checks that putIfAbsent asked for create-if-absent,
   * instead of checking that exactly one concurrent caller won (which that server cannot show).
   */
  conditionalPutHeaders?: (key: string) => Array<string | undefined>;
  /**
   * Only for a server that lists in its own order (s3rver walks its folders: `a/b` before `a-c`):
   * list results are then compared as sets. AWS S3 and FsStore list in byte order.
   */
  unorderedList?: boolean;
  cleanup?(): Promise<void>;
}

const sha256 = (data: string | Uint8Array): string => createHash("sha256").update(data).digest("hex");

/** A body in many parts, like a response streamed off a socket; `failure` errors it after the last. */
function partsBody(parts: Buffer[], failure?: Error): Readable {
  async function* stream(): AsyncGenerator<Buffer> {
    yield* parts;
    if (failure) throw failure;
  }
  return Readable.from(stream());
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}

async function text(store: BlobStore, key: string, range?: { start: number; end?: number }): Promise<string> {
  return (await readAll(await store.get(key, range))).toString("utf8");
}

async function keys(store: BlobStore, prefix: string, ordered = true): Promise<string[]> {
  const found: string[] = [];
  for await (const entry of store.list(prefix)) found.push(entry.key);
  return ordered ? found : found.sort(compareKeys);
}

function collectGarbage(): () => void {
  setFlagsFromString("--expose-gc");
  return runInNewContext("gc") as () => void;
}

export function runBlobStoreConformance(name: string, makeStore: () => Promise<ConformanceHarness>): void {
  describe(`${name} (BlobStore conformance)`, () => {
    let harness: ConformanceHarness;
    let store: BlobStore;

    beforeEach(async () => {
      harness = await makeStore();
      store = harness.store;
    });
    afterEach(async () => {
      await store.close?.();
      await harness.cleanup?.();
    });

    describe("stat", () => {
      it("returns null for an absent key, and get throws NotFoundError", async () => {
        expect(await store.stat("bottles/absent.tar.gz")).toBeNull();
        await expect(store.get("bottles/absent.tar.gz")).rejects.toBeInstanceOf(NotFoundError);
      });
    });

    describe("readAll", () => {
      it("returns the whole object with the entity tag stat reports for it, and null when absent", async () => {
        expect(store.readAll).toBeTypeOf("function");
        const readAll = store.readAll?.bind(store) as NonNullable<BlobStore["readAll"]>;
        expect(await readAll("_sync/state.json")).toBeNull();
        const body = Buffer.from(`{"version":1,"entries":{${"x".repeat(300_000)}}}`);
        await store.put("_sync/state.json", body);
        const read = await readAll("_sync/state.json");
        expect(read?.bytes.equals(body)).toBe(true);
        expect(read?.etag).toBe((await store.stat("_sync/state.json"))?.etag);
        // Another object under the key: other bytes, another tag.
        await store.put("_sync/state.json", "{}");
        const again = await readAll("_sync/state.json");
        expect(again?.bytes.toString()).toBe("{}");
        expect(again?.etag).not.toBe(read?.etag);
        // The engine's fallback for a store without readAll (stat, then get) reads the same.
        const plain = { stat: store.stat.bind(store), get: store.get.bind(store) } as unknown as BlobStore;
        expect(await readAllOf(plain, "_sync/state.json")).toEqual(again);
        expect(await readAllOf(plain, "_sync/absent.json")).toBeNull();
      });
    });

    describe("put", () => {
      it("stores a body that get returns byte for byte, with its size and sha256", async () => {
        const body = "openssl@3 bottle bytes";
        const result = await store.put("bottles/openssl@3-3.4.0.arm64_sequoia.bottle.tar.gz", body, {
          size: Buffer.byteLength(body),
          sha256: sha256(body),
        });
        expect(result).toEqual({
          key: "bottles/openssl@3-3.4.0.arm64_sequoia.bottle.tar.gz",
          size: Buffer.byteLength(body),
          sha256: sha256(body),
        });
        expect(await text(store, result.key)).toBe(body);
        const info = await store.stat(result.key);
        expect(info?.size).toBe(Buffer.byteLength(body));
        expect(info?.modified).toBeInstanceOf(Date);
      });

      it("accepts Uint8Array and Readable bodies and replaces an existing object", async () => {
        await store.put("state.json", new TextEncoder().encode("first"));
        await store.put("state.json", Readable.from([Buffer.from("sec"), Buffer.from("ond")]));
        expect(await text(store, "state.json")).toBe("second");
      });

      it("streams a 40 MiB body without holding it in memory", async () => {
        const chunkSize = 64 * 1024;
        // 40 MiB in fresh chunks: a store that kept them would keep them all alive. (An S3 multipart
        // upload legitimately holds ~3 parts of 5 MiB, so the body must be well above that.)
        const count = 640;
        const makeChunk = (i: number): Buffer => Buffer.alloc(chunkSize, i % 251);
        const expected = createHash("sha256");
        for (let i = 0; i < count; i++) expected.update(makeChunk(i));
        const gc = collectGarbage();
        gc();
        const baseline = process.memoryUsage().arrayBuffers;
        let peak = 0;
        async function* generate(): AsyncGenerator<Buffer> {
          for (let i = 0; i < count; i++) {
            if (i % 16 === 0) {
              gc();
              peak = Math.max(peak, process.memoryUsage().arrayBuffers - baseline);
            }
            yield makeChunk(i);
          }
        }
        const size = chunkSize * count;

        const result = await store.put("bottles/big.tar.gz", Readable.from(generate()), {
          size,
          sha256: expected.digest("hex"),
        });

        expect(result.size).toBe(size);
        const readBack = createHash("sha256");
        for await (const part of await store.get("bottles/big.tar.gz")) readBack.update(part as Buffer);
        expect(readBack.digest("hex")).toBe(result.sha256);
        // Live buffer memory while streaming stays well below the body size (a buffering put holds it all).
        expect(peak).toBeLessThan(size / 2);
      });

      it("refuses a sha256 mismatch, stores nothing and leaves the previous object untouched", async () => {
        await store.put("bottles/a.tar.gz", "good bytes");
        const error = await store
          .put("bottles/a.tar.gz", "evil bytes", { sha256: sha256("good bytes") })
          .catch((caught: unknown) => caught);
        expect(error).toBeInstanceOf(IntegrityError);
        expect((error as IntegrityError).message).toBe(
          `corrupted on transfer: sha256 differs (expected ${sha256("good bytes")}, got ${sha256("evil bytes")}) for bottles/a.tar.gz`,
        );
        await expect(
          store.put("bottles/new.tar.gz", "evil", { sha256: sha256("good") }),
        ).rejects.toMatchObject({
          name: "IntegrityError",
          field: "sha256",
          key: "bottles/new.tar.gz",
        });
        expect(await text(store, "bottles/a.tar.gz")).toBe("good bytes");
        expect(await store.stat("bottles/new.tar.gz")).toBeNull();
        expect(await keys(store, "")).toEqual(["bottles/a.tar.gz"]);
        expect(await harness.leftovers()).toEqual([]);
      });

      it("refuses a body shorter or longer than the expected size, storing nothing", async () => {
        await store.put("bottles/b.tar.gz", "12345");
        await expect(store.put("bottles/b.tar.gz", "1234", { size: 5 })).rejects.toMatchObject({
          name: "IntegrityError",
          field: "size",
          expected: "5",
          actual: "4",
        });
        const long = Readable.from([Buffer.alloc(256 * 1024), Buffer.alloc(256 * 1024)]);
        await expect(store.put("bottles/b.tar.gz", long, { size: 5 })).rejects.toMatchObject({
          name: "IntegrityError",
          field: "size",
        });
        await expect(store.put("bottles/c.tar.gz", "123456", { size: 5 })).rejects.toBeInstanceOf(
          IntegrityError,
        );
        expect(await text(store, "bottles/b.tar.gz")).toBe("12345");
        expect(await keys(store, "")).toEqual(["bottles/b.tar.gz"]);
        expect(await harness.leftovers()).toEqual([]);
      });

      it("stores a body streamed in many parts byte for byte; a bad or failing one stores nothing", async () => {
        const parts = Array.from({ length: 40 }, (_, i) => Buffer.alloc(1000 + i * 331, i + 1));
        const whole = Buffer.concat(parts);

        const result = await store.put("bottles/direct.tar.gz", partsBody(parts), {
          sha256: sha256(whole),
          size: whole.length,
        });

        expect(result).toEqual({ key: "bottles/direct.tar.gz", size: whole.length, sha256: sha256(whole) });
        expect(await text(store, "bottles/direct.tar.gz")).toBe(whole.toString());
        await expect(
          store.put("bottles/direct.tar.gz", partsBody([Buffer.from("evil")]), { sha256: sha256(whole) }),
        ).rejects.toBeInstanceOf(IntegrityError);
        await expect(
          store.put("bottles/direct.tar.gz", partsBody(parts, new Error("connection reset"))),
        ).rejects.toThrow("connection reset");
        await expect(
          store.put("bottles/other.tar.gz", partsBody(parts), { size: 10 }),
        ).rejects.toBeInstanceOf(IntegrityError);
        expect(await text(store, "bottles/direct.tar.gz")).toBe(whole.toString());
        expect(await keys(store, "")).toEqual(["bottles/direct.tar.gz"]);
        expect(await harness.leftovers()).toEqual([]);
      });

      it("stores nothing when the body stream fails midway", async () => {
        async function* failing(): AsyncGenerator<Buffer> {
          yield Buffer.from("partial");
          throw new Error("connection reset");
        }
        await expect(store.put("bottles/d.tar.gz", Readable.from(failing()))).rejects.toThrow(
          "connection reset",
        );
        expect(await store.stat("bottles/d.tar.gz")).toBeNull();
        expect(await harness.leftovers()).toEqual([]);
      });
    });

    describe("putIfAbsent", () => {
      it("creates an absent key (true), then refuses to replace it (false)", async () => {
        expect(await store.putIfAbsent("_sync/lock", '{"runId":"one"}')).toBe(true);
        expect(await store.putIfAbsent("_sync/lock", '{"runId":"two"}')).toBe(false);
        expect(await text(store, "_sync/lock")).toBe('{"runId":"one"}');
      });

      it("lets exactly one of many concurrent callers win", async () => {
        const bodies = Array.from({ length: 8 }, (_, i) => `{"runId":"run-${i}"}`);

        const results = await Promise.all(bodies.map((body) => store.putIfAbsent("_sync/lock", body)));

        const stored = await text(store, "_sync/lock");
        expect(bodies).toContain(stored);
        if (harness.conditionalPutHeaders === undefined) {
          expect(results.filter(Boolean)).toHaveLength(1);
          expect(stored).toBe(bodies[results.indexOf(true)]);
        } else {
          // The server cannot arbitrate: prove every write asked it to (If-None-Match: *).
          const headers = harness.conditionalPutHeaders("_sync/lock");
          expect(headers.length).toBeGreaterThan(0);
          expect(headers.every((value) => value === "*")).toBe(true);
        }
        expect(await harness.leftovers()).toEqual([]);
      });
    });

    describe("list", () => {
      it("yields every key under a prefix in byte order", async () => {
        const all = ["c", "a0", "a/b", "a-c", "a/a/x", "b/2", "bottles/openssl@3-3.tar.gz", "bottles/open-x"];
        for (const key of all) await store.put(key, `body of ${key}`);
        const ordered = harness.unorderedList !== true;

        expect(await keys(store, "", ordered)).toEqual([
          "a-c",
          "a/a/x",
          "a/b",
          "a0",
          "b/2",
          "bottles/open-x",
          "bottles/openssl@3-3.tar.gz",
          "c",
        ]);
        expect(await keys(store, "a/", ordered)).toEqual(["a/a/x", "a/b"]);
        expect(await keys(store, "bottles/open", ordered)).toEqual([
          "bottles/open-x",
          "bottles/openssl@3-3.tar.gz",
        ]);
        expect(await keys(store, "a", ordered)).toEqual(["a-c", "a/a/x", "a/b", "a0"]);
        expect(await keys(store, "zzz/")).toEqual([]);
        const sizes: Record<string, number> = {};
        for await (const entry of store.list("b/")) sizes[entry.key] = entry.size;
        expect(sizes).toEqual({ "b/2": Buffer.byteLength("body of b/2") });
      });
    });

    describe("copy", () => {
      const source = "bottles/openssl@3-3.4.0.arm64_sequoia.bottle.tar.gz";
      const body = "the bottle's verified bytes";
      const target = `v2/homebrew/core/openssl/3/blobs/sha256:${sha256(body)}`;
      const expected = { sha256: sha256(body), size: Buffer.byteLength(body) };

      it("puts the source's bytes at the target; each key then lives on its own", async () => {
        if (!store.copy) throw new Error(`${name} has no copy`);
        await store.put(source, body, expected);
        const method = await store.copy(source, target, expected);
        expect(["link", "copy"]).toContain(method);
        expect(await text(store, target)).toBe(body);
        expect((await store.stat(target))?.size).toBe(expected.size);
        await store.delete(source);
        expect(await text(store, target)).toBe(body);
        await store.put(source, "new bytes under the old name");
        expect(await text(store, target)).toBe(body);
        expect(await harness.leftovers()).toEqual([]);
      });

      it("replaces what the target held", async () => {
        if (!store.copy) throw new Error(`${name} has no copy`);
        await store.put(source, body, expected);
        await store.put(target, "damaged");
        await store.copy(source, target, expected);
        expect(await text(store, target)).toBe(body);
      });

      it("refuses an absent source or one of another size, and stores nothing", async () => {
        if (!store.copy) throw new Error(`${name} has no copy`);
        await expect(store.copy(source, target, expected)).rejects.toBeInstanceOf(NotFoundError);
        await store.put(source, `${body}!`);
        await expect(store.copy(source, target, expected)).rejects.toBeInstanceOf(IntegrityError);
        expect(await store.stat(target)).toBeNull();
        await expect(store.copy("../x", target, expected)).rejects.toBeInstanceOf(InvalidKeyError);
        await expect(store.copy(source, ".tmp/x", expected)).rejects.toBeInstanceOf(InvalidKeyError);
        expect(await harness.leftovers()).toEqual([]);
      });
    });

    describe("delete", () => {
      it("removes a key and is idempotent", async () => {
        await store.put("bottles/e.tar.gz", "e");
        await store.delete("bottles/e.tar.gz");
        await store.delete("bottles/e.tar.gz");
        await store.delete("never/existed");
        expect(await store.stat("bottles/e.tar.gz")).toBeNull();
      });
    });

    describe("get", () => {
      it("returns inclusive byte ranges, clamps the end and refuses a start past the end", async () => {
        await store.put("r.bin", "0123456789");

        expect(await text(store, "r.bin", { start: 2, end: 5 })).toBe("2345");
        expect(await text(store, "r.bin", { start: 7 })).toBe("789");
        expect(await text(store, "r.bin", { start: 8, end: 100 })).toBe("89");
        expect(await text(store, "r.bin", { start: 0, end: 0 })).toBe("0");
        await expect(store.get("r.bin", { start: 10 })).rejects.toBeInstanceOf(RangeNotSatisfiableError);
        await expect(store.get("r.bin", { start: 5, end: 2 })).rejects.toBeInstanceOf(StorageError);
        await expect(store.get("r.bin", { start: -1 })).rejects.toBeInstanceOf(StorageError);
      });
    });

    describe("keys", () => {
      const invalid = [
        "../x",
        "/abs",
        "a//b",
        "a\0b",
        "a\\b",
        "a/./b",
        "a/..",
        "",
        `${"k".repeat(1025)}`,
        ".tmp/x",
      ];

      it.each(invalid.map((key) => [JSON.stringify(key).slice(0, 40), key]))(
        "rejects %s in every method before any write",
        async (_label, key) => {
          await expect(store.put(key, "x")).rejects.toBeInstanceOf(InvalidKeyError);
          await expect(store.putIfAbsent(key, "x")).rejects.toBeInstanceOf(InvalidKeyError);
          await expect(store.get(key)).rejects.toBeInstanceOf(InvalidKeyError);
          await expect(store.stat(key)).rejects.toBeInstanceOf(InvalidKeyError);
          await expect(store.delete(key)).rejects.toBeInstanceOf(InvalidKeyError);
          expect(await keys(store, "")).toEqual([]);
          expect(await harness.leftovers()).toEqual([]);
        },
      );
    });
  });
}
