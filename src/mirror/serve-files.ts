/**
 * What `hbsync serve` answers with: an object's validators and a way to send its bytes.
 *
 * On a folder (FsStore.openLocal) the file is opened once per request, checked to be inside the store
 * on the descriptor itself, and read from it: a large body streamed in 1 MiB reads, a small one read
 * whole. Small bodies are then kept in memory (up to 64 MiB, the least used out) together with the
 * file's identity (device, inode, size, mtime): a later request for the key checks with one stat that
 * its path still reaches that same, unchanged file, and is answered from memory. A file replaced by a
 * sync (a rename: a new inode), changed in place (size or mtime) or a symlink swapped in (another
 * inode) misses, and goes through the full open and check again. On other stores: stat + get.
 */
import { close, closeSync, read, readSync } from "node:fs";
import type { ServerResponse } from "node:http";
import type { Readable } from "node:stream";
import type { BlobStore, LocalFile } from "../storage/blob-store.ts";

/** Bodies up to this size are read in one call, and kept. */
const SMALL_BODY = 128 * 1024;
/** Read size when streaming a larger body from a file, and buffers in flight per response. */
const STREAM_CHUNK = 1024 * 1024;
const STREAM_BUFFERS = 4;
/** Free read buffers, reused across responses (at most this many kept). */
const freeBuffers: Buffer[] = [];
const FREE_BUFFERS_KEPT = 16;
const SMALL_BODIES_BYTES = 64 * 1024 * 1024;

export interface Served {
  size: number;
  /** Last-Modified, whole seconds. */
  modified: Date;
  /** The quoted entity tag, when the store has one. */
  etag: string | undefined;
  /** Sends `res` the bytes start..end (inclusive) and ends it. */
  send(res: ServerResponse, range: { start: number; end: number } | null): Promise<void>;
  /** Releases what `send` would have used (HEAD, 304, 416). */
  discard(): void;
}

export interface Kept {
  identity: string;
  body: Buffer;
  modified: Date;
  etag: string;
  /** The headers of a plain 200 answer, as a flat [name, value, …] list (res.writeHead takes it as is). */
  plainHeaders: string[];
  /** Asked for since the eviction last passed it (second chance). */
  used: boolean;
}

/**
 * Small bodies read from files, by key, up to `limit` bytes. Eviction gives a second chance: a hit only
 * marks its entry used (no reordering on the hot path); when over the limit the oldest entries are
 * looked at in turn, a used one moved to the back with its mark cleared, an unused one dropped.
 */
export class SmallBodies {
  private readonly kept = new Map<string, Kept>();
  private bytes = 0;

  constructor(private readonly limit: number = SMALL_BODIES_BYTES) {}

  get(key: string): Kept | undefined {
    const entry = this.kept.get(key);
    if (entry !== undefined) entry.used = true;
    return entry;
  }

  set(key: string, entry: Kept): void {
    this.delete(key);
    if (entry.body.byteLength > this.limit) return;
    this.kept.set(key, entry);
    this.bytes += entry.body.byteLength;
    // Terminates: an entry moved to the back has lost its mark, and is dropped when reached again.
    for (const [oldest, old] of this.kept) {
      if (this.bytes <= this.limit) break;
      this.kept.delete(oldest);
      if (old.used && old !== entry) {
        old.used = false;
        this.kept.set(oldest, old);
      } else this.bytes -= old.body.byteLength;
    }
  }

  delete(key: string): void {
    const entry = this.kept.get(key);
    if (entry === undefined) return;
    this.kept.delete(key);
    this.bytes -= entry.body.byteLength;
  }

  /** The keys kept, oldest first (tests). */
  keys(): string[] {
    return [...this.kept.keys()];
  }
}

/**
 * The body kept for `key` while its path still reaches the very file it was read from (one stat,
 * synchronous); undefined otherwise, the stale entry dropped. The server's fast path: no open, no await.
 */
export function keptBody(store: BlobStore, key: string, small: SmallBodies): Kept | undefined {
  const kept = small.get(key);
  if (kept === undefined || store.localIdentity === undefined) return undefined;
  if (store.localIdentity(key) === kept.identity) return kept;
  small.delete(key);
  return undefined;
}

/** The object at `key`, or null when absent; throws the store's InvalidKeyError for an unsafe one. */
export async function openServed(store: BlobStore, key: string, small: SmallBodies): Promise<Served | null> {
  if (store.openLocal) {
    const kept = keptBody(store, key, small);
    if (kept !== undefined) return fromMemory(kept);
    const file = await store.openLocal(key);
    if (file === null) return null;
    if (file.size <= SMALL_BODY) {
      const entry = readSmall(key, file);
      small.set(key, entry);
      return fromMemory(entry);
    }
    return fromFile(file);
  }
  const stat = await store.stat(key);
  if (stat === null) return null;
  return {
    size: stat.size,
    modified: wholeSeconds(stat.modified),
    etag: quoted(stat.etag),
    discard: () => undefined,
    send: async (res, range) => stream(res, await store.get(key, range ?? undefined)),
  };
}

