import type { Readable } from "node:stream";

/**
 * A flat key → bytes store: a local folder (fs.ts) or an S3 bucket/prefix (s3.ts). Keys are
 * `/`-separated relative paths (`bottles/openssl@3-3.4.0.arm64_sequoia.bottle.tar.gz`), never
 * absolute and never containing `..`, `\0` or empty segments: backends reject such keys with
 * InvalidKeyError before touching anything (see keys.ts). The top-level folder `.tmp/` is reserved for
 * in-flight writes and never listed.
 *
 * Every backend passes tests/unit/storage/conformance.ts.
 */
export interface BlobStat {
  key: string;
  size: number;
  /** Last modification time. */
  modified: Date;
  /** Backend-specific entity tag (S3 ETag, fs: size+mtime), for conditional logic only. */
  etag?: string;
}

export interface PutOptions {
  /** Expected size in bytes; a body of another length is refused and nothing is stored. */
  size?: number;
  /** Expected lowercase hex sha256; a body with another digest is refused and nothing is stored. */
  sha256?: string;
  contentType?: string;
  /**
   * Skip the per-object flush to disk (fs: no fsync before the rename): the object is complete and
   * visible at once, and durable (survives a power loss) after the next `flush()`. For bulk writes
   * that end at a commit point (the sync engine flushes before it writes state). Backends whose puts
   * are durable on return (S3) ignore it.
   */
  deferSync?: boolean;
  /**
   * The caller believes no object is at the key (it listed or stat'ed it moments ago). Stores with
   * conditional writes (S3: `If-None-Match: *`) then never overwrite one that appeared meanwhile: if the
   * object there was written with this sha256 the put succeeds without writing, otherwise it fails with
   * a StorageError and the object is untouched. Stores without them (fs) may ignore it.
   */
  ifAbsent?: boolean;
}

export interface CopyOptions {
  sha256: string;
  size: number;
  /** As for put: skip the per-object flush (fs); durable after the next `flush()`. */
  deferSync?: boolean;
}

/** A store object that is a local file, opened for reading (see BlobStore.openLocal). */
export interface LocalFile {
  /** An open descriptor: the caller closes it. */
  fd: number;
  size: number;
  modified: Date;
  etag: string;
  /** Which file, in which version (device, inode, size, mtime): equal identities, equal bytes. */
  identity: string;
}

/** How `copy` placed the bytes: a hard link to the same file (fs), or a second copy (fs fallback, S3). */
export type CopyMethod = "link" | "copy";

export interface PutResult {
  key: string;
  size: number;
  sha256: string;
}

