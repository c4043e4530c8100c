/**
 * Drives the real terraform binary through init/plan/apply/destroy on tests/fixtures/infra/terraform-data-env
 * (terraform_data only, local backend), with the tfvars `toTfvars` generates from the repository's
 * config.yaml. Proxies point at a closed port, so any attempt to reach a registry would fail the run: the
 * environment wiring is exercised fully offline.
 */
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { parseConfig, renderTfvarsHcl, type TfvarValue, toTfvars } from "../../../src/config/index.ts";
import { FIXTURE_ENV_DIR, hasTerraform, REPO_ROOT, run, terraformEnv } from "../../unit/infra/hcl.ts";

const terraformAvailable = await hasTerraform();
const OFFLINE = terraformEnv({
  HTTPS_PROXY: "http://127.0.0.1:9",
  HTTP_PROXY: "http://127.0.0.1:9",
  NO_PROXY: "",
});
const VERSION_A = "1111111111111111111111111111111111111111";
const VERSION_B = "2222222222222222222222222222222222222222";

const workDirs: string[] = [];

afterEach(async () => {
  await Promise.all(workDirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

async function tfvarsFor(env: string, artifactVersion: string): Promise<Record<string, TfvarValue>> {
  const text = await readFile(join(REPO_ROOT, "config.yaml"), "utf8");
  const { config, errors } = parseConfig(text, "config.yaml", { baseDir: REPO_ROOT });
  if (!config) throw new Error(`config.yaml does not load: ${JSON.stringify(errors)}`);
  return toTfvars(config, env, { artifactVersion });
}

/** A private copy of the fixture with terraform.tfvars written, initialised. */
async function initialisedCopy(values: Record<string, TfvarValue>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "hbsync-tf-"));
  workDirs.push(dir);
  await cp(FIXTURE_ENV_DIR, dir, { recursive: true });
  await writeFile(join(dir, "terraform.tfvars"), renderTfvarsHcl(values));
  const init = await tf(dir, ["init", "-input=false", "-no-color"]);
  expect(init.code, init.stderr).toBe(0);
  return dir;
}

function tf(dir: string, args: string[]): ReturnType<typeof run> {
  return run("terraform", args, { cwd: dir, env: OFFLINE });
}

async function outputs(dir: string): Promise<Record<string, unknown>> {
  const result = await tf(dir, ["output", "-json"]);
  expect(result.code, result.stderr).toBe(0);
  const parsed = JSON.parse(result.stdout) as Record<string, { value: unknown }>;
  return Object.fromEntries(Object.entries(parsed).map(([name, o]) => [name, o.value]));
}

async function stateList(dir: string): Promise<string[]> {
  const result = await tf(dir, ["state", "list"]);
  return result.stdout.split("\n").filter(Boolean);
}

describe.skipIf(!terraformAvailable)("tests/fixtures/infra/terraform-data-env", () => {
  describe("deploy, redeploy and destroy", () => {
    it("applies the generated tfvars offline, switches artifact_version, and destroys cleanly", async () => {
      const values = await tfvarsFor("dev", VERSION_A);
      const dir = await initialisedCopy(values);

      const plan = await tf(dir, ["plan", "-input=false", "-no-color", "-detailed-exitcode", "-out=tfplan"]);
      const apply = await tf(dir, ["apply", "-input=false", "-no-color", "tfplan"]);
      const first = await outputs(dir);

      expect(plan.code, plan.stderr).toBe(2); // 2 = changes to apply
      expect(apply.code, apply.stderr).toBe(0);
      expect(first).toMatchObject({
        environment: "dev",
        artifact_version: VERSION_A,
        mirror_bucket_name: `${values.project_name}-dev-mirror-000000000000`,
        orchestrator_function_name: `${values.project_name}-dev-orchestrator`,
        worker_function_name: `${values.project_name}-dev-worker`,
      });

      const replan = await tf(dir, [
        "plan",
        "-input=false",
        "-no-color",
        "-detailed-exitcode",
        `-var=artifact_version=${VERSION_B}`,
        "-out=tfplan",
      ]);
      const shown = JSON.parse((await tf(dir, ["show", "-json", "tfplan"])).stdout) as {
        resource_changes: { address: string; change: { actions: string[] } }[];
      };
      const replaced = shown.resource_changes
        .filter((c) => c.change.actions.includes("delete"))
        .map((c) => c.address);
      const reapply = await tf(dir, ["apply", "-input=false", "-no-color", "tfplan"]);

      expect(replan.code, replan.stderr).toBe(2);
      expect(replaced.sort()).toEqual(["terraform_data.orchestrator", "terraform_data.worker"]);
      expect(reapply.code, reapply.stderr).toBe(0);
      expect((await outputs(dir)).artifact_version).toBe(VERSION_B);

      const destroy = await tf(dir, [
        "destroy",
        "-input=false",
        "-no-color",
        "-auto-approve",
        `-var=artifact_version=${VERSION_B}`,
      ]);

      expect(destroy.code, destroy.stderr).toBe(0);
      expect(await stateList(dir)).toEqual([]);
    });
  });

  describe("fail_apply", () => {
    it("plans fine, fails the apply after creating the rest, and recovers on the next apply", async () => {
      const dir = await initialisedCopy(await tfvarsFor("staging", VERSION_A));

      const plan = await tf(dir, [
        "plan",
        "-input=false",
        "-no-color",
        "-var=fail_apply=true",
        "-out=tfplan",
      ]);
      const failed = await tf(dir, ["apply", "-input=false", "-no-color", "tfplan"]);
      const afterFailure = await stateList(dir);

      expect(plan.code, plan.stderr).toBe(0);
      expect(failed.code).not.toBe(0);
      expect(failed.stderr).toContain("fail_apply = true");
      expect(afterFailure).toContain("terraform_data.mirror_bucket");
      expect(afterFailure).toContain("terraform_data.apply_failure[0]"); // kept as tainted

      const recovered = await tf(dir, ["apply", "-input=false", "-no-color", "-auto-approve"]);

      expect(recovered.code, recovered.stderr).toBe(0);
      expect(await stateList(dir)).not.toContain("terraform_data.apply_failure[0]");
      expect((await outputs(dir)).environment).toBe("staging");
    });
  });

  describe("required variables", () => {
    it("refuses to plan when the tfvars leave out a variable", async () => {
      const { budget_usd: _omitted, ...incomplete } = await tfvarsFor("prod", VERSION_A);
      const dir = await initialisedCopy(incomplete);

      const plan = await tf(dir, ["plan", "-input=false", "-no-color"]);

      expect(plan.code).not.toBe(0);
      expect(plan.stderr).toMatch(/No value for required variable[\s\S]*budget_usd/);
    });
  });
});
