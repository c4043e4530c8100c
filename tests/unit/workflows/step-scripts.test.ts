import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
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

/** Writes an executable fake command into the test's PATH directory. */
function fake(name: string, script: string): void {
  writeFileSync(join(dir, name), `#!/usr/bin/env bash\n${script}\n`);
  chmodSync(join(dir, name), 0o755);
}

function runScript(
  path: string,
  args: string[],
  env: Record<string, string>,
): { status: number; stdout: string; summary: string; outputs: Record<string, string> } {
  for (const file of ["summary.md", "github-output", "github-env", "capture"])
    writeFileSync(join(dir, file), "");
  const result = spawnSync("bash", [join(REPO_ROOT, path), ...args], {
    cwd: dir,
    encoding: "utf8",
    env: {
      PATH: `${dir}:${process.env.PATH}`,
      CAPTURE: join(dir, "capture"),
      GITHUB_STEP_SUMMARY: join(dir, "summary.md"),
      GITHUB_OUTPUT: join(dir, "github-output"),
      GITHUB_ENV: join(dir, "github-env"),
      ...env,
    },
  });
  const outputs = Object.fromEntries(
    readFileSync(join(dir, "github-output"), "utf8")
      .split("\n")
      .filter((line) => line.includes("="))
      .map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]),
  );
  return {
    status: result.status ?? -1,
    stdout: result.stdout + result.stderr,
    summary: readFileSync(join(dir, "summary.md"), "utf8"),
    outputs,
  };
}

/** hbsync calls recorded by the fake node (NUL-separated arguments, one call per `bin/hbsync.js`). */
function hbsyncCalls(): string[][] {
  return readFileSync(join(dir, "capture"), "utf8")
    .split("\0")
    .filter((x) => x !== "")
    .reduce<string[][]>((all, arg) => {
      if (arg === "bin/hbsync.js") all.push([]);
      else all.at(-1)?.push(arg);
      return all;
    }, []);
}

describe("plan action (plan.sh): the plan the approvers review", () => {
  const PLAN_BYTES = "saved plan bytes\n";
  const SHA = createHash("sha256").update(PLAN_BYTES).digest("hex");

  beforeEach(() => {
    // `hbsync env plan … --out FILE --json`: writes FILE and prints the plan result.
    fake(
      "node",
      [
        `printf '%s\\0' "$@" >>"$CAPTURE"`,
        'out=""; prev=""; for a in "$@"; do [ "$prev" = --out ] && out=$a; prev=$a; done',
        `[ -n "$out" ] && printf '${PLAN_BYTES.replace("\n", "\\n")}' >"$out"`,
        `printf '%s' "\${FAKE_STDOUT:-}"`,
      ].join("\n"),
    );
    fake("terraform", `echo '  # aws_lambda_function.worker will be updated <in-place> & "quoted"'`);
  });

  const result = (sha: string) =>
    JSON.stringify({
      planSha256: sha,
      summary: {
        add: 1,
        change: 1,
        destroy: 0,
        replace: 0,
        resources: [
          { action: "create", address: "aws_cloudwatch_metric_alarm.new" },
          { action: "update", address: 'aws_lambda_function.this["worker"]' },
        ],
      },
    });

  it.skipIf(!hasJq)(
    "saves plan/ENV.tfplan with its checksum and commit, and summarises it for the job summary",
    () => {
      const { status, summary, outputs } = runScript(".github/actions/plan/plan.sh", [], {
        DEPLOY_ENV: "prod",
        VERSION: "0123456789abcdef0123456789abcdef01234567",
        FAKE_STDOUT: result(SHA),
      });
      expect(status).toBe(0);
      expect(hbsyncCalls()).toEqual([
        [
          "env",
          "plan",
          "prod",
          "--version",
          "0123456789abcdef0123456789abcdef01234567",
          "--out",
          "plan/prod.tfplan",
          "--json",
          "--no-notify",
        ],
      ]);
      expect(outputs).toEqual({ "plan-file": "plan/prod.tfplan", "plan-sha256": SHA, changes: "2" });
      expect(readFileSync(join(dir, "plan/prod.tfplan.sha256"), "utf8")).toBe(`${SHA}  prod.tfplan\n`);
      expect(readFileSync(join(dir, "plan/commit"), "utf8")).toBe(
        "0123456789abcdef0123456789abcdef01234567\n",
      );
      expect(summary).toContain(
        "### Terraform plan for `prod` at `0123456789abcdef0123456789abcdef01234567`",
      );
      expect(summary).toContain("**1 to add, 1 to change, 0 to destroy** (0 replaced)");
      expect(summary).toContain('| update | `aws_lambda_function.this["worker"]` |');
      expect(summary).toContain(`SHA-256 \`${SHA}\``);
      // terraform's text cannot close the <pre> or inject markup into the summary.
      expect(summary).toContain('will be updated &lt;in-place&gt; &amp; "quoted"');
    },
  );

  it.skipIf(!hasJq)("fails when the saved file is not the plan hbsync made", () => {
    const { status, stdout } = runScript(".github/actions/plan/plan.sh", [], {
      DEPLOY_ENV: "prod",
      VERSION: "v1",
      FAKE_STDOUT: result("f".repeat(64)),
    });
    expect(status).toBe(1);
    expect(stdout).toContain("::error title=Plan file changed::");
  });
});

