import { createCipheriv, createHash } from "node:crypto";
import { Readable } from "node:stream";

/**
 * Synthetic bottle bytes, generated on the fly and never held in memory: a pseudo-random block of up
 * to 64 KiB (AES-128-CTR keystream keyed by the bottle's id and size) repeated to the bottle's size.
 * The same (id, size) always yields the same bytes, so the emulator computes each sha256 once by
 * streaming the generator, caches it, and serves any range later without storing anything.
 */
export const BLOCK_SIZE = 64 * 1024;

export interface BlobSpec {
  /** Unique per bottle, e.g. `openssl@3|3.0.5|arm64_sequoia|0`. */
  id: string;
  size: number;
}

const BLOCK_CACHE_LIMIT = 64;
const ZEROS = Buffer.alloc(BLOCK_SIZE);
const blockCache = new Map<string, Buffer>();
const digestCache = new Map<string, string>();

function cacheKey(spec: BlobSpec): string {
  return `${spec.size}:${spec.id}`;
}

/** The repeated block of `spec` (LRU-cached: at most 64 blocks, 4 MiB). */
export function blockOf(spec: BlobSpec): Buffer {
  const key = cacheKey(spec);
  const cached = blockCache.get(key);
  if (cached) {
    blockCache.delete(key);
    blockCache.set(key, cached);
    return cached;
  }
  const seed = createHash("sha256").update(key).digest();
  const cipher = createCipheriv("aes-128-ctr", seed.subarray(0, 16), seed.subarray(16, 32));
  const length = Math.max(1, Math.min(BLOCK_SIZE, spec.size));
  const block = cipher.update(ZEROS.subarray(0, length));
  blockCache.set(key, block);
  if (blockCache.size > BLOCK_CACHE_LIMIT) {
    const oldest = blockCache.keys().next().value;
    if (oldest !== undefined) blockCache.delete(oldest);
  }
  return block;
}

/** The sha256 of the whole blob, computed once by streaming the generator and then cached. */
export function blobDigest(spec: BlobSpec): string {
  const key = cacheKey(spec);
  const cached = digestCache.get(key);
  if (cached) return cached;
  const block = blockOf(spec);
  const hash = createHash("sha256");
  const fullBlocks = Math.floor(spec.size / block.length);
  for (let i = 0; i < fullBlocks; i++) hash.update(block);
  const rest = spec.size - fullBlocks * block.length;
  if (rest > 0) hash.update(block.subarray(0, rest));
  const digest = hash.digest("hex");
  digestCache.set(key, digest);
  return digest;
}

/**
 * A stream of bytes `start..end` (inclusive) of the blob. Chunks are views of the shared block:
 * consumers that modify bytes must copy first.
 */
export function blobStream(spec: BlobSpec, start = 0, end: number = spec.size - 1): Readable {
  const block = blockOf(spec);
  let position = start;
  const last = Math.min(end, spec.size - 1);
  return new Readable({
    highWaterMark: 4 * BLOCK_SIZE,
    read(): void {
      while (position <= last) {
        const offset = position % block.length;
        const length = Math.min(block.length - offset, last - position + 1);
        position += length;
        if (!this.push(block.subarray(offset, offset + length))) return;
      }
      this.push(null);
    },
  });
}

/** Forgets cached digests and blocks (tests that measure memory start clean). */
export function clearBlobCaches(): void {
  blockCache.clear();
  digestCache.clear();
}
