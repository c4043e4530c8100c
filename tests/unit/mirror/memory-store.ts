import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import type { BlobStat, BlobStore, PutOptions, PutResult } from "../../../src/storage/blob-store.ts";
import { IntegrityError, NotFoundError, StorageError } from "../../../src/storage/errors.ts";
import { assertValidKey } from "../../../src/storage/keys.ts";

/**
 * An in-memory BlobStore for unit tests of the mirror engine (the real backends have their own
 * conformance suite; integration tests use fs and s3rver). It follows the interface's promises:
 * verified, all-or-nothing puts, create-if-absent, key validation, and `ifAbsent` as S3 keeps it (an
 * object already there is kept: success when it has the expected sha256, a StorageError otherwise).
 */
export interface MemoryStore extends BlobStore {
  readonly objects: Map<string, { bytes: Buffer; modified: Date }>;
  /** Every mutating call, in order: `put <key>`, `delete <key>`, `putIfAbsent <key>`, `flush`. */
  readonly writes: string[];
  /** Keys put with `deferSync` since the last flush (what a power loss could still take back on fs). */
  readonly unflushed: Set<string>;
  /** The options of the last put of each key. */
  readonly putOptions: Map<string, PutOptions>;
}

/** `memoryStore` plus compare-and-swap (replaceIfMatch / deleteIfMatch), as S3 has with If-Match. */
export function casMemoryStore(
  initial: Record<string, string | Uint8Array> = {},
): MemoryStore & Required<Pick<BlobStore, "replaceIfMatch" | "deleteIfMatch">> {
  const store = memoryStore(initial);
  const etagOf = (key: string): string | undefined => {
    const object = store.objects.get(key);
    return object
      ? `"${createHash("md5").update(object.bytes).update(String(object.modified.getTime())).digest("hex")}"`
      : undefined;
  };
  const stat = store.stat.bind(store);
  return Object.assign(store, {
    async stat(key: string): Promise<BlobStat | null> {
      const found = await stat(key);
      const etag = etagOf(key);
      return found && etag ? { ...found, etag } : found;
    },
    async replaceIfMatch(key: string, body: Uint8Array | string, etag: string): Promise<string | null> {
      if (etagOf(key) !== etag) return null;
      await new Promise((resolve) => setTimeout(resolve, 2)); // a new modified time, so a new etag
      await store.put(key, body);
      return etagOf(key) ?? null;
    },
    async deleteIfMatch(key: string, etag: string): Promise<boolean> {
      if (etagOf(key) !== etag) return false;
      await store.delete(key);
      return true;
    },
  });
}

export function memoryStore(initial: Record<string, string | Uint8Array> = {}): MemoryStore {
  const objects = new Map<string, { bytes: Buffer; modified: Date }>();
  const writes: string[] = [];
  const unflushed = new Set<string>();
  const putOptions = new Map<string, PutOptions>();
  for (const [key, value] of Object.entries(initial)) {
    objects.set(key, { bytes: Buffer.from(value), modified: new Date() });
  }
  const store: MemoryStore = {
    location: "memory://test",
    objects,
    writes,
    unflushed,
    putOptions,
    async stat(key): Promise<BlobStat | null> {
      assertValidKey(key);
      const object = objects.get(key);
      return object ? { key, size: object.bytes.length, modified: object.modified } : null;
    },
    async *list(prefix): AsyncIterable<BlobStat> {
      for (const key of [...objects.keys()].sort()) {
        const object = objects.get(key);
        if (key.startsWith(prefix) && object)
          yield { key, size: object.bytes.length, modified: object.modified };
      }
    },
    async get(key, range): Promise<Readable> {
      assertValidKey(key);
      const object = objects.get(key);
      if (!object) throw new NotFoundError(key, "memory://test");
      const bytes = range
        ? object.bytes.subarray(range.start, (range.end ?? object.bytes.length - 1) + 1)
        : object.bytes;
      return Readable.from([bytes]);
    },
    async put(key, body, options: PutOptions = {}): Promise<PutResult> {
      assertValidKey(key);
      const chunks: Buffer[] = [];
      if (typeof body === "string" || body instanceof Uint8Array) chunks.push(Buffer.from(body));
      else for await (const chunk of body) chunks.push(Buffer.from(chunk));
      const bytes = Buffer.concat(chunks);
      const sha256 = createHash("sha256").update(bytes).digest("hex");
      if (options.size !== undefined && options.size !== bytes.length) {
        throw new IntegrityError({ key, field: "size", expected: options.size, actual: bytes.length });
      }
      if (options.sha256 !== undefined && options.sha256 !== sha256) {
        throw new IntegrityError({ key, field: "sha256", expected: options.sha256, actual: sha256 });
      }
      putOptions.set(key, options);
      const existing = objects.get(key);
      if (options.ifAbsent && existing) {
        if (createHash("sha256").update(existing.bytes).digest("hex") === sha256)
          return { key, size: bytes.length, sha256 };
        throw new StorageError(`${key} appeared while it was being written, with other bytes`, { key });
      }
      objects.set(key, { bytes, modified: new Date() });
      writes.push(`put ${key}`);
      if (options.deferSync) unflushed.add(key);
      else unflushed.delete(key);
      return { key, size: bytes.length, sha256 };
    },
    async putIfAbsent(key, body): Promise<boolean> {
      assertValidKey(key);
      if (objects.has(key)) return false;
      objects.set(key, { bytes: Buffer.from(body), modified: new Date() });
      writes.push(`putIfAbsent ${key}`);
      return true;
    },
    async flush(): Promise<void> {
      if (unflushed.size > 0) writes.push("flush");
      unflushed.clear();
    },
    async delete(key): Promise<void> {
      assertValidKey(key);
      objects.delete(key);
      unflushed.delete(key);
      writes.push(`delete ${key}`);
    },
  };
  return store;
}
