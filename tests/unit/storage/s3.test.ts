/**
 * The requests S3Store sends, and how it reads S3's answers, for what s3rver cannot show
 * (tests/integration/storage/s3.test.ts runs the conformance suite and the put path against s3rver):
 * s3rver ignores `x-amz-checksum-sha256` and conditional writes (`If-None-Match`, `If-Match`), so the
 * checksum header, the 412 handling and AWS's BadDigest answer are tested here with aws-sdk-client-mock.
 * These tests prove the shape of each request (headers, order, count) and the reading of each answer;
 * they do not prove that S3 verifies the checksum — AWS documents that it does (400 BadDigest).
 */
import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3ServiceException,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { mockClient } from "aws-sdk-client-mock";
import { describe, expect, it } from "vitest";
import { IntegrityError, StorageError } from "../../../src/storage/errors.ts";
import { S3Store } from "../../../src/storage/s3.ts";

const MiB = 1024 * 1024;
const KEY = "bottles/a-1.0.arm64_sequoia.bottle.tar.gz";

function awsError(name: string, status: number): S3ServiceException {
  return new S3ServiceException({
    name,
    $fault: "client",
    $metadata: { httpStatusCode: status },
    message: name,
  });
}

/** Reads a request body the way the HTTP handler would (the mock sends nothing). */
async function drain(body: unknown): Promise<number> {
  if (body instanceof Uint8Array) return body.byteLength;
  let bytes = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) bytes += chunk.byteLength;
  return bytes;
}

function storeWithMock(options: { multipartThreshold?: number } = {}) {
  const store = new S3Store({
    bucket: "mirror-bucket",
    prefix: "homebrew",
    clientConfig: { region: "us-east-1", credentials: { accessKeyId: "x", secretAccessKey: "x" } },
    partSize: 5 * MiB,
    ...options,
  });
  const s3 = mockClient(store.client);
  const received: number[] = [];
  s3.on(HeadObjectCommand).rejects(awsError("NotFound", 404));
  s3.on(PutObjectCommand).callsFake(async (input: { Body: unknown }) => {
    received.push(await drain(input.Body));
    return { ETag: '"put"' };
  });
  s3.on(DeleteObjectCommand).resolves({});
  s3.on(CreateMultipartUploadCommand).resolves({ UploadId: "upload-1" });
  s3.on(UploadPartCommand).callsFake(async (input: { PartNumber: number; Body: unknown }) => {
    received.push(await drain(input.Body));
    return { ETag: `"part-${input.PartNumber}"` };
  });
  s3.on(CompleteMultipartUploadCommand).resolves({});
  s3.on(AbortMultipartUploadCommand).resolves({});
  return { store, s3, received };
}

function body(size: number, chunk = MiB): { stream: () => Readable; sha256: string } {
  const chunks = Array.from({ length: Math.ceil(size / chunk) }, (_, i) =>
    Buffer.alloc(Math.min(chunk, size - i * chunk), i + 1),
  );
  const sha256 = createHash("sha256");
  for (const c of chunks) sha256.update(c);
  return { stream: () => Readable.from(chunks), sha256: sha256.digest("hex") };
}

const base64 = (hex: string): string => Buffer.from(hex, "hex").toString("base64");

/** Every command the store sent, by name, in order. */
function sent(s3: ReturnType<typeof mockClient>): string[] {
  return s3.calls().map((call) => (call.args[0] as { constructor: { name: string } }).constructor.name);
}

