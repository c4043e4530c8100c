import { describe, expect, it } from "vitest";
import { scanWorkflow } from "../../../src/security/workflows.ts";
import {
  allRunScripts,
  environmentOf,
  evaluate,
  type Job,
  loadActions,
  loadWorkflow,
  loadWorkflows,
  needsOf,
} from "./workflow-files.ts";

const cicd = loadWorkflow("cicd.yml");
const testWorkflow = loadWorkflow("test.yml");
const security = loadWorkflow("security.yml");

const DEPLOYS = [
  {
    env: "dev",
    job: "deploy-dev",
    ref: "refs/heads/develop",
    githubEnvironment: "dev",
    secret: "AWS_ROLE_ARN_DEV",
  },
  {
    env: "staging",
    job: "deploy-staging",
    ref: "refs/heads/main",
    githubEnvironment: "staging",
    secret: "AWS_ROLE_ARN_STAGING",
  },
  {
    env: "prod",
    job: "deploy-prod",
    ref: "refs/tags/v1.4.0",
    githubEnvironment: "production",
    secret: "AWS_ROLE_ARN_PROD",
  },
] as const;

function job(id: string): Job {
  const found = cicd.jobs[id];
  if (!found) throw new Error(`cicd.yml has no job ${id}`);
  return found;
}

/** Which cicd.yml jobs would start for an event (their `if` holds, given that their needs succeeded). */
function jobsThatRun(github: Record<string, unknown>): string[] {
  return Object.entries(cicd.jobs)
    .filter(([, candidate]) => candidate.if === undefined || Boolean(evaluate(candidate.if, { github })))
    .map(([id]) => id);
}

