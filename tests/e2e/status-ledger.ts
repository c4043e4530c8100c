import { DeploymentLedger, type DeploymentRecordInput } from "../../src/pipeline/ledger.ts";
import { FsStore } from "../../src/storage/fs.ts";

/**
 * A real deployment ledger (src/pipeline/ledger.ts over a folder) as the pipeline writes it: each
 * deployment appends `in_progress`, then its outcome under the same id. dev deployed once; prod
 * deployed v1.0.0, then v1.1.0 failed and was rolled back to v1.0.0.
 */
export async function e2eLedger(dir: string): Promise<DeploymentLedger> {
  const ledger = new DeploymentLedger(new FsStore(dir));
  const deploy = async (
    env: string,
    version: string,
    status: "succeeded" | "failed",
    started: string,
    extra: Partial<DeploymentRecordInput> = {},
  ) => {
    const base: DeploymentRecordInput = {
      env,
      version,
      artifacts: [],
      started,
      status: "in_progress",
      actor: "github-actions",
      changeSummary: { add: 1, change: 2, destroy: 0 },
      errors: [],
      ...extra,
    };
    const begun = await ledger.append(base);
    return ledger.append({
      ...base,
      id: begun.id,
      status,
      finished: new Date(Date.parse(started) + 240_000).toISOString(),
      errors: status === "failed" ? ["terraform apply: Error creating Lambda function"] : [],
    });
  };
  await deploy("dev", "0a1b2c3", "succeeded", "2026-03-08T09:00:00.000Z");
  await deploy("prod", "v1.0.0", "succeeded", "2026-03-01T10:00:00.000Z");
  const failed = await deploy("prod", "v1.1.0", "failed", "2026-03-09T10:00:00.000Z");
  await deploy("prod", "v1.0.0", "succeeded", "2026-03-09T10:10:00.000Z", { rollbackOf: failed.id });
  return ledger;
}
