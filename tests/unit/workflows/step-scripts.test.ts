import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { normaliseEventType, parseEvent } from "../../../src/notify/events.ts";
import { allRunScripts, loadActions, loadWorkflow, REPO_ROOT, type Step } from "./workflow-files.ts";

/**
 * Runs the shell of a few workflow steps for real (bash -eo pipefail, as GitHub does, with jq) against a
 * fake `node` on PATH that records its arguments, so the test proves what the step would send to hbsync.
 */

const hasJq = spawnSync("jq", ["--version"]).status === 0;

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "hbsync-steps-"));
  // A fake node: records its arguments (NUL-separated), prints $FAKE_STDOUT, exits $FAKE_EXIT.
  writeFileSync(
    join(dir, "node"),
    '#!/usr/bin/env bash\nprintf \'%s\\0\' "$@" >>"$CAPTURE"\nprintf \'%s\' "${FAKE_STDOUT:-}"\nexit "${FAKE_EXIT:-0}"\n',
  );
  chmodSync(join(dir, "node"), 0o755);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function runStep(
  step: Step | undefined,
  env: Record<string, string>,
): { status: number; stdout: string; calls: string[][] } {
  if (!step?.run) throw new Error("no such step");
  const capture = join(dir, "capture");
  writeFileSync(capture, "");
  const result = spawnSync("bash", ["--noprofile", "--norc", "-eo", "pipefail", "-c", step.run], {
    cwd: dir,
    encoding: "utf8",
    env: {
      PATH: `${dir}:${process.env.PATH}`,
      CAPTURE: capture,
      GITHUB_STEP_SUMMARY: join(dir, "summary.md"),
      ...env,
    },
  });
  const calls = readFileSync(capture, "utf8")
    .split("\0")
    .filter((x) => x !== "")
    .reduce<string[][]>((all, arg) => {
      if (arg === "bin/hbsync.js") all.push([]);
      else all.at(-1)?.push(arg);
      return all;
    }, []);
  return { status: result.status ?? -1, stdout: result.stdout + result.stderr, calls };
}

const notifyStep = loadWorkflow("cicd.yml").jobs.notify?.steps?.find((s) =>
  s.run?.includes("hbsync.js notify"),
);

function needs(results: Record<string, string>): string {
  return JSON.stringify(
    Object.fromEntries(Object.entries(results).map(([k, result]) => [k, { result, outputs: {} }])),
  );
}

const NOTIFY_ENV = {
  STARTED_AT: String(Math.floor(Date.now() / 1000) - 90),
  GITHUB_SHA: "0123456789abcdef0123456789abcdef01234567",
  ACTOR: "octocat",
  RUN_URL: "https://github.com/acme/homebrew-bottles-sync/actions/runs/42",
};

describe("cicd.yml notify step", () => {
  it.skipIf(!hasJq)(
    "sends deployment-success with the version, commit and duration when the deploy succeeded",
    () => {
      const { status, calls } = runStep(notifyStep, {
        ...NOTIFY_ENV,
        DEPLOY_ENV: "prod",
        REF_TYPE: "tag",
        REF_NAME: "v1.4.0",
        RESULTS: needs({
          validate: "success",
          test: "success",
          build: "success",
          "deploy-dev": "skipped",
          "deploy-staging": "skipped",
          "deploy-prod": "success",
          rollback: "skipped",
        }),
      });
      expect(status).toBe(0);
      expect(calls).toHaveLength(1);
      const [command, event, envFlag, env, dataFlag, data] = calls[0] ?? [];
      expect([command, event, envFlag, env, dataFlag]).toEqual([
        "notify",
        "deployment-success",
        "--env",
        "prod",
        "--data",
      ]);
      const parsed = parseEvent("deployment_success", { ...JSON.parse(data ?? ""), environment: env });
      expect(parsed).toMatchObject({ version: "v1.4.0", commit: NOTIFY_ENV.GITHUB_SHA, actor: "octocat" });
      expect((parsed as { durationSeconds: number }).durationSeconds).toBeGreaterThanOrEqual(90);
    },
  );

  it.skipIf(!hasJq)("sends deployment-failure naming the failed job and the rollback's result", () => {
    const { status, calls } = runStep(notifyStep, {
      ...NOTIFY_ENV,
      DEPLOY_ENV: "dev",
      REF_TYPE: "branch",
      REF_NAME: "develop",
      RESULTS: needs({
        validate: "success",
        test: "success",
        build: "success",
        "deploy-dev": "failure",
        "deploy-staging": "skipped",
        "deploy-prod": "skipped",
        rollback: "success",
      }),
    });
    expect(status).toBe(0);
    const [, event, , env, , data] = calls[0] ?? [];
    const type = normaliseEventType(event ?? "");
    expect(type).toBe("deployment_failure");
    const parsed = parseEvent("deployment_failure", { ...JSON.parse(data ?? ""), environment: env });
    expect(parsed).toMatchObject({ environment: "dev", version: NOTIFY_ENV.GITHUB_SHA });
    expect((parsed as { error: string }).error).toBe("job deploy-dev: failure (rollback: success)");
  });

  it.skipIf(!hasJq)("reports a test failure before the deploy as the failure", () => {
    const { calls } = runStep(notifyStep, {
      ...NOTIFY_ENV,
      DEPLOY_ENV: "staging",
      REF_TYPE: "branch",
      REF_NAME: "main",
      RESULTS: needs({ validate: "success", test: "failure", build: "skipped", "deploy-staging": "skipped" }),
    });
    const data = JSON.parse(calls[0]?.[5] ?? "{}") as { error?: string };
    expect(calls[0]?.[1]).toBe("deployment-failure");
    expect(data.error).toMatch(/^job test: failure/);
  });
});

