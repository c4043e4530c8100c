import { cp, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export const REPO = resolve(import.meta.dirname, "../../..");
export const DATA_ENV = join(REPO, "tests/fixtures/infra/terraform-data-env");
export const PIPELINE_FIXTURES = join(REPO, "tests/fixtures/pipeline");
export const FIXTURE_CONFIG = join(PIPELINE_FIXTURES, "config.yaml");

/** Terraform's environment for the tests: no host CLI config (mirrors, credentials), nothing else. */
export function terraformEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    TF_CLI_CONFIG_FILE: join(REPO, "tests/fixtures/infra/empty.tfrc"),
    ...extra,
  };
}

/**
 * A temp copy of the terraform_data environment (terraform never writes into tests/fixtures), plus the
 * schedule toggle, and a folder for the ledger/artifact store.
 */
export async function fixtureWorkspace(): Promise<{ root: string; envDir: string; storeDir: string }> {
  const root = await mkdtemp(join(tmpdir(), "hbsync-pipeline-"));
  const envDir = join(root, "env");
  await cp(DATA_ENV, envDir, { recursive: true });
  await cp(join(PIPELINE_FIXTURES, "schedule-toggle.tf"), join(envDir, "schedule-toggle.tf"));
  const storeDir = join(root, "store");
  return { root, envDir, storeDir };
}

export async function writeManifest(path: string, version: string): Promise<void> {
  await writeFile(
    path,
    JSON.stringify({
      version,
      artifacts: [
        { name: "orchestrator.zip", sha256: "1".repeat(64) },
        { name: "worker.zip", sha256: "2".repeat(64) },
      ],
    }),
  );
}
