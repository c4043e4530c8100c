/**
 * `--dest` / `--ledger` → a BlobStore: `s3://bucket/prefix` opens an S3Store, anything else a folder
 * (FsStore at the path resolved against `cwd`).
 */
import { resolve } from "node:path";
import { UsageError } from "../shared/errors.ts";
import type { BlobStore } from "./blob-store.ts";
import { FsStore } from "./fs.ts";
import { assertValidPrefix } from "./keys.ts";
import { LazyStore } from "./lazy.ts";
import type { S3Store, S3StoreOptions } from "./s3.ts";

export interface OpenStoreOptions {
  /** Where a relative folder resolves (default: process.cwd()). */
  cwd?: string;
  /** Read for AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL (default: process.env). */
  env?: NodeJS.ProcessEnv;
  /** Extra S3Store options (client config, part sizes); bucket and prefix come from the URL. */
  s3?: Omit<S3StoreOptions, "bucket" | "prefix">;
}

export interface S3Location {
  bucket: string;
  prefix: string;
}

/** Parses `s3://bucket[/prefix]`; throws UsageError when the bucket is missing. */
export function parseS3Url(dest: string): S3Location {
  const rest = dest.slice("s3://".length);
  const slash = rest.indexOf("/");
  const bucket = slash < 0 ? rest : rest.slice(0, slash);
  const prefix = slash < 0 ? "" : rest.slice(slash + 1).replace(/^\/+|\/+$/g, "");
  if (bucket === "") {
    throw new UsageError(`${JSON.stringify(dest)} names no bucket`, {
      fix: "write s3://<bucket>/<prefix>, e.g. s3://my-mirror/homebrew",
    });
  }
  return { bucket, prefix };
}

/**
 * A folder opens as FsStore; `s3://` as a LazyStore over S3Store (`await store.resolve()` gives the
 * S3Store), so commands on a folder never load the AWS SDK.
 */
export function openStore(dest: string, options: OpenStoreOptions = {}): BlobStore {
  if (!dest.startsWith("s3://")) {
    if (dest.trim() === "")
      throw new UsageError("the destination is empty", { fix: "pass a folder or s3://bucket/prefix" });
    return new FsStore(resolve(options.cwd ?? process.cwd(), dest));
  }
  const { bucket, prefix } = parseS3Url(dest);
  const env = options.env ?? process.env;
  const endpoint = env.AWS_ENDPOINT_URL_S3?.trim() || env.AWS_ENDPOINT_URL?.trim() || undefined;
  const region = env.AWS_REGION?.trim() || env.AWS_DEFAULT_REGION?.trim() || "us-east-1";
  const clientConfig = {
    region,
    // A bucket in another region answers with a redirect the client follows.
    followRegionRedirects: true,
    ...(endpoint === undefined ? {} : { endpoint, forcePathStyle: true }),
    ...options.s3?.clientConfig,
  };
  // Validate now, so a bad prefix is a usage error before any work rather than at the first request.
  assertValidPrefix(prefix);
  const storeOptions = { ...options.s3, bucket, prefix, clientConfig };
  const location = `s3://${bucket}/${prefix === "" ? "" : `${prefix}/`}`;
  return new LazyStore<S3Store>(location, async () => new (await import("./s3.ts")).S3Store(storeOptions), {
    compareAndSwap: true, // S3Store: If-Match (the lease renews and releases by compare-and-swap)
  });
}
