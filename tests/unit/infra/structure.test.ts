import { access, readFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import {
  configurationDirs,
  ENVIRONMENTS,
  ENVIRONMENTS_DIR,
  FIXTURE_ENV_DIR,
  hasTerraform,
  listTfFiles,
  MODULES_DIR,
  moduleDirs,
  parseDir,
  parseTf,
  REPO_ROOT,
  run,
  TERRAFORM_DIR,
  terraformEnv,
  variablesOf,
} from "./hcl.ts";

const terraformAvailable = await hasTerraform();
const ENV_DIRS = ENVIRONMENTS.map((env) => join(ENVIRONMENTS_DIR, env));

describe("infra/terraform", () => {
  describe("terraform fmt", () => {
    it.skipIf(!terraformAvailable)("reports every file as canonically formatted", async () => {
      const result = await run(
        "terraform",
        ["fmt", "-check", "-recursive", "-list=true", "infra/terraform", "tests/fixtures/infra"],
        { cwd: REPO_ROOT, env: terraformEnv() },
      );

      expect(result.stdout.trim(), "files terraform fmt would rewrite").toBe("");
      expect(result.code).toBe(0);
    });
  });

  describe("parse", () => {
    it("parses every .tf file with @cdktf/hcl2json", async () => {
      const files = [...(await listTfFiles(TERRAFORM_DIR)), ...(await listTfFiles(FIXTURE_ENV_DIR))];

      const failures: string[] = [];
      for (const file of files) {
        await parseTf(file).catch((error: unknown) =>
          failures.push(`${relative(REPO_ROOT, file)}: ${error}`),
        );
      }

      expect(files.length).toBeGreaterThan(40);
      expect(failures).toEqual([]);
    });
  });

  describe("modules", () => {
    it("has main.tf, variables.tf, outputs.tf, versions.tf and README.md in every module", async () => {
      const missing: string[] = [];
      for (const dir of await moduleDirs()) {
        for (const file of ["main.tf", "variables.tf", "outputs.tf", "versions.tf", "README.md"]) {
          await access(join(dir, file)).catch(() => missing.push(relative(MODULES_DIR, join(dir, file))));
        }
      }

      expect(missing).toEqual([]);
    });

    it("gives every module variable a description, a type, and a default or a validation", async () => {
      const problems: string[] = [];
      for (const dir of await moduleDirs()) {
        for (const v of await variablesOf(dir)) {
          const where = `${relative(MODULES_DIR, dir)}: var.${v.name}`;
          if (!v.description) problems.push(`${where} has no description`);
          if (!v.type) problems.push(`${where} has no type`);
          if (!v.hasDefault && v.validations === 0)
            problems.push(`${where} has neither default nor validation`);
        }
      }

      expect(problems).toEqual([]);
    });

    it("documents every input and output of a module in its README", async () => {
      const undocumented: string[] = [];
      for (const dir of await moduleDirs()) {
        const readme = await readFile(join(dir, "README.md"), "utf8");
        const doc = await parseDir(dir);
        const names = [...Object.keys(doc.variable ?? {}), ...Object.keys(doc.output ?? {})];
        for (const name of names) {
          if (!readme.includes(`\`${name}\``)) undocumented.push(`${relative(MODULES_DIR, dir)}: ${name}`);
        }
        for (const heading of ["## Inputs", "## Outputs"]) {
          if (!readme.includes(heading)) undocumented.push(`${relative(MODULES_DIR, dir)}: ${heading}`);
        }
      }

      expect(undocumented).toEqual([]);
    });

    it("pins terraform >= 1.10 and hashicorp/aws 5.100 up to (not including) 7.0 in every versions.tf", async () => {
      const problems: string[] = [];
      const dirs = [
        ...(await moduleDirs()),
        ...ENV_DIRS,
        join(TERRAFORM_DIR, "bootstrap"),
        join(TERRAFORM_DIR, "tests"),
      ];
      for (const dir of dirs) {
        const doc = await parseTf(join(dir, "versions.tf"));
        const block = doc.terraform?.[0] ?? {};
        const aws = block.required_providers?.[0]?.aws;
        if (block.required_version !== ">= 1.10") problems.push(`${dir}: required_version`);
        if (aws?.source !== "hashicorp/aws" || aws?.version !== ">= 5.100, < 7.0")
          problems.push(`${dir}: aws`);
      }

      expect(problems).toEqual([]);
    });
  });

  describe("variables and outputs", () => {
    it("gives every variable in every configuration a description and a type", async () => {
      const problems: string[] = [];
      for (const dir of [...(await configurationDirs()), FIXTURE_ENV_DIR]) {
        for (const v of await variablesOf(dir)) {
          if (!v.description || !v.type) problems.push(`${relative(REPO_ROOT, dir)}: var.${v.name}`);
        }
      }

      expect(problems).toEqual([]);
    });

    it("gives every output a description", async () => {
      const problems: string[] = [];
      for (const dir of [...(await configurationDirs()), FIXTURE_ENV_DIR]) {
        const outputs = ((await parseDir(dir)).output ?? {}) as Record<string, { description?: string }[]>;
        for (const [name, [body]] of Object.entries(outputs)) {
          if (!body?.description) problems.push(`${relative(REPO_ROOT, dir)}: output.${name}`);
        }
      }

      expect(problems).toEqual([]);
    });
  });
});
