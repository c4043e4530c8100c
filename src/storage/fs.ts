/**
 * BlobStore on a local folder (the default backend).
 *
 * - put: streams into `<root>/.tmp/<uuid>` (one staging folder on the same filesystem), opened as the
 *   put starts, hashing each chunk as it is written (the only pass over the bytes; ~1 MiB writev
 *   batches on libuv's thread pool); verifies size and sha256; only then renames into place, so readers
 *   see the old file or the complete new one. On a mismatch the temp file is deleted and nothing under
 *   the key changes. Without `deferSync` the temp file is fsynced before the rename and the folder
 *   after it. File creation stays on the pool: on a busy disk it waits for the journal, and
 *   synchronous calls there stalled every transfer (bench/README.md).
 * - put with `deferSync` skips both fsyncs; `flush()` makes every such put durable: on Linux one
 *   syncfs(2) of the store's filesystem (`sync -f`), elsewhere an fsync of each file and folder. Files of
 *   1 MiB and more are also fsynced in the background as they land (two at a time), so the disk writes
 *   large bottles back while the sync still downloads and the commit point has little left to wait for.
 *   Until the flush a power loss (not a killed process: the page cache survives that) may leave such a
 *   file empty, which is why nothing may name it before the flush.
 * - putIfAbsent: writes a complete temp file, then hard-links it to the key: `link` fails with EEXIST
 *   when the key exists, so exactly one concurrent caller wins and no reader sees a partial file. On
 *   filesystems without hard links it falls back to an exclusive create (`wx`).
 * - copy: hard-links the source's file to a temp name, then renames it onto the target, so both keys
 *   name one file and its bytes are stored once (no read, no hash: they were verified when put). Where
 *   the filesystem refuses hard links it streams a copy through `put`, verified against the sha256.
 * - Every path is checked to stay inside the root after resolving symlinks (realpath), so a symlink
 *   planted in the tree cannot redirect a write or a read outside it. The folders a put writes into are
 *   checked (or created: a folder made here by mkdir inside a checked one is real) once per store and
 *   remembered; the next put into the same folder makes no further check.
 * - Temp files older than a day (left by a killed run) are removed when the store is first used.
 * - A write that fails with ENOSPC or EDQUOT (write, fsync, rename, mkdir, the flush's syncfs) is a
 *   StorageFullError naming the root; its temp file is removed, so the space it took is free again. `reserve` holds
 *   room back for the run's state and report, released when the disk fills (fs-reserve.ts).
 */

import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import {
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readlinkSync,
  realpathSync,
  renameSync,
  rmSync,
  type Stats,
  statSync,
  writeFileSync,
} from "node:fs";
import {
  type FileHandle,
  link,
  lstat,
  mkdir,
  open,
  readdir,
  realpath,
  rename,
  rm,
  stat,
  unlink,
} from "node:fs/promises";
import { dirname, join, resolve, sep } from "node:path";
import { Readable } from "node:stream";
import { finished, pipeline } from "node:stream/promises";
import { forEachBounded } from "../shared/concurrency.ts";
import type {
  BlobStat,
  BlobStore,
  CopyMethod,
  CopyOptions,
  LocalFile,
  PutOptions,
  PutResult,
} from "./blob-store.ts";
import {
  IntegrityError,
  InvalidKeyError,
  NotFoundError,
  RangeNotSatisfiableError,
  StorageError,
  StorageFullError,
  storageFullIn,
} from "./errors.ts";
import { releaseReserve, writeReserve } from "./fs-reserve.ts";
import { folderCache, LINK, LIST_FOLDERS_FROM, sizesInWorker, sizesOf, WORKER_FROM } from "./fs-sizes.ts";
import { assertValidExpectation, HashingWritable, readHashed } from "./hashing.ts";
import { assertValidKey, assertValidPrefix, compareKeys, TEMP_DIR } from "./keys.ts";
import { assertValidRange } from "./range.ts";

const STALE_TEMP_MS = 24 * 60 * 60 * 1000;
const RESERVE_NAME = "reserve";

function errnoCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | null)?.code;
}

