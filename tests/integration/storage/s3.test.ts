/**
 * S3Store against s3rver (a real S3-compatible server, child process on loopback).
 * The put path's own tests (below) show what s3rver can: one PutObject per bottle and no temp objects,
 * a mismatched single-part body stored nowhere (our held-back last chunk, since s3rver does not check
 * `x-amz-checksum-sha256`), multipart completed only when verified and aborted otherwise. The checksum
 * header and S3's 412/BadDigest answers are tested with aws-sdk-client-mock (tests/unit/storage/s3.test.ts).
 * What this does NOT prove: s3rver ignores `If-None-Match: *` on PUT, so "exactly one concurrent
 * putIfAbsent wins" cannot be shown here; the suite instead asserts (through a middleware spy on the
 * client) that every PUT carried `If-None-Match: *`, which AWS S3 arbitrates atomically. Nor does it
 * verify checksums or support UploadPartCopy (see tests/unit/storage/s3.test.ts), and it lists folder by
 * folder (`a/b` before `a-c`), so list order is compared as a set here; AWS S3 lists in byte order.
 */
import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { HeadObjectCommand, ListObjectsV2Command } from "@aws-sdk/client-s3";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { IntegrityError } from "../../../src/storage/errors.ts";
import { S3Store } from "../../../src/storage/s3.ts";
import { type S3rverHandle, startS3rver } from "../../helpers/s3rver.ts";
import { runBlobStoreConformance } from "../../unit/storage/conformance.ts";

const MiB = 1024 * 1024;
let s3: S3rverHandle;
let run = 0;
beforeAll(async () => {
  s3 = await startS3rver();
});
afterAll(() => s3?.close());

runBlobStoreConformance("S3Store on s3rver", async () => {
  const prefix = `conformance-${++run}`;
  const store = new S3Store({
    bucket: s3.bucket,
    prefix,
    clientConfig: s3.clientConfig,
    partSize: 5 * 1024 * 1024,
    queueSize: 1,
    listPageSize: 3, // every list crosses pages
  });
  const ifNoneMatch = new Map<string, Array<string | undefined>>();
  store.client.middlewareStack.add(
    (next, context) => async (args) => {
      const request = args.request as { method?: string; headers?: Record<string, string> };
      const key = (args.input as { Key?: string }).Key;
      if (context.commandName === "PutObjectCommand" && key !== undefined && request.method === "PUT") {
        ifNoneMatch.set(key, [...(ifNoneMatch.get(key) ?? []), request.headers?.["if-none-match"]]);
      }
      return next(args);
    },
    { step: "finalizeRequest", name: "ifNoneMatchSpy" },
  );
  return {
    store,
    // Anything under <prefix>/.tmp/ (S3Store writes none) and anything written outside <prefix>/.
    leftovers: async () => {
      const page = await s3.client.send(new ListObjectsV2Command({ Bucket: s3.bucket }));
      return (page.Contents ?? [])
        .map((object) => object.Key ?? "")
        .filter((key) => !/^(conformance|put)-/.test(key) || key.startsWith(`${prefix}/.tmp/`));
    },
    conditionalPutHeaders: (key) => ifNoneMatch.get(`${prefix}/${key}`) ?? [],
    unorderedList: true,
  };
});

/** Commands a store sends, by name (a middleware on its client). */
function countCommands(store: S3Store): string[] {
  const names: string[] = [];
  store.client.middlewareStack.add(
    (next, context) => async (args) => {
      names.push(context.commandName ?? "?");
      return next(args);
    },
    { step: "initialize", name: "commandCounter" },
  );
  return names;
}

function chunks(size: number, fill: number): { body: () => Readable; sha256: string } {
  const parts = Array.from({ length: Math.ceil(size / MiB) }, (_, i) =>
    Buffer.alloc(Math.min(MiB, size - i * MiB), fill + i),
  );
  const hash = createHash("sha256");
  for (const part of parts) hash.update(part);
  return { body: () => Readable.from(parts), sha256: hash.digest("hex") };
}

describe("S3Store.put on s3rver: no temp objects", () => {
  let prefix = "";
  let store: S3Store;
  beforeEach(() => {
    prefix = `put-${++run}`;
    store = new S3Store({
      bucket: s3.bucket,
      prefix,
      clientConfig: s3.clientConfig,
      partSize: 5 * MiB,
      multipartThreshold: 8 * MiB,
    });
  });
  afterEach(() => store.close());

  async function objects(): Promise<string[]> {
    const page = await s3.client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: `${prefix}/` }));
    return (page.Contents ?? []).map((object) => object.Key ?? "");
  }

  it("stores a bottle with one PutObject, its sha256 recorded, and nothing else", async () => {
    const sent = countCommands(store);
    const { body, sha256 } = chunks(3 * MiB + 11, 1);

    await store.put("bottles/a.tar.gz", body(), { size: 3 * MiB + 11, sha256, ifAbsent: true });

    expect(sent).toEqual(["PutObjectCommand"]);
    expect(await objects()).toEqual([`${prefix}/bottles/a.tar.gz`]);
    const head = await s3.client.send(
      new HeadObjectCommand({ Bucket: s3.bucket, Key: `${prefix}/bottles/a.tar.gz` }),
    );
    expect(head.Metadata).toEqual({ sha256 });
    expect(head.ContentLength).toBe(3 * MiB + 11);
  });

  it("stores nothing for a streamed body whose sha256 differs, though s3rver ignores the checksum header", async () => {
    // s3rver keeps whatever part of a PUT arrived. The held-back last chunk keeps that part short of the
    // body, and S3Store removes an object of another size after a failed PUT. (AWS S3 stores nothing.)
    const { body } = chunks(3 * MiB, 2);

    await expect(
      store.put("bottles/b.tar.gz", body(), { size: 3 * MiB, sha256: "0".repeat(64), ifAbsent: true }),
    ).rejects.toBeInstanceOf(IntegrityError);

    expect(await store.stat("bottles/b.tar.gz")).toBeNull();
    expect(await objects()).toEqual([]);
  });

  it("above multipartThreshold: completes a verified multipart upload, byte for byte", async () => {
    const sent = countCommands(store);
    const size = 12 * MiB + 3;
    const { body, sha256 } = chunks(size, 3);

    await store.put("bottles/llvm.tar.gz", body(), { size, sha256 });

    expect(sent).toEqual([
      "CreateMultipartUploadCommand",
      "UploadPartCommand",
      "UploadPartCommand",
      "UploadPartCommand",
      "CompleteMultipartUploadCommand",
    ]);
    const readBack = createHash("sha256");
    for await (const part of await store.get("bottles/llvm.tar.gz")) readBack.update(part as Buffer);
    expect(readBack.digest("hex")).toBe(sha256);
    expect(await objects()).toEqual([`${prefix}/bottles/llvm.tar.gz`]);
  });

  it("above multipartThreshold: aborts a mismatched upload and leaves nothing", async () => {
    const sent = countCommands(store);
    const { body } = chunks(12 * MiB, 4);

    await expect(
      store.put("bottles/llvm.tar.gz", body(), { size: 12 * MiB, sha256: "0".repeat(64) }),
    ).rejects.toBeInstanceOf(IntegrityError);

    expect(sent).not.toContain("CompleteMultipartUploadCommand");
    expect(sent.at(-1)).toBe("AbortMultipartUploadCommand");
    expect(await objects()).toEqual([]);
  });
});
