/**
 * BlobStore on an S3 bucket under a key prefix (AWS SDK v3).
 *
 * How "a key only ever holds verified bytes" is kept, without temp objects (no copy, no delete, no
 * noncurrent temp versions on a versioned bucket):
 * - In-memory bodies (state, manifests, API files) are hashed first, then sent in one PutObject.
 * - A streamed body whose size and sha256 the caller knows, up to `multipartThreshold`, goes up in one
 *   PutObject with `x-amz-checksum-sha256` set to the expected digest: S3 computes the sha256 of what it
 *   receives and refuses a mismatch (400 BadDigest) without storing anything. The body is also hashed on
 *   the way and its last chunk is held back until the whole body matched (HashingStream `holdLast`), so
 *   on a mismatch the request ends short of its Content-Length and no server stores it — the same
 *   guarantee on S3-compatible servers that ignore the checksum header (s3rver).
 * - Any other streamed body goes up as a multipart upload, hashed while streaming; the upload is
 *   completed only when size and sha256 matched, otherwise aborted. Until CompleteMultipartUpload
 *   nothing is visible under the key. Memory ≈ partSize × (queueSize + 1) per put.
 * Every write records the sha256 as object metadata (`x-amz-meta-sha256`). With `ifAbsent` the write
 * carries `If-None-Match: *` (PutObject, CompleteMultipartUpload): S3 then never overwrites an object
 * that appeared meanwhile; a 412 is success when that object's recorded sha256 is the expected one.
 * A run killed mid-upload leaves an incomplete multipart upload (invisible, but billed): the storage
 * module's lifecycle rule aborts them after a day (infra/terraform/modules/storage).
 *
 * copy (the OCI layout's second name for a bottle): a HEAD of the source (its size and the sha256 its
 * put recorded must be the expected ones), then one server-side CopyObject, no byte through the
 * runner; the metadata (sha256, content type) comes along. It asks S3 for the copy's SHA-256
 * (`x-amz-checksum-algorithm`) and deletes a copy whose checksum is not the expected one; servers that
 * return none (s3rver) copy the source's verified bytes as they are. Above 5 GiB (CopyObject's limit)
 * the bytes stream through a verified put instead. Not a website-redirect object: S3 honours
 * `x-amz-website-redirect-location` only on its website endpoint, never on the REST endpoint that
 * CloudFront (OAC) and clients reading the bucket use (docs/homebrew-contract.md).
 *
 * putIfAbsent: HEAD first (a cheap refusal, and the right answer on S3-compatible servers that ignore
 * conditional headers, such as s3rver), then PutObject with `If-None-Match: *`, which AWS S3 arbitrates
 * atomically (412 → false; 409 ConditionalRequestConflict → retry).
 *
 * The client sets `requestChecksumCalculation: "WHEN_REQUIRED"` (DESIGN.md §7: otherwise streamed PUT
 * bodies are sent aws-chunked, which s3rver stores verbatim).
 */
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
} from "@aws-sdk/client-s3";
import type { BlobStat, BlobStore, CopyMethod, CopyOptions, PutOptions, PutResult } from "./blob-store.ts";
import { IntegrityError, NotFoundError, RangeNotSatisfiableError, StorageError } from "./errors.ts";
import {
  assertValidExpectation,
  digestOf,
  type HashingStream,
  hashingStream,
  verifyDigest,
} from "./hashing.ts";
import { assertValidKey, assertValidPrefix, isValidKey } from "./keys.ts";
import { assertValidRange, trimToRange } from "./range.ts";
import { s3Failure } from "./s3-errors.ts";
import { MAX_PARTS, uploadParts } from "./s3-parts.ts";

const MiB = 1024 * 1024;
/** When to look for what a failed single PUT left behind (see removeTruncated): ~1 s in all. */
const LEFTOVER_CHECKS_MS = [0, 50, 150, 300, 500];

/** The largest single PutObject S3 takes. */
const MAX_SINGLE_PUT = 5 * 1024 * MiB;
/** Object metadata key holding the sha256 a put verified (`x-amz-meta-sha256`). */
export const SHA256_METADATA = "sha256";