describe("check-saved-plan.sh: the approved job applies the reviewed plan of this commit, or nothing", () => {
  const COMMIT = "0123456789abcdef0123456789abcdef01234567";
  const bytes = "reviewed plan\n";
  const sha = createHash("sha256").update(bytes).digest("hex");
  const check = (env: Record<string, string>) =>
    runScript(".github/actions/plan/check-saved-plan.sh", ["prod"], { GITHUB_SHA: COMMIT, ...env });

  beforeEach(() => {
    mkdirSync(join(dir, "plan"), { recursive: true });
    mkdirSync(join(dir, "infra/terraform/environments/prod"), { recursive: true });
    writeFileSync(join(dir, "plan/prod.tfplan"), bytes);
    writeFileSync(join(dir, "plan/commit"), `${COMMIT}\n`);
    writeFileSync(join(dir, "plan/terraform.lock.hcl"), "# lock\n");
  });

  it("accepts the plan of this commit with the plan job's checksum, and restores its lock file", () => {
    const { status, stdout } = check({ PLAN_SHA256: sha });
    expect(status).toBe(0);
    expect(stdout).toContain(`sha256 ${sha}`);
    expect(readFileSync(join(dir, "infra/terraform/environments/prod/.terraform.lock.hcl"), "utf8")).toBe(
      "# lock\n",
    );
  });

  it("refuses a plan file changed after the plan job", () => {
    writeFileSync(join(dir, "plan/prod.tfplan"), "another plan\n");
    const { status, stdout } = check({ PLAN_SHA256: sha });
    expect(status).toBe(1);
    expect(stdout).toContain("::error title=Plan changed since it was reviewed::");
  });

  it("refuses the plan of another commit, and a missing checksum", () => {
    writeFileSync(join(dir, "plan/commit"), "fedcba9876543210fedcba9876543210fedcba98\n");
    expect(check({ PLAN_SHA256: sha }).stdout).toContain("::error title=Plan of another commit::");
    writeFileSync(join(dir, "plan/commit"), `${COMMIT}\n`);
    expect(check({ PLAN_SHA256: "" }).stdout).toContain("::error title=Plan checksum missing::");
  });
});

