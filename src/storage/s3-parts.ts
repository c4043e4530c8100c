/**
 * The parts of an S3 multipart upload (src/storage/s3.ts): the body cut into fixed-size parts, at most
 * `queueSize` of them in flight. The caller creates the upload, and completes it only once the body's
 * digest matched (or aborts it).
 */
import { type CompletedPart, type S3Client, UploadPartCommand } from "@aws-sdk/client-s3";
import { StorageError } from "./errors.ts";

/** Parts per upload S3 accepts. */
export const MAX_PARTS = 10_000;

export interface UploadPartsOptions {
  client: S3Client;
  bucket: string;
  /** The full object key (prefix included). */
  key: string;
  uploadId: string;
  source: AsyncIterable<Buffer>;
  partSize: number;
  queueSize: number;
}

/** Uploads every part of `source`; resolves with them in part order, or rejects with the first failure. */
export async function uploadParts(options: UploadPartsOptions): Promise<CompletedPart[]> {
  const { client, partSize } = options;
  const parts: CompletedPart[] = [];
  const inFlight = new Set<Promise<void>>();
  let failed: { error: unknown } | undefined;
  let partNumber = 0;
  for await (const part of partsOf(options.source, partSize)) {
    if (++partNumber > MAX_PARTS) {
      throw new StorageError(`${options.key} is larger than ${MAX_PARTS} parts of ${partSize} bytes`, {
        key: options.key,
        fix: "Pass the expected size (the part size grows to fit), or raise partSize.",
      });
    }
    const PartNumber = partNumber;
    const sent = client
      .send(
        new UploadPartCommand({
          Bucket: options.bucket,
          Key: options.key,
          UploadId: options.uploadId,
          PartNumber,
          Body: part,
          ContentLength: part.byteLength,
        }),
      )
      .then(
        (result) => {
          parts.push({ PartNumber, ETag: result.ETag });
        },
        (error: unknown) => {
          failed ??= { error };
        },
      )
      .finally(() => inFlight.delete(sent));
    inFlight.add(sent);
    if (inFlight.size >= options.queueSize) await Promise.race(inFlight);
    if (failed) throw failed.error;
  }
  await Promise.all(inFlight);
  if (failed) throw failed.error;
  return parts.sort((a, b) => (a.PartNumber ?? 0) - (b.PartNumber ?? 0));
}

/**
 * The body cut into parts of `partSize` bytes (the last one shorter; one empty part for an empty body,
 * which S3 accepts as the only part). Each part is a fresh buffer: it stays alive until its upload ends.
 */
export async function* partsOf(source: AsyncIterable<Buffer>, partSize: number): AsyncGenerator<Buffer> {
  let part = Buffer.allocUnsafe(partSize);
  let filled = 0;
  let yielded = false;
  for await (const chunk of source) {
    let offset = 0;
    while (offset < chunk.byteLength) {
      const n = Math.min(partSize - filled, chunk.byteLength - offset);
      chunk.copy(part, filled, offset, offset + n);
      filled += n;
      offset += n;
      if (filled === partSize) {
        yield part;
        yielded = true;
        part = Buffer.allocUnsafe(partSize);
        filled = 0;
      }
    }
  }
  if (filled > 0 || !yielded) yield part.subarray(0, filled);
}
