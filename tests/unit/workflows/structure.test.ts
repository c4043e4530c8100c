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
        "deploy-dev": ["build"],
        "deploy-staging": ["build"],
        "deploy-prod": ["build"],
        rollback: ["deploy-dev", "deploy-prod", "deploy-staging"],
        notify: [
          "build",
          "deploy-dev",
          "deploy-prod",
          "deploy-staging",
          "rollback",
          "test",
          "validate",
        ].sort(),
      });
    });

    it("calls the reusable test workflow", () => {
      expect(job("test").uses).toBe("./.github/workflows/test.yml");
    });

    it("runs only validate and test for a pull request", () => {
      expect(jobsThatRun({ event_name: "pull_request", ref: "refs/pull/7/merge" })).toEqual([
        "validate",
        "test",
      ]);
    });

    it("builds and deploys exactly one environment per push", () => {
      for (const deploy of DEPLOYS) {
        const running = jobsThatRun({ event_name: "push", ref: deploy.ref }).filter(
          (id) => id !== "rollback",
        );
        expect(running).toEqual(["validate", "test", "build", deploy.job, "notify"]);
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
    expect(node?.with).toMatchObject({ "node-version": "20", cache: "npm" });
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
