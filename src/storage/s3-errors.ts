/**
 * What an S3 failure means, in words a person can act on. The SDK's own message is often useless: a
 * HEAD request has no body, so wrong credentials surface as "Unknown (HTTP 403): UnknownError". This
 * file reads the status, the error code and the `x-amz-bucket-region` header, and names the bucket,
 * the prefix and what to check. The SDK error stays the `cause`.
 */
import { StorageError } from "./errors.ts";

/** The parts of an AWS SDK v3 error this file reads. */
interface AwsError {
  name?: string;
  Code?: string;
  message?: string;
  Endpoint?: string;
  Region?: string;
  $metadata?: { httpStatusCode?: number };
  /** Non-enumerable on SDK errors: the raw response. */
  $response?: { headers?: Record<string, string | undefined> };
}

export interface S3FailureContext {
  /** The BlobStore operation (`stat`, `list`, `get`, `put`, `delete`, …). */
  operation: string;
  /** The key (or prefix) it concerned, relative to the store's prefix. */
  key: string;
  bucket: string;
  /** `s3://bucket/prefix/`. */
  location: string;
  /** The region the client was configured with, when it is a plain string. */
  region?: string;
}

/** The IAM action each store operation needs (HEAD needs s3:GetObject; listing, s3:ListBucket). */
const ACTION: Record<string, string> = {
  stat: "s3:GetObject",
  get: "s3:GetObject",
  list: "s3:ListBucket",
  put: "s3:PutObject",
  putIfAbsent: "s3:PutObject",
  copy: "s3:PutObject",
  replaceIfMatch: "s3:PutObject",
  delete: "s3:DeleteObject",
  deleteIfMatch: "s3:DeleteObject",
};

const CREDENTIAL_CODES: Record<string, string> = {
  InvalidAccessKeyId: "the access key id is not known to AWS (InvalidAccessKeyId)",
  SignatureDoesNotMatch: "the secret access key does not match the access key id (SignatureDoesNotMatch)",
  ExpiredToken: "the session token has expired (ExpiredToken): assume the role again",
  TokenRefreshRequired: "the session token has expired (TokenRefreshRequired): assume the role again",
  InvalidToken: "the session token is malformed (InvalidToken)",
  AllAccessDisabled: "all access to this bucket has been disabled (AllAccessDisabled)",
};

function status(error: AwsError | null): number | undefined {
  return error?.$metadata?.httpStatusCode;
}

function code(error: AwsError | null): string | undefined {
  return error?.Code ?? error?.name;
}

/** The region a redirect names: the `x-amz-bucket-region` header, else the endpoint it points at. */
export function redirectRegion(error: unknown): string | undefined {
  const aws = error as AwsError | null;
  const header = aws?.$response?.headers?.["x-amz-bucket-region"];
  if (header) return header;
  if (aws?.Region) return aws.Region;
  const endpoint = /(?:^|\.)s3[.-]([a-z]{2}(?:-[a-z]+)+-\d)\.amazonaws\.com/.exec(aws?.Endpoint ?? "");
  return endpoint?.[1];
}

/** A StorageError that says what an S3 failure means: access, region, bucket, or else what S3 said. */
export function s3Failure(context: S3FailureContext, error: unknown): StorageError {
  const aws = error as AwsError | null;
  const { bucket, location, operation, key } = context;
  const what = `${operation} of ${JSON.stringify(key)}`;
  const name = code(aws);
  const http = status(aws);
  const action = ACTION[operation] ?? "s3:GetObject";
  const policy = `the role needs s3:GetObject, s3:PutObject and s3:DeleteObject on arn:aws:s3:::${bucket}/* and s3:ListBucket on arn:aws:s3:::${bucket} (plus kms:Decrypt/kms:GenerateDataKey if the bucket uses SSE-KMS)`;

  if (name === "NoSuchBucket") {
    return new StorageError(`no bucket named ${bucket} (${location}; ${what})`, {
      key,
      cause: error,
      fix: `check the bucket in --dest (or MIRROR_BUCKET) and the account you are in; create it with infra/terraform (modules/storage) if it should exist`,
    });
  }

  if (http === 301 || name === "PermanentRedirect" || name === "AuthorizationHeaderMalformed") {
    const region = redirectRegion(error);
    const configured = context.region ? `, not ${context.region}` : "";
    return new StorageError(
      region
        ? `the bucket ${bucket} is in region ${region}${configured} (${location}; ${what})`
        : `the bucket ${bucket} is in another region${configured} (${location}; ${what})`,
      {
        key,
        cause: error,
        fix: region
          ? `set AWS_REGION=${region} (or the environment's aws_region in config.yaml)`
          : `set AWS_REGION to the bucket's region (\`aws s3api get-bucket-location --bucket ${bucket}\` says which)`,
      },
    );
  }

  const credentials = name ? CREDENTIAL_CODES[name] : undefined;
  if (http === 403 || name === "AccessDenied" || credentials) {
    const detail =
      credentials ??
      `the credentials in use (AWS_PROFILE or AWS_ACCESS_KEY_ID, else the instance, task or function role) may not ${action} here`;
    return new StorageError(`access denied to ${location} (check the role/credentials: ${detail}; ${what})`, {
      key,
      cause: error,
      fix: credentials ? `renew or correct the credentials; ${policy}` : policy,
    });
  }

  if (name === "CredentialsProviderError") {
    return new StorageError(`no AWS credentials found for ${location} (${what})`, {
      key,
      cause: error,
      fix: "set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run where a role is attached (an instance profile, ECS task role or Lambda role)",
    });
  }

  const detail = `${name ?? "error"}${http === undefined ? "" : ` (HTTP ${http})`}`;
  return new StorageError(`S3 ${what} in ${location} failed: ${detail}: ${aws?.message ?? String(error)}`, {
    key,
    cause: error,
    fix: "Check the bucket name, region or endpoint (AWS_ENDPOINT_URL_S3), and that the credentials allow s3:GetObject/PutObject/DeleteObject/ListBucket on it.",
  });
}