describe("deploy action cost step", () => {
  const costStep = loadActions()
    .find((a) => a.path === ".github/actions/deploy/action.yml")
    ?.doc.runs.steps.find((s) => s.name === "Cost estimate");

  it("puts the estimate in the job summary and only warns when over budget (exit 3)", () => {
    const { status, stdout, calls } = runStep(costStep, {
      DEPLOY_ENV: "dev",
      FAKE_EXIT: "3",
      FAKE_STDOUT: "## Monthly cost\n",
    });
    expect(status).toBe(0);
    expect(calls).toEqual([["cost", "--env", "dev", "--format", "md"]]);
    expect(stdout).toContain("::warning title=Over budget::");
    expect(readFileSync(join(dir, "summary.md"), "utf8")).toContain("## Monthly cost");
  });

  it("does not warn within budget", () => {
    const { status, stdout } = runStep(costStep, { DEPLOY_ENV: "dev", FAKE_EXIT: "0" });
    expect(status).toBe(0);
    expect(stdout).not.toContain("::warning");
  });
});

describe("annotate.sh", () => {
  const script = join(REPO_ROOT, ".github/actions/annotate/annotate.sh");

  function annotate(kind: string, report: unknown): { status: number; stdout: string; summary: string } {
    const file = join(dir, "report.json");
    writeFileSync(file, JSON.stringify(report));
    const summaryFile = join(dir, "summary.md");
    writeFileSync(summaryFile, "");
    const result = spawnSync("bash", [script, kind, file], {
      encoding: "utf8",
      env: { PATH: process.env.PATH, GITHUB_STEP_SUMMARY: summaryFile },
    });
    return { status: result.status ?? -1, stdout: result.stdout, summary: readFileSync(summaryFile, "utf8") };
  }

  it.skipIf(!hasJq)(
    "annotates scan findings by severity and escapes what could forge a workflow command",
    () => {
      const finding = {
        ruleId: "HBS-GHA-001",
        severity: "high",
        message: "bad\n::error::forged 100%",
        fix: "pin it",
        file: "a,b.yml",
        line: 3,
        col: 5,
      };
      const { status, stdout, summary } = annotate("scan", {
        passed: false,
        threshold: "medium",
        findings: [finding, { ...finding, severity: "low", message: "minor" }],
      });
      expect(status).toBe(0);
      expect(stdout.trim().split("\n")).toEqual([
        "::error file=a%2Cb.yml,line=3,col=5,title=HBS-GHA-001::bad%0A::error::forged 100%25 — fix: pin it",
        "::notice file=a%2Cb.yml,line=3,col=5,title=HBS-GHA-001::minor — fix: pin it",
      ]);
      expect(summary).toContain("Security scan: FAILED");
    },
  );

  it.skipIf(!hasJq)("annotates config errors and warnings at their line and column", () => {
    const diagnostic = {
      severity: "error",
      file: "config.yaml",
      line: 7,
      col: 3,
      path: "environments.dev",
      message: "m",
      fix: "f",
    };
    const { stdout, summary } = annotate("config", {
      file: "config.yaml",
      valid: false,
      errors: [diagnostic],
      warnings: [{ ...diagnostic, severity: "warning" }],
    });
    expect(stdout.trim().split("\n")).toEqual([
      "::error file=config.yaml,line=7,col=3,title=environments.dev::m — fix: f",
      "::warning file=config.yaml,line=7,col=3,title=environments.dev::m — fix: f",
    ]);
    expect(summary).toContain("config.yaml — INVALID");
  });

  it("warns instead of failing when the report was not written", () => {
    const result = spawnSync("bash", [script, "scan", join(dir, "missing.json")], { encoding: "utf8" });
    expect(result.status).toBe(0);
    expect(result.stdout).toContain("::warning title=hbsync report missing::");
  });
});

