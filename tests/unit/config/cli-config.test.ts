import { spawnSync } from "node:child_process";
import { copyFile, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeEach, describe, expect, it } from "vitest";
import { run } from "../../../src/cli/cli.ts";
import { EXIT } from "../../../src/cli/exit-codes.ts";
import { memoryOutput } from "../../../src/cli/output.ts";

const SHIPPED = new URL("../../../config.yaml", import.meta.url);

async function hbsync(argv: string[], cwd: string, env: NodeJS.ProcessEnv = {}) {
  const output = memoryOutput();
  const code = await run(argv, output, { cwd, env });
  return { code, stdout: output.stdout.join("\n"), stderr: output.stderr.join("\n") };
}

describe("cli config", () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "hbsync-cli-config-"));
    await copyFile(SHIPPED, join(dir, "config.yaml"));
  });

  describe("config validate", () => {
    it("exits 0 for the shipped config.yaml (default --config)", async () => {
      const result = await hbsync(["config", "validate"], dir);
      expect(result).toMatchObject({ code: EXIT.OK, stdout: "config.yaml is valid, 0 warnings", stderr: "" });
    });

    it("exits 1 and prints every error with file:line:col and a fix", async () => {
      const text = (await readFile(SHIPPED, "utf8"))
        .replace("size_threshold_gb: 5", "size_treshold_gb: 5")
        .replace('addresses: ["devops@company.com"]', 'addresses: ["devops.company.com"]');
      await writeFile(join(dir, "bad.yaml"), text);
      const result = await hbsync(["config", "validate", "--config", "bad.yaml"], dir);
      expect(result.code).toBe(EXIT.FAILED);
      const lines = result.stdout.split("\n");
      const lineOf = (needle: string): number =>
        text.split("\n").findIndex((line) => line.includes(needle)) + 1;
      expect(lines[0]).toMatch(
        new RegExp(
          `^bad\\.yaml:${lineOf("size_treshold_gb")}:5: error: unknown key \`size_treshold_gb\` .* — fix: rename it to \`size_threshold_gb\`$`,
        ),
      );
      expect(lines[1]).toMatch(
        new RegExp(
          `^bad\\.yaml:${lineOf("devops.company")}:17: error: invalid email address \`devops\\.company\\.com\``,
        ),
      );
      expect(lines.at(-1)).toBe("bad.yaml is invalid: 2 errors, 0 warnings");
    });

    it("prints warnings but still exits 0", async () => {
      const text = (await readFile(SHIPPED, "utf8")).replace(
        "enable_fargate_spot: false    # on-demand",
        "enable_fargate_spot: true     # on-demand",
      );
      await writeFile(join(dir, "config.yaml"), text);
      const result = await hbsync(["config", "validate"], dir);
      expect(result.code).toBe(EXIT.OK);
      expect(result.stdout).toMatch(/^config\.yaml:\d+:\d+: warning: Fargate Spot in prod/);
      expect(result.stdout).toContain("config.yaml is valid, 1 warning");
    });

    it("prints one JSON document with --json", async () => {
      await writeFile(join(dir, "config.yaml"), "project:\n  name: demo\n");
      const result = await hbsync(["config", "validate", "--json"], dir);
      expect(result.code).toBe(EXIT.FAILED);
      expect(JSON.parse(result.stdout)).toEqual({
        file: "config.yaml",
        valid: false,
        errors: [expect.objectContaining({ line: 1, col: 1, path: "environments", severity: "error" })],
        warnings: [],
      });
    });

    it("exits 2 with a clear message when the file is missing", async () => {
      const result = await hbsync(["config", "validate", "--config", "missing.yaml"], dir);
      expect(result.code).toBe(EXIT.USAGE);
      expect(result.stderr).toBe(
        "error: cannot read config file missing.yaml: no such file\nfix: create it from the example config.yaml at the repository root, or pass --config PATH",
      );
    });
  });

  describe("config show", () => {
    it("prints the resolved environment with its overrides merged", async () => {
      const result = await hbsync(["config", "show", "--env", "dev", "--json"], dir);
      expect(result.code).toBe(EXIT.OK);
      const shown = JSON.parse(result.stdout);
      expect(shown).toMatchObject({
        name: "dev",
        aws_region: "us-west-2",
        budget_usd: 25,
        resources: {
          ecs: { task_cpu: 1024, task_memory: 4096, ephemeral_storage: 100 },
          lambda: { timeout: 900 },
        },
        mirror: { retention_days: 7 },
      });
    });

    it("exits 2 with the defined environments for an unknown one", async () => {
      const result = await hbsync(["config", "show", "--env", "qa"], dir);
      expect(result.code).toBe(EXIT.USAGE);
      expect(result.stderr).toContain("unknown environment `qa`: config.yaml defines dev, staging, prod");
    });

    it("exits 2 when --env is missing", async () => {
      const result = await hbsync(["config", "show"], dir);
      expect(result.code).toBe(EXIT.USAGE);
      expect(result.stderr).toContain("pass one of --env dev | staging | prod");
    });

    it("exits 2 and lists the diagnostics when the config is invalid", async () => {
      await writeFile(join(dir, "config.yaml"), "project:\n  name: demo\n  nmae: x\n");
      const result = await hbsync(["config", "show", "--env", "dev"], dir);
      expect(result.code).toBe(EXIT.USAGE);
      expect(result.stderr).toContain("error: config.yaml is invalid (2 errors):");
      expect(result.stderr).toContain(
        "config.yaml:3:3: error: unknown key `nmae` in `project` — did you mean `name`?",
      );
    });
  });

  describe("config tfvars", () => {
    it("prints HCL with the artifact version given on the command line", async () => {
      const result = await hbsync(
        ["config", "tfvars", "--env", "prod", "--artifact-version", "abc1234"],
        dir,
      );
      expect(result.code).toBe(EXIT.OK);
      expect(result.stdout).toContain('artifact_version         = "abc1234"');
      expect(result.stdout).toContain('environment              = "prod"');
    });

    it("takes the artifact version from GITHUB_SHA, and writes JSON to --out", async () => {
      const result = await hbsync(
        ["config", "tfvars", "--env", "staging", "--format", "json", "--out", "out/staging.tfvars.json"],
        dir,
        { GITHUB_SHA: "feedface" },
      );
      expect(result.code).toBe(EXIT.OK);
      const written = JSON.parse(await readFile(join(dir, "out/staging.tfvars.json"), "utf8"));
      expect(written).toMatchObject({ environment: "staging", artifact_version: "feedface" });
      expect(result.stderr).toContain("wrote out/staging.tfvars.json");
    });

    it("falls back to git rev-parse HEAD, then to unversioned", async () => {
      const outside = await hbsync(["config", "tfvars", "--env", "dev", "--format", "json"], dir);
      expect(JSON.parse(outside.stdout).artifact_version).toBe("unversioned");
      const git = (...args: string[]) => spawnSync("git", args, { cwd: dir, encoding: "utf8" });
      git("init", "-q");
      git("-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-q", "--allow-empty", "-m", "x");
      const head = git("rev-parse", "HEAD").stdout.trim();
      const inside = await hbsync(["config", "tfvars", "--env", "dev", "--format", "json"], dir);
      expect(JSON.parse(inside.stdout).artifact_version).toBe(head);
    });

    it("exits 2 for an unknown --format", async () => {
      const result = await hbsync(["config", "tfvars", "--env", "dev", "--format", "yaml"], dir);
      expect(result.code).toBe(EXIT.USAGE);
      expect(result.stderr).toContain("use --format hcl or --format json");
    });
  });
});
