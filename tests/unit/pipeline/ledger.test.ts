import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  currentDeployment,
  DeploymentLedger,
  type DeploymentRecordInput,
  LedgerRecordError,
  reachedApply,
  toDeploymentResult,
} from "../../../src/pipeline/ledger.ts";
import { newestFirst } from "../../../src/pipeline/rollback.ts";
import { FsStore } from "../../../src/storage/fs.ts";

function deployment(overrides: Partial<DeploymentRecordInput> = {}): DeploymentRecordInput {
  return {
    env: "dev",
    version: "0123456789abcdef0123456789abcdef01234567",
    artifacts: [{ name: "orchestrator.zip", sha256: "a".repeat(64) }],
    started: "2025-01-02T03:04:05.000Z",
    finished: "2025-01-02T03:06:05.000Z",
    status: "succeeded",
    actor: "octocat",
    changeSummary: { add: 1, change: 2, destroy: 0 },
    errors: [],
    ...overrides,
  };
}

describe("pipeline/ledger", () => {
  let dir: string;
  let store: FsStore;
  let ledger: DeploymentLedger;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "hbsync-ledger-"));
    store = new FsStore(dir);
    ledger = new DeploymentLedger(store);
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  describe("DeploymentLedger.append", () => {
    it("stores each record as its own object under _ledger/<env>/ and returns it with an id and time", async () => {
      const record = await ledger.append(deployment());

      expect(record).toMatchObject({
        ...deployment(),
        id: expect.any(String),
        recordedAt: expect.any(String),
      });
      const files = await readdir(join(dir, "_ledger", "dev"));
      expect(files).toHaveLength(1);
      expect(files[0]).toMatch(/^\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d\.\d{3}Z-[0-9a-f]{12}\.json$/);
      expect(await ledger.list("dev")).toEqual([record]);
    });

    it("loses nothing when 20 appends run at once", async () => {
      const versions = Array.from({ length: 20 }, (_, i) => `v${String(i).padStart(2, "0")}`);

      const appended = await Promise.all(versions.map((version) => ledger.append(deployment({ version }))));

      const listed = await ledger.list("dev");
      expect(listed).toHaveLength(20);
      expect(new Set(listed.map((record) => record.id)).size).toBe(20);
      expect(listed.map((record) => record.version).sort()).toEqual(versions);
      expect(new Set(listed.map((record) => record.id))).toEqual(
        new Set(appended.map((record) => record.id)),
      );
    });

    it("refuses an environment name that is not a plain path segment", async () => {
      await expect(ledger.append(deployment({ env: "../prod" }))).rejects.toMatchObject({ kind: "usage" });
      await expect(ledger.list("a/b")).rejects.toMatchObject({ kind: "usage" });
    });
  });

  describe("DeploymentLedger.list", () => {
    it("returns records in append order, keeps environments apart, and the same id for an outcome", async () => {
      const started = await ledger.append(deployment({ status: "in_progress", finished: null }));
      const other = await ledger.append(deployment({ env: "dev2", version: "other" }));
      const finished = await ledger.append(
        deployment({ id: started.id, status: "failed", errors: ["apply failed"] }),
      );

      expect(await ledger.list("dev")).toEqual([started, finished]);
      expect(await ledger.list("dev2")).toEqual([other]);
      expect(await ledger.list("prod")).toEqual([]);
      expect(finished.id).toBe(started.id);
      expect(await ledger.environments()).toEqual(["dev", "dev2"]);
    });

    it("names the key of a damaged record instead of trusting it", async () => {
      await ledger.append(deployment());
      await store.put("_ledger/dev/2025-01-01T00-00-00.000Z-000000000000.json", "{not json");

      const error = await ledger.list("dev").catch((caught: unknown) => caught);

      expect(error).toBeInstanceOf(LedgerRecordError);
      expect((error as LedgerRecordError).key).toBe("_ledger/dev/2025-01-01T00-00-00.000Z-000000000000.json");
    });
  });

  describe("DeploymentLedger.latest / lastSuccessful", () => {
    it("finds the newest record and the newest success, before a time or of a version", async () => {
      const v1 = await ledger.append(deployment({ version: "v1" }));
      const v2 = await ledger.append(deployment({ version: "v2" }));
      const v3 = await ledger.append(deployment({ version: "v3", status: "failed" }));

      expect(await ledger.latest("dev")).toEqual(v3);
      expect(await ledger.lastSuccessful("dev")).toEqual(v2);
      expect(await ledger.lastSuccessful("dev", { before: v2.recordedAt })).toEqual(v1);
      expect(await ledger.lastSuccessful("dev", { version: "v1" })).toEqual(v1);
      expect(await ledger.lastSuccessful("dev", { version: "v3" })).toBeUndefined();
      expect(await ledger.latest("staging")).toBeUndefined();
    });
  });

  describe("currentDeployment", () => {
    it("is the newest deployment that got as far as applying; one that failed before apply changed nothing", async () => {
      const verified = await ledger.append(
        deployment({ version: "good", status: "verified", reached: "verify" }),
      );
      await ledger.append(deployment({ version: "upload-broke", status: "failed", reached: "plan" }));

      const afterEarlyFailure = currentDeployment(newestFirst(await ledger.list("dev")));
      const partial = await ledger.append(
        deployment({ version: "apply-broke", status: "failed", reached: "apply" }),
      );
      const afterApplyFailure = currentDeployment(newestFirst(await ledger.list("dev")));

      expect(afterEarlyFailure).toEqual(verified);
      expect(afterApplyFailure).toEqual(partial);
      expect(reachedApply(partial)).toBe(true);
    });

    it("counts applied, verified and (older ledgers') succeeded records, and lastSuccessful can ask for verified only", async () => {
      const legacy = await ledger.append(deployment({ version: "legacy", status: "succeeded" }));
      const verified = await ledger.append(deployment({ version: "checked", status: "verified" }));
      const applied = await ledger.append(deployment({ version: "unchecked", status: "applied" }));

      expect(currentDeployment(newestFirst(await ledger.list("dev")))).toEqual(applied);
      expect(await ledger.lastSuccessful("dev")).toEqual(applied);
      expect(await ledger.lastSuccessful("dev", { verifiedOnly: true })).toEqual(verified);
      expect(reachedApply(legacy)).toBe(true);
    });
  });

  describe("toDeploymentResult", () => {
    it("maps a record to the user's DeploymentResult", async () => {
      const record = await ledger.append(deployment({ errors: ["x"] }));

      expect(toDeploymentResult(record, { bucket: "b" })).toEqual({
        environment: "dev",
        status: "success",
        duration: 120,
        commitSha: "0123456789abcdef0123456789abcdef01234567",
        terraformOutputs: { bucket: "b" },
        errors: ["x"],
      });
    });
  });
});
