/**
 * S3Store behaviour that s3rver cannot show (tests/integration/storage/s3.test.ts runs the conformance
 * suite against s3rver): the multipart copy used above CopyObject's 5 GiB limit (s3rver has no
 * UploadPartCopy) and AWS's conditional-write answers (s3rver ignores If-None-Match and If-Match). These tests mock
 * the S3 API with aws-sdk-client-mock: they prove which requests S3Store sends and how it reads the
 * answers, not how S3 behaves.
 */
import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3ServiceException,
  UploadPartCommand,
  UploadPartCopyCommand,
} from "@aws-sdk/client-s3";
import { mockClient } from "aws-sdk-client-mock";
import { describe, expect, it } from "vitest";
import { StorageError } from "../../../src/storage/errors.ts";
import { S3Store } from "../../../src/storage/s3.ts";

const MiB = 1024 * 1024;

function awsError(name: string, status: number): S3ServiceException {
  return new S3ServiceException({
    name,
    $fault: "client",
    $metadata: { httpStatusCode: status },
    message: name,
  });
}

function storeWithMock(options: { multipartCopyThreshold?: number } = {}) {
  const store = new S3Store({
    bucket: "mirror-bucket",
    prefix: "homebrew",
    clientConfig: { region: "us-east-1", credentials: { accessKeyId: "x", secretAccessKey: "x" } },
    partSize: 5 * MiB,
    copyPartSize: 5 * MiB,
    ...options,
  });
  const s3 = mockClient(store.client);
  s3.on(HeadObjectCommand).rejects(awsError("NotFound", 404));
  s3.on(PutObjectCommand).resolves({});
  s3.on(DeleteObjectCommand).resolves({});
  s3.on(CreateMultipartUploadCommand).resolves({ UploadId: "upload-1" });
  s3.on(UploadPartCommand).resolves({ ETag: '"part"' });
  s3.on(CompleteMultipartUploadCommand).resolves({});
  s3.on(CopyObjectCommand).resolves({});
  s3.on(UploadPartCopyCommand).callsFake((input: { PartNumber: number }) => ({
    CopyPartResult: { ETag: `"copy-${input.PartNumber}"` },
  }));
  return { store, s3 };
}

function body(size: number): { stream: Readable; sha256: string } {
  const chunks = Array.from({ length: Math.ceil(size / MiB) }, (_, i) =>
    Buffer.alloc(Math.min(MiB, size - i * MiB), i),
  );
  const sha256 = createHash("sha256");
  for (const chunk of chunks) sha256.update(chunk);
  return { stream: Readable.from(chunks), sha256: sha256.digest("hex") };
}

describe("storage/s3", () => {
  describe("S3Store.put", () => {
    it("uploads to a temp key and copies it onto the key only after the digest matched", async () => {
      const { store, s3 } = storeWithMock();
      const { stream, sha256 } = body(1000);

      await store.put("bottles/a.tar.gz", stream, { size: 1000, sha256 });

      const uploaded = s3.commandCalls(PutObjectCommand)[0]?.args[0].input.Key ?? "";
      expect(uploaded).toMatch(/^homebrew\/\.tmp\/[0-9a-f-]{36}\/body$/);
      expect(s3.commandCalls(CopyObjectCommand)[0]?.args[0].input).toMatchObject({
        Bucket: "mirror-bucket",
        Key: "homebrew/bottles/a.tar.gz",
        CopySource: `mirror-bucket/${uploaded}`,
      });
      expect(s3.commandCalls(DeleteObjectCommand).map((call) => call.args[0].input.Key)).toEqual([uploaded]);
    });

    it("never copies a temp object whose sha256 differs, and deletes it", async () => {
      const { store, s3 } = storeWithMock();
      const { stream } = body(1000);

      await expect(store.put("bottles/a.tar.gz", stream, { sha256: "0".repeat(64) })).rejects.toMatchObject({
        name: "IntegrityError",
      });

      expect(s3.commandCalls(CopyObjectCommand)).toHaveLength(0);
      const uploaded = s3.commandCalls(PutObjectCommand)[0]?.args[0].input.Key;
      expect(s3.commandCalls(DeleteObjectCommand).map((call) => call.args[0].input.Key)).toEqual([uploaded]);
    });

    it("copies above the CopyObject limit with UploadPartCopy parts, then completes in part order", async () => {
      const { store, s3 } = storeWithMock({ multipartCopyThreshold: 6 * MiB });
      const size = 12 * MiB;
      const { stream, sha256 } = body(size);

      await store.put("bottles/llvm.tar.gz", stream, { size, sha256 });

      expect(s3.commandCalls(CopyObjectCommand)).toHaveLength(0);
      const temp = s3.commandCalls(CreateMultipartUploadCommand)[0]?.args[0].input.Key ?? "";
      expect(temp).toMatch(/^homebrew\/\.tmp\//);
      const copies = s3
        .commandCalls(UploadPartCopyCommand)
        .map((call) => call.args[0].input)
        .sort((a, b) => (a.PartNumber ?? 0) - (b.PartNumber ?? 0));
      expect(
        copies.map(({ Key, PartNumber, CopySourceRange, CopySource }) => ({
          Key,
          PartNumber,
          CopySourceRange,
          CopySource,
        })),
      ).toEqual([
        {
          Key: "homebrew/bottles/llvm.tar.gz",
          PartNumber: 1,
          CopySourceRange: `bytes=0-${5 * MiB - 1}`,
          CopySource: `mirror-bucket/${temp}`,
        },
        {
          Key: "homebrew/bottles/llvm.tar.gz",
          PartNumber: 2,
          CopySourceRange: `bytes=${5 * MiB}-${10 * MiB - 1}`,
          CopySource: `mirror-bucket/${temp}`,
        },
        {
          Key: "homebrew/bottles/llvm.tar.gz",
          PartNumber: 3,
          CopySourceRange: `bytes=${10 * MiB}-${size - 1}`,
          CopySource: `mirror-bucket/${temp}`,
        },
      ]);
      const complete = s3
        .commandCalls(CompleteMultipartUploadCommand)
        .map((call) => call.args[0].input)
        .find((input) => input.Key === "homebrew/bottles/llvm.tar.gz");
      expect(complete?.MultipartUpload?.Parts).toEqual([
        { PartNumber: 1, ETag: '"copy-1"' },
        { PartNumber: 2, ETag: '"copy-2"' },
        { PartNumber: 3, ETag: '"copy-3"' },
      ]);
    });

    it("aborts the multipart copy and leaves the key alone when a part copy fails", async () => {
      const { store, s3 } = storeWithMock({ multipartCopyThreshold: 6 * MiB });
      s3.on(UploadPartCopyCommand).rejects(awsError("InternalError", 500));
      const { stream, sha256 } = body(12 * MiB);

      await expect(store.put("bottles/llvm.tar.gz", stream, { sha256 })).rejects.toBeInstanceOf(StorageError);

      expect(s3.commandCalls(AbortMultipartUploadCommand).map((call) => call.args[0].input.Key)).toContain(
        "homebrew/bottles/llvm.tar.gz",
      );
      expect(
        s3
          .commandCalls(CompleteMultipartUploadCommand)
          .filter((call) => call.args[0].input.Key === "homebrew/bottles/llvm.tar.gz"),
      ).toHaveLength(0);
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
      s3.on(HeadObjectCommand).rejects(awsError("AccessDenied", 403));

      await expect(store.stat("state.json")).rejects.toThrow(
        /S3 stat of "state.json" in s3:\/\/mirror-bucket\/homebrew\/ failed: AccessDenied \(HTTP 403\)/,
      );
    });
  });
});
