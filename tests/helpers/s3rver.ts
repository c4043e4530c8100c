/**
 * A real S3-compatible server on loopback for integration tests: s3rver 3.7.1 as a CHILD PROCESS (with
 * `--openssl-legacy-provider`, without which paginated ListObjectsV2 answers 500), in a temp directory,
 * on a free port, with one bucket created.
 *
 * Know what a test against it proves (DESIGN.md §7): s3rver does NOT honour conditional writes
 * (`If-None-Match: *` is ignored on PUT), does not verify checksums, has no UploadPartCopy, and its
 * multipart ETags differ from S3's.
 *
 *   const s3 = await startS3rver();
 *   const store = new S3Store({ bucket: s3.bucket, prefix: "t1", clientConfig: s3.clientConfig });
 *   …
 *   await s3.close();
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { CreateBucketCommand, S3Client, type S3ClientConfig } from "@aws-sdk/client-s3";

/** s3rver's default account: any well-formed signature with these keys is accepted. */
export const S3RVER_CREDENTIALS = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" };

export interface S3rverHandle {
  /** `http://127.0.0.1:<port>` */
  endpoint: string;
  /** A bucket created at start. */
  bucket: string;
  /** Client config for anything that makes its own S3Client (S3Store, openStore's `s3.clientConfig`). */
  clientConfig: S3ClientConfig;
  /** A client configured for the server (path style, dummy credentials, WHEN_REQUIRED checksums). */
  client: S3Client;
  /** Environment for code that reads its endpoint from the environment (openStore, the CLI). */
  env: Record<string, string>;
  /** Stops the server and removes its data directory. */
  close(): Promise<void>;
}

const require = createRequire(import.meta.url);

export async function startS3rver(options: { bucket?: string } = {}): Promise<S3rverHandle> {
  const directory = await mkdtemp(join(tmpdir(), "hbsync-s3rver-"));
  const bin = join(dirname(require.resolve("s3rver/package.json")), "bin", "s3rver.js");
  const child = spawn(
    process.execPath,
    [
      "--openssl-legacy-provider",
      bin,
      "--directory",
      directory,
      "--address",
      "127.0.0.1",
      "--port",
      "0",
      "--silent",
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  // Never leave an orphan server behind a test worker that exits without close().
  const killOnExit = (): void => {
    child.kill("SIGKILL");
  };
  process.once("exit", killOnExit);
  let port: number;
  try {
    port = await listeningPort(child);
  } catch (error) {
    process.off("exit", killOnExit);
    child.kill("SIGKILL");
    await rm(directory, { recursive: true, force: true });
    throw error;
  }
  const endpoint = `http://127.0.0.1:${port}`;
  const bucket = options.bucket ?? `hbsync-test-${randomBytes(4).toString("hex")}`;
  const clientConfig: S3ClientConfig = {
    endpoint,
    region: "us-east-1",
    forcePathStyle: true,
    credentials: S3RVER_CREDENTIALS,
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
  };
  const client = new S3Client(clientConfig);
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  return {
    endpoint,
    bucket,
    clientConfig,
    client,
    env: {
      AWS_ENDPOINT_URL_S3: endpoint,
      AWS_REGION: "us-east-1",
      AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
    },
    async close() {
      process.off("exit", killOnExit);
      client.destroy();
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once("exit", resolve));
        child.kill("SIGTERM");
        await exited;
      }
      await rm(directory, { recursive: true, force: true });
    },
  };
}

/** Waits for s3rver's `S3rver listening on 127.0.0.1:<port>` line. */
function listeningPort(child: ChildProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    let output = "";
    const timer = setTimeout(() => fail(new Error(`s3rver did not start within 20 s:\n${output}`)), 20_000);
    const onData = (data: Buffer): void => {
      output += data.toString();
      const match = /listening on [^\s:]+:(\d+)/i.exec(output);
      if (match?.[1] !== undefined) {
        cleanup();
        resolve(Number(match[1]));
      }
    };
    const onExit = (code: number | null): void =>
      fail(new Error(`s3rver exited (${code}) before listening:\n${output}`));
    function cleanup(): void {
      clearTimeout(timer);
      child.stdout?.off("data", onData);
      child.stderr?.off("data", onData);
      child.off("exit", onExit);
      // HBSYNC_S3RVER_LOG=1 shows the server's own errors (a crash, a 500) while debugging a test.
      if (process.env.HBSYNC_S3RVER_LOG) child.stderr?.pipe(process.stderr);
      else child.stderr?.resume();
      child.stdout?.resume();
    }
    function fail(error: Error): void {
      cleanup();
      reject(error);
    }
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.once("exit", onExit);
  });
}
