/**
 * Deploys and rollbacks across real git commits (a repository in a temp dir holding config.yaml and the
 * terraform_data environment) with real terraform, offline: the ledger records each deploy's revision;
 * a rollback applies the infra/ and config.yaml of the revision its target recorded (a git worktree),
 * not today's; only verified versions are targets; `expectCurrent` refuses to undo the wrong deployment
 * and does nothing when the expected one never got applied; and a deploy of an older commit is refused.
 *
 * The smoke test here is a scripted verdict per version (which versions "pass" is the test's input);
 * the real one — the worker Lambda's dry run — is exercised in cli-smoke-test.test.ts.
 */
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfigOrThrow } from "../../../src/config/load.ts";
import { EnvironmentManager } from "../../../src/pipeline/environment-manager.ts";
import { DeploymentError, PipelineError } from "../../../src/pipeline/errors.ts";
import { DeploymentLedger, type DeploymentRecord } from "../../../src/pipeline/ledger.ts";
import { NothingToRollBack, newestFirst, RollbackManager } from "../../../src/pipeline/rollback.ts";
import type { SmokeTest } from "../../../src/pipeline/smoke-test.ts";
import { FsStore } from "../../../src/storage/fs.ts";
import { type TempGitRepo, tempGitRepo } from "../../helpers/git-repo.ts";
import { DATA_ENV, FIXTURE_CONFIG, PIPELINE_FIXTURES, terraformEnv } from "./helpers.ts";

const ENV_DIR = "infra/terraform/environments/dev";

let root: string;
let repoDir: string;
let store: FsStore;
let ledger: DeploymentLedger;
const failing = new Set<string>();
const smokeTest: SmokeTest = {
  name: "scripted",
  run: async ({ version, outputs }) =>
    failing.has(version)
      ? { passed: false, detail: `${version} answers with an error` }
      : { passed: outputs.artifact_version === version, detail: `runs ${String(outputs.artifact_version)}` },
};

let repo: TempGitRepo;
const git = (...args: string[]): string => repo.git(...args);

/** Writes the marker output (an infra change) and the retention (a config change), commits, returns the SHA. */
async function commit(
  marker: string,
  retentionDays: number,
  options: { failApply?: boolean } = {},
): Promise<string> {
  await writeFile(
    join(repoDir, ENV_DIR, "revision.tf"),
    `output "infra_marker" {\n  description = "Which revision of infra/ was applied."\n  value       = "${marker}"\n}\n\noutput "config_retention_days" {\n  description = "retention_days from config.yaml."\n  value       = var.retention_days\n}\n`,
  );
  const variables = await readFile(join(DATA_ENV, "variables.tf"), "utf8");
  await writeFile(
    join(repoDir, ENV_DIR, "variables.tf"),
    options.failApply
      ? variables.replace(/(variable "fail_apply" \{[\s\S]*?default\s*=\s*)false/, "$1true")
      : variables,
  );
  const config = await readFile(FIXTURE_CONFIG, "utf8");
  return repo.commit({ "config.yaml": `${config}\nmirror:\n  retention_days: ${retentionDays}\n` }, marker);
}

function manager(): EnvironmentManager {
  return new EnvironmentManager({
    cwd: repoDir,
    env: terraformEnv(),
    backendConfig: [`path=${join(root, "state", "dev.tfstate")}`],
    ledger,
    stateStore: store,
    artifacts: null,
    manifestPath: join(root, "no-manifest.json"),
    smokeTest,
  });
}

const rollbacks = (): RollbackManager => new RollbackManager({ manager: manager(), ledger, artifacts: null });
const deployments = async (): Promise<DeploymentRecord[]> => newestFirst(await ledger.list("dev")).reverse();

const commits: Record<string, string> = {};

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "hbsync-revisions-"));
  repoDir = join(root, "repo");
  await mkdir(join(repoDir, ENV_DIR), { recursive: true });
  await mkdir(join(root, "state"), { recursive: true });
  await cp(DATA_ENV, join(repoDir, ENV_DIR), { recursive: true });
  await cp(join(PIPELINE_FIXTURES, "schedule-toggle.tf"), join(repoDir, ENV_DIR, "schedule-toggle.tf"));
  await writeFile(
    join(repoDir, ".gitignore"),
    ".terraform/\n*.tfstate*\nterraform.tfvars.json\n.terraform.lock.hcl\n",
  );
  repo = await tempGitRepo(repoDir);
  store = new FsStore(join(root, "ledger"));
  ledger = new DeploymentLedger(store);
  commits.one = await commit("one", 7);
  await loadConfigOrThrow(join(repoDir, "config.yaml"));
}, 60_000);

