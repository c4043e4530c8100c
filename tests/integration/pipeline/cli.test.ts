import { rm } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { run } from "../../../src/cli/cli.ts";
import { memoryOutput } from "../../../src/cli/output.ts";
import { DATA_ENV, FIXTURE_CONFIG, fixtureWorkspace, terraformEnv } from "./helpers.ts";

// `hbsync env …` / `hbsync rollback` / `hbsync test` through the CLI funnel, on a temp copy of the
// terraform_data environment (real terraform, offline).
describe("cli pipeline commands", () => {
  let root: string;
  let envDir: string;
  let storeDir: string;
  const common = (): string[] => ["--config", FIXTURE_CONFIG, "--dir", envDir, "--ledger", storeDir];
  const hbsync = async (args: string[], env: NodeJS.ProcessEnv = {}) => {
    const output = memoryOutput();
    const code = await run(args, output, { cwd: root, env: terraformEnv(env) });
    return { code, stdout: output.stdout.join("\n"), stderr: output.stderr.join("\n") };
  };

  beforeAll(async () => {
    ({ root, envDir, storeDir } = await fixtureWorkspace());
  });

  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  describe("hbsync env", () => {
    it("plan prints one JSON document and streams terraform's output to stderr", async () => {
      const { code, stdout, stderr } = await hbsync([
        "env",
        "plan",
        "dev",
        ...common(),
        "--version",
        "c1",
        "--json",
      ]);
      expect(code).toBe(0);
      expect(JSON.parse(stdout)).toMatchObject({ env: "dev", version: "c1", summary: { add: 8 } });
      expect(stderr).toContain("==> terraform plan (dev)");
      expect(stderr).toContain("Plan: 8 to add, 0 to change, 0 to destroy.");
    });

    it("deploy applies and records; status shows it", async () => {
      // The worker's dry run needs a deployed worker: cli-smoke-test.test.ts runs it; here there is none.
      const deploy = await hbsync([
        "env",
        "deploy",
        "dev",
        ...common(),
        "--version",
        "c1",
        "--actor",
        "ci",
        "--smoke-test",
        "none",
      ]);
      expect(deploy.code).toBe(0);
      expect(deploy.stdout).toMatch(/^Deployed c1 to dev in [\d.]+ s: 8 to add, 0 to change, 0 to destroy/);
      expect(deploy.stdout).toMatch(/ledger: \S+ \(applied\)/);
      expect(deploy.stdout).toContain("note: not verified (no smoke test)");

      const status = await hbsync(["env", "status", "dev", ...common(), "--json"]);
      expect(status.code).toBe(0);
      expect(JSON.parse(status.stdout)).toMatchObject({
        deployed: true,
        resourceCount: 8,
        outputs: { artifact_version: "c1" },
        lastDeployment: { version: "c1", status: "applied", actor: "ci" },
        current: { version: "c1" },
      });
    });

    it("deploy without --version or GITHUB_SHA is a usage error", async () => {
      const { code, stderr } = await hbsync(["env", "deploy", "dev", ...common()]);
      expect(code).toBe(2);
      expect(stderr).toContain("fix: pass --version <git SHA>");
    });

    it("refuses to destroy prod without --force-prod, with guidance and a GitHub annotation", async () => {
      const { code, stderr } = await hbsync(["env", "destroy", "prod", ...common()], {
        GITHUB_ACTIONS: "true",
      });
      expect(code).toBe(2);
      expect(stderr).toContain("error: HBS-DEP-003: refusing to destroy prod without --force-prod");
      expect(stderr).toContain("fix: If you really mean it, run `hbsync env destroy prod --force-prod`.");
      expect(stderr).toContain(
        "::error title=Refusing to destroy production (HBS-DEP-003)::HBS-DEP-003: refusing",
      );
    });

    it("pause explains that an environment without schedule_enabled cannot be paused", async () => {
      const { code, stderr } = await hbsync([
        "env",
        "pause",
        "dev",
        "--config",
        FIXTURE_CONFIG,
        "--dir",
        DATA_ENV,
        "--ledger",
        storeDir,
      ]);
      expect(code).toBe(2);
      expect(stderr).toContain("HBS-CFG-006");
      expect(stderr).toContain('variable "schedule_enabled"');
    });
  });

  describe("hbsync rollback", () => {
    it("fails with HBS-DEP-004 when there is no earlier good version", async () => {
      const { code, stderr } = await hbsync(["rollback", "dev", ...common(), "--plan", "--allow-unverified"]);
      expect(code).toBe(1);
      expect(stderr).toContain(
        "error: HBS-DEP-004: no earlier verified deployment of a version other than c1",
      );
    });

    it("plans and performs a rollback to the previous version", async () => {
      const second = await hbsync([
        "env",
        "deploy",
        "dev",
        ...common(),
        "--version",
        "c2",
        "--no-artifact-check",
        "--smoke-test",
        "none",
      ]);
      expect(second.code).toBe(0);
      const strict = await hbsync(["rollback", "dev", ...common(), "--plan", "--no-artifact-check"]);
      expect(strict.code).toBe(1);
      expect(strict.stderr).toContain(
        "there are applied but unverified ones: --allow-unverified accepts them",
      );
      const plan = await hbsync([
        "rollback",
        "dev",
        ...common(),
        "--plan",
        "--no-artifact-check",
        "--allow-unverified",
      ]);
      expect(plan.code).toBe(0);
      expect(plan.stdout).toContain(
        "Rollback of dev from c2 to c1: 2 to add, 2 to change, 2 to destroy (2 replaced)",
      );
      const done = await hbsync([
        "rollback",
        "dev",
        ...common(),
        "--no-artifact-check",
        "--allow-unverified",
        "--smoke-test",
        "none",
        "--json",
      ]);
      expect(done.code).toBe(0);
      expect(JSON.parse(done.stdout)).toMatchObject({
        fromVersion: "c2",
        toVersion: "c1",
        deploy: { outputs: { artifact_version: "c1" } },
      });
    });
  });

  describe("hbsync test", () => {
    it("rejects an unknown suite before running anything", async () => {
      const { code, stderr } = await hbsync(["test", "smoke"]);
      expect(code).toBe(2);
      expect(stderr).toContain("HBS-TST-003");
    });
  });
});
