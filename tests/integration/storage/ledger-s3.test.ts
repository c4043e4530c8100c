/**
 * The deployment ledger on S3 (s3rver): 20 concurrent appends all land. This holds without conditional
 * writes (which s3rver ignores) because every append has its own random key; putIfAbsent only guards
 * against a key collision.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DeploymentLedger, type DeploymentRecordInput } from "../../../src/pipeline/ledger.ts";
import { S3Store } from "../../../src/storage/s3.ts";
import { type S3rverHandle, startS3rver } from "../../helpers/s3rver.ts";

function deployment(version: string): DeploymentRecordInput {
  return {
    env: "prod",
    version,
    artifacts: [{ name: "worker.zip", sha256: "b".repeat(64) }],
    started: "2025-01-02T03:04:05.000Z",
    finished: "2025-01-02T03:06:05.000Z",
    status: "succeeded",
    actor: "octocat",
    changeSummary: { add: 0, change: 1, destroy: 0 },
    errors: [],
  };
}

let s3: S3rverHandle;
beforeAll(async () => {
  s3 = await startS3rver();
});
afterAll(() => s3?.close());

describe("pipeline/ledger on S3", () => {
  describe("DeploymentLedger.append", () => {
    it("loses nothing when 20 appends run at once", async () => {
      const store = new S3Store({ bucket: s3.bucket, prefix: "artifacts", clientConfig: s3.clientConfig });
      const ledger = new DeploymentLedger(store);
      const versions = Array.from({ length: 20 }, (_, i) => `v${String(i).padStart(2, "0")}`);

      await Promise.all(versions.map((version) => ledger.append(deployment(version))));

      const listed = await new DeploymentLedger(store).list("prod");
      expect(listed.map((record) => record.version).sort()).toEqual(versions);
      expect(new Set(listed.map((record) => record.id)).size).toBe(20);
      await store.close();
    });
  });
});
