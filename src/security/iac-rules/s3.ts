import {
  blockFinding,
  blocksIn,
  blocksOf,
  firstBlock,
  isLiteralTrue,
  refersTo,
  type TfBlock,
  type TfModule,
} from "../iac-model.ts";
import type { Finding, RuleMeta } from "../types.ts";
import { resolvePolicy } from "./policy.ts";

function rule(
  id: string,
  severity: RuleMeta["severity"],
  title: string,
  fix: string,
  checkov: string[],
  trivy: string[],
): RuleMeta {
  return { id, scanner: "iac", severity, title, fix, references: { checkov, trivy } };
}

export const S3_PUBLIC_ACCESS_BLOCK = rule(
  "HBS-IAC-001",
  "high",
  "S3 bucket without a public access block that sets all four flags to true",
  "Add an aws_s3_bucket_public_access_block for the bucket with block_public_acls, block_public_policy, ignore_public_acls and restrict_public_buckets = true.",
  ["CKV_AWS_53", "CKV_AWS_54", "CKV_AWS_55", "CKV_AWS_56", "CKV2_AWS_6"],
  ["AVD-AWS-0086", "AVD-AWS-0087", "AVD-AWS-0091", "AVD-AWS-0093", "AVD-AWS-0094"],
);
export const S3_ENCRYPTION = rule(
  "HBS-IAC-002",
  "high",
  "S3 bucket without a server-side encryption configuration",
  'Add an aws_s3_bucket_server_side_encryption_configuration for the bucket (sse_algorithm "aws:kms" with a CMK, or "AES256").',
  ["CKV_AWS_19", "CKV_AWS_145"],
  ["AVD-AWS-0088"],
);
export const S3_VERSIONING = rule(
  "HBS-IAC-003",
  "medium",
  "S3 bucket without versioning enabled",
  'Add an aws_s3_bucket_versioning for the bucket with versioning_configuration { status = "Enabled" }.',
  ["CKV_AWS_21"],
  ["AVD-AWS-0090"],
);
export const S3_TLS_ONLY = rule(
  "HBS-IAC-004",
  "high",
  "S3 bucket policy does not deny requests without TLS (aws:SecureTransport = false)",
  'Attach an aws_s3_bucket_policy with a Deny statement for all principals and s3:* on the bucket and its objects, condition Bool aws:SecureTransport = "false".',
  ["CKV_AWS_379"],
  [],
);
export const S3_ABORT_MULTIPART = rule(
  "HBS-IAC-005",
  "medium",
  "S3 bucket lifecycle does not abort incomplete multipart uploads",
  "Add an aws_s3_bucket_lifecycle_configuration rule (status Enabled) with abort_incomplete_multipart_upload { days_after_initiation = 1..7 }.",
  ["CKV_AWS_300"],
  [],
);

export const S3_RULES: RuleMeta[] = [
  S3_PUBLIC_ACCESS_BLOCK,
  S3_ENCRYPTION,
  S3_VERSIONING,
  S3_TLS_ONLY,
  S3_ABORT_MULTIPART,
];

const PAB_FLAGS = [
  "block_public_acls",
  "block_public_policy",
  "ignore_public_acls",
  "restrict_public_buckets",
];

function companions(module: TfModule, type: string, bucket: TfBlock): TfBlock[] {
  return blocksOf(module, type).filter((b) => refersTo(b.body.bucket, bucket.address));
}

export function checkS3(module: TfModule): Finding[] {
  const findings: Finding[] = [];
  for (const bucket of blocksOf(module, "aws_s3_bucket")) {
    const pabs = companions(module, "aws_s3_bucket_public_access_block", bucket);
    if (pabs.length === 0) {
      findings.push(blockFinding(S3_PUBLIC_ACCESS_BLOCK, bucket, "no aws_s3_bucket_public_access_block"));
    }
    for (const pab of pabs) {
      const off = PAB_FLAGS.filter((flag) => !isLiteralTrue(pab.body[flag]));
      if (off.length > 0) {
        findings.push(
          blockFinding(S3_PUBLIC_ACCESS_BLOCK, pab, `public access block leaves ${off.join(", ")} not true`, {
            key: PAB_FLAGS.find((f) => off.includes(f) && pab.body[f] !== undefined),
            match: off.join(","),
          }),
        );
      }
    }

    const inlineSse = firstBlock(bucket.body.server_side_encryption_configuration);
    if (
      !inlineSse &&
      companions(module, "aws_s3_bucket_server_side_encryption_configuration", bucket).length === 0
    ) {
      findings.push(blockFinding(S3_ENCRYPTION, bucket, "no server-side encryption configuration"));
    }

    const versioned =
      isLiteralTrue(firstBlock(bucket.body.versioning)?.enabled) ||
      companions(module, "aws_s3_bucket_versioning", bucket).some(
        (v) => firstBlock(v.body.versioning_configuration)?.status === "Enabled",
      );
    if (!versioned) {
      const versioning = companions(module, "aws_s3_bucket_versioning", bucket)[0];
      findings.push(
        versioning
          ? blockFinding(S3_VERSIONING, versioning, 'versioning status is not "Enabled"', { key: "status" })
          : blockFinding(S3_VERSIONING, bucket, "versioning is not enabled"),
      );
    }

    const policies = companions(module, "aws_s3_bucket_policy", bucket);
    const tlsOnly = policies.some((policy) =>
      (resolvePolicy(module, policy.body.policy) ?? []).some(
        (s) =>
          s.effect === "Deny" &&
          s.conditions.some(
            (c) =>
              c.variable === "aws:SecureTransport" &&
              /^Bool(IfExists)?$/.test(c.test) &&
              c.values.includes("false"),
          ),
      ),
    );
    if (!tlsOnly) {
      const policy = policies[0];
      findings.push(
        policy
          ? blockFinding(S3_TLS_ONLY, policy, "bucket policy has no Deny for aws:SecureTransport = false", {
              key: "policy",
            })
          : blockFinding(S3_TLS_ONLY, bucket, "no bucket policy denies requests without TLS"),
      );
    }

    const lifecycles = companions(module, "aws_s3_bucket_lifecycle_configuration", bucket);
    const aborts = [
      ...lifecycles.flatMap((l) => blocksIn(l.body.rule)),
      ...blocksIn(bucket.body.lifecycle_rule),
    ].some(
      (r) =>
        (r.status === "Enabled" || isLiteralTrue(r.enabled)) &&
        (firstBlock(r.abort_incomplete_multipart_upload)?.days_after_initiation !== undefined ||
          r.abort_incomplete_multipart_upload_days !== undefined),
    );
    if (!aborts) {
      const lifecycle = lifecycles[0];
      findings.push(
        lifecycle
          ? blockFinding(S3_ABORT_MULTIPART, lifecycle, "no enabled rule aborts incomplete multipart uploads")
          : blockFinding(
              S3_ABORT_MULTIPART,
              bucket,
              "no lifecycle configuration aborts incomplete multipart uploads",
            ),
      );
    }
  }
  return findings;
}
