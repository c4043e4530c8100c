/**
 * BlobStore on an S3 bucket under a key prefix (AWS SDK v3).
 *
 * How "a key only ever holds verified bytes" is kept: S3 cannot check a whole-object sha256 before it
 * commits a multipart upload (its SHA256 checksums are per part, or composite), and we often learn the
 * digest only when the stream ends. So a streamed put uploads to a temp key `<prefix>.tmp/<uuid>/body`
 * (lib-storage Upload: multipart, bounded part size × queue, so memory stays small) while hashing, and
 * only when size and sha256 match is the temp object copied server-side onto the real key (CopyObject,
 * or UploadPartCopy above CopyObject's 5 GiB limit). The temp object is deleted either way; readers of
 * the real key see the old object or the complete new one. In-memory bodies (state, manifests, API
 * files) are hashed first and written with a single PutObject. A run killed mid-upload can leave
 * `<prefix>.tmp/` objects and incomplete multipart uploads: give the bucket a lifecycle rule that
 * expires `.tmp/` after a day and aborts incomplete multipart uploads.
 *
 * putIfAbsent: HEAD first (a cheap refusal, and the right answer on S3-compatible servers that ignore
 * conditional headers, such as s3rver), then PutObject with `If-None-Match: *`, which AWS S3 arbitrates
 * atomically (412 → false; 409 ConditionalRequestConflict → retry).
 *
 * The client sets `requestChecksumCalculation: "WHEN_REQUIRED"` (DESIGN.md §7: otherwise streamed PUT
 * bodies are sent aws-chunked, which s3rver stores verbatim).
 */
import { randomUUID } from "node:crypto";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream";
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
  UploadPartCopyCommand,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { forEachBounded } from "../shared/concurrency.ts";
import type { BlobStat, BlobStore, PutOptions, PutResult } from "./blob-store.ts";
import { NotFoundError, RangeNotSatisfiableError, StorageError } from "./errors.ts";
import { assertValidExpectation, digestOf, hashingStream, verifyDigest } from "./hashing.ts";
import { assertValidKey, assertValidPrefix, isValidKey, TEMP_DIR } from "./keys.ts";
import { assertValidRange, trimToRange } from "./range.ts";

const MiB = 1024 * 1024;
/** CopyObject copies at most 5 GiB; larger objects need a multipart copy. */
export const COPY_OBJECT_LIMIT = 5 * 1024 * MiB;
const MAX_PARTS = 10_000;

export interface S3StoreOptions {
  bucket: string;
  /** Key prefix inside the bucket (`mirror` or `mirror/`); "" for the bucket root. */
  prefix?: string;
  /** Passed to `new S3Client` (region, endpoint, forcePathStyle, credentials…). */
  clientConfig?: S3ClientConfig;
  /** Multipart part size for streamed puts (default 8 MiB, minimum 5 MiB). */
  partSize?: number;
  /**
   * Parts in flight per streamed put (default 2). Memory per put ≈ partSize × (queueSize + 2): the parts
   * in flight, the part being filled and lib-storage's concatenation of it.
   */
  queueSize?: number;
  /** Above this size the verified temp object is copied with UploadPartCopy (default 5 GiB). */
  multipartCopyThreshold?: number;
  /** Part size of a multipart copy (default 512 MiB; raised to fit 10,000 parts). */
  copyPartSize?: number;
  /** Keys per ListObjectsV2 page (default: the server's, 1000 on S3); small values exercise pagination. */
  listPageSize?: number;
}

interface AwsError {
  name?: string;
  Code?: string;
  $metadata?: { httpStatusCode?: number };
}

function httpStatus(error: unknown): number | undefined {
  return (error as AwsError | null)?.$metadata?.httpStatusCode;
}

function errorCode(error: unknown): string | undefined {
  return (error as AwsError | null)?.name ?? (error as AwsError | null)?.Code;
}

function isNotFound(error: unknown): boolean {
  return httpStatus(error) === 404 || ["NotFound", "NoSuchKey"].includes(errorCode(error) ?? "");
}

/** CopySource is `bucket/key`, URL-encoded per segment. */
function copySource(bucket: string, key: string): string {
  return `${bucket}/${key.split("/").map(encodeURIComponent).join("/")}`;
}

export class S3Store implements BlobStore {
  readonly location: string;
  readonly client: S3Client;
  readonly bucket: string;
  readonly prefix: string;
  private readonly partSize: number;
  private readonly queueSize: number;
  private readonly multipartCopyThreshold: number;
  private readonly copyPartSize: number;
  private readonly listPageSize: number | undefined;