describe("cicd.yml", () => {
  describe("triggers", () => {
    it("runs on pushes to main and develop, on v*.*.* tags, and on pull requests to main", () => {
      expect(cicd.on).toEqual({
        push: { branches: ["main", "develop"], tags: ["v*.*.*"] },
        pull_request: { branches: ["main"] },
      });
    });
  });

  describe("job graph", () => {
    it("chains validate → test → build → deploy → notify, with rollback after the deploys", () => {
      const graph = Object.fromEntries(Object.entries(cicd.jobs).map(([id, j]) => [id, needsOf(j).sort()]));
      expect(graph).toEqual({
        validate: [],
        test: ["validate"],
        build: ["test"],
        "plan-pr": ["validate"],
        "deploy-dev": ["build"],
        "deploy-staging": ["build"],
        "plan-prod": ["build"],
        "deploy-prod": ["build", "plan-prod"],
        rollback: ["deploy-dev", "deploy-prod", "deploy-staging"],
        notify: [
          "build",
          "deploy-dev",
          "deploy-prod",
          "deploy-staging",
          "plan-prod",
          "rollback",
          "test",
          "validate",
        ].sort(),
      });
    });

    it("calls the reusable test workflow", () => {
      expect(job("test").uses).toBe("./.github/workflows/test.yml");
    });

    it("runs validate, test and the staging plan for a pull request (no plan for a fork's)", () => {
      const pullRequest = (from: string) => ({
        event_name: "pull_request",
        ref: "refs/pull/7/merge",
        repository: "acme/homebrew-bottles-sync",
        event: { pull_request: { head: { repo: { full_name: from } } } },
      });
      expect(jobsThatRun(pullRequest("acme/homebrew-bottles-sync"))).toEqual(["validate", "test", "plan-pr"]);
      expect(jobsThatRun(pullRequest("someone/homebrew-bottles-sync"))).toEqual(["validate", "test"]);
    });

    it("builds and deploys exactly one environment per push (prod after its plan)", () => {
      for (const deploy of DEPLOYS) {
        const running = jobsThatRun({ event_name: "push", ref: deploy.ref }).filter(
          (id) => id !== "rollback",
        );
        const plan = deploy.env === "prod" ? ["plan-prod"] : [];
        expect(running).toEqual(["validate", "test", "build", ...plan, deploy.job, "notify"]);
      }
    });

    it("uploads the build from the build job and downloads it in every deploy job", () => {
      const upload = job("build").steps?.find((s) => s.uses?.startsWith("actions/upload-artifact@"));
      expect(upload?.with).toMatchObject({ name: "dist", path: "dist/" });
      expect(job("build").steps?.some((s) => s.run === "npm run build")).toBe(true);
      for (const deploy of DEPLOYS) {
        const download = job(deploy.job).steps?.find((s) => s.uses?.startsWith("actions/download-artifact@"));
        expect(download?.with).toMatchObject({ name: "dist", path: "dist" });
      }
    });
  });

  describe("branch and tag → environment", () => {
    it.each(DEPLOYS)("deploys $ref to $env in GitHub environment $githubEnvironment", (deploy) => {
      const j = job(deploy.job);
      expect(environmentOf(j)).toBe(deploy.githubEnvironment);
      const step = j.steps?.find((s) => s.uses === "./.github/actions/deploy");
      expect(step?.with?.environment).toBe(deploy.env);
      expect(step?.with?.version).toBe("${{ github.sha }}");
      const credentials = j.steps?.find((s) => s.uses?.startsWith("aws-actions/configure-aws-credentials@"));
      expect(credentials?.with?.["role-to-assume"]).toBe(`\${{ secrets.${deploy.secret} }}`);
    });

    it.each(DEPLOYS)("sends tests, notifications and rollbacks for $ref to $env", (deploy) => {
      const github = { event_name: "push", ref: deploy.ref };
      expect(evaluate(String(job("test").with?.environment), { github })).toBe(deploy.env);
      expect(evaluate(String(job("notify").env?.DEPLOY_ENV), { github })).toBe(deploy.env);
      const needs = Object.fromEntries(
        DEPLOYS.map((d) => [d.job, { result: d.job === deploy.job ? "failure" : "skipped" }]),
      );
      const rollback = job("rollback");
      expect(evaluate(String(rollback.if), { github, needs, status: "failure" })).toBe(true);
      expect(evaluate(String(rollback.env?.DEPLOY_ENV), { github, needs })).toBe(deploy.env);
      expect(evaluate(String(environmentOf(rollback)), { github, needs })).toBe(deploy.githubEnvironment);
      expect(evaluate(rollback.concurrency?.group ?? "", { github, needs })).toBe(deploy.job);
    });

    it("does not roll back when nothing was deployed (a build failure)", () => {
      const needs = Object.fromEntries(DEPLOYS.map((d) => [d.job, { result: "skipped" }]));
      expect(evaluate(String(job("rollback").if), { needs, status: "failure" })).toBe(false);
    });

    it("notifies on success and on failure of a push", () => {
      const ifNotify = String(job("notify").if);
      for (const status of ["success", "failure"] as const) {
        expect(evaluate(ifNotify, { github: { event_name: "push" }, status })).toBe(true);
      }
      expect(evaluate(ifNotify, { github: { event_name: "pull_request" } })).toBe(false);
    });
  });

  describe("prod: the plan is made before the approval, and exactly it is applied after", () => {
    const planJob = job("plan-prod");
    const deploy = job("deploy-prod");
    const stepIndex = (j: Job, match: (s: NonNullable<Job["steps"]>[number]) => boolean): number =>
      (j.steps ?? []).findIndex(match);

    it("plans in a job before the production gate, with the read-only plan role, in an environment without reviewers", () => {
      expect(needsOf(deploy)).toContain("plan-prod");
      expect(environmentOf(planJob)).toBe("production-plan");
      expect(environmentOf(deploy)).toBe("production");
      const credentials = planJob.steps?.find((s) =>
        s.uses?.startsWith("aws-actions/configure-aws-credentials@"),
      );
      expect(credentials?.with?.["role-to-assume"]).toBe("${{ secrets.AWS_PLAN_ROLE_ARN_PROD }}");
      const plan = planJob.steps?.find((s) => s.uses === "./.github/actions/plan");
      expect(plan?.with).toMatchObject({ environment: "prod", version: "${{ github.sha }}" });
      expect(planJob.outputs?.["plan-sha256"]).toBe(`\${{ steps.${plan?.id}.outputs.plan-sha256 }}`);
    });

    it("uploads the plan as an artifact, which the approved job downloads and checks before applying it", () => {
      const upload = planJob.steps?.find((s) => s.uses?.startsWith("actions/upload-artifact@"));
      expect(upload?.with).toMatchObject({
        name: "tfplan-prod",
        path: "plan/",
        "if-no-files-found": "error",
      });
      const download = stepIndex(
        deploy,
        (s) => Boolean(s.uses?.startsWith("actions/download-artifact@")) && s.with?.name === "tfplan-prod",
      );
      const check = stepIndex(deploy, (s) => Boolean(s.run?.includes("check-saved-plan.sh prod")));
      const apply = stepIndex(deploy, (s) => s.uses === "./.github/actions/deploy");
      expect(download).toBeGreaterThanOrEqual(0);
      expect(check).toBeGreaterThan(download);
      expect(apply).toBeGreaterThan(check);
      expect(deploy.steps?.[check]?.env?.PLAN_SHA256).toBe("${{ needs.plan-prod.outputs.plan-sha256 }}");
      expect(deploy.steps?.[apply]?.with).toMatchObject({
        "saved-plan": "plan/prod.tfplan",
        "plan-sha256": "${{ needs.plan-prod.outputs.plan-sha256 }}",
      });
    });

    it("never plans again in the approved job: the deploy action hands the saved plan to hbsync env deploy", () => {
      const action = loadActions().find((a) => a.path === ".github/actions/deploy/action.yml");
      const step = action?.doc.runs.steps.find((s) => s.run?.includes("hbsync.js env deploy"));
      expect(step?.run).toContain('saved=(--saved-plan "$SAVED_PLAN" --plan-sha256 "$PLAN_SHA256")');
      expect(step?.env).toMatchObject({
        SAVED_PLAN: "${{ inputs.saved-plan }}",
        PLAN_SHA256: "${{ inputs.plan-sha256 }}",
      });
      const plan = loadActions().find((a) => a.path === ".github/actions/plan/action.yml");
      expect(plan?.doc.runs.steps.some((s) => s.uses === "./.github/actions/state-backend")).toBe(true);
    });

    it("plans a pull request against staging with the staging plan role, in the job summary only", () => {
      const pr = job("plan-pr");
      expect(environmentOf(pr)).toBe("staging-plan");
      const credentials = pr.steps?.find((s) => s.uses?.startsWith("aws-actions/configure-aws-credentials@"));
      expect(credentials?.with?.["role-to-assume"]).toBe("${{ secrets.AWS_PLAN_ROLE_ARN_STAGING }}");
      expect(pr.steps?.find((s) => s.uses === "./.github/actions/plan")?.with?.environment).toBe("staging");
      expect(pr.permissions).toEqual({ contents: "read", "id-token": "write" });
    });
  });

  describe("deploy jobs", () => {
    it.each(DEPLOYS)("queues $job per environment without cancelling a running deploy", (deploy) => {
      expect(job(deploy.job).concurrency).toEqual({ group: deploy.job, "cancel-in-progress": false });
    });

    it("queues a rollback behind its environment's deploys", () => {
      expect(job("rollback").concurrency?.["cancel-in-progress"]).toBe(false);
    });
  });
});

