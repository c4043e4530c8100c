import type { NotifyEvent, NotifyEventType } from "./events.ts";

/** A realistic example of each event, for docs, tests and `hbsync notify test`. */
export function sampleEvent(type: NotifyEventType, environment = "dev"): NotifyEvent {
  const runUrl = "https://github.com/example-org/homebrew-bottles-sync/actions/runs/123456789";
  switch (type) {
    case "deployment_success":
      return {
        type,
        environment,
        version: "v1.4.0",
        durationSeconds: 312,
        commit: "3f9c2e1a7b5d4c3e2f1a0b9c8d7e6f5a4b3c2d1e",
        runUrl,
        actor: "octocat",
      };
    case "deployment_failure":
      return {
        type,
        environment,
        version: "v1.4.1",
        durationSeconds: 95,
        commit: "9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b",
        error: "terraform apply failed: Error creating Lambda function: ResourceConflictException",
        runUrl,
        actor: "octocat",
      };
    case "test_results":
      return {
        type,
        environment,
        passed: 412,
        failed: 2,
        skipped: 5,
        coverage: 87.3,
        failedTests: ["mirror/sync › resumes after a crash", "storage/s3 › lists more than 1000 keys"],
        durationSeconds: 48,
        runUrl,
      };
    case "sync_summary":
      return {
        type,
        environment,
        runId: "2025-01-06T03-00-00Z-a1b2",
        status: "partial",
        newBottles: 37,
        bytes: 1_932_735_283,
        durationSeconds: 642,
        failures: [{ key: "bottles/llvm-19.1.6.arm64_sequoia.bottle.tar.gz", message: "sha256 differs" }],
        mirrorBottles: 25_184,
        mirrorBytes: 412_316_860_416,
        runUrl,
      };
    case "sync_started":
      return {
        type,
        environment,
        runId: "2025-01-06T03-00-00Z-a1b2",
        plannedBottles: 38,
        plannedBytes: 1_987_654_321,
        runner: "lambda",
      };
    case "up_to_date":
      return {
        type,
        environment,
        runId: "2025-01-06T04-00-00Z-c3d4",
        mirrorBottles: 25_184,
        mirrorBytes: 412_316_860_416,
        durationSeconds: 21,
      };
    case "weekly_report":
      return {
        type,
        environment,
        runs: 28,
        bottlesAdded: 341,
        bytesAdded: 18_253_611_008,
        failures: 1,
        mirrorBytes: 412_316_860_416,
        costEstimateUsd: 11.42,
      };
    case "infrastructure_drift":
      return {
        type,
        environment,
        status: "drifted",
        resources: [
          'module.homebrew_sync.module.lambda.aws_lambda_function.this["worker"]',
          "module.homebrew_sync.module.storage.aws_s3_bucket_public_access_block.mirror",
        ],
        runUrl,
      };
    case "test":
      return { type, environment };
  }
}