  constructor(options: S3StoreOptions) {
    const prefix = (options.prefix ?? "").replace(/^\/+|\/+$/g, "");
    assertValidPrefix(prefix);
    this.bucket = options.bucket;
    this.prefix = prefix === "" ? "" : `${prefix}/`;
    this.location = `s3://${this.bucket}/${this.prefix}`;
    this.client = new S3Client({
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
      ...options.clientConfig,
    });
    this.partSize = Math.max(options.partSize ?? 8 * MiB, 5 * MiB);
    this.queueSize = Math.max(options.queueSize ?? 2, 1);
    this.multipartCopyThreshold = Math.min(
      options.multipartCopyThreshold ?? COPY_OBJECT_LIMIT,
      COPY_OBJECT_LIMIT,
    );
    this.copyPartSize = Math.max(options.copyPartSize ?? 512 * MiB, 5 * MiB);
    this.listPageSize = options.listPageSize;
  }

  async stat(key: string): Promise<BlobStat | null> {
    assertValidKey(key);
    try {
      const head = await this.client.send(
        new HeadObjectCommand({ Bucket: this.bucket, Key: this.prefix + key }),
      );
      return {
        key,
        size: head.ContentLength ?? 0,
        modified: head.LastModified ?? new Date(0),
        etag: head.ETag,
      };
    } catch (error) {
      if (isNotFound(error)) return null;
      throw this.failure("stat", key, error);
    }
  }

  /** Keys under `<prefix>.tmp/` and keys that are not valid BlobStore keys are skipped. */
  async *list(prefix: string): AsyncIterable<BlobStat> {
    assertValidPrefix(prefix);
    let token: string | undefined;
    do {
      const page = await this.client
        .send(
          new ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: this.prefix + prefix,
            ContinuationToken: token,
          }),
        )
        .catch((error: unknown) => {
          throw this.failure("list", prefix, error);
        });
      for (const object of page.Contents ?? []) {
        const key = object.Key?.slice(this.prefix.length) ?? "";
        if (!isValidKey(key)) continue;
        yield {
          key,
          size: object.Size ?? 0,
          modified: object.LastModified ?? new Date(0),
          etag: object.ETag,
        };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
  }

  async get(key: string, range?: { start: number; end?: number }): Promise<Readable> {
    assertValidKey(key);
    if (range !== undefined) assertValidRange(key, range);
    try {
      const object = await this.client.send(
        new GetObjectCommand({
          Bucket: this.bucket,
          Key: this.prefix + key,
          Range: range === undefined ? undefined : `bytes=${range.start}-${range.end ?? ""}`,
        }),
      );
      const body = object.Body as Readable;
      return range === undefined ? body : trimToRange(body, range, object.ContentRange);
    } catch (error) {
      if (isNotFound(error)) throw new NotFoundError(key, this.location, { cause: error });
      if (httpStatus(error) === 416 || errorCode(error) === "InvalidRange") {
        throw new RangeNotSatisfiableError(key, range ?? { start: 0 }, undefined, error);
      }
      throw this.failure("get", key, error);
    }
  }

  async put(key: string, body: Readable | Uint8Array | string, options: PutOptions = {}): Promise<PutResult> {
    assertValidKey(key);
    assertValidExpectation(key, options);
    if (typeof body === "string" || body instanceof Uint8Array) {
      const digest = verifyDigest(key, options, digestOf(body));
      await this.client
        .send(
          new PutObjectCommand({
            Bucket: this.bucket,
            Key: this.prefix + key,
            Body: typeof body === "string" ? Buffer.from(body) : body,
            ContentType: options.contentType,
          }),
        )
        .catch((error: unknown) => {
          throw this.failure("put", key, error);
        });
      return { key, ...digest };
    }

    // One "folder" per upload: s3rver (filesystem-backed) removes a folder left empty by a delete, and
    // with one shared `.tmp/` that raced a concurrent put into it and crashed the server.
    const temp = `${this.prefix}${TEMP_DIR}/${randomUUID()}/body`;
    const hasher = hashingStream(key, options);
    pipeline(body, hasher, () => undefined); // errors surface through hasher.errored
    try {
      const upload = new Upload({
        client: this.client,
        params: { Bucket: this.bucket, Key: temp, Body: hasher, ContentType: options.contentType },
        partSize: this.partSize,
        queueSize: this.queueSize,
        leavePartsOnError: false,
      });
      await upload.done();
      const digest = hasher.verify();
      await this.copy(temp, this.prefix + key, digest.size, options.contentType);
      return { key, ...digest };
    } catch (error) {
      // A failing source or a size overflow destroyed the hasher: report that, not the Upload's view of it.
      if (hasher.errored !== null) throw hasher.errored;
      hasher.destroy(); // stop reading the source
      if (error instanceof StorageError) throw error;
      throw this.failure("put", key, error);
    } finally {
      await this.client
        .send(new DeleteObjectCommand({ Bucket: this.bucket, Key: temp }))
        .catch(() => undefined);
    }
  }

