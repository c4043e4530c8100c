import { createHash } from "node:crypto";
import { cp, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfigOrThrow } from "../../../src/config/load.ts";
import type { PipelineConfig } from "../../../src/config/types.ts";
import type { NotifyEvent } from "../../../src/notify/events.ts";
import { EnvironmentManager } from "../../../src/pipeline/environment-manager.ts";
import { DeploymentError, PipelineError, TerraformNotFoundError } from "../../../src/pipeline/errors.ts";
import { DeploymentLedger, type DeploymentRecord } from "../../../src/pipeline/ledger.ts";
import { newestFirst, RollbackManager } from "../../../src/pipeline/rollback.ts";
import { setScheduleEnabled } from "../../../src/pipeline/schedule.ts";
import { FsStore } from "../../../src/storage/fs.ts";
import {
  FIXTURE_CONFIG,
  fixtureWorkspace,
  PIPELINE_FIXTURES,
  terraformEnv,
  writeManifest,
} from "./helpers.ts";

/** One entry per deployment (its newest record), oldest first. */
const deployments = (records: DeploymentRecord[]): DeploymentRecord[] => newestFirst(records).reverse();

// Real terraform (offline) on tests/fixtures/infra/terraform-data-env, copied once to a temp dir: the
// tests in the first block run in order and build on each other (deploy v1 → v2 → failing v3 → …).
describe("environment-manager (real terraform, terraform_data fixture)", () => {
  let root: string;
  let envDir: string;
  let store: FsStore;
  let ledger: DeploymentLedger;
  let manager: EnvironmentManager;
  let config: PipelineConfig;
  const events: NotifyEvent[] = [];
  const phases: string[] = [];

  beforeAll(async () => {
    ({ root, envDir } = await fixtureWorkspace());
    config = (await loadConfigOrThrow(FIXTURE_CONFIG)).config;
    store = new FsStore(join(root, "store"));
    ledger = new DeploymentLedger(store);
    manager = new EnvironmentManager({
      cwd: root,
      config,
      env: terraformEnv(),
      dir: envDir,
      ledger,
      stateStore: store,
      artifacts: store,
      manifestPath: join(root, "manifest.json"),
      notifier: { send: async (event) => void events.push(event) },
      onPhase: (phase) => phases.push(phase),
      // A verdict from the outputs (the worker's dry run itself: cli-smoke-test.test.ts).
      smokeTest: {
        name: "outputs",
        run: async ({ version, outputs }) => ({
          passed: outputs.artifact_version === version,
          detail: `artifact_version ${String(outputs.artifact_version)}`,
        }),
      },
    });
  });

  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  describe("validate", () => {
    it("accepts the config and the environment's Terraform", async () => {
      await expect(manager.validate("dev")).resolves.toMatchObject({ env: "dev", valid: true });
      expect(phases).toEqual(["init", "validate"]);
    });

    it("rejects an environment config.yaml does not define, as a configuration error", async () => {
      await expect(manager.validate("qa")).rejects.toMatchObject({ code: "HBS-CFG-002", kind: "usage" });
    });
  });

  describe("plan", () => {
    it("writes tfvars from config and summarises the plan", async () => {
      const plan = await manager.plan("dev", { version: "v1" });
      expect(plan.summary).toMatchObject({ add: 8, change: 0, destroy: 0, replace: 0 });
      expect(plan.summary.resources.map((r) => r.address)).toContain("terraform_data.orchestrator");
      expect(plan.scheduleEnabled).toBe(true);
    });
  });

  describe("deploy", () => {
    it("applies v1, returns the outputs and records the deployment with its artifact checksums", async () => {
      await writeManifest(join(root, "manifest.json"), "v1");
      const result = await manager.deploy("dev", { version: "v1", actor: "tester" });
      expect(result.outputs).toMatchObject({
        artifact_version: "v1",
        environment: "dev",
        schedule_state: "ENABLED",
      });
      expect(result.summary.add).toBe(8);
      const raw = await ledger.list("dev");
      expect(raw.map((r) => r.status)).toEqual(["in_progress", "applied", "verified"]);
      expect(new Set(raw.map((r) => r.id)).size).toBe(1);
      const [record] = deployments(raw);
      expect(record).toMatchObject({
        env: "dev",
        version: "v1",
        status: "verified",
        reached: "verify",
        verification: { passed: true, detail: "artifact_version v1" },
        actor: "tester",
        changeSummary: { add: 8, change: 0, destroy: 0 },
        errors: [],
      });
      expect(record?.artifacts.map((a) => a.name)).toEqual(["orchestrator.zip", "worker.zip"]);
      expect(events.at(-1)).toMatchObject({ type: "deployment_success", environment: "dev", version: "v1" });
    });

    it("deploys v2 as a replacement of the two functions", async () => {
      await store.put("artifacts/v1/manifest.json", "{}");
      const result = await manager.deploy("dev", { version: "v2", actor: "tester" });
      expect(result.summary.replace).toBe(2);
      expect(result.outputs.artifact_version).toBe("v2");
      expect(result.notes).toEqual([
        expect.stringContaining("is for v1, not v2: no artifact checksums recorded"),
        expect.stringContaining("not a git checkout: no source revision recorded"),
      ]);
    });

    it("surfaces a failing apply as a deployment error with guidance, rolls back to v2 and records it", async () => {
      await store.put("artifacts/v2/manifest.json", "{}");
      const error = await manager
        .deploy("dev", { version: "v3", actor: "tester", vars: { fail_apply: true } })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DeploymentError);
      const failure = error as DeploymentError;
      expect(failure.code).toBe("HBS-DEP-001");
      expect(failure.message).toContain("local-exec provisioner error");
      expect(failure.fix).toContain("rolls back to the last good version");
      expect(failure.rollback).toEqual({ attempted: true, succeeded: true, toVersion: "v2" });

      const status = await manager.status("dev");
      expect(status.outputs.artifact_version).toBe("v2");

      const records = deployments(await ledger.list("dev"));
      const byVersion = records.map((r) => [r.version, r.status]);
      expect(byVersion).toEqual([
        ["v1", "verified"],
        ["v2", "verified"],
        ["v3", "failed"],
        ["v2", "verified"],
      ]);
      const failed = records[2];
      expect(failed?.errors.join("\n")).toContain("local-exec provisioner error");
      expect(records[3]?.rollbackOf).toBe(failed?.id);
      expect(status.lastDeployment).toMatchObject({ version: "v2", rollbackOf: failed?.id });
      expect(events.at(-1)).toMatchObject({
        type: "deployment_failure",
        environment: "dev",
        version: "v3",
        error: expect.stringContaining("rolled back to v2"),
      });
    });
  });

  describe("RollbackManager", () => {
    it("plans a rollback from v2 to v1 without changing anything", async () => {
      const rollback = new RollbackManager({ manager, ledger, artifacts: store });
      const plan = await rollback.createRollbackPlan("dev");
      expect(plan).toMatchObject({ fromVersion: "v2", toVersion: "v1" });
      expect(plan.summary.replace).toBe(2);
      expect((await manager.status("dev")).outputs.artifact_version).toBe("v2");
    });

    it("cannot roll back to a version whose artifacts are gone, or that never succeeded", async () => {
      await store.delete("artifacts/v1/manifest.json");
      const rollback = new RollbackManager({ manager, ledger, artifacts: store });
      expect(await rollback.canRollback("dev")).toMatchObject({ possible: false });
      await expect(rollback.rollback("dev")).rejects.toMatchObject({ code: "HBS-DEP-004" });
      await expect(rollback.rollback("dev", { to: "v3" })).rejects.toMatchObject({ code: "HBS-DEP-008" });
    });
  });

  describe("pause and resume", () => {
    it("turns the schedule off through terraform, keeps it off across deploys, and back on", async () => {
      const paused = await setScheduleEnabled(manager, "dev", false, { actor: "tester" });
      expect(paused).toMatchObject({ enabled: false, applied: true, version: "v2" });
      expect((await manager.status("dev")).outputs.schedule_state).toBe("DISABLED");

      const redeploy = await manager.deploy("dev", { version: "v2", actor: "tester" });
      expect(redeploy.outputs.schedule_state).toBe("DISABLED");

      await setScheduleEnabled(manager, "dev", true, { actor: "tester" });
      const status = await manager.status("dev");
      expect(status.outputs.schedule_state).toBe("ENABLED");
      expect(status.schedule).toMatchObject({ enabled: true, actor: "tester" });
    });
  });

  describe("destroy", () => {
    it("refuses to destroy prod without forceProd, before running terraform", async () => {
      const before = phases.length;
      await expect(manager.destroy("prod")).rejects.toMatchObject({ code: "HBS-DEP-003", kind: "usage" });
      expect(phases.length).toBe(before);
    });

    it("destroys dev and status then reports it as not deployed", async () => {
      const result = await manager.destroy("dev");
      expect(result.destroyed).toBe(8);
      const status = await manager.status("dev");
      expect(status).toMatchObject({ deployed: false, resourceCount: 0 });
    });
  });
});