afterAll(() => rm(root, { recursive: true, force: true }));

describe("deploy and rollback across git revisions (real git, real terraform)", () => {
  it("records the revision of infra/ and config.yaml and the smoke test's verdict", async () => {
    const result = await manager().deploy("dev", { version: commits.one ?? "" });

    expect(result.status).toBe("verified");
    expect(result.outputs).toMatchObject({ infra_marker: "one", config_retention_days: 7 });
    const records = await ledger.list("dev");
    expect(records.map((r) => r.status)).toEqual(["in_progress", "applied", "verified"]);
    expect(records.at(-1)).toMatchObject({
      version: commits.one,
      reached: "verify",
      verification: { passed: true },
      revision: {
        commit: commits.one,
        infra: git("rev-parse", `${commits.one}:infra`),
        config: git("rev-parse", `${commits.one}:config.yaml`),
        dirty: false,
      },
    });
  });

  it("rolls back a failed infra change by applying the target's recorded revision, not HEAD's", async () => {
    commits.two = await commit("two", 9);
    await manager().deploy("dev", { version: commits.two });
    commits.three = await commit("three", 11, { failApply: true });

    const failed = await manager()
      .deploy("dev", { version: commits.three, autoRollback: false })
      .catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(DeploymentError);
    expect((await deployments()).at(-1)).toMatchObject({
      version: commits.three,
      status: "failed",
      reached: "apply",
    });

    // HEAD still has fail_apply = true: re-applying today's infra would fail again.
    const result = await rollbacks().rollback("dev", { expectCurrent: commits.three, actor: "on-call" });

    expect(result).toMatchObject({
      fromVersion: commits.three,
      toVersion: commits.two,
      revision: commits.two,
    });
    expect(result.deploy.outputs).toMatchObject({
      infra_marker: "two",
      config_retention_days: 9,
      artifact_version: commits.two,
    });
    const last = (await deployments()).at(-1);
    expect(last).toMatchObject({
      version: commits.two,
      status: "verified",
      revision: { commit: commits.two },
    });
    expect(last?.rollbackOf).toBe((await deployments()).find((r) => r.version === commits.three)?.id);
    expect(git("worktree", "list").split("\n")).toHaveLength(1);
  });

  it("refuses to deploy a commit older than the deployed one, and records nothing", async () => {
    const before = (await ledger.list("dev")).length;

    const error = await manager()
      .deploy("dev", { version: commits.one ?? "" })
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(PipelineError);
    expect(error).toMatchObject({ code: "HBS-DEP-010" });
    expect((error as PipelineError).message).toContain("is older than the deployed");
    expect((await ledger.list("dev")).length).toBe(before);
  });

  it("with expectCurrent, refuses to undo another deployment, and does nothing for one never applied", async () => {
    await expect(rollbacks().rollback("dev", { expectCurrent: commits.one ?? "" })).rejects.toMatchObject({
      code: "HBS-DEP-009",
    });
    commits.four = await commit("four", 13);
    const before = (await ledger.list("dev")).length;

    const nothing = await rollbacks()
      .rollback("dev", { expectCurrent: commits.four })
      .catch((e: unknown) => e);

    expect(nothing).toBeInstanceOf(NothingToRollBack);
    expect((nothing as NothingToRollBack).message).toContain(`still runs ${commits.two}`);
    expect((await ledger.list("dev")).length).toBe(before);
  });

  it("records a version that fails the smoke test as failed, and never rolls back to it", async () => {
    failing.add(commits.four ?? "");

    const error = await manager()
      .deploy("dev", { version: commits.four ?? "", autoRollback: false })
      .catch((e: unknown) => e);

    expect(error).toMatchObject({ code: "HBS-DEP-011" });
    expect((await deployments()).at(-1)).toMatchObject({
      version: commits.four,
      status: "failed",
      reached: "verify",
      verification: { passed: false, detail: `${commits.four} answers with an error` },
    });
    await expect(rollbacks().rollback("dev", { to: commits.four })).rejects.toMatchObject({
      code: "HBS-DEP-008",
    });
    const back = await rollbacks().rollback("dev");
    expect(back).toMatchObject({ fromVersion: commits.four, toVersion: commits.two });
    expect(back.deploy.outputs).toMatchObject({ infra_marker: "two", config_retention_days: 9 });
  });
});