describe("test.yml", () => {
  it("is a reusable workflow taking the environment as a string input", () => {
    expect(Object.keys(testWorkflow.on)).toEqual(["workflow_call"]);
    const call = testWorkflow.on.workflow_call as {
      inputs: Record<string, { type: string; required: boolean }>;
    };
    expect(call.inputs.environment).toMatchObject({ type: "string", required: true });
  });

  it("has unit, integration and security jobs, each running its suite and uploading its JUnit report", () => {
    for (const suite of ["unit", "integration", "security"]) {
      const steps = testWorkflow.jobs[suite]?.steps ?? [];
      expect(steps.some((s) => s.run?.includes(`hbsync.js test ${suite} --report reports/${suite}`))).toBe(
        true,
      );
      const upload = steps.find((s) => s.uses?.startsWith("actions/upload-artifact@"));
      expect(upload?.with).toMatchObject({ name: `test-reports-${suite}`, path: `reports/${suite}/` });
      expect(upload?.if).toBe("${{ !cancelled() }}");
    }
  });

  it("runs the unit and integration suites on Node 22 too (the Lambda and ECS runtime), outside the summary's count", () => {
    const job = testWorkflow.jobs.node22;
    const steps = job?.steps ?? [];
    const setup = steps.find((s) => s.uses === "./.github/actions/setup");
    expect(setup?.with).toMatchObject({ "node-version": "22" });
    for (const suite of ["unit", "integration"])
      expect(
        steps.some((s) => s.run === `node bin/hbsync.js test ${suite} --report reports/node22-${suite}`),
      ).toBe(true);
    const upload = steps.find((s) => s.uses?.startsWith("actions/upload-artifact@"));
    expect(String(upload?.with?.name)).not.toMatch(/^test-reports-/);
  });

  it("summarises every suite's results after all of them, even when one failed", () => {
    const results = testWorkflow.jobs.results;
    expect(needsOf(results ?? {}).sort()).toEqual(["integration", "security", "unit"]);
    expect(results?.if).toBe("${{ !cancelled() }}");
  });
});

