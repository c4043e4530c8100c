import type { Context } from "aws-lambda";
import type { TestEmulator } from "../../helpers/emulator.ts";
import type { S3rverHandle } from "../../helpers/s3rver.ts";

/** The environment Terraform gives the functions, pointed at the emulator and s3rver. */
export function functionEnv(
  upstream: TestEmulator,
  s3: S3rverHandle,
  overrides: Record<string, string> = {},
): Record<string, string> {
  return {
    ...s3.env,
    ENVIRONMENT: "test",
    MIRROR_BUCKET: s3.bucket,
    MIRROR_TAGS: "x86_64_linux",
    UPSTREAM_API_URL: upstream.api,
    UPSTREAM_REGISTRY_URL: upstream.registry,
    TRUSTED_KEY: upstream.publicKeyPath,
    CHECKERS_CONCURRENCY: "2",
    TRANSFERS_CONCURRENCY: "2",
    SIZE_THRESHOLD_GB: "10",
    WORKER_FUNCTION_NAME: "hbsync-test-worker",
    ECS_CLUSTER: "arn:aws:ecs:us-east-1:123456789012:cluster/hbsync-test",
    ECS_TASK_DEFINITION: "hbsync-test-sync",
    ECS_CONTAINER_NAME: "sync",
    ECS_CAPACITY_PROVIDER: "FARGATE_SPOT",
    ECS_SUBNETS: "subnet-a,subnet-b",
    ECS_SECURITY_GROUPS: "sg-1",
    ECS_ASSIGN_PUBLIC_IP: "ENABLED",
    SLACK_ENABLED: "false",
    EMAIL_ENABLED: "false",
    ...overrides,
  };
}

/**
 * A Lambda context whose clock says: plenty of time when the invocation starts, then (from the second
 * look on) less than the worker's safety margin — so each invocation runs one slice and re-invokes.
 */
export function shortLivedContext(requestId: string, functionName = "hbsync-test-worker"): Context {
  let looks = 0;
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: "$LATEST",
    invokedFunctionArn: `arn:aws:lambda:us-east-1:123456789012:function:${functionName}`,
    memoryLimitInMB: "1024",
    awsRequestId: requestId,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: "test",
    getRemainingTimeInMillis: () => (looks++ === 0 ? 600_000 : 60_000),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/** Bytes the emulator serves for the bottles of `tags` (what the plan will say it moves). */
export function plannedBytes(upstream: TestEmulator, tags: string[]): number {
  return upstream.index.bottles
    .filter((bottle) => tags.includes(bottle.tag) || bottle.tag === "all")
    .reduce((sum, bottle) => sum + bottle.size, 0);
}

/** Blob paths requested more than once at the emulator (both the registry and the blob host). */
export function blobsRequestedTwice(upstream: TestEmulator): string[] {
  return [...upstream.stats.requests.entries()]
    .filter(([path, count]) => path.includes("/blobs/") && count > 1)
    .map(([path]) => path);
}