describe("drift action (drift.sh): plan -refresh-only -detailed-exitcode, notified through hbsync notify", () => {
  const DRIFT_ENV = {
    DEPLOY_ENV: "staging",
    RUN_URL: "https://github.com/acme/homebrew-bottles-sync/actions/runs/7",
    TF_STATE_BUCKET: "acme-tf-state",
    TF_STATE_REGION: "eu-central-1",
  };

  beforeEach(() => {
    fake("node", `printf '%s\\0' "$@" >>"$CAPTURE"`);
    // terraform: init/plan exit with $FAKE_INIT_EXIT / $FAKE_PLAN_EXIT; show -json prints the drift.
    fake(
      "terraform",
      [
        `printf '%s\\n' "$*" >>"${join(dir, "terraform-calls")}"`,
        'case "$2" in',
        '  init) [ "${FAKE_INIT_EXIT:-0}" = 0 ] || echo "Error: Failed to get existing workspaces"; exit "${FAKE_INIT_EXIT:-0}" ;;',
        "  output) echo abc123 ;;",
        '  plan) [ "${FAKE_PLAN_EXIT:-0}" = 1 ] && printf "│ Error: reading S3 Bucket (hbsync-staging-mirror): AccessDenied\\n"; exit "${FAKE_PLAN_EXIT:-0}" ;;',
        `  show) echo '{"resource_drift":[{"address":"module.homebrew_sync.aws_s3_bucket.mirror"},{"address":"module.homebrew_sync.aws_sqs_queue.dlq[\\"worker\\"]"}],"resource_changes":[{"address":"module.homebrew_sync.aws_s3_bucket.mirror","change":{"actions":["no-op"]}}]}' ;;`,
        "esac",
      ].join("\n"),
    );
    writeFileSync(join(dir, "terraform-calls"), "");
  });

  const notifyData = (): unknown => {
    const call = hbsyncCalls().find((c) => c[0] === "notify");
    expect(call?.slice(0, 4)).toEqual(["notify", "infrastructure-drift", "--env", "staging"]);
    return parseEvent("infrastructure_drift", { ...JSON.parse(call?.[5] ?? "{}"), environment: "staging" });
  };

  it.skipIf(!hasJq)("exit 0: no drift, nothing sent", () => {
    const { status, outputs, summary } = runScript(".github/actions/drift/drift.sh", [], DRIFT_ENV);
    expect(status).toBe(0);
    expect(outputs.result).toBe("none");
    expect(hbsyncCalls().map((c) => c[0])).toEqual(["config"]);
    expect(summary).toContain("no drift");
    const calls = readFileSync(join(dir, "terraform-calls"), "utf8");
    expect(calls).toContain("-backend-config=bucket=acme-tf-state -backend-config=region=eu-central-1");
    expect(calls).toMatch(/plan -refresh-only -detailed-exitcode/);
    expect(hbsyncCalls()[0]).toEqual([
      "config",
      "tfvars",
      "--env",
      "staging",
      "--artifact-version",
      "abc123",
      "--out",
      "infra/terraform/environments/staging/terraform.tfvars",
    ]);
  });

  it.skipIf(!hasJq)("exit 2: drift — notifies the changed resources and fails the job", () => {
    const { status, outputs, summary, stdout } = runScript(".github/actions/drift/drift.sh", [], {
      ...DRIFT_ENV,
      FAKE_PLAN_EXIT: "2",
    });
    expect(status).toBe(1);
    expect(outputs.result).toBe("drift");
    expect(stdout).toContain("::error title=Drift in staging::2 resource(s) changed outside Terraform");
    expect(notifyData()).toEqual({
      type: "infrastructure_drift",
      environment: "staging",
      status: "drifted",
      resources: [
        "module.homebrew_sync.aws_s3_bucket.mirror",
        'module.homebrew_sync.aws_sqs_queue.dlq["worker"]',
      ],
      runUrl: DRIFT_ENV.RUN_URL,
    });
    expect(summary).toContain("- `module.homebrew_sync.aws_s3_bucket.mirror`");
  });

  it.skipIf(!hasJq)("exit 1: the check failed — notified as failed with terraform's error line", () => {
    const { status, outputs } = runScript(".github/actions/drift/drift.sh", [], {
      ...DRIFT_ENV,
      FAKE_PLAN_EXIT: "1",
    });
    expect(status).toBe(1);
    expect(outputs.result).toBe("failed");
    expect(notifyData()).toMatchObject({
      status: "failed",
      error: "terraform plan exited 1: Error: reading S3 Bucket (hbsync-staging-mirror): AccessDenied",
    });
  });

  it.skipIf(!hasJq)("a failed init is a failed check, notified too", () => {
    const { status } = runScript(".github/actions/drift/drift.sh", [], { ...DRIFT_ENV, FAKE_INIT_EXIT: "1" });
    expect(status).toBe(1);
    expect(notifyData()).toMatchObject({
      status: "failed",
      error: "terraform init failed: Error: Failed to get existing workspaces",
    });
  });
});