describe("security.yml", () => {
  it("runs weekly and on pull requests", () => {
    expect(security.on).toHaveProperty("schedule");
    expect(security.on).toHaveProperty("pull_request");
  });

  it("uploads the scan's SARIF to code scanning from the only job allowed to write security events", () => {
    const scan = security.jobs.scan;
    expect(scan?.permissions).toMatchObject({ "security-events": "write" });
    const steps = scan?.steps ?? [];
    expect(steps.some((s) => s.run?.includes("hbsync.js scan all --sarif results.sarif"))).toBe(true);
    const upload = steps.find((s) => s.uses?.startsWith("github/codeql-action/upload-sarif@"));
    expect(upload?.with?.sarif_file).toBe("results.sarif");
  });
});

describe("drift.yml", () => {
  const drift = loadWorkflow("drift.yml");
  const checkJob = drift.jobs.drift;

  it("runs on a schedule and by hand", () => {
    expect(Object.keys(drift.on).sort()).toEqual(["schedule", "workflow_dispatch"]);
  });

  it("checks every environment, each in its plan environment with its own read-only plan role", () => {
    const matrix = checkJob?.strategy?.matrix?.include ?? [];
    expect(checkJob?.strategy?.["fail-fast"]).toBe(false);
    expect(matrix.map((m) => m.env)).toEqual(DEPLOYS.map((d) => d.env));
    const secrets = {
      AWS_PLAN_ROLE_ARN_DEV: "dev-role",
      AWS_PLAN_ROLE_ARN_STAGING: "staging-role",
      AWS_PLAN_ROLE_ARN_PROD: "prod-role",
    };
    const credentials = checkJob?.steps?.find((s) =>
      s.uses?.startsWith("aws-actions/configure-aws-credentials@"),
    );
    for (const deploy of DEPLOYS) {
      const entry = matrix.find((m) => m.env === deploy.env) ?? {};
      expect(evaluate(String(environmentOf(checkJob ?? {})), { matrix: entry })).toBe(
        `${deploy.githubEnvironment}-plan`,
      );
      expect(evaluate(String(credentials?.with?.["role-to-assume"]), { matrix: entry, secrets })).toBe(
        `${deploy.env}-role`,
      );
    }
  });

  it("runs the drift check with the notification channels' secrets", () => {
    const step = checkJob?.steps?.find((s) => s.uses === "./.github/actions/drift");
    expect(step?.with?.environment).toBe("${{ matrix.env }}");
    expect(Object.keys(step?.env ?? {}).sort()).toEqual([
      "NOTIFY_EMAIL_FROM",
      "SLACK_WEBHOOK_URL",
      "SMTP_URL",
    ]);
    const action = loadActions().find((a) => a.path === ".github/actions/drift/action.yml");
    expect(action?.doc.runs.steps.some((s) => s.uses === "./.github/actions/state-backend")).toBe(true);
  });
});