export interface FsStoreOptions {
  /** Temp files older than this are deleted when the store is first used (default: one day). */
  staleTempMs?: number;
  /**
   * false: behave as on a filesystem without hard links (FAT, some network mounts): `copy` writes a
   * second copy. Default true; a filesystem that refuses a link falls back by itself.
   */
  hardLinks?: boolean;
  /**
   * How flush() makes deferred puts durable: "syncfs", one syncfs(2) of the store's filesystem through
   * `sync -f` (default on Linux; falls back to "files" where `sync -f` is missing), or "files", an fsync
   * of each file and folder (default elsewhere).
   */
  flushMode?: "syncfs" | "files";
  /** Deferred files at least this large are fsynced in the background as they land (default 1 MiB; in "files" mode: all). */
  backgroundSyncMinBytes?: number;
  /** Remember the folders already checked or created (default true; false re-checks every put). */
  dirCache?: boolean;
  /** `sizes` hands every other key to a worker thread from this many keys (default WORKER_FROM). */
  sizesWorkerFrom?: number;
}

/** What link(2) answers on a filesystem (or across mounts) without hard links, or past a file's link limit. */
const NO_LINK = ["EPERM", "ENOTSUP", "EOPNOTSUPP", "ENOSYS", "EXDEV", "EMLINK"];

export class FsStore implements BlobStore {
  readonly location: string;
  private readonly root: string;
  private readonly staleTempMs: number;
  private readonly hardLinks: boolean;
  private ready: Promise<string> | undefined;
  /** The root's real path, once init() has resolved it. */
  private realRoot: string | undefined;
  /** Files put with `deferSync` and not flushed yet (real paths). */
  private readonly unsynced = new Set<string>();
  private readonly unsyncedFolders = new Set<string>();
  /** Of those, the ones the background flusher fsyncs. */
  private readonly queued = new Set<string>();
  private flusher: Promise<void> = Promise.resolve();
  private flusherRunning = false;
  /** The flush in progress: a second flush() waits for it (it may hold files the second one needs). */
  private flushing: Promise<void> = Promise.resolve();
  private flushMode: "syncfs" | "files";
  private readonly backgroundSyncMinBytes: number;
  /** Folder key → its real path, checked inside the root (or created inside a checked folder). */
  private readonly dirs: Map<string, string> | undefined;
  private readonly sizesWorkerFrom: number;

  constructor(root: string, options: FsStoreOptions = {}) {
    this.root = resolve(root);
    this.location = this.root;
    this.staleTempMs = options.staleTempMs ?? STALE_TEMP_MS;
    this.hardLinks = options.hardLinks ?? true;
    this.flushMode = options.flushMode ?? (process.platform === "linux" ? "syncfs" : "files");
    this.backgroundSyncMinBytes =
      options.backgroundSyncMinBytes ?? (this.flushMode === "syncfs" ? WRITE_BATCH_BYTES : 0);
    this.dirs = options.dirCache === false ? undefined : new Map();
    this.sizesWorkerFrom = options.sizesWorkerFrom ?? WORKER_FROM;
  }

  async stat(key: string): Promise<BlobStat | null> {
    assertValidKey(key);
    const realRoot = this.realRoot ?? (await this.init());
    // In a folder this store made or checked this session (the folder cache put relies on too), a
    // regular file needs no realpath: one lstat. Anything else takes the checked way below.
    const slash = key.lastIndexOf("/");
    const folder = slash < 0 ? realRoot : this.dirs?.get(key.slice(0, slash));
    const cached = folder === undefined ? undefined : lstatOf(join(folder, key.slice(slash + 1)));
    if (cached?.isFile()) return { key, size: cached.size, modified: cached.mtime, etag: etagOf(cached) };
    if (folder !== undefined && cached === undefined) return null;
    const real = await this.resolveExisting(key);
    if (real === null) return null;
    const info = statSync(real, { throwIfNoEntry: false });
    if (info === undefined || !info.isFile()) return null;
    return { key, size: info.size, modified: info.mtime, etag: etagOf(info) };
  }

  /**
   * For `hbsync serve`: the key's file, opened for reading, after one containment check made on the file
   * actually opened: on Linux its path as the kernel reports it (`/proc/self/fd/N`, symlinks resolved),
   * elsewhere the real path resolved before opening. Synchronous system calls, as nginx makes them: on
   * metadata in the page cache each costs less than a round trip through libuv's thread pool. Throws
   * InvalidKeyError for a key resolving outside the root (a symlink in the tree).
   */
  async openLocal(key: string): Promise<LocalFile | null> {
    assertValidKey(key);
    const realRoot = this.realRoot ?? (await this.init());
    const path = join(realRoot, key);
    let fd: number;
    try {
      fd = openSync(path, constants.O_RDONLY);
    } catch (error) {
      if (["ENOENT", "ENOTDIR", "ELOOP", "EISDIR"].includes(errnoCode(error) ?? "")) return null;
      throw error;
    }
    try {
      this.inside(realRoot, openedPath(fd) ?? realpathSync.native(path), key);
      const info = fstatSync(fd);
      if (!info.isFile()) {
        closeSync(fd);
        return null;
      }
      return { fd, size: info.size, modified: info.mtime, etag: etagOf(info), identity: identityOf(info) };
    } catch (error) {
      closeSync(fd);
      throw error;
    }
  }

