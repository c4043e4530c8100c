/**
 * What S3Store says when S3 refuses: access denied, a bucket in another region, a bucket that does not
 * exist. 403 and 301 come from a tiny loopback server that answers the way S3 does (an XML `<Error>` body,
 * an empty body for HEAD, `x-amz-bucket-region` on a redirect), so the SDK's real deserialisers and its
 * region-redirect middleware run: this proves the mapping from what the SDK makes of S3's answers, not
 * that AWS sends exactly these (their shapes are from the S3 API reference's error responses).
 * NoSuchBucket comes from s3rver, a real S3-compatible server.
 */
import { spawn } from "node:child_process";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StorageError } from "../../../src/storage/errors.ts";
import { S3Store } from "../../../src/storage/s3.ts";
import { type S3rverHandle, startS3rver } from "../../helpers/s3rver.ts";

const REPO = resolve(import.meta.dirname, "../../..");

interface Answer {
  status: number;
  code: string;
  message: string;
  headers?: Record<string, string>;
  extra?: string;
}

/** Answers every request like S3 refusing it: `answer.status`, and an XML error body except for HEAD. */
async function startRefusingS3(
  answer: Answer,
): Promise<{ endpoint: string; requests: string[]; server: Server }> {
  const requests: string[] = [];
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    request.resume();
    requests.push(`${request.method} ${request.url}`);
    response.writeHead(answer.status, {
      "content-type": "application/xml",
      "x-amz-request-id": "4442587FB7D0A2F9",
      ...answer.headers,
    });
    response.end(
      request.method === "HEAD"
        ? undefined
        : `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${answer.code}</Code><Message>${answer.message}</Message>${answer.extra ?? ""}<RequestId>4442587FB7D0A2F9</RequestId></Error>`,
    );
  });
  await new Promise<void>((listening) => server.listen(0, "127.0.0.1", listening));
  const { port } = server.address() as AddressInfo;
  return { endpoint: `http://127.0.0.1:${port}`, requests, server };
}

function storeAt(endpoint: string, bucket = "mirror-bucket"): S3Store {
  return new S3Store({
    bucket,
    prefix: "homebrew",
    clientConfig: {
      endpoint,
      region: "us-east-1",
      forcePathStyle: true,
      followRegionRedirects: true,
      maxAttempts: 1,
      credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "not-a-secret" },
    },
  });
}

async function failureOf(action: Promise<unknown>): Promise<StorageError> {
  const error = await action.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(StorageError);
  return error as StorageError;
}

