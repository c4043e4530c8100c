import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { parse } from "@cdktf/hcl2json";
import { describe, expect, it } from "vitest";
import { parseConfig, renderTfvarsHcl, toTfvars } from "../../../src/config/index.ts";
import { COMMAND_LINE_TFVARS, TFVARS } from "../../../src/config/tfvars-variables.ts";
import {
  ENVIRONMENTS,
  ENVIRONMENTS_DIR,
  FIXTURE_ENV_DIR,
  MODULES_DIR,
  parseDir,
  parseTf,
  REPO_ROOT,
  unwrap,
  type VariableDecl,
  variablesOf,
} from "./hcl.ts";

const ROOT_MODULE_DIR = join(MODULES_DIR, "homebrew-sync");
const byName = (vars: VariableDecl[]): Map<string, VariableDecl> => new Map(vars.map((v) => [v.name, v]));
const ALL_TFVARS = [...TFVARS, ...COMMAND_LINE_TFVARS];
const TFVAR_TYPES = Object.fromEntries(ALL_TFVARS.map((spec) => [spec.name, spec.type]));

describe("infra/terraform/environments", () => {
  describe.each(ENVIRONMENTS)("%s", (env) => {
    const dir = join(ENVIRONMENTS_DIR, env);

    it("declares exactly the TFVARS and COMMAND_LINE_TFVARS variables, with the same types and descriptions", async () => {
      const declared = await variablesOf(dir);

      expect(declared.map((v) => v.name).sort()).toEqual(ALL_TFVARS.map((spec) => spec.name).sort());
      for (const v of declared) {
        expect({ name: v.name, type: v.type }).toEqual({ name: v.name, type: TFVAR_TYPES[v.name] });
        expect(v.description).toBe(ALL_TFVARS.find((spec) => spec.name === v.name)?.description);
      }
    });

    it("gives every command-line variable its default, so a plain terraform run without hbsync env works", async () => {
      const declared = byName(await variablesOf(dir));

      for (const spec of COMMAND_LINE_TFVARS)
        expect(declared.get(spec.name)?.default, spec.name).toBe(spec.default);
    });

    it("passes every TFVARS variable to the root module under the same name", async () => {
      const doc = await parseDir(dir);
      const call = doc.module?.homebrew_sync?.[0] ?? {};

      expect(call.source).toBe("../../modules/homebrew-sync");
      for (const spec of ALL_TFVARS) expect(call[spec.name], spec.name).toBe(`\${var.${spec.name}}`);
    });

    it("keeps state in S3 with lockfile locking and a per-environment key, bucket left to -backend-config", async () => {
      const doc = await parseTf(join(dir, "versions.tf"));
      const block = doc.terraform?.[0] ?? {};
      const backend = block.backend?.s3?.[0] ?? {};

      expect(backend.use_lockfile).toBe(true);
      expect(backend.encrypt).toBe(true);
      expect(backend.key).toBe(`homebrew-sync/${env}/terraform.tfstate`);
      expect(backend.bucket).toBeUndefined();
      expect(block.required_providers?.[0]?.aws).toEqual({
        source: "hashicorp/aws",
        version: ">= 5.100, < 7.0",
      });
    });

    it("refuses another environment's tfvars with a precondition", async () => {
      const doc = await parseDir(dir);
      const guard = doc.resource?.terraform_data?.environment_guard?.[0];

      expect(guard?.lifecycle?.[0]?.precondition?.[0]?.condition).toBe(`\${var.environment == "${env}"}`);
    });
  });

  describe("root module", () => {
    it("accepts every TFVARS variable with the same type", async () => {
      const declared = byName(await variablesOf(ROOT_MODULE_DIR));

      for (const spec of ALL_TFVARS) expect(declared.get(spec.name)?.type, spec.name).toBe(spec.type);
    });
  });

  describe("terraform-data-env fixture", () => {
    it("takes the same variables as a real environment plus fail_apply (bool, default false)", async () => {
      const declared = byName(await variablesOf(FIXTURE_ENV_DIR));
      // The command-line variables (schedule_enabled) are added by the pipeline tests that exercise them
      // (tests/fixtures/pipeline/schedule-toggle.tf), so the fixture also serves "an environment without it".
      const commandLine = new Set(COMMAND_LINE_TFVARS.map((spec) => spec.name));
      const real = (await variablesOf(join(ENVIRONMENTS_DIR, "dev"))).filter((v) => !commandLine.has(v.name));

      expect([...declared.keys()].sort()).toEqual([...real.map((v) => v.name), "fail_apply"].sort());
      for (const v of real) expect(declared.get(v.name)?.type, v.name).toBe(v.type);
      expect(declared.get("fail_apply")).toMatchObject({ type: "bool", hasDefault: true, default: false });
    });

    it("has the same outputs as the real environments", async () => {
      const fixture = Object.keys((await parseDir(FIXTURE_ENV_DIR)).output ?? {}).sort();

      for (const env of ENVIRONMENTS) {
        const real = Object.keys((await parseDir(join(ENVIRONMENTS_DIR, env))).output ?? {}).sort();
        expect(fixture, env).toEqual(real);
      }
      expect(fixture).toEqual(
        expect.arrayContaining(["mirror_bucket_name", "orchestrator_function_name", "artifact_version"]),
      );
    });

    it("uses no provider that would need a download", async () => {
      const doc = await parseDir(FIXTURE_ENV_DIR);
      const resourceTypes = Object.keys(doc.resource ?? {});

      expect(resourceTypes).toEqual(["terraform_data"]);
      expect(doc.terraform?.[0]?.required_providers).toBeUndefined();
      expect(doc.data).toBeUndefined();
    });
  });

  describe("generated tfvars (toTfvars on the repository's config.yaml)", async () => {
    const text = await readFile(join(REPO_ROOT, "config.yaml"), "utf8");
    const { config, errors } = parseConfig(text, "config.yaml", { baseDir: REPO_ROOT });
    const configEnvs = config ? Object.keys(config.environments) : [];

    it("loads config.yaml without errors and defines the three environments", () => {
      expect(errors).toEqual([]);
      expect(configEnvs).toEqual(expect.arrayContaining([...ENVIRONMENTS]));
    });

    it.each(ENVIRONMENTS)(
      "sets only declared variables and every variable without a default in %s",
      async (env) => {
        if (!config) throw new Error("config.yaml did not load");
        const declared = byName(await variablesOf(join(ENVIRONMENTS_DIR, env)));

        const values = toTfvars(config, env, { artifactVersion: "0123456789abcdef0123456789abcdef01234567" });

        const undeclared = Object.keys(values).filter((name) => !declared.has(name));
        const missing = [...declared.values()]
          .filter((v) => !v.hasDefault && !(v.name in values))
          .map((v) => v.name);
        expect(undeclared).toEqual([]);
        expect(missing).toEqual([]);
        expect(values.environment).toBe(env);
      },
    );

    it.each(ENVIRONMENTS)("renders %s tfvars as HCL whose values match the declared types", async (env) => {
      if (!config) throw new Error("config.yaml did not load");
      const declared = byName(await variablesOf(join(ENVIRONMENTS_DIR, env)));

      const hcl = renderTfvarsHcl(toTfvars(config, env, { artifactVersion: "abc1234" }));
      const parsed = (await parse(`${env}.tfvars`, hcl)) as Record<string, unknown>;

      const written = [...declared.keys()].filter(
        (name) => !COMMAND_LINE_TFVARS.some((spec) => spec.name === name),
      );
      expect(Object.keys(parsed).sort()).toEqual(written.sort());
      for (const [name, value] of Object.entries(parsed)) {
        expect(matchesType(value, declared.get(name)?.type), `${name} = ${JSON.stringify(value)}`).toBe(true);
      }
    });
  });
});

function matchesType(value: unknown, type: string | undefined): boolean {
  switch (type && unwrap(type)) {
    case "string":
      return typeof value === "string";
    case "number":
      return typeof value === "number";
    case "bool":
      return typeof value === "boolean";
    case "list(string)":
      return Array.isArray(value) && value.every((item) => typeof item === "string");
    default:
      return false;
  }
}