function readSmall(key: string, file: LocalFile): Kept {
  const body = Buffer.allocUnsafe(file.size);
  let read = 0;
  try {
    while (read < file.size) {
      const n = readSync(file.fd, body, read, file.size - read, read);
      if (n === 0) break; // shorter than its fstat said: changed while read; its identity will differ
      read += n;
    }
  } finally {
    closeSync(file.fd);
  }
  const modified = wholeSeconds(file.modified);
  const etag = quoted(file.etag) as string;
  const bytes = read === file.size ? body : body.subarray(0, read);
  return {
    // A short read is kept under an identity no stat can match: the next request reads again.
    identity: read === file.size ? file.identity : `${file.identity}:short`,
    body: bytes,
    modified,
    etag,
    plainHeaders: [
      "last-modified",
      modified.toUTCString(),
      "accept-ranges",
      "bytes",
      "content-type",
      contentTypeOf(key),
      "etag",
      etag,
      "content-length",
      String(bytes.byteLength),
    ],
    used: false,
  };
}

function fromMemory(kept: Kept): Served {
  return {
    size: kept.body.byteLength,
    modified: kept.modified,
    etag: kept.etag,
    discard: () => undefined,
    send: (res, range) => {
      res.end(range === null ? kept.body : kept.body.subarray(range.start, range.end + 1));
      return Promise.resolve();
    },
  };
}

function fromFile(file: LocalFile): Served {
  let open = true;
  return {
    size: file.size,
    modified: wholeSeconds(file.modified),
    etag: quoted(file.etag),
    discard: () => {
      if (open) closeSync(file.fd);
      open = false;
    },
    send: (res, range) => {
      open = false; // sendFile closes it
      return sendFile(res, file.fd, range?.start ?? 0, range?.end ?? file.size - 1);
    },
  };
}

/**
 * Streams bytes start..end of an open file into the response and closes the file: 1 MiB reads on the
 * thread pool into buffers reused once the socket has taken them (no allocation, no stream machinery
 * per chunk), at most four in flight. Half the CPU per GB of createReadStream().pipe() here
 * (bench/README.md). A client that goes away stops the reads.
 */
function sendFile(res: ServerResponse, fd: number, start: number, end: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let position = start;
    let inFlight = 0;
    let reading = false;
    let finished = false;
    const idle: Buffer[] = [];
    for (let i = 0; i < STREAM_BUFFERS; i++) idle.push(freeBuffers.pop() ?? Buffer.allocUnsafe(STREAM_CHUNK));
    const stop = (error?: Error): void => {
      if (finished) return;
      finished = true;
      res.off("close", onClose);
      close(fd, () => undefined);
      // Buffers still owned by the socket are left to the garbage collector.
      for (const buffer of idle) if (freeBuffers.length < FREE_BUFFERS_KEPT) freeBuffers.push(buffer);
      if (error) {
        res.destroy(error);
        reject(error);
      } else resolve();
    };
    const onClose = (): void => stop();
    res.once("close", onClose);
    const next = (): void => {
      if (finished || reading || position > end) return;
      const buffer = idle.pop();
      if (buffer === undefined) return;
      reading = true;
      read(fd, buffer, 0, Math.min(STREAM_CHUNK, end - position + 1), position, (error, bytes) => {
        reading = false;
        if (finished) return;
        if (error) return stop(error);
        if (bytes === 0) return stop(new Error("the file ended before its size (changed while it was sent)"));
        position += bytes;
        inFlight++;
        res.write(bytes === buffer.byteLength ? buffer : buffer.subarray(0, bytes), (writeError) => {
          inFlight--;
          idle.push(buffer);
          // The client went away (EPIPE, ECONNRESET, a destroyed stream): nothing went wrong here.
          if (writeError && clientGone(writeError)) {
            stop();
            res.destroy();
            return;
          }
          if (writeError) return stop(writeError);
          if (position > end && inFlight === 0) {
            res.end();
            return stop();
          }
          next();
        });
        next();
      });
    };
    next();
  });
}

function clientGone(error: Error): boolean {
  const code = (error as NodeJS.ErrnoException).code ?? "";
  return ["EPIPE", "ECONNRESET", "ERR_STREAM_DESTROYED", "ERR_STREAM_WRITE_AFTER_END"].includes(code);
}

/** Pipes a body into the response; a client that goes away stops the read. */
function stream(res: ServerResponse, body: Readable): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onClose = (): void => {
      body.destroy();
      resolve();
    };
    res.once("close", onClose);
    body.once("error", (error) => {
      res.off("close", onClose);
      reject(error);
    });
    body.once("end", () => res.off("close", onClose));
    res.once("finish", () => resolve());
    body.pipe(res);
  });
}

function quoted(etag: string | undefined): string | undefined {
  return etag === undefined ? undefined : `"${etag.replaceAll('"', "")}"`;
}

function wholeSeconds(date: Date): Date {
  return new Date(Math.floor(date.getTime() / 1000) * 1000);
}

export function contentTypeOf(key: string): string {
  if (key.endsWith(".tar.gz")) return "application/gzip";
  if (key.endsWith(".json")) return "application/json";
  if (key.includes("/manifests/")) return "application/vnd.oci.image.index.v1+json";
  if (key.startsWith("git/")) {
    if (key.endsWith(".pack")) return "application/x-git-packed-objects";
    if (key.endsWith(".idx")) return "application/x-git-packed-objects-toc";
    // info/refs, HEAD, objects/info/packs: plain text, which tells git this is a dumb server.
    return "text/plain; charset=utf-8";
  }
  return "application/octet-stream";
}