  async putIfAbsent(key: string, body: Uint8Array | string): Promise<boolean> {
    assertValidKey(key);
    if ((await this.stat(key)) !== null) return false;
    const result = await this.conditional("putIfAbsent", key, () =>
      this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: this.prefix + key,
          Body: typeof body === "string" ? Buffer.from(body) : body,
          IfNoneMatch: "*",
        }),
      ),
    );
    return result !== null;
  }

  async replaceIfMatch(key: string, body: Uint8Array | string, etag: string): Promise<string | null> {
    assertValidKey(key);
    const result = await this.conditional("replaceIfMatch", key, () =>
      this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: this.prefix + key,
          Body: typeof body === "string" ? Buffer.from(body) : body,
          ContentType: "application/json",
          IfMatch: etag,
        }),
      ),
    );
    if (result === null) return null;
    return result.ETag ?? (await this.stat(key))?.etag ?? null;
  }

  async deleteIfMatch(key: string, etag: string): Promise<boolean> {
    assertValidKey(key);
    const result = await this.conditional("deleteIfMatch", key, () =>
      this.client.send(
        new DeleteObjectCommand({ Bucket: this.bucket, Key: this.prefix + key, IfMatch: etag }),
      ),
    );
    return result !== null;
  }

  /**
   * A conditional request: null when S3 says the precondition failed (412) or the object is gone
   * (404, not NoSuchBucket); a 409 ConditionalRequestConflict (another conditional write in flight)
   * is retried.
   */
  private async conditional<T>(operation: string, key: string, send: () => Promise<T>): Promise<T | null> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await send();
      } catch (error) {
        if (httpStatus(error) === 412 || errorCode(error) === "PreconditionFailed") return null;
        // The object is gone (a 404 that is not NoSuchBucket: a missing bucket is a real failure).
        if (isNotFound(error) && errorCode(error) !== "NoSuchBucket") return null;
        if ((httpStatus(error) === 409 || errorCode(error) === "ConditionalRequestConflict") && attempt < 5) {
          await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** attempt * Math.random()));
          continue;
        }
        throw this.failure(operation, key, error);
      }
    }
  }

  async delete(key: string): Promise<void> {
    assertValidKey(key);
    await this.client
      .send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.prefix + key }))
      .catch((error) => {
        if (!isNotFound(error)) throw this.failure("delete", key, error);
      });
  }

  async close(): Promise<void> {
    this.client.destroy();
  }

  /** Server-side copy of a verified temp object onto its real key. */
  private async copy(from: string, to: string, size: number, contentType: string | undefined): Promise<void> {
    const CopySource = copySource(this.bucket, from);
    if (size <= this.multipartCopyThreshold) {
      await this.client.send(new CopyObjectCommand({ Bucket: this.bucket, Key: to, CopySource }));
      return;
    }
    const partSize = Math.max(this.copyPartSize, Math.ceil(size / MAX_PARTS));
    const { UploadId } = await this.client.send(
      new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: to, ContentType: contentType }),
    );
    try {
      const ranges = Array.from({ length: Math.ceil(size / partSize) }, (_, index) => ({
        PartNumber: index + 1,
        range: `bytes=${index * partSize}-${Math.min((index + 1) * partSize, size) - 1}`,
      }));
      const parts: Array<{ PartNumber: number; ETag: string | undefined }> = [];
      await forEachBounded(ranges, this.queueSize * 2, async (part) => {
        const result = await this.client.send(
          new UploadPartCopyCommand({
            Bucket: this.bucket,
            Key: to,
            UploadId,
            PartNumber: part.PartNumber,
            CopySource,
            CopySourceRange: part.range,
          }),
        );
        parts.push({ PartNumber: part.PartNumber, ETag: result.CopyPartResult?.ETag });
      });
      parts.sort((a, b) => a.PartNumber - b.PartNumber);
      await this.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: this.bucket,
          Key: to,
          UploadId,
          MultipartUpload: { Parts: parts },
        }),
      );
    } catch (error) {
      await this.client
        .send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: to, UploadId }))
        .catch(() => undefined);
      throw error;
    }
  }

  private failure(operation: string, key: string, error: unknown): StorageError {
    const status = httpStatus(error);
    const detail = `${errorCode(error) ?? "error"}${status === undefined ? "" : ` (HTTP ${status})`}`;
    return new StorageError(
      `S3 ${operation} of ${JSON.stringify(key)} in ${this.location} failed: ${detail}: ${(error as Error)?.message ?? String(error)}`,
      {
        key,
        cause: error,
        fix: "Check the bucket name, region or endpoint (AWS_ENDPOINT_URL_S3), and that the credentials allow s3:GetObject/PutObject/DeleteObject/ListBucket on it.",
      },
    );
  }
}