describe("environment-manager (failures before terraform runs)", () => {
  let root: string;
  let config: PipelineConfig;

  beforeAll(async () => {
    ({ root } = await fixtureWorkspace());
    config = (await loadConfigOrThrow(FIXTURE_CONFIG)).config;
    await cp(join(PIPELINE_FIXTURES, "unreachable-backend"), join(root, "unreachable"), { recursive: true });
  });

  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it("says terraform is missing when it is not on PATH", async () => {
    const manager = new EnvironmentManager({
      cwd: root,
      config,
      env: terraformEnv({ PATH: join(root, "no-bin") }),
      dir: join(root, "env"),
    });
    const error = await manager.plan("dev", { version: "v1" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TerraformNotFoundError);
    expect((error as PipelineError).message).toContain("terraform is not installed or not on PATH");
    expect((error as PipelineError).fix).toContain("Install Terraform ≥ 1.6");
  });

  it("recognises an unreachable state backend (HBS-INF-002)", async () => {
    const manager = new EnvironmentManager({
      cwd: root,
      config,
      env: terraformEnv({ AWS_ACCESS_KEY_ID: "fixture", AWS_SECRET_ACCESS_KEY: "fixture" }),
      dir: join(root, "unreachable"),
    });
    const error = await manager.plan("dev", { version: "v1" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PipelineError);
    expect(error).toMatchObject({ code: "HBS-INF-002" });
    expect((error as PipelineError).message).toContain("Failed to get existing workspaces");
  });

  it("says which directory is missing (HBS-CFG-003)", async () => {
    const manager = new EnvironmentManager({
      cwd: root,
      config,
      env: terraformEnv(),
      dir: join(root, "nowhere"),
    });
    await expect(manager.plan("dev")).rejects.toMatchObject({ code: "HBS-CFG-003" });
  });
});

// Item 8 of issue 17: prod's plan is made (and reviewed) before the approval, and exactly that plan file is
// applied after it — in CI by `hbsync env plan --out` and `hbsync env deploy --saved-plan --plan-sha256`.
describe("environment-manager (saved plans, real terraform)", () => {
  let root: string;
  let envDir: string;
  let ledger: DeploymentLedger;
  let config: PipelineConfig;
  const manager = (): EnvironmentManager =>
    new EnvironmentManager({
      cwd: root,
      config,
      env: terraformEnv(),
      dir: envDir,
      ledger,
      manifestPath: join(root, "manifest.json"),
    });

  beforeAll(async () => {
    ({ root, envDir } = await fixtureWorkspace());
    config = (await loadConfigOrThrow(FIXTURE_CONFIG)).config;
    ledger = new DeploymentLedger(new FsStore(join(root, "store")));
    await writeManifest(join(root, "manifest.json"), "v1");
  });

  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it("saves the plan with its SHA-256, and a deploy applies exactly that file without planning again", async () => {
    const plan = await manager().plan("dev", { version: "v1", out: "review/dev.tfplan" });
    expect(plan.savedTo).toBe(join(root, "review/dev.tfplan"));
    const bytes = await readFile(join(root, "review/dev.tfplan"));
    expect(plan.planSha256).toBe(createHash("sha256").update(bytes).digest("hex"));

    const phases: string[] = [];
    const deploying = new EnvironmentManager({
      cwd: root,
      config,
      env: terraformEnv(),
      dir: envDir,
      ledger,
      manifestPath: join(root, "manifest.json"),
      onPhase: (phase) => phases.push(phase),
    });
    const result = await deploying.deploy("dev", {
      version: "v1",
      savedPlan: { file: "review/dev.tfplan", sha256: plan.planSha256 },
    });
    expect(phases).not.toContain("plan");
    expect(phases).toContain("apply");
    expect(result.summary).toEqual(plan.summary);
    expect(result.outputs.artifact_version).toBe("v1");
  });

  it("refuses a plan file whose checksum is not the recorded one, and applies nothing", async () => {
    const plan = await manager().plan("dev", { version: "v2", out: "review/v2.tfplan" });
    const file = join(root, "review/v2.tfplan");
    const bytes = await readFile(file);
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] ?? 0) ^ 0xff;
    await writeFile(file, bytes);
    const error = await manager()
      .deploy("dev", { version: "v2", savedPlan: { file: "review/v2.tfplan", sha256: plan.planSha256 } })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "HBS-DEP-013" });
    expect((error as Error).message).toContain(`the plan job recorded ${plan.planSha256}`);
    expect((await manager().outputs(envDir)).artifact_version).toBe("v1");
  });

  it("refuses a plan made for another version", async () => {
    const plan = await manager().plan("dev", { version: "v2", out: "review/v2b.tfplan" });
    const error = await manager()
      .deploy("dev", { version: "v3", savedPlan: { file: "review/v2b.tfplan", sha256: plan.planSha256 } })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "HBS-DEP-013" });
    expect((error as Error).message).toContain('artifact_version = "v2", not v3');
  });

  it("fails a plan that went stale (the state changed after it was made) instead of applying it", async () => {
    const stale = await manager().plan("dev", { version: "v2", out: "review/stale.tfplan" });
    await manager().deploy("dev", { version: "v2" });
    const error = await manager()
      .deploy("dev", { version: "v2", savedPlan: { file: "review/stale.tfplan", sha256: stale.planSha256 } })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeploymentError);
    expect((error as DeploymentError).code).toBe("HBS-DEP-001");
    expect(JSON.stringify((error as DeploymentError).details)).toMatch(/stale/i);
  });
});