describe("storage/s3", () => {
  describe("S3Store.put, one PutObject (known size and sha256, up to multipartThreshold)", () => {
    it("sends one request to the real key with the index's sha256 as x-amz-checksum-sha256", async () => {
      const { store, s3, received } = storeWithMock();
      const { stream, sha256 } = body(3 * MiB + 5);

      const result = await store.put(KEY, stream(), { size: 3 * MiB + 5, sha256, ifAbsent: true });

      expect(result).toEqual({ key: KEY, size: 3 * MiB + 5, sha256 });
      expect(sent(s3)).toEqual(["PutObjectCommand"]); // no temp object, no copy, no delete
      expect(s3.commandCalls(PutObjectCommand)[0]?.args[0].input).toMatchObject({
        Bucket: "mirror-bucket",
        Key: `homebrew/${KEY}`,
        ContentLength: 3 * MiB + 5,
        ChecksumSHA256: base64(sha256),
        Metadata: { sha256 },
        IfNoneMatch: "*",
      });
      expect(received).toEqual([3 * MiB + 5]);
    });

    it("sends no If-None-Match without ifAbsent (a repair replaces a damaged object)", async () => {
      const { store, s3 } = storeWithMock();
      const { stream, sha256 } = body(1000);

      await store.put(KEY, stream(), { size: 1000, sha256 });

      expect(s3.commandCalls(PutObjectCommand)[0]?.args[0].input.IfNoneMatch).toBeUndefined();
    });

    it("withholds the last bytes of a body whose sha256 differs, so the request never completes", async () => {
      const { store, s3, received } = storeWithMock();
      const { stream } = body(3 * MiB);

      const error = await store
        .put(KEY, stream(), { size: 3 * MiB, sha256: "0".repeat(64) })
        .catch((caught: unknown) => caught);

      expect(error).toBeInstanceOf(IntegrityError);
      // The request body ended short of its Content-Length (S3 stores nothing from it); then a HEAD looks
      // for a truncated leftover that a lenient server might have kept, a few times, as such a server
      // writes it only once it has read the aborted request (none here: 404 each time, no delete).
      expect(sent(s3)).toEqual(["PutObjectCommand", ...Array(5).fill("HeadObjectCommand")]);
      expect(received).toEqual([]);
    });

    it("removes a leftover that a lenient server writes after the failed PUT's first HEAD", async () => {
      const { store, s3 } = storeWithMock();
      s3.on(HeadObjectCommand)
        .rejectsOnce(awsError("NotFound", 404))
        .rejectsOnce(awsError("NotFound", 404))
        .resolves({ ContentLength: 194_560 });
      const { stream } = body(3 * MiB);

      await expect(
        store.put(KEY, stream(), { size: 3 * MiB, sha256: "0".repeat(64) }),
      ).rejects.toBeInstanceOf(IntegrityError);

      expect(sent(s3)).toEqual([
        "PutObjectCommand",
        "HeadObjectCommand",
        "HeadObjectCommand",
        "HeadObjectCommand",
        "DeleteObjectCommand",
      ]);
    });

    it("reads S3's BadDigest (its sha256 of what arrived differs) as an IntegrityError, which the transfer retries", async () => {
      const { store, s3 } = storeWithMock();
      s3.on(PutObjectCommand).rejects(awsError("BadDigest", 400));
      const { stream, sha256 } = body(1000);

      await expect(store.put(KEY, stream(), { size: 1000, sha256 })).rejects.toMatchObject({
        name: "IntegrityError",
        field: "sha256",
        key: KEY,
      });
    });

    it("sends an in-memory body (state, manifest, API file) in one PutObject with its checksum", async () => {
      const { store, s3 } = storeWithMock();
      const bytes = Buffer.from('{"entries":{}}');
      const sha256 = createHash("sha256").update(bytes).digest("hex");

      await store.put("_sync/state.json", bytes, { contentType: "application/json" });

      expect(sent(s3)).toEqual(["PutObjectCommand"]);
      expect(s3.commandCalls(PutObjectCommand)[0]?.args[0].input).toMatchObject({
        Key: "homebrew/_sync/state.json",
        ChecksumSHA256: base64(sha256),
        ContentType: "application/json",
      });
    });
  });

  describe("S3Store.put with ifAbsent, when S3 answers 412 (an object appeared at the key)", () => {
    it("succeeds without writing again when that object records the same sha256", async () => {
      const { store, s3 } = storeWithMock();
      const { stream, sha256 } = body(1000);
      s3.on(PutObjectCommand).rejects(awsError("PreconditionFailed", 412));
      s3.on(HeadObjectCommand).resolves({ ContentLength: 1000, Metadata: { sha256 } });

      expect(await store.put(KEY, stream(), { size: 1000, sha256, ifAbsent: true })).toEqual({
        key: KEY,
        size: 1000,
        sha256,
      });
      expect(sent(s3)).toEqual(["PutObjectCommand", "HeadObjectCommand"]);
    });

    it("fails naming the key, and overwrites nothing, when it records another sha256", async () => {
      const { store, s3 } = storeWithMock();
      const { stream, sha256 } = body(1000);
      s3.on(PutObjectCommand).rejects(awsError("PreconditionFailed", 412));
      s3.on(HeadObjectCommand).resolves({ ContentLength: 1000, Metadata: { sha256: "f".repeat(64) } });

      const error = await store
        .put(KEY, stream(), { size: 1000, sha256, ifAbsent: true })
        .catch((caught: unknown) => caught);

      expect(error).toBeInstanceOf(StorageError);
      expect((error as StorageError).message).toContain(`s3://mirror-bucket/homebrew/${KEY} appeared`);
      expect(sent(s3)).toEqual(["PutObjectCommand", "HeadObjectCommand"]);
    });
  });

  describe("S3Store.put, multipart (above multipartThreshold, or size/sha256 unknown)", () => {
    it("uploads the parts in order and completes only after the whole body matched", async () => {
      const { store, s3, received } = storeWithMock({ multipartThreshold: 5 * MiB });
      const size = 12 * MiB + 7;
      const { stream, sha256 } = body(size, 3 * MiB);

      await store.put(KEY, stream(), { size, sha256, ifAbsent: true, contentType: "application/gzip" });

      expect(s3.commandCalls(CreateMultipartUploadCommand)[0]?.args[0].input).toEqual({
        Bucket: "mirror-bucket",
        Key: `homebrew/${KEY}`,
        ContentType: "application/gzip",
        Metadata: { sha256 },
        IfNoneMatch: "*",
      });
      const parts = s3.commandCalls(UploadPartCommand).map((call) => call.args[0].input);
      expect(parts.map((p) => [p.PartNumber, p.ContentLength, p.UploadId])).toEqual([
        [1, 5 * MiB, "upload-1"],
        [2, 5 * MiB, "upload-1"],
        [3, 2 * MiB + 7, "upload-1"],
      ]);
      expect(received.reduce((a, b) => a + b, 0)).toBe(size);
      const complete = s3.commandCalls(CompleteMultipartUploadCommand)[0]?.args[0].input;
      expect(complete).toMatchObject({ Key: `homebrew/${KEY}`, UploadId: "upload-1", IfNoneMatch: "*" });
      expect(complete?.MultipartUpload?.Parts).toEqual([
        { PartNumber: 1, ETag: '"part-1"' },
        { PartNumber: 2, ETag: '"part-2"' },
        { PartNumber: 3, ETag: '"part-3"' },
      ]);
      expect(sent(s3).at(-1)).toBe("CompleteMultipartUploadCommand");
      expect(s3.commandCalls(AbortMultipartUploadCommand)).toHaveLength(0);
    });

    it("aborts instead of completing when the sha256 differs", async () => {
      const { store, s3 } = storeWithMock({ multipartThreshold: 5 * MiB });
      const { stream } = body(12 * MiB);

      await expect(store.put(KEY, stream(), { sha256: "0".repeat(64) })).rejects.toBeInstanceOf(
        IntegrityError,
      );

      expect(s3.commandCalls(CompleteMultipartUploadCommand)).toHaveLength(0);
      expect(s3.commandCalls(AbortMultipartUploadCommand)[0]?.args[0].input).toEqual({
        Bucket: "mirror-bucket",
        Key: `homebrew/${KEY}`,
        UploadId: "upload-1",
      });
    });

    it("aborts when a part fails, with a StorageError naming the key", async () => {
      const { store, s3 } = storeWithMock({ multipartThreshold: 5 * MiB });
      s3.on(UploadPartCommand).rejects(awsError("InternalError", 500));
      const { stream, sha256 } = body(12 * MiB);

      await expect(store.put(KEY, stream(), { sha256 })).rejects.toThrow(/S3 put of .*a-1\.0.* failed/);

      expect(s3.commandCalls(CompleteMultipartUploadCommand)).toHaveLength(0);
      expect(s3.commandCalls(AbortMultipartUploadCommand)).toHaveLength(1);
    });

    it("aborts when the body stream fails midway, and reports the body's error", async () => {
      const { store, s3 } = storeWithMock();
      async function* failing(): AsyncGenerator<Buffer> {
        yield Buffer.alloc(6 * MiB);
        throw new Error("connection reset");
      }

      await expect(store.put(KEY, Readable.from(failing()))).rejects.toThrow("connection reset");

      expect(s3.commandCalls(CompleteMultipartUploadCommand)).toHaveLength(0);
      expect(s3.commandCalls(AbortMultipartUploadCommand)).toHaveLength(1);
    });

    it("aborts when S3 answers 412 on completion and the object there is another one", async () => {
      const { store, s3 } = storeWithMock({ multipartThreshold: 5 * MiB });
      s3.on(CompleteMultipartUploadCommand).rejects(awsError("PreconditionFailed", 412));
      s3.on(HeadObjectCommand).resolves({ ContentLength: 1, Metadata: {} });
      const { stream, sha256 } = body(6 * MiB);

      await expect(store.put(KEY, stream(), { sha256, ifAbsent: true })).rejects.toThrow(/appeared/);

      expect(s3.commandCalls(AbortMultipartUploadCommand)).toHaveLength(1);
    });
  });
  describe("S3Store.putIfAbsent", () => {
    it("sends If-None-Match: * and reads 412 Precondition Failed as 'already there'", async () => {
      const { store, s3 } = storeWithMock();
      s3.on(PutObjectCommand).rejects(awsError("PreconditionFailed", 412));

      expect(await store.putIfAbsent("_sync/lock", "{}")).toBe(false);
      expect(s3.commandCalls(PutObjectCommand)[0]?.args[0].input).toMatchObject({
        Key: "homebrew/_sync/lock",
        IfNoneMatch: "*",
      });
    });

    it("retries a 409 ConditionalRequestConflict and then wins", async () => {
      const { store, s3 } = storeWithMock();
      s3.on(PutObjectCommand).rejectsOnce(awsError("ConditionalRequestConflict", 409)).resolves({});

      expect(await store.putIfAbsent("_sync/lock", "{}")).toBe(true);
      expect(s3.commandCalls(PutObjectCommand)).toHaveLength(2);
    });

    it("refuses without writing when HEAD finds the key", async () => {
      const { store, s3 } = storeWithMock();
      s3.on(HeadObjectCommand).resolves({ ContentLength: 2, LastModified: new Date() });

      expect(await store.putIfAbsent("_sync/lock", "{}")).toBe(false);
      expect(s3.commandCalls(PutObjectCommand)).toHaveLength(0);
    });
  });

  describe("S3Store.replaceIfMatch / deleteIfMatch", () => {
    it("sends If-Match with the etag and returns the new ETag", async () => {
      const { store, s3 } = storeWithMock();
      s3.on(PutObjectCommand).resolves({ ETag: '"v2"' });

      expect(await store.replaceIfMatch("_sync/lock", "{}", '"v1"')).toBe('"v2"');
      expect(s3.commandCalls(PutObjectCommand)[0]?.args[0].input).toMatchObject({
        Key: "homebrew/_sync/lock",
        IfMatch: '"v1"',
      });
    });

    it("reads 412 Precondition Failed and 404 as 'changed or gone' (null / false)", async () => {
      const { store, s3 } = storeWithMock();
      s3.on(PutObjectCommand)
        .rejectsOnce(awsError("PreconditionFailed", 412))
        .rejectsOnce(awsError("NoSuchKey", 404));
      s3.on(DeleteObjectCommand).rejects(awsError("PreconditionFailed", 412));

      expect(await store.replaceIfMatch("_sync/lock", "{}", '"v1"')).toBeNull();
      expect(await store.replaceIfMatch("_sync/lock", "{}", '"v1"')).toBeNull();
      expect(await store.deleteIfMatch("_sync/lock", '"v1"')).toBe(false);
      expect(s3.commandCalls(DeleteObjectCommand)[0]?.args[0].input).toMatchObject({ IfMatch: '"v1"' });
    });

    it("fails, naming the key, when the bucket itself is missing", async () => {
      const { store, s3 } = storeWithMock();
      s3.on(DeleteObjectCommand).rejects(awsError("NoSuchBucket", 404));

      await expect(store.deleteIfMatch("_sync/lock", '"v1"')).rejects.toBeInstanceOf(StorageError);
    });
  });

  describe("S3Store.stat", () => {
    it("wraps errors other than 404 in a StorageError naming the key and location", async () => {
      const { store, s3 } = storeWithMock();
      s3.on(HeadObjectCommand).rejects(awsError("InternalError", 500));

      await expect(store.stat("state.json")).rejects.toThrow(
        /S3 stat of "state.json" in s3:\/\/mirror-bucket\/homebrew\/ failed: InternalError \(HTTP 500\)/,
      );
    });

    it("says access denied to the bucket and prefix for a 403 (tests/integration/storage/s3-errors.test.ts has the rest)", async () => {
      const { store, s3 } = storeWithMock();
      s3.on(HeadObjectCommand).rejects(awsError("AccessDenied", 403));

      await expect(store.stat("state.json")).rejects.toThrow(
        /^access denied to s3:\/\/mirror-bucket\/homebrew\/ \(check the role\/credentials: /,
      );
    });
  });
});