export interface S3StoreOptions {
  bucket: string;
  /** Key prefix inside the bucket (`mirror` or `mirror/`); "" for the bucket root. */
  prefix?: string;
  /** Passed to `new S3Client` (region, endpoint, forcePathStyle, credentials…). */
  clientConfig?: S3ClientConfig;
  /**
   * Streamed bodies of a known size and sha256 up to this many bytes go up in one checksummed PutObject
   * (one request); larger ones, and bodies of unknown size or digest, as a multipart upload (default
   * 64 MiB; at most 5 GiB).
   */
  multipartThreshold?: number;
  /** Multipart part size (default 8 MiB, minimum 5 MiB; raised to fit 10,000 parts). */
  partSize?: number;
  /** Parts in flight per multipart put (default 2). Memory per put ≈ partSize × (queueSize + 1). */
  queueSize?: number;
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

/** An absent key (a missing bucket is an error, not an absent key: s3-errors.ts names it). */
function isNotFound(error: unknown): boolean {
  if (errorCode(error) === "NoSuchBucket") return false;
  return httpStatus(error) === 404 || ["NotFound", "NoSuchKey"].includes(errorCode(error) ?? "");
}

function isPreconditionFailed(error: unknown): boolean {
  return httpStatus(error) === 412 || errorCode(error) === "PreconditionFailed";
}

/** `x-amz-checksum-sha256` is the base64 of the binary digest. */
function base64Sha256(hex: string): string {
  return Buffer.from(hex, "hex").toString("base64");
}

export class S3Store implements BlobStore {
  readonly location: string;
  readonly client: S3Client;
  readonly bucket: string;
  readonly prefix: string;
  private readonly multipartThreshold: number;
  private readonly partSize: number;
  private readonly queueSize: number;
  private readonly listPageSize: number | undefined;
  /** The configured region, for "the bucket is in region X, not Y". */
  private readonly region: { region?: string };

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
    this.multipartThreshold = Math.min(options.multipartThreshold ?? 64 * MiB, MAX_SINGLE_PUT);
    this.partSize = Math.max(options.partSize ?? 8 * MiB, 5 * MiB);
    this.queueSize = Math.max(options.queueSize ?? 2, 1);
    this.listPageSize = options.listPageSize;
    const region = options.clientConfig?.region;
    this.region = typeof region === "string" ? { region } : {};
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