export interface BlobStore {
  /** A short description for messages: `/abs/path/mirror` or `s3://bucket/prefix`. */
  readonly location: string;
  /** Metadata, or null when the key is absent (never throws for absent). */
  stat(key: string): Promise<BlobStat | null>;
  /** Every object whose key starts with `prefix`, in key order (UTF-8 byte order, as S3 lists). */
  list(prefix: string): AsyncIterable<BlobStat>;
  /**
   * The size of each of `keys` that `list` would report, by key; absent keys are not in the map.
   * Optional (fs): where asking for each key costs less than listing the folders that hold them, a
   * sync that checks its recorded objects asks for those only (S3 lists: 1,000 keys per request).
   */
  sizes?(keys: readonly string[], options?: { signal?: AbortSignal }): Promise<Map<string, number>>;
  /**
   * A stream of the object's bytes; throws NotFoundError when absent. `range` is inclusive; an `end`
   * past the object is clamped; a `start` at or past the end throws RangeNotSatisfiableError (HTTP 416).
   */
  get(key: string, range?: { start: number; end?: number }): Promise<Readable>;
  /**
   * The whole object (a state or report document: small enough for memory) and the entity tag of
   * exactly those bytes; null when absent. Optional (fs: one read of the opened file, tagged from its
   * descriptor; s3: one GET, tagged by its response); the engine falls back to stat + get.
   */
  readAll?(key: string): Promise<{ bytes: Buffer; etag?: string } | null>;
  /**
   * Store a stream atomically: readers see the old object or the complete new one, never a part.
   * Hashes while streaming; on a size or sha256 mismatch, throws IntegrityError and stores nothing.
   * Never buffers the whole body in memory.
   */
  put(key: string, body: Readable | Uint8Array | string, options?: PutOptions): Promise<PutResult>;
  /** Create only if absent (fs: exclusive create; s3: If-None-Match: *). Returns false if it existed. */
  putIfAbsent(key: string, body: Uint8Array | string): Promise<boolean>;
  /** Delete; absent is not an error. */
  delete(key: string): Promise<void>;
  /**
   * Compare-and-swap for a small object: replace `key` only while its entity tag (`stat().etag`) is
   * `etag`. Resolves with the new etag, or null when the object changed or is gone (S3: If-Match).
   * Optional: the lock falls back to read-then-write on stores without it (fs).
   */
  replaceIfMatch?(key: string, body: Uint8Array | string, etag: string): Promise<string | null>;
  /** Delete `key` only while its etag is `etag`; false when it changed or is gone. Optional, as above. */
  deleteIfMatch?(key: string, etag: string): Promise<boolean>;
  /**
   * Make every object put with `deferSync` durable (fs: fsync the files and their folders). Optional:
   * absent means every put is durable on return.
   */
  flush?(): Promise<void>;
  /**
   * The object as a local file opened for reading, after one check that it is inside the store; null
   * when absent. Optional (fs): `hbsync serve` streams from the descriptor instead of stat + get.
   */
  openLocal?(key: string): Promise<LocalFile | null>;
  /**
   * The `identity` openLocal would report for the key's file now, from one stat that follows symlinks
   * (no open); null when absent, or before any openLocal. Synchronous: a server asks it per request.
   * Lets a server reuse bytes it read from the same file version.
   */
  localIdentity?(key: string): string | null;
  /**
   * Hold `bytes` of space back for the records a run writes when the store fills up (its state and
   * report); false when they do not fit. Optional (fs): stores that do not fill up have no need.
   */
  reserve?(bytes: number): Promise<boolean>;
  /** Free what `reserve` held: at the first full write, so the records fit, and when the run ends. */
  releaseReserve?(): Promise<void>;
  /**
   * Put at `target` the bytes of the object at `source` without passing them through the caller
   * (the OCI layout's second name for a bottle): fs hard-links (the bytes are stored once) and copies
   * where the filesystem has no hard links; S3 copies server-side (CopyObject). Atomic like `put`
   * (replaces `target`). `sha256`/`size` are what the source was verified to hold when it was put: a
   * source of another size is refused with IntegrityError and nothing is stored (S3 also compares the
   * sha256 its put recorded, and the copy's checksum; a hard link re-reads nothing). Throws NotFoundError
   * when `source` is absent. Optional: without it the engine streams `get(source)` into `put(target)`.
   */
  copy?(source: string, target: string, options: CopyOptions): Promise<CopyMethod>;
  /** Release sockets/handles. */
  close?(): Promise<void>;
}

/**
 * `store.readAll(key)`, or where the store has none, a stat and a get (the entity tag then is the one
 * the stat saw just before the read). Null when absent.
 */
export async function readAllOf(
  store: BlobStore,
  key: string,
): Promise<{ bytes: Buffer; etag?: string } | null> {
  if (store.readAll) return store.readAll(key);
  const stat = await store.stat(key);
  if (stat === null) return null;
  let stream: AsyncIterable<Uint8Array>;
  try {
    stream = await store.get(key);
  } catch (error) {
    if (error instanceof Error && error.name === "NotFoundError") return null;
    throw error;
  }
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk));
  const bytes = Buffer.concat(chunks);
  return stat.etag === undefined ? { bytes } : { bytes, etag: stat.etag };
}
