import { createHash } from "node:crypto";
import type { BlobResponse, BottleManifest } from "../homebrew/registry-client.ts";
import { isTransientError, type RetryOptions, withRetry } from "../homebrew/retry.ts";
import { errorMessage } from "../shared/errors.ts";
import type { BlobStat, BlobStore } from "../storage/blob-store.ts";
import { IntegrityError } from "../storage/errors.ts";
import { TransferError } from "./errors.ts";
import type { PlannedManifest, PlannedTransfer } from "./plan.ts";

/**
 * The registry calls a transfer needs (RegistryClient satisfies it; tests may pass a fake). `onBytes`
 * must be called with the size of every piece of the body as it is received (the progress count).
 */
export interface BlobSource {
  blob(
    image: string,
    sha256: string,
    options?: { signal?: AbortSignal; onBytes?: (bytes: number) => void },
  ): Promise<BlobResponse>;
}

export interface ManifestSource {
  manifest(image: string, reference: string): Promise<BottleManifest>;
}

export interface TransferOptions {
  store: BlobStore;
  registry: BlobSource;
  /** Known to have no object at the key (listed moments ago): skip looking for one to adopt. */
  absent?: boolean;
  retry?: RetryOptions;
  signal?: AbortSignal;
  /** Bytes received (negative when a failed attempt's bytes are taken back). */
  onBytes?: (delta: number) => void;
  /** Called before each retry wait. */
  onRetry?: (key: string, attempt: number, delayMs: number, error: unknown) => void;
}

export interface TransferResult {
  key: string;
  size: number;
  sha256: string;
  /** True when an object already in the store was re-hashed, found correct and kept (no download). */
  adopted: boolean;
  /** Download attempts made (0 when adopted). */
  attempts: number;
}

/**
 * Moves one bottle: an object already at the key with the expected size is adopted after a sha256
 * re-hash (a killed run leaves either nothing or complete, verified objects, because puts are atomic);
 * otherwise the registry blob streams into `store.put`, which hashes on the way and stores nothing on a
 * mismatch. 5xx/429/resets/truncation and corrupted bodies are retried with backoff + jitter (honouring
 * Retry-After); the final failure is a TransferError naming the key.
 */
export async function transferBottle(
  ref: PlannedTransfer,
  options: TransferOptions,
): Promise<TransferResult> {
  const { store } = options;
  let absent = options.absent === true;
  if (!absent) {
    const stat = await store.stat(ref.key);
    absent = stat === null;
    const adopted = stat === null ? null : await adoptIfVerified(store, ref.key, ref.sha256, ref.size, stat);
    if (adopted !== null) return { key: ref.key, ...adopted, adopted: true, attempts: 0 };
  }
  let attempts = 0;
  try {
    const result = await withRetry(
      async (attempt) => {
        attempts = attempt;
        let received = 0;
        const blob = await options.registry.blob(ref.image, ref.sha256, {
          ...(options.signal ? { signal: options.signal } : {}),
          onBytes: (bytes) => {
            received += bytes;
            options.onBytes?.(bytes);
          },
        });
        // The body streams into the store as it arrives; a failed put stores nothing.
        try {
          return await store.put(ref.key, blob.body, {
            sha256: ref.sha256,
            ...(ref.size === undefined ? {} : { size: ref.size }),
            contentType: "application/gzip",
            deferSync: true,
            // Known to be new: S3 writes it with If-None-Match (no second version of a bottle); an object
            // there that failed the adopt check is replaced (verify --repair).
            ...(absent ? { ifAbsent: true } : {}),
          });
        } catch (error) {
          blob.body.destroy();
          options.onBytes?.(-received);
          throw error;
        }
      },
      {
        ...options.retry,
        ...(options.signal ? { signal: options.signal } : {}),
        isRetryable: (error) => error instanceof IntegrityError || isTransientError(error),
        onRetry: (info) => {
          options.retry?.onRetry?.(info);
          options.onRetry?.(ref.key, info.attempt, info.delayMs, info.error);
        },
      },
    );
    return { key: ref.key, size: result.size, sha256: result.sha256, adopted: false, attempts };
  } catch (error) {
    const status = (error as { status?: unknown }).status;
    throw new TransferError(`${ref.key}: ${errorMessage(error)} (after ${attempts} attempt(s))`, {
      key: ref.key,
      ...(typeof status === "number" ? { status } : {}),
      cause: error,
      fix: "re-run the sync: completed bottles are kept; if it keeps failing, the upstream serves bad bytes",
    });
  }
}

/**
 * The object at `key` if it exists with `size` (when known) and re-hashes to `sha256`; else null.
 * Never trusts the object's name or size alone. `known`: the key's stat, when the caller has it.
 */
export async function adoptIfVerified(
  store: BlobStore,
  key: string,
  sha256: string,
  size?: number,
  known?: BlobStat,
): Promise<{ size: number; sha256: string } | null> {
  const stat = known ?? (await store.stat(key));
  if (stat === null || (size !== undefined && stat.size !== size)) return null;
  const actual = await hashStored(store, key);
  return actual.sha256 === sha256 ? actual : null;
}

/** Streams an object and returns its size and sha256 (never buffered whole). */
export async function hashStored(store: BlobStore, key: string): Promise<{ size: number; sha256: string }> {
  const hash = createHash("sha256");
  let size = 0;
  for await (const chunk of await store.get(key)) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    hash.update(buffer);
  }
  return { size, sha256: hash.digest("hex") };
}

export interface FetchedManifest {
  key: string;
  raw: Uint8Array;
  sha256: string;
  sizes: Map<string, number>;
  digests: Map<string, string>;
}

/** Reads one manifest from the registry (the client retries transient failures). */
export async function fetchManifest(
  manifest: PlannedManifest,
  registry: ManifestSource,
): Promise<FetchedManifest> {
  try {
    const fetched = await registry.manifest(manifest.image, manifest.versionRebuild);
    return {
      key: manifest.key,
      raw: fetched.raw,
      sha256: createHash("sha256").update(fetched.raw).digest("hex"),
      sizes: fetched.sizes,
      digests: fetched.digests,
    };
  } catch (error) {
    const status = (error as { status?: unknown }).status;
    throw new TransferError(`${manifest.key}: ${errorMessage(error)}`, {
      key: manifest.key,
      ...(typeof status === "number" ? { status } : {}),
      cause: error,
    });
  }
}

/** Stores a manifest's raw bytes (as served by the registry) under its key, verified. */
export async function storeManifest(store: BlobStore, manifest: FetchedManifest): Promise<void> {
  await store.put(manifest.key, manifest.raw, {
    sha256: manifest.sha256,
    size: manifest.raw.byteLength,
    contentType: "application/vnd.oci.image.index.v1+json",
    deferSync: true,
  });
}