  /** One GET: the body with the ETag of its response (no HEAD before it). */
  async readAll(key: string): Promise<{ bytes: Buffer; etag?: string } | null> {
    assertValidKey(key);
    try {
      const object = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: this.prefix + key }),
      );
      const body = (await object.Body?.transformToByteArray()) ?? new Uint8Array();
      const bytes = Buffer.from(body.buffer, body.byteOffset, body.byteLength); // a view, not a copy
      return object.ETag === undefined ? { bytes } : { bytes, etag: object.ETag };
    } catch (error) {
      if (isNotFound(error)) return null;
      throw this.failure("get", key, error);
    }
  }

  async put(key: string, body: Readable | Uint8Array | string, options: PutOptions = {}): Promise<PutResult> {
    assertValidKey(key);
    assertValidExpectation(key, options);
    if (typeof body === "string" || body instanceof Uint8Array) {
      const bytes = typeof body === "string" ? Buffer.from(body) : body;
      const digest = verifyDigest(key, options, digestOf(bytes));
      await this.write(key, { ...options, ...digest }, () =>
        this.client.send(
          new PutObjectCommand({
            ...this.objectFields(key, digest.sha256, options),
            Body: bytes,
            ContentLength: bytes.byteLength,
            ChecksumSHA256: base64Sha256(digest.sha256),
          }),
        ),
      ).catch((error: unknown) => {
        throw error instanceof StorageError ? error : this.failure("put", key, error);
      });
      return { key, ...digest };
    }
    const { size, sha256 } = options;
    if (size !== undefined && sha256 !== undefined && size <= this.multipartThreshold) {
      return this.putSingle(key, body, { ...options, size, sha256 });
    }
    return this.putMultipart(key, body, options);
  }

  /** One PutObject, checksummed by S3 and by us (see the header); nothing is stored on a mismatch. */
  private async putSingle(
    key: string,
    body: Readable,
    options: PutOptions & { size: number; sha256: string },
  ): Promise<PutResult> {
    const hasher = hashingStream(key, options, { holdLast: true });
    // The HTTP handler pipes the body into the request, and a pipe does not pass errors on: abort the
    // request when the body fails (or mismatches), so it ends there, short of its Content-Length.
    const abort = new AbortController();
    pipeline(body, hasher, (error) => {
      if (error) abort.abort(error);
    }); // errors surface through hasher.errored
    let sent = false;
    const result = this.streamed(key, hasher, options, async () => {
      sent = true;
      const outcome = await this.write(key, options, () =>
        this.client.send(
          new PutObjectCommand({
            ...this.objectFields(key, options.sha256, options),
            Body: hasher,
            ContentLength: options.size,
            ChecksumSHA256: base64Sha256(options.sha256),
          }),
          { abortSignal: abort.signal },
        ),
      );
      if (outcome === "existing") {
        hasher.destroy(); // the object is already there: stop reading the source
        return { size: options.size, sha256: options.sha256 };
      }
      return hasher.verify();
    });
    return result.catch(async (error: unknown) => {
      if (sent && !(error instanceof StorageError && !(error instanceof IntegrityError))) {
        await this.removeTruncated(key, options.size);
      }
      throw error;
    });
  }

  /**
   * After a failed single PUT: S3 stores nothing from a request that ended short of its Content-Length,
   * but some S3-compatible servers (s3rver) keep what arrived. Such an object is shorter than the body
   * (the held-back last chunk never left), so an object at the key of another size is that leftover
   * and is removed; one of the expected size is not ours and stays. Best effort.
   */
  private async removeTruncated(key: string, size: number): Promise<void> {
    const Key = this.prefix + key;
    // Such a server writes the leftover once it has read the aborted request to its end, which can be
    // after our first look: an absent key is looked at again a few times before it counts as absent.
    for (const delayMs of LEFTOVER_CHECKS_MS) {
      if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
      let length: number | undefined;
      try {
        const head = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key }));
        length = head.ContentLength;
      } catch (error) {
        if (isNotFound(error)) continue; // absent so far (always, on S3)
        return; // unreachable: nothing we can do
      }
      if (length !== size) {
        await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key })).catch(() => {});
      }
      return;
    }
  }

  /**
   * A multipart upload, hashed while streaming, completed only when the digest matched; aborted on a
   * mismatch or any failure, so nothing is ever visible under the key unless verified.
   */
  private async putMultipart(key: string, body: Readable, options: PutOptions): Promise<PutResult> {
    const hasher = hashingStream(key, options);
    pipeline(body, hasher, () => undefined);
    const Key = this.prefix + key;
    let uploadId: string | undefined;
    try {
      return await this.streamed(key, hasher, options, async () => {
        const created = await this.client.send(
          new CreateMultipartUploadCommand(this.objectFields(key, options.sha256, options)),
        );
        uploadId = created.UploadId;
        const parts = await uploadParts({
          client: this.client,
          bucket: this.bucket,
          key: Key,
          uploadId: uploadId ?? "",
          source: hasher,
          partSize: Math.max(this.partSize, Math.ceil((options.size ?? 0) / MAX_PARTS)),
          queueSize: this.queueSize,
        });
        // Every byte has been hashed: this is the only place a multipart upload becomes visible.
        const digest = hasher.verify();
        const UploadId = uploadId;
        const outcome = await this.write(key, { ...options, ...digest }, () =>
          this.client.send(
            new CompleteMultipartUploadCommand({
              Bucket: this.bucket,
              Key,
              UploadId,
              MultipartUpload: { Parts: parts },
              ...(options.ifAbsent ? { IfNoneMatch: "*" } : {}),
            }),
          ),
        );
        if (outcome === "written") uploadId = undefined; // else the finally aborts the upload
        return digest;
      });
    } finally {
      if (uploadId !== undefined) {
        await this.client
          .send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key, UploadId: uploadId }))
          .catch(() => undefined);
      }
    }
  }

  /** Runs a streamed upload and reports its failure as the body's own error when the body failed. */
  private async streamed(
    key: string,
    hasher: HashingStream,
    options: PutOptions,
    upload: () => Promise<{ size: number; sha256: string }>,
  ): Promise<PutResult> {
    try {
      return { key, ...(await upload()) };
    } catch (error) {
      // A failing source or a size/sha256 mismatch destroyed the hasher: report that, not the SDK's view.
      // (An AbortError there is ours: leaving the part loop early closes the hasher.)
      if (hasher.errored !== null && hasher.errored.name !== "AbortError") throw hasher.errored;
      hasher.destroy(); // stop reading the source
      if (error instanceof StorageError) throw error;
      if (errorCode(error) === "BadDigest" && options.sha256 !== undefined) {
        // S3 computed another sha256 than the index's over what reached it: nothing was stored.
        throw new IntegrityError({
          key,
          field: "sha256",
          expected: options.sha256,
          actual: "another value (S3 refused the upload: BadDigest)",
        });
      }
      throw this.failure("put", key, error);
    }
  }

  /**
   * Sends one write. With `ifAbsent`, a 412 (an object appeared at the key) is "existing" when that
   * object records the expected sha256, and a StorageError otherwise; nothing is overwritten either way.
   */
  private async write(
    key: string,
    options: PutOptions,
    send: () => Promise<unknown>,
  ): Promise<"written" | "existing"> {
    try {
      await send();
      return "written";
    } catch (error) {
      if (!(options.ifAbsent && isPreconditionFailed(error))) throw error;
      const head = await this.client
        .send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.prefix + key }))
        .catch((headError: unknown) => {
          throw this.failure("stat", key, headError);
        });
      const recorded = head.Metadata?.[SHA256_METADATA];
      if (options.sha256 !== undefined && recorded === options.sha256) return "existing";
      throw new StorageError(
        `${this.location}${key} appeared while it was being written, with other bytes (sha256 ${recorded ?? "not recorded"}); it was left as it is`,
        {
          key,
          cause: error,
          fix: "Another writer is using this mirror (only one sync may hold _sync/lock). Run `hbsync verify` and, if it reports this key, `hbsync verify --repair`.",
        },
      );
    }
  }

  /** Bucket, key, content type, recorded sha256 and (with ifAbsent) If-None-Match of a new object. */
  private objectFields(key: string, sha256: string | undefined, options: PutOptions) {
    return {
      Bucket: this.bucket,
      Key: this.prefix + key,
      ContentType: options.contentType,
      ...(sha256 === undefined ? {} : { Metadata: { [SHA256_METADATA]: sha256 } }),
      ...(options.ifAbsent ? { IfNoneMatch: "*" } : {}),
    };
  }

  async copy(source: string, target: string, options: CopyOptions): Promise<CopyMethod> {
    assertValidKey(source);
    assertValidKey(target);
    assertValidExpectation(target, options);
    if (options.size > MAX_SINGLE_PUT) {
      await this.put(target, await this.get(source), options);
      return "copy";
    }
    const Key = this.prefix + target;
    const head = await this.client
      .send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.prefix + source }))
      .catch((error: unknown) => {
        if (isNotFound(error)) throw new NotFoundError(source, this.location, { cause: error });
        throw this.failure("stat", source, error);
      });
    const recorded = head.Metadata?.[SHA256_METADATA];
    if (head.ContentLength !== options.size) {
      throw new IntegrityError({
        key: target,
        field: "size",
        expected: options.size,
        actual: head.ContentLength ?? 0,
      });
    }
    if (recorded !== undefined && recorded !== options.sha256) {
      throw new IntegrityError({ key: target, field: "sha256", expected: options.sha256, actual: recorded });
    }
    const send = (CopySource: string) =>
      this.client.send(
        new CopyObjectCommand({ Bucket: this.bucket, Key, CopySource, ChecksumAlgorithm: "SHA256" }),
      );
    const path = `${this.bucket}/${this.prefix}${source}`;
    let result: { CopyObjectResult?: { ChecksumSHA256?: string } };
    try {
      // x-amz-copy-source is URL-encoded (`@` → %40, `+` → %2B), as AWS S3 decodes it. S3-compatible
      // servers that decode it with decodeURI (s3rver) keep %40 and %2B: the source just found by HEAD
      // is then "missing", and the same copy is sent with only what decodeURI decodes encoded.
      result = await send(path.split("/").map(encodeURIComponent).join("/")).catch((error: unknown) => {
        if (isNotFound(error) && errorCode(error) !== "NoSuchBucket") return send(encodeURI(path));
        throw error;
      });
    } catch (error) {
      if (isNotFound(error)) throw new NotFoundError(source, this.location, { cause: error });
      throw this.failure("copy", target, error);
    }
    const checksum = result.CopyObjectResult?.ChecksumSHA256;
    const actual = checksum === undefined ? undefined : Buffer.from(checksum, "base64").toString("hex");
    if (actual !== undefined && actual !== options.sha256) {
      await this.delete(target);
      throw new IntegrityError({ key: target, field: "sha256", expected: options.sha256, actual });
    }
    return "copy";
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

  private failure(operation: string, key: string, error: unknown): StorageError {
    return s3Failure({ operation, key, bucket: this.bucket, location: this.location, ...this.region }, error);
  }
}