describe("hardening", () => {
  const workflows = loadWorkflows();
  const actions = loadActions();

  it("never triggers on pull_request_target", () => {
    for (const file of workflows) {
      expect(Object.keys(file.doc.on), file.path).not.toContain("pull_request_target");
      expect(file.text).not.toContain("pull_request_target");
    }
  });

  it("grants only contents: read at workflow level", () => {
    for (const file of workflows) expect(file.doc.permissions, file.path).toEqual({ contents: "read" });
  });

  it("grants id-token: write exactly to the jobs that assume an AWS role", () => {
    for (const file of workflows) {
      for (const [id, j] of Object.entries(file.doc.jobs)) {
        const assumesRole = (j.steps ?? []).some((s) =>
          s.uses?.startsWith("aws-actions/configure-aws-credentials@"),
        );
        const permissions = typeof j.permissions === "object" ? j.permissions : {};
        expect(permissions["id-token"] === "write", `${file.path} › ${id}`).toBe(assumesRole);
      }
    }
  });

  it("grants no other write permission but security-events to the SARIF upload", () => {
    const writes: string[] = [];
    for (const file of workflows) {
      for (const [id, j] of Object.entries(file.doc.jobs)) {
        for (const [scope, level] of Object.entries(typeof j.permissions === "object" ? j.permissions : {})) {
          if (level === "write" && scope !== "id-token") writes.push(`${file.path} › ${id} › ${scope}`);
        }
      }
    }
    expect(writes).toEqual([".github/workflows/security.yml › scan › security-events"]);
  });

  it("sets a timeout on every job that runs steps", () => {
    for (const file of workflows) {
      for (const [id, j] of Object.entries(file.doc.jobs)) {
        if (j.uses) continue; // a reusable-workflow call: its own jobs carry the timeouts
        expect(j["timeout-minutes"], `${file.path} › ${id}`).toBeGreaterThan(0);
        expect(j["timeout-minutes"], `${file.path} › ${id}`).toBeLessThanOrEqual(60);
      }
    }
  });

  it("pins every action to a full commit SHA with a version comment, the same SHA everywhere", () => {
    const problems: string[] = [];
    const shaByAction = new Map<string, string>();
    for (const file of [...workflows, ...actions]) {
      file.text.split("\n").forEach((line, index) => {
        const match = /^\s*(?:-\s+)?uses:\s*(\S+)(.*)$/.exec(line);
        if (!match) return;
        const [, ref = "", rest = ""] = match;
        if (ref.startsWith("./")) return;
        const pinned = /^([\w.-]+\/[\w./-]+)@([0-9a-f]{40})$/.exec(ref);
        if (!pinned || !/^\s+# v\d+\.\d+\.\d+\s*$/.test(rest)) {
          problems.push(`${file.path}:${index + 1}: ${line.trim()}`);
          return;
        }
        const [, action = "", sha = ""] = pinned;
        const seen = shaByAction.get(action);
        if (seen && seen !== sha)
          problems.push(`${file.path}:${index + 1}: ${action} pinned to ${sha} and ${seen}`);
        shaByAction.set(action, sha);
      });
    }
    expect(problems).toEqual([]);
    expect([...shaByAction.keys()].sort()).toEqual([
      "actions/checkout",
      "actions/download-artifact",
      "actions/setup-node",
      "actions/upload-artifact",
      "aws-actions/configure-aws-credentials",
      "github/codeql-action/upload-sarif",
      "hashicorp/setup-terraform",
    ]);
  });

  it("interpolates no expression into a run: script (untrusted values go through env:)", () => {
    const problems = allRunScripts()
      .filter(({ script }) => /\$\{\{/.test(script) || /github\.head_ref/.test(script))
      .map(({ where }) => where);
    expect(problems).toEqual([]);
  });

  it("never checks out with a persisted token", () => {
    for (const file of workflows) {
      for (const [id, j] of Object.entries(file.doc.jobs)) {
        for (const step of j.steps ?? []) {
          if (!step.uses?.startsWith("actions/checkout@")) continue;
          expect(step.with?.["persist-credentials"], `${file.path} › ${id}`).toBe(false);
        }
      }
    }
  });

  it("installs npm packages with the setup-node npm cache", () => {
    const setup = actions.find((a) => a.path === ".github/actions/setup/action.yml");
    const node = setup?.doc.runs.steps.find((s) => s.uses?.startsWith("actions/setup-node@"));
    expect(node?.with).toMatchObject({ "node-version": "${{ inputs.node-version }}", cache: "npm" });
    expect(setup?.doc.inputs?.["node-version"]?.default).toBe("20");
    expect(setup?.doc.runs.steps.some((s) => s.run?.startsWith("npm ci"))).toBe(true);
  });

  it("passes hbsync's own workflow scanner with no finding", () => {
    for (const file of workflows) {
      const { findings, warnings } = scanWorkflow(file.path, file.text);
      expect(
        findings.map((f) => `${f.file}:${f.line} ${f.ruleId} ${f.message}`),
        file.path,
      ).toEqual([]);
      expect(warnings).toEqual([]);
    }
  });
});

describe("evaluate (test helper)", () => {
  it("follows GitHub's && / || operand semantics", () => {
    const expression = "${{ github.ref == 'refs/heads/main' && 'staging' || 'dev' }}";
    expect(evaluate(expression, { github: { ref: "refs/heads/main" } })).toBe("staging");
    expect(evaluate(expression, { github: { ref: "refs/heads/x" } })).toBe("dev");
  });
});