describe("S3Store errors", () => {
  describe("403 AccessDenied", () => {
    let fake: Awaited<ReturnType<typeof startRefusingS3>>;
    beforeAll(async () => {
      fake = await startRefusingS3({ status: 403, code: "AccessDenied", message: "Access Denied" });
    });
    afterAll(() => new Promise<void>((closed) => fake.server.close(() => closed())));

    it("names the bucket and prefix and says to check the role, for HEAD (no body) as for GET and LIST", async () => {
      const store = storeAt(fake.endpoint);
      const head = await failureOf(store.stat("_sync/state.json"));
      const get = await failureOf(store.get("_sync/state.json"));
      const list = await failureOf(
        (async () => {
          for await (const _ of store.list("bottles/")) void _;
        })(),
      );

      expect(head.message).toBe(
        'access denied to s3://mirror-bucket/homebrew/ (check the role/credentials: the credentials in use (AWS_PROFILE or AWS_ACCESS_KEY_ID, else the instance, task or function role) may not s3:GetObject here; stat of "_sync/state.json")',
      );
      expect(get.message).toMatch(
        /^access denied to s3:\/\/mirror-bucket\/homebrew\/ \(check the role\/credentials: .*s3:GetObject here; get of "_sync\/state.json"\)$/,
      );
      expect(list.message).toContain("may not s3:ListBucket here");
      expect(head.fix).toContain("s3:ListBucket on arn:aws:s3:::mirror-bucket");
      expect(head.message).not.toMatch(/Unknown|UnknownError/);
    });

    it("says which credential is wrong for InvalidAccessKeyId", async () => {
      const invalid = await startRefusingS3({
        status: 403,
        code: "InvalidAccessKeyId",
        message: "The AWS Access Key Id you provided does not exist in our records.",
      });
      try {
        const error = await failureOf(storeAt(invalid.endpoint).get("_sync/state.json"));
        expect(error.message).toContain(
          "access denied to s3://mirror-bucket/homebrew/ (check the role/credentials: the access key id is not known to AWS (InvalidAccessKeyId)",
        );
      } finally {
        invalid.server.close();
      }
    });

    it("prints one error line through the CLI funnel, without the SDK's Node-version warning", async () => {
      // Not inherited from vitest.config.ts's env: the CLI itself must silence the warning.
      const { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: _silenced, ...env } = process.env;
      const child = spawn(
        process.execPath,
        [join(REPO, "bin/hbsync.js"), "verify", "--dest", "s3://mirror-bucket/homebrew"],
        {
          cwd: REPO,
          env: {
            ...env,
            AWS_ENDPOINT_URL_S3: fake.endpoint,
            AWS_REGION: "us-east-1",
            AWS_ACCESS_KEY_ID: "AKIDEXAMPLE",
            AWS_SECRET_ACCESS_KEY: "not-a-secret",
          },
          stdio: ["ignore", "pipe", "pipe"],
        },
      );
      let stderr = "";
      child.stderr.on("data", (chunk: Buffer) => {
        stderr += chunk.toString();
      });
      child.stdout.resume();
      const code = await new Promise<number | null>((exited) => child.once("exit", exited));

      expect(code).toBe(1);
      expect(stderr).toContain(
        "error: access denied to s3://mirror-bucket/homebrew/ (check the role/credentials:",
      );
      expect(stderr).toContain("fix: the role needs s3:GetObject");
      expect(stderr).not.toContain("NodeVersionSupportWarning");
      expect(stderr).not.toMatch(/\n\s+at |bug in hbsync/);
    });
  });

  describe("301 PermanentRedirect", () => {
    it("names the region the bucket is in (from x-amz-bucket-region), for HEAD and GET", async () => {
      const fake = await startRefusingS3({
        status: 301,
        code: "PermanentRedirect",
        message: "The bucket you are attempting to access must be addressed using the specified endpoint.",
        headers: { "x-amz-bucket-region": "eu-west-1" },
        extra: "<Endpoint>mirror-bucket.s3.eu-west-1.amazonaws.com</Endpoint><Bucket>mirror-bucket</Bucket>",
      });
      try {
        const store = storeAt(fake.endpoint);
        const head = await failureOf(store.stat("_sync/state.json"));
        const get = await failureOf(store.get("_sync/state.json"));

        for (const error of [head, get]) {
          expect(error.message).toMatch(/^the bucket mirror-bucket is in region eu-west-1, not us-east-1 \(/);
          expect(error.fix).toBe("set AWS_REGION=eu-west-1 (or the environment's aws_region in config.yaml)");
        }
      } finally {
        fake.server.close();
      }
    });

    it("falls back to the endpoint S3 names when the header is absent", async () => {
      const fake = await startRefusingS3({
        status: 301,
        code: "PermanentRedirect",
        message: "The bucket you are attempting to access must be addressed using the specified endpoint.",
        extra:
          "<Endpoint>mirror-bucket.s3.ap-southeast-2.amazonaws.com</Endpoint><Bucket>mirror-bucket</Bucket>",
      });
      try {
        const error = await failureOf(storeAt(fake.endpoint).get("_sync/state.json"));
        expect(error.message).toContain("is in region ap-southeast-2");
      } finally {
        fake.server.close();
      }
    });
  });

  describe("NoSuchBucket (s3rver)", () => {
    let s3: S3rverHandle;
    beforeAll(async () => {
      s3 = await startS3rver();
    });
    afterAll(() => s3?.close());

    it("names the missing bucket for list, get and put (a get is not 'no such object')", async () => {
      const store = new S3Store({
        bucket: "no-such-bucket-18",
        prefix: "homebrew",
        clientConfig: s3.clientConfig,
      });
      const list = await failureOf(
        (async () => {
          for await (const _ of store.list("bottles/")) void _;
        })(),
      );
      const get = await failureOf(store.get("_sync/state.json"));
      const put = await failureOf(store.put("_sync/state.json", "{}"));

      for (const error of [list, get, put]) {
        expect(error.name).toBe("StorageError");
        expect(error.message).toMatch(
          /^no bucket named no-such-bucket-18 \(s3:\/\/no-such-bucket-18\/homebrew\/; /,
        );
        expect(error.fix).toContain("check the bucket in --dest");
      }
    });
  });
});