describe("state-backend.sh (TF_STATE_BUCKET / TF_STATE_REGION for every job that runs terraform)", () => {
  const script = join(REPO_ROOT, ".github/actions/state-backend/state-backend.sh");

  /** Runs the script with a fake `aws` that records its arguments and prints `location`. */
  function backend(env: Record<string, string>, location = "None", awsExit = 0) {
    writeFileSync(
      join(dir, "aws"),
      `#!/usr/bin/env bash\nprintf '%s\\n' "$*" >>"${join(dir, "aws-calls")}"\nprintf '%s\\n' '${location}'\nexit ${awsExit}\n`,
    );
    chmodSync(join(dir, "aws"), 0o755);
    writeFileSync(join(dir, "aws-calls"), "");
    writeFileSync(join(dir, "github-env"), "");
    const result = spawnSync("bash", [script], {
      encoding: "utf8",
      env: { PATH: `${dir}:${process.env.PATH}`, GITHUB_ENV: join(dir, "github-env"), ...env },
    });
    return {
      status: result.status ?? -1,
      stdout: result.stdout + result.stderr,
      exported: readFileSync(join(dir, "github-env"), "utf8"),
      awsCalls: readFileSync(join(dir, "aws-calls"), "utf8").trim(),
    };
  }

  it("defaults to the state bucket's own region (the bootstrap's), not the environment's AWS_REGION", () => {
    const { status, exported, awsCalls } = backend(
      { STATE_BUCKET: "acme-tf-state", AWS_REGION: "us-west-2" },
      "eu-central-1",
    );
    expect(status).toBe(0);
    expect(awsCalls).toBe(
      "s3api get-bucket-location --bucket acme-tf-state --query LocationConstraint --output text",
    );
    expect(exported).toBe("TF_STATE_BUCKET=acme-tf-state\nTF_STATE_REGION=eu-central-1\n");
  });

  it.each([
    ["None", "us-east-1"],
    ["EU", "eu-west-1"],
  ])("reads GetBucketLocation's %s as %s", (location, region) => {
    const { exported } = backend({ STATE_BUCKET: "acme-tf-state", AWS_REGION: "us-west-2" }, location);
    expect(exported).toContain(`TF_STATE_REGION=${region}\n`);
  });

  it("takes TF_STATE_REGION as given without asking S3", () => {
    const { status, exported, awsCalls } = backend({
      STATE_BUCKET: "acme-tf-state",
      STATE_REGION: "ap-southeast-2",
      AWS_REGION: "us-west-2",
    });
    expect(status).toBe(0);
    expect(awsCalls).toBe("");
    expect(exported).toContain("TF_STATE_REGION=ap-southeast-2\n");
  });

  it("fails with one line when the bucket is unset, its region unreadable, or a value is malformed", () => {
    expect(backend({}).stdout).toContain("::error title=TF_STATE_BUCKET is not set::");
    const unreadable = backend({ STATE_BUCKET: "acme-tf-state" }, "AccessDenied", 254);
    expect(unreadable.status).toBe(1);
    expect(unreadable.stdout).toContain("::error title=State bucket region unknown::");
    const injected = backend({ STATE_BUCKET: "acme-tf-state", STATE_REGION: "us-east-1\nEVIL=1" });
    expect(injected.status).toBe(1);
    expect(injected.exported).toBe("");
  });

  it("is what the deploy action and the rollback job use (neither falls back to AWS_REGION)", () => {
    const deploy = loadActions().find((a) => a.path === ".github/actions/deploy/action.yml");
    expect(deploy?.doc.runs.steps.some((s) => s.uses === "./.github/actions/state-backend")).toBe(true);
    const rollback = loadWorkflow("cicd.yml").jobs.rollback;
    expect(rollback?.steps?.some((s) => s.uses === "./.github/actions/state-backend")).toBe(true);
    for (const { script: text, where } of allRunScripts()) {
      expect(text, where).not.toMatch(/TF_STATE_REGION=\$\{[^}]*:-\$(AWS_REGION|region)\}/);
    }
  });
});

describe("cicd.yml rollback step", () => {
  const rollbackStep = loadWorkflow("cicd.yml").jobs.rollback?.steps?.find((s) =>
    s.run?.includes("hbsync.js rollback"),
  );

  it.skipIf(!hasJq)(
    "names the commit it undoes (--expect-current), so it cannot downgrade a healthy environment",
    () => {
      writeFileSync(join(dir, "aws"), "#!/usr/bin/env bash\necho 123456789012\n");
      chmodSync(join(dir, "aws"), 0o755);
      const { status, calls } = runStep(rollbackStep, {
        DEPLOY_ENV: "prod",
        GITHUB_SHA: "0123456789abcdef0123456789abcdef01234567",
        FAKE_STDOUT: '{"project":{"name":"hbsync"}}',
      });
      expect(status).toBe(0);
      expect(calls.at(-1)).toEqual([
        "rollback",
        "prod",
        "--ledger",
        "s3://hbsync-prod-artifacts-123456789012",
        "--expect-current",
        "0123456789abcdef0123456789abcdef01234567",
        "--no-notify",
      ]);
    },
  );
});
