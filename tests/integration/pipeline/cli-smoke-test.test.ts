/**
 * `hbsync env deploy` / `hbsync rollback` with the real smoke test: after terraform apply (the
 * terraform_data environment, offline), the CLI's Lambda client invokes the deployed worker in dry run.
 * Lambda Invoke has no local server, so tests/helpers/lambda-stub.ts answers the API on loopback by
 * running the real worker handler (src/runtime/lambda/worker.ts) in a fresh node process with the
 * function's environment — the mirror in s3rver, the upstream in the emulator, ARTIFACT_VERSION from the
 * state terraform just wrote. It proves the verdict is the worker's own: a worker that fails to load is
 * `failed` in the ledger and never a rollback target; one that loads and plans is `verified`.
 */
import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { run } from "../../../src/cli/cli.ts";
import { memoryOutput } from "../../../src/cli/output.ts";
import { DeploymentLedger } from "../../../src/pipeline/ledger.ts";
import { newestFirst } from "../../../src/pipeline/rollback.ts";
import { FsStore } from "../../../src/storage/fs.ts";
import { withEmulator } from "../../helpers/emulator.ts";
import { type LambdaStub, startLambdaStub } from "../../helpers/lambda-stub.ts";
import { type S3rverHandle, startS3rver } from "../../helpers/s3rver.ts";
import { functionEnv } from "../runtime/helpers.ts";
import { FIXTURE_CONFIG, fixtureWorkspace, REPO, terraformEnv } from "./helpers.ts";

const upstream = withEmulator({ fixtures: false, synthetic: { formulae: 3, tags: ["x86_64_linux"] } });
let s3: S3rverHandle;
let stub: LambdaStub;
let root: string;
let envDir: string;
let storeDir: string;
/** A broken build: the worker's environment lacks MIRROR_BUCKET, so its module fails as it loads. */
let brokenWorker = false;

/** The worker as Terraform configured it: ARTIFACT_VERSION is what the environment's state says was applied. */
async function workerEnvironment(): Promise<Record<string, string>> {
  const state = JSON.parse(await readFile(join(envDir, "terraform.tfstate"), "utf8")) as {
    outputs?: { artifact_version?: { value?: string } };
  };
  const env: Record<string, string> = {
    ...functionEnv(upstream(), s3, { MIRROR_PREFIX: "smoke", ENVIRONMENT: "dev" }),
    ARTIFACT_VERSION: state.outputs?.artifact_version?.value ?? "none",
    POWERTOOLS_LOG_LEVEL: "SILENT",
    POWERTOOLS_METRICS_DISABLED: "true",
  };
  if (brokenWorker) delete env.MIRROR_BUCKET;
  return env;
}

beforeAll(async () => {
  ({ root, envDir, storeDir } = await fixtureWorkspace());
  s3 = await startS3rver();
  stub = await startLambdaStub(async (name) =>
    name === "hbsync-fixture-dev-worker"
      ? { module: join(REPO, "src/runtime/lambda/worker.ts"), env: await workerEnvironment() }
      : undefined,
  );
}, 60_000);

afterEach(() => vi.unstubAllEnvs());

afterAll(async () => {
  await stub?.close();
  await s3?.close();
  await rm(root, { recursive: true, force: true });
});

async function hbsync(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  // The SDK reads its endpoint and credentials from the process environment, as in a real CLI run.
  for (const [name, value] of Object.entries(stub.env)) vi.stubEnv(name, value);
  const output = memoryOutput();
  const code = await run(
    [...args, "--config", FIXTURE_CONFIG, "--dir", envDir, "--ledger", storeDir, "--no-notify"],
    output,
    { cwd: root, env: terraformEnv() },
  );
  return { code, stdout: output.stdout.join("\n"), stderr: output.stderr.join("\n") };
}

const latest = async () => newestFirst(await new DeploymentLedger(new FsStore(storeDir)).list("dev"))[0];

describe("hbsync env deploy / rollback, smoke-tested by the worker's dry run", () => {
  it("records c1 verified by the deployed worker's own dry run", async () => {
    const { code, stdout, stderr } = await hbsync(["env", "deploy", "dev", "--version", "c1"]);

    expect(code, stderr).toBe(0);
    expect(stdout).toMatch(/verified: hbsync-fixture-dev-worker \(c1\): planned 3 transfer\(s\)/);
    expect(stdout).toMatch(/ledger: \S+ \(verified\)/);
    expect(stub.invocations.map((i) => i.payload)).toEqual([{ dryRun: true }]);
    expect(await latest()).toMatchObject({
      version: "c1",
      status: "verified",
      verification: { passed: true },
    });
  });

  it("records c2 failed when its worker crashes while loading, and says why (HBS-DEP-011)", async () => {
    brokenWorker = true;

    const { code, stderr } = await hbsync(["env", "deploy", "dev", "--version", "c2", "--no-rollback"]);

    expect(code).toBe(1);
    expect(stderr).toContain("HBS-DEP-011");
    expect(stderr).toContain("MIRROR_BUCKET is required");
    expect(await latest()).toMatchObject({
      version: "c2",
      status: "failed",
      reached: "verify",
      verification: { passed: false, detail: expect.stringContaining("Runtime.ImportModuleError") },
    });
  });

  it("rolls back exactly the failed c2 to the verified c1, verified again", async () => {
    brokenWorker = false;

    const refused = await hbsync(["rollback", "dev", "--no-artifact-check", "--expect-current", "c1"]);
    const { code, stdout, stderr } = await hbsync([
      "rollback",
      "dev",
      "--no-artifact-check",
      "--expect-current",
      "c2",
    ]);

    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("HBS-DEP-009");
    expect(code, stderr).toBe(0);
    expect(stdout).toContain("Rolled back dev from c2 to c1");
    expect(stdout).toMatch(/verified: hbsync-fixture-dev-worker \(c1\)/);
    expect(await latest()).toMatchObject({ version: "c1", status: "verified" });
  });

  it("does nothing, and says so, when the deploy to undo never got applied", async () => {
    const { code, stdout } = await hbsync([
      "rollback",
      "dev",
      "--no-artifact-check",
      "--expect-current",
      "c3",
    ]);

    expect(code).toBe(0);
    expect(stdout).toContain(
      "Nothing to roll back: dev still runs c1: c3 never got as far as terraform apply",
    );
  });
});
