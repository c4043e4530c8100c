import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TerraformNotFoundError, TimeoutError } from "../../../src/pipeline/errors.ts";
import {
  classifyTerraformFailure,
  compareVersions,
  type StreamName,
  TerraformRunner,
} from "../../../src/pipeline/terraform.ts";

// These tests use stand-in `terraform` scripts to pin the runner's own behaviour (arguments, streaming,
// timeouts, exit handling). The real binary is exercised in tests/integration/pipeline.
describe("terraform", () => {
  let dir: string;
  const script = async (name: string, body: string): Promise<string> => {
    const path = join(dir, name);
    await writeFile(path, `#!/bin/sh\n${body}\n`);
    await chmod(path, 0o755);
    return path;
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "hbsync-tf-runner-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  describe("TerraformRunner.run", () => {
    it("adds -input=false and -no-color, sets TF_IN_AUTOMATION and streams lines from both streams", async () => {
      const binary = await script(
        "echo-args",
        'echo "args: $*"\necho "auto: $TF_IN_AUTOMATION"\necho "warn" >&2\nprintf "no newline"',
      );
      const lines: Array<[string, StreamName]> = [];
      const runner = new TerraformRunner({
        binary,
        env: { PATH: process.env.PATH },
        onLine: (l, s) => lines.push([l, s]),
      });
      const result = await runner.run("plan", ["-out=x"], { cwd: dir });
      expect(result.exitCode).toBe(0);
      expect(lines).toEqual(
        expect.arrayContaining([
          ["args: plan -input=false -no-color -out=x", "stdout"],
          ["auto: 1", "stdout"],
          ["warn", "stderr"],
          ["no newline", "stdout"],
        ]),
      );
    });

    it("does not add flags a subcommand rejects, and captures without streaming when asked", async () => {
      const binary = await script("echo-args2", 'echo "args: $*"');
      const lines: string[] = [];
      const runner = new TerraformRunner({ binary, onLine: (l) => lines.push(l) });
      const result = await runner.run("state", ["list"], { cwd: dir, stream: false });
      expect(result.stdout).toBe("args: state list\n");
      expect(lines).toEqual([]);
    });

    it("throws the caller's catalogue code for an unrecognised failure", async () => {
      const binary = await script("fail", 'echo "Error: Invalid value for variable" >&2\nexit 1');
      const runner = new TerraformRunner({ binary });
      await expect(runner.run("plan", [], { cwd: dir, failureCode: "HBS-DEP-002" })).rejects.toMatchObject({
        code: "HBS-DEP-002",
        exitCode: 1,
        message: expect.stringContaining("Invalid value for variable"),
      });
    });

    it("kills a command that outlives its timeout and throws TimeoutError (HBS-INF-004)", async () => {
      const binary = await script("slow", "echo started\nexec sleep 30");
      const lines: string[] = [];
      const runner = new TerraformRunner({ binary, timeoutMs: 300, onLine: (l) => lines.push(l) });
      const error = await runner.run("apply", [], { cwd: dir }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TimeoutError);
      expect(error).toMatchObject({ code: "HBS-INF-004" });
      expect(lines).toContain("started");
    });

    it("says terraform is not installed when the binary is not on PATH", async () => {
      const runner = new TerraformRunner({ env: { PATH: join(dir, "empty-bin") } });
      const error = await runner.run("version", [], { cwd: dir }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TerraformNotFoundError);
      expect((error as Error).message).toContain("terraform is not installed or not on PATH; install ≥ 1.6");
      expect(error).toMatchObject({ code: "HBS-INF-001" });
    });
  });

  describe("TerraformRunner.version", () => {
    it("refuses a terraform older than 1.6", async () => {
      const binary = await script("old", `echo '{"terraform_version":"1.5.7"}'`);
      await expect(new TerraformRunner({ binary }).version(dir)).rejects.toThrow(/1\.5\.7 is too old/);
    });

    it("returns the version of a new enough terraform", async () => {
      const binary = await script("new", `echo '{"terraform_version":"1.11.4"}'`);
      expect(await new TerraformRunner({ binary }).version(dir)).toBe("1.11.4");
    });
  });

  describe("classifyTerraformFailure", () => {
    it.each([
      ['Error: Failed to get existing workspaces: Unable to list objects in S3 bucket "x"', "HBS-INF-002"],
      ["Error refreshing state: AccessDenied", "HBS-INF-002"],
      ["Error: Error acquiring the state lock\nLock Info: ID: 1234", "HBS-INF-003"],
      [
        'Error: Missing region value\n  on main.tf line 2, in terraform:\n   2:   backend "s3" {',
        "HBS-CFG-005",
      ],
      ["Error: Failed to query available provider packages", "HBS-INF-005"],
      ["Error: Invalid value for variable", "HBS-DEP-001"],
    ] as const)("classifies %j as %s", (stderr, code) => {
      expect(classifyTerraformFailure(stderr, "HBS-DEP-001")).toBe(code);
    });
  });

  describe("compareVersions", () => {
    it("compares numerically, ignoring a v prefix and pre-release suffixes", () => {
      expect(compareVersions("1.10.0", "1.6.0")).toBeGreaterThan(0);
      expect(compareVersions("v1.6.0-beta1", "1.6.0")).toBe(0);
      expect(compareVersions("1.5.7", "1.6")).toBeLessThan(0);
    });
  });
});
