import type { Readable } from "node:stream";
import {
  type BlobStat,
  type BlobStore,
  type CopyMethod,
  type CopyOptions,
  type PutOptions,
  type PutResult,
  readAllOf,
} from "./blob-store.ts";

/**
 * A BlobStore whose backend module is imported on first use. `openStore` returns one for `s3://`
 * destinations so that a command working on a folder never loads the AWS SDK (~40 MB of heap).
 */
export class LazyStore<T extends BlobStore> implements BlobStore {
  readonly location: string;
  /** Present when the backend has compare-and-swap (declared up front: callers test for it before load). */
  readonly replaceIfMatch?: (key: string, body: Uint8Array | string, etag: string) => Promise<string | null>;
  readonly deleteIfMatch?: (key: string, etag: string) => Promise<boolean>;
  #load: () => Promise<T>;
  #store: Promise<T> | undefined;

  constructor(location: string, load: () => Promise<T>, capabilities: { compareAndSwap?: boolean } = {}) {
    this.location = location;
    this.#load = load;
    if (capabilities.compareAndSwap) {
      this.replaceIfMatch = async (key, body, etag) =>
        (await this.casBackend()).replaceIfMatch(key, body, etag);
      this.deleteIfMatch = async (key, etag) => (await this.casBackend()).deleteIfMatch(key, etag);
    }
  }

  private async casBackend(): Promise<Required<Pick<BlobStore, "replaceIfMatch" | "deleteIfMatch">>> {
    const store = await this.resolve();
    if (!store.replaceIfMatch || !store.deleteIfMatch) {
      throw new Error(`${this.location}: the backend was declared with compare-and-swap but has none`);
    }
    return store as Required<Pick<BlobStore, "replaceIfMatch" | "deleteIfMatch">>;
  }

  /** The backend itself (loaded once). */
  resolve(): Promise<T> {
    this.#store ??= this.#load();
    return this.#store;
  }

  async stat(key: string): Promise<BlobStat | null> {
    return (await this.resolve()).stat(key);
  }

  async *list(prefix: string): AsyncIterable<BlobStat> {
    yield* (await this.resolve()).list(prefix);
  }

  async get(key: string, range?: { start: number; end?: number }): Promise<Readable> {
    return (await this.resolve()).get(key, range);
  }

  async readAll(key: string): Promise<{ bytes: Buffer; etag?: string } | null> {
    return readAllOf(await this.resolve(), key);
  }

  async put(key: string, body: Readable | Uint8Array | string, options?: PutOptions): Promise<PutResult> {
    return (await this.resolve()).put(key, body, options);
  }

  async putIfAbsent(key: string, body: Uint8Array | string): Promise<boolean> {
    return (await this.resolve()).putIfAbsent(key, body);
  }

  /** The backend's copy (S3: server-side); a backend without one gets the bytes streamed through put. */
  async copy(source: string, target: string, options: CopyOptions): Promise<CopyMethod> {
    const store = await this.resolve();
    if (store.copy) return store.copy(source, target, options);
    await store.put(target, await store.get(source), options);
    return "copy";
  }

  async delete(key: string): Promise<void> {
    return (await this.resolve()).delete(key);
  }

  async flush(): Promise<void> {
    await (await this.resolve()).flush?.();
  }

  async close(): Promise<void> {
    // Nothing to release when the backend was never loaded.
    if (this.#store) await (await this.#store).close?.();
  }
}