  /**
   * One stat of the key's path (symlinks followed): the device, inode, size and mtime of the file it
   * reaches. When they equal those of a file openLocal checked, it is that same file, unchanged: a
   * symlink swapped in since reaches another inode, and a put replaces the inode (rename). Synchronous
   * (a server asks it on every request it answers from memory); null before any openLocal, as nothing
   * could match yet.
   */
  localIdentity(key: string): string | null {
    assertValidKey(key);
    const realRoot = this.realRoot;
    if (realRoot === undefined) return null;
    try {
      // A valid key is already normal (no `.`, `..` or empty segment): join's normalising is not needed.
      const info = statSync(`${realRoot}/${key}`);
      return info.isFile() ? identityOf(info) : null;
    } catch (error) {
      if (["ENOENT", "ENOTDIR", "ELOOP"].includes(errnoCode(error) ?? "")) return null;
      throw error;
    }
  }

  /**
   * What `list` would report for these keys, without walking the tree: one lstat per key and one per
   * folder on the way (each folder once per call; a folder in which many folders are looked up is
   * read once instead, its entries' types answering for the rest). A key counts when it is a regular
   * file reached through real folders only (as `list` walks: a symlinked folder is never followed), or
   * a symlink that `stat` finds resolving to a file inside the root. Synchronous calls, as openLocal
   * makes them (metadata in the page cache costs less than a round trip through the thread pool), in
   * batches that let timers (a lease renewal) run between them; from `sizesWorkerFrom` keys, every
   * other key is looked up by a worker thread meanwhile (fs-sizes.ts).
   */
  async sizes(keys: readonly string[], options: { signal?: AbortSignal } = {}): Promise<Map<string, number>> {
    const { signal } = options;
    signal?.throwIfAborted();
    const realRoot = this.realRoot ?? (await this.init());
    // A valid key is never under TEMP_DIR (assertValidKey refuses the reserved folder).
    for (const key of keys) assertValidKey(key);
    let mine = keys;
    const theirs: string[] = [];
    if (keys.length >= this.sizesWorkerFrom) {
      // Alternating: bottles and manifests cost differently, and come in runs.
      const own: string[] = [];
      for (let i = 0; i < keys.length; i++) (i % 2 === 0 ? own : theirs).push(keys[i] as string);
      mine = own;
    }
    const elsewhere = theirs.length > 0 ? sizesInWorker(realRoot, theirs, signal) : undefined;
    const own = await sizesHere(realRoot, mine, signal);
    const other = (await elsewhere) ?? (await sizesHere(realRoot, theirs, signal));
    signal?.throwIfAborted();
    const found = new Map<string, number>();
    for (const [list, sizes] of [
      [mine, own],
      [theirs, other],
    ] as const) {
      for (let i = 0; i < list.length; i++) {
        const key = list[i] as string;
        const size = sizes[i] as number;
        if (size >= 0) found.set(key, size);
        else if (size === LINK) {
          const linked = await this.stat(key).catch(() => null);
          if (linked !== null) found.set(key, linked.size);
        }
      }
    }
    return found;
  }

  async *list(prefix: string): AsyncIterable<BlobStat> {
    assertValidPrefix(prefix);
    const realRoot = await this.init();
    const slash = prefix.lastIndexOf("/");
    const startDir = slash < 0 ? "" : prefix.slice(0, slash + 1);
    yield* this.walk(realRoot, startDir, prefix);
  }

  /** One open, fstat and read of the whole file (a single read call where the kernel allows). */
  async readAll(key: string): Promise<{ bytes: Buffer; etag: string } | null> {
    const file = await this.openFile(key);
    if (file === null) return null;
    const { handle, info } = file;
    try {
      // Puts replace a file (rename), never write into it: the size read from this descriptor holds.
      const bytes = Buffer.allocUnsafe(info.size);
      let filled = 0;
      while (filled < bytes.length) {
        const { bytesRead } = await handle.read(bytes, filled, bytes.length - filled, filled);
        if (bytesRead === 0) break;
        filled += bytesRead;
      }
      return { bytes: filled === bytes.length ? bytes : bytes.subarray(0, filled), etag: etagOf(info) };
    } finally {
      await handle.close();
    }
  }

  async get(key: string, range?: { start: number; end?: number }): Promise<Readable> {
    const file = await this.openFile(key);
    if (file === null) throw new NotFoundError(key, this.location);
    const { handle, info } = file;
    try {
      if (range === undefined) return handle.createReadStream();
      assertValidRange(key, range);
      if (range.start >= info.size) throw new RangeNotSatisfiableError(key, range, info.size);
      const end = Math.min(range.end ?? info.size - 1, info.size - 1);
      return handle.createReadStream({ start: range.start, end });
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  /** The key's regular file, opened for reading after the containment check, with its fstat; null when absent. */
  private async openFile(key: string): Promise<{ handle: FileHandle; info: Stats } | null> {
    assertValidKey(key);
    const real = await this.resolveExisting(key);
    if (real === null) return null;
    const handle = await open(real, "r").catch((error: unknown) => {
      if (errnoCode(error) === "ENOENT" || errnoCode(error) === "EISDIR") return null;
      throw error;
    });
    if (handle === null) return null;
    try {
      const info = await handle.stat();
      if (info.isFile()) return { handle, info };
    } catch (error) {
      await handle.close();
      throw error;
    }
    await handle.close();
    return null;
  }

  async put(key: string, body: Readable | Uint8Array | string, options: PutOptions = {}): Promise<PutResult> {
    assertValidKey(key);
    assertValidExpectation(key, options);
    const realRoot = this.realRoot ?? (await this.init());
    if (options.deferSync && isSmall(body, options)) return this.putSmall(realRoot, key, body, options);
    const temp = join(realRoot, TEMP_DIR, randomUUID());
    const sink = new FileSink(temp, key, options);
    try {
      if (body instanceof Readable) await pipeline(body, sink);
      else {
        sink.end(typeof body === "string" ? Buffer.from(body) : body);
        await finished(sink);
      }
      await sink.close(!options.deferSync);
      const { size, sha256 } = sink.verify();
      const target = this.renameIntoPlace(realRoot, temp, key);
      if (options.deferSync) this.deferred(target, size);
      else await syncPath(dirname(target));
      return { key, size, sha256 };
    } catch (error) {
      await sink.close(false).catch(() => {});
      await rm(temp, { force: true });
      throw storageFullIn(error, this.location, key) ?? error;
    }
  }

  /**
   * A small `deferSync` put (a manifest, a small bottle): the body is hashed into memory, then the temp
   * file is created, written, closed and renamed with synchronous calls. Each of those four would
   * otherwise be a round trip through libuv's thread pool, and on two busy cores each wakes a pool
   * thread that preempts the main one; in the page cache the calls themselves take microseconds.
   * Same guarantees as `put`: nothing unverified under the key, durable at the next flush.
   */
  private async putSmall(
    realRoot: string,
    key: string,
    body: Readable | Uint8Array | string,
    options: PutOptions,
  ): Promise<PutResult> {
    const { bytes, size, sha256 } = await readHashed(key, body, options);
    const temp = join(realRoot, TEMP_DIR, randomUUID());
    try {
      writeFileSync(temp, bytes, { flag: "wx" });
      this.deferred(this.renameIntoPlace(realRoot, temp, key), size);
      return { key, size, sha256 };
    } catch (error) {
      rmSync(temp, { force: true });
      throw storageFullIn(error, this.location, key) ?? error;
    }
  }

  /** A file put with `deferSync`: made durable by the next flush (or the background flusher). */
  private deferred(target: string, size: number): void {
    this.unsynced.add(target);
    this.unsyncedFolders.add(dirname(target));
    if (size >= this.backgroundSyncMinBytes) {
      this.queued.add(target);
      this.flushInBackground();
    }
  }

  /** Renames a verified temp file to the key (parent folders made and checked); returns its path. */
  private renameIntoPlace(realRoot: string, temp: string, key: string): string {
    const target = this.targetPath(realRoot, key);
    try {
      renameSync(temp, target);
      return target;
    } catch (error) {
      // A remembered folder removed since (by hand, or another tool): check and create it again.
      if (errnoCode(error) !== "ENOENT" || this.dirs === undefined || this.dirs.size === 0) throw error;
      this.dirs.clear();
      const again = this.targetPath(realRoot, key);
      renameSync(temp, again);
      return again;
    }
  }

  /**
   * Makes every `deferSync` put made before the call durable: waits for the background flusher, then
   * one syncfs of the filesystem (or an fsync of each file the flusher has not reached, then of the
   * folders that gained files). A flush already running is waited for first.
   */
  flush(): Promise<void> {
    const next = this.flushing.catch(() => {}).then(() => this.flushNow());
    this.flushing = next;
    return next;
  }

  private async flushNow(): Promise<void> {
    await this.flusher;
    if (this.unsynced.size === 0 && this.unsyncedFolders.size === 0) return;
    const files = [...this.unsynced];
    const folders = [...this.unsyncedFolders];
    this.unsynced.clear();
    this.unsyncedFolders.clear();
    for (const file of files) this.queued.delete(file);
    try {
      if (this.flushMode === "syncfs" && (await this.syncfs())) return;
      await forEachBounded(files, FLUSH_CONCURRENCY, syncPath);
      await forEachBounded(folders, FLUSH_CONCURRENCY, syncPath);
    } catch (error) {
      for (const file of files) this.unsynced.add(file);
      for (const folder of folders) this.unsyncedFolders.add(folder);
      throw storageFullIn(error, this.location) ?? error;
    }
  }

  /**
   * syncfs(2) of the root's filesystem through coreutils' `sync -f` (Node has no binding): every file
   * and folder written there reaches the disk in one call. False where `sync -f` does not exist (the
   * store then fsyncs file by file from now on); a failure to write back is an error.
   */
  private syncfs(): Promise<boolean> {
    const root = this.realRoot ?? this.root;
    return new Promise((done, fail) => {
      execFile("sync", ["-f", root], { timeout: SYNCFS_TIMEOUT_MS }, (error, _stdout, stderr) => {
        if (!error) return done(true);
        const text = String(stderr).trim();
        if (errnoCode(error) === "ENOENT" || /invalid option|unrecognized option|usage/i.test(text)) {
          this.flushMode = "files";
          return done(false);
        }
        // coreutils says which errno syncfs(2) returned only in words: a full disk or quota there is
        // the same StorageFullError as at any other write (the run then says how much room it needs).
        const full = /No space left on device/i.test(text)
          ? "ENOSPC"
          : /Disk quota exceeded/i.test(text)
            ? "EDQUOT"
            : undefined;
        if (full) return fail(new StorageFullError(this.location, full, { cause: error }));
        fail(
          new StorageError(`could not flush ${this.root} to disk: ${text || error.message}`, {
            cause: error,
            fix: "check the disk and the filesystem (dmesg); completed objects are re-checked by the next run",
          }),
        );
      });
    });
  }

  /**
   * fsyncs the queued deferred files (two at a time) in the background, from the moment each is in
   * place: the disk writes back while the sync is still downloading, and flush() is left with little
   * to wait for. A failure leaves the file for flush(), which reports it.
   */
  private flushInBackground(): void {
    if (this.flusherRunning) return;
    this.flusherRunning = true;
    const drain = async (): Promise<void> => {
      for (let next = firstOf(this.queued); next !== undefined; next = firstOf(this.queued)) {
        this.queued.delete(next);
        const synced = await syncPath(next).then(
          () => true,
          () => false,
        );
        if (!synced) return;
        // Durable now, unless a flush took it over meanwhile (it syncs it again: harmless).
        if (this.flushMode === "files") this.unsynced.delete(next);
      }
    };
    this.flusher = Promise.all(Array.from({ length: BACKGROUND_FLUSHES }, drain)).then(() => {
      this.flusherRunning = false;
    });
  }

  async copy(source: string, target: string, options: CopyOptions): Promise<CopyMethod> {
    assertValidKey(source);
    assertValidKey(target);
    assertValidExpectation(target, options);
    const realRoot = await this.init();
    const real = await this.resolveExisting(source);
    const info = real === null ? null : await stat(real).catch(() => null);
    if (real === null || info === null || !info.isFile()) throw new NotFoundError(source, this.location);
    if (info.size !== options.size) {
      throw new IntegrityError({ key: target, field: "size", expected: options.size, actual: info.size });
    }
    const temp = join(realRoot, TEMP_DIR, randomUUID());
    const linked =
      this.hardLinks &&
      (await link(real, temp).then(
        () => true,
        (error: unknown) => {
          if (!NO_LINK.includes(errnoCode(error) ?? "")) throw error;
          return false;
        },
      ));
    if (!linked) {
      await this.put(target, await this.get(source), options);
      return "copy";
    }
    try {
      const path = this.targetPath(realRoot, target);
      await rename(temp, path);
      if (options.deferSync) {
        this.unsyncedFolders.add(dirname(path));
      } else await syncPath(dirname(path));
      return "link";
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
  }

  async putIfAbsent(key: string, body: Uint8Array | string): Promise<boolean> {
    assertValidKey(key);
    const realRoot = await this.init();
    const target = this.targetPath(realRoot, key);
    const temp = join(realRoot, TEMP_DIR, randomUUID());
    const bytes = typeof body === "string" ? Buffer.from(body) : body;
    try {
      await writeDurably(temp, bytes, "wx");
      try {
        await link(temp, target);
        return true;
      } catch (error) {
        if (errnoCode(error) === "EEXIST") return false;
        if (!["EPERM", "ENOTSUP", "EOPNOTSUPP", "ENOSYS", "EXDEV"].includes(errnoCode(error) ?? ""))
          throw error;
      }
      // No hard links here: exclusive create. A reader racing the writer may see a short file.
      try {
        await writeDurably(target, bytes, "wx");
        return true;
      } catch (error) {
        if (errnoCode(error) === "EEXIST") return false;
        throw error;
      }
    } catch (error) {
      throw storageFullIn(error, this.location, key) ?? error;
    } finally {
      await rm(temp, { force: true });
    }
  }

  /** Holds `bytes` back in `.tmp/reserve` (see fs-reserve.ts); false when they do not fit. */
  async reserve(bytes: number): Promise<boolean> {
    return writeReserve(join(await this.init(), TEMP_DIR, RESERVE_NAME), bytes);
  }

  /** Frees the space `reserve` held. */
  async releaseReserve(): Promise<void> {
    await releaseReserve(join(await this.init(), TEMP_DIR, RESERVE_NAME));
  }

  async delete(key: string): Promise<void> {
    assertValidKey(key);
    await this.init();
    const parent = await this.resolveExisting(dirname(key));
    if (parent === null) return;
    await unlink(join(parent, key.slice(key.lastIndexOf("/") + 1))).catch((error: unknown) => {
      if (errnoCode(error) !== "ENOENT") throw error;
    });
  }

  /** Creates the root and `.tmp/`, resolves the root's real path, and removes stale temp files. */
  private init(): Promise<string> {
    this.ready ??= (async () => {
      await mkdir(join(this.root, TEMP_DIR), { recursive: true });
      const realRoot = await realpath(this.root);
      const tempDir = join(realRoot, TEMP_DIR);
      const cutoff = Date.now() - this.staleTempMs;
      for (const name of await readdir(tempDir)) {
        const info = await lstat(join(tempDir, name)).catch(() => null);
        if (info !== null && info.mtimeMs < cutoff)
          await rm(join(tempDir, name), { force: true, recursive: true });
      }
      this.realRoot = realRoot;
      return realRoot;
    })();
    this.ready.catch(() => {
      this.ready = undefined;
    });
    return this.ready;
  }

  private inside(realRoot: string, real: string, key: string): string {
    if (real !== realRoot && !real.startsWith(realRoot + sep)) {
      throw new InvalidKeyError(key, `resolves outside the store root ${this.root} (through a symlink)`);
    }
    return real;
  }

  /** The real path of an existing key (file or folder) inside the root, or null when absent. */
  private async resolveExisting(key: string): Promise<string | null> {
    const realRoot = await this.init();
    if (key === ".") return realRoot;
    try {
      return this.inside(realRoot, realpathSync.native(join(realRoot, key)), key);
    } catch (error) {
      if (errnoCode(error) === "ENOENT" || errnoCode(error) === "ENOTDIR") return null;
      throw error;
    }
  }

  /** Creates the key's parent folders (checking each stays inside the root) and returns the path to write. */
  private targetPath(realRoot: string, key: string): string {
    const slash = key.lastIndexOf("/");
    if (slash < 0) return join(realRoot, key);
    const dir = key.slice(0, slash);
    const parent = this.dirs?.get(dir) ?? this.ensureDir(realRoot, dir, key);
    return join(parent, key.slice(slash + 1));
  }

  /**
   * The real path of folder `dir`, made if missing: its parent first (recursively, from the root),
   * then mkdir, which never follows a symlink, so a folder it creates inside a checked one is real and
   * needs no further check. One that exists already (EEXIST) is resolved and checked to stay inside the
   * root and to be a folder.
   */
  private ensureDir(realRoot: string, dir: string, key: string): string {
    const known = this.dirs?.get(dir);
    if (known !== undefined) return known;
    const slash = dir.lastIndexOf("/");
    const parent = slash < 0 ? realRoot : this.ensureDir(realRoot, dir.slice(0, slash), key);
    const path = join(parent, dir.slice(slash + 1));
    let real: string;
    try {
      mkdirSync(path);
      real = path;
    } catch (error) {
      if (errnoCode(error) !== "EEXIST") throw error;
      real = this.checkedDir(realRoot, path, dir, key);
    }
    this.dirs?.set(dir, real);
    return real;
  }

  /** The real path of an existing folder, inside the root; StorageError when it is a file. */
  private checkedDir(realRoot: string, path: string, dir: string, key: string): string {
    const real = this.inside(realRoot, realpathSync.native(path), key);
    if (!statSync(real).isDirectory())
      throw new StorageError(`cannot store ${key}: ${dir} is a file`, { key });
    return real;
  }

  /** Yields the files under `dir` (a key prefix ending in `/`, or "") that start with `prefix`, in key order. */
  private async *walk(realRoot: string, dir: string, prefix: string): AsyncGenerator<BlobStat> {
    const real = await this.resolveExisting(dir === "" ? "." : dir.slice(0, -1)).catch((error: unknown) => {
      if (error instanceof InvalidKeyError) return null;
      throw error;
    });
    if (real === null) return;
    const entries = await readdir(real, { withFileTypes: true }).catch((error: unknown) => {
      if (errnoCode(error) === "ENOENT" || errnoCode(error) === "ENOTDIR") return [];
      throw error;
    });
    const named = entries
      .filter((entry) => !(dir === "" && entry.name === TEMP_DIR))
      .map((entry) => ({ entry, sortKey: dir + entry.name + (entry.isDirectory() ? "/" : "") }))
      .sort((a, b) => compareKeys(a.sortKey, b.sortKey));
    for (const { entry, sortKey } of named) {
      if (!(sortKey.startsWith(prefix) || prefix.startsWith(sortKey))) continue;
      if (entry.isDirectory()) {
        yield* this.walk(realRoot, sortKey, prefix);
      } else if (entry.isFile() || entry.isSymbolicLink()) {
        // Symlinks count only when they resolve to a file inside the root (stat checks); never followed as folders.
        const info = await this.stat(sortKey).catch(() => null);
        if (info !== null) yield info;
      }
    }
  }
}

/** Keys `sizes` looks up between two turns of the event loop. */
const SIZES_BATCH = 500;

/** fs-sizes.ts `sizesOf` over `keys` on this thread, in batches of SIZES_BATCH (`signal` between them). */
async function sizesHere(
  realRoot: string,
  keys: readonly string[],
  signal: AbortSignal | undefined,
): Promise<Float64Array> {
  const sizes = new Float64Array(keys.length);
  const cache = folderCache();
  for (let from = 0; from < keys.length; from += SIZES_BATCH) {
    if (from > 0) await new Promise((resolveBatch) => setImmediate(resolveBatch));
    signal?.throwIfAborted();
    const to = Math.min(keys.length, from + SIZES_BATCH);
    sizesOf(
      { lstatSync, readdirSync },
      realRoot,
      keys,
      from,
      to,
      sizes.subarray(from),
      cache,
      LIST_FOLDERS_FROM,
    );
  }
  return sizes;
}

/** lstat without following a symlink; undefined when nothing (or no folder on the way) is there. */
function lstatOf(path: string): Stats | undefined {
  try {
    return lstatSync(path, { throwIfNoEntry: false });
  } catch (error) {
    if (["ENOTDIR", "ELOOP", "ENAMETOOLONG"].includes(errnoCode(error) ?? "")) return undefined;
    throw error;
  }
}

/** The path of an open descriptor as the kernel has it (Linux /proc), or undefined where there is none. */
function openedPath(fd: number): string | undefined {
  try {
    return readlinkSync(`/proc/self/fd/${fd}`);
  } catch {
    return undefined;
  }
}

function identityOf(info: { dev: number; ino: number; size: number; mtimeMs: number }): string {
  return `${info.dev}:${info.ino}:${info.size}:${info.mtimeMs}`;
}

/** The fs entity tag: size and mtime (what changes when a put replaces the file). */
function etagOf(info: { size: number; mtimeMs: number }): string {
  return `${info.size.toString(16)}-${info.mtimeMs.toString(16)}`;
}

/** Gathered chunks are written with one writev once this many bytes wait (fewer syscalls and thread hops). */
const WRITE_BATCH_BYTES = 1024 * 1024;

/** A `deferSync` body of at most this many bytes is written with synchronous calls (`putSmall`). */
const SMALL_PUT_BYTES = 256 * 1024;

/** True when the body is known to be small: its bytes are at hand, or the expected size says so. */
function isSmall(body: Readable | Uint8Array | string, options: PutOptions): boolean {
  if (body instanceof Readable) return options.size !== undefined && options.size <= SMALL_PUT_BYTES;
  return (typeof body === "string" ? Buffer.byteLength(body) : body.byteLength) <= SMALL_PUT_BYTES;
}

/**
 * The write end of a put: opens the temp file at once (on the thread pool, while the body's first
 * bytes are still on their way: creating a file waits for the filesystem's journal, which the other
 * writers on a busy disk keep busy), hashes each chunk as it arrives (the only pass over the bytes), and
 * writes them in ~1 MiB writev batches on the pool. Backpressure: at most about two batches are held.
 */
class FileSink extends HashingWritable {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private handle: FileHandle | undefined;
  private released = false;
  /** The open, then each write in turn: close() waits for it, so a descriptor is never closed under it. */
  private inflight: Promise<void>;

  constructor(
    private readonly path: string,
    key: string,
    expected: PutOptions,
  ) {
    super(key, expected, { highWaterMark: WRITE_BATCH_BYTES });
    const opening = open(path, "wx").then(async (handle) => {
      if (this.released) await handle.close();
      else this.handle = handle;
    });
    this.inflight = opening;
    // An open that fails surfaces at the first write or at close(); never as an unhandled rejection.
    opening.catch(() => {});
  }

  protected override consume(chunk: Buffer, callback: (error?: Error | null) => void): void {
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    if (this.pendingBytes < WRITE_BATCH_BYTES) callback();
    else this.writeBatch(callback);
  }

  protected override finish(callback: (error?: Error | null) => void): void {
    this.writeBatch(callback);
  }

  private writeBatch(callback: (error?: Error | null) => void): void {
    const buffers = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    const done = this.inflight.then(() => writeAll(this.handle as FileHandle, buffers));
    this.inflight = done;
    done.then(() => callback(), callback);
  }

  /** fsyncs the file when asked, then closes it (idempotent; waits for the open and any write in flight). */
  async close(sync: boolean): Promise<void> {
    this.released = true;
    await this.inflight.catch(() => {});
    const handle = this.handle;
    if (handle === undefined) return;
    this.handle = undefined;
    try {
      if (sync) await handle.sync();
    } finally {
      await handle.close();
    }
  }
}

/** writev until every byte of `buffers` is written (a short write resumes where it stopped). */
async function writeAll(handle: FileHandle, buffers: Buffer[]): Promise<void> {
  let rest = buffers;
  while (rest.length > 0) ({ rest } = advance(rest, (await handle.writev(rest)).bytesWritten));
}

/** The buffers still to write after `bytesWritten` of them were. */
function advance(buffers: Buffer[], bytesWritten: number): { rest: Buffer[]; bytesWritten: number } {
  let index = 0;
  let left = bytesWritten;
  while (index < buffers.length && left >= (buffers[index] as Buffer).length) {
    left -= (buffers[index] as Buffer).length;
    index++;
  }
  const rest = buffers.slice(index);
  if (left > 0 && rest.length > 0) rest[0] = (rest[0] as Buffer).subarray(left);
  return { rest, bytesWritten: left };
}

const FLUSH_CONCURRENCY = 4;
/** `sync -f` taking longer than this is a failed flush (a hung disk), not a wedged run. */
const SYNCFS_TIMEOUT_MS = 10 * 60 * 1000;
/** fsyncs in flight in the background (each holds a libuv thread while the disk works). */
const BACKGROUND_FLUSHES = 2;

function firstOf<T>(set: Set<T>): T | undefined {
  for (const item of set) return item;
  return undefined;
}

/** fsync of a file or folder by path; one that is gone (pruned since) has nothing left to flush. */
async function syncPath(path: string): Promise<void> {
  let handle: FileHandle;
  try {
    handle = await open(path, "r");
  } catch (error) {
    if (errnoCode(error) === "ENOENT") return;
    throw error;
  }
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function writeDurably(path: string, bytes: Uint8Array, flags: string): Promise<void> {
  const handle = await open(path, flags);
  try {
    await handle.writeFile(bytes);
    await handle.sync();
  } finally {
    await handle.close();
  }
}
