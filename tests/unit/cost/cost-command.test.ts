import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { run } from "../../../src/cli/cli.ts";
import { EXIT } from "../../../src/cli/exit-codes.ts";
import { memoryOutput } from "../../../src/cli/output.ts";
import type { CostReportDocument } from "../../../src/pipeline/cost/render.ts";

/** The seed's three environments (seed/design-document.md), with budgets. */
function configYaml(budgets: { dev: number; prod: number }): string {
  return `project:
  name: homebrew-bottles-sync
environments:
  dev:
    aws_region: us-west-2
    size_threshold_gb: 5
    schedule_expression: "cron(0 */6 * * ? *)"
    enable_fargate_spot: true
    budget_usd: ${budgets.dev}
  staging:
    aws_region: us-east-1
    size_threshold_gb: 15
    schedule_expression: "cron(0 3 ? * SAT *)"
    enable_fargate_spot: true
  prod:
    aws_region: us-east-1
    size_threshold_gb: 20
    schedule_expression: "cron(0 3 ? * SUN *)"
    enable_fargate_spot: false
    budget_usd: ${budgets.prod}
resources:
  lambda: { orchestrator_memory: 512, sync_memory: 3008, timeout: 900 }
  ecs: { task_cpu: 2048, task_memory: 8192, ephemeral_storage: 100 }
`;
}

let dir: string;
let within: string;
let over: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "hbsync-cost-"));
  within = join(dir, "within.yaml");
  over = join(dir, "over.yaml");
  await writeFile(within, configYaml({ dev: 1000, prod: 1000 }));
  await writeFile(over, configYaml({ dev: 1, prod: 1000 }));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function cost(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const output = memoryOutput();
  const code = await run(["cost", ...args], output, { cwd: dir, env: {} });
  return { code, stdout: output.stdout.join("\n"), stderr: output.stderr.join("\n") };
}

describe("cli/commands/cost", () => {
  describe("hbsync cost", () => {
    it("exits 3 with a warning when dev's estimate exceeds its budget", async () => {
      const result = await cost(["--env", "dev", "--config", over]);
      expect(result.code).toBe(EXIT.OVER_BUDGET);
      expect(result.stdout).toContain("dev (us-west-2)");
      expect(result.stdout).toMatch(/WARNING: dev: estimated \$\d+\.\d\d\/month exceeds budget_usd \$1\.00/);
      expect(result.stderr).toMatch(/^error: over budget: dev: /);
      expect(result.stderr).toContain("fix: ");
    });

    it("exits 0 when every estimate is within its budget", async () => {
      const result = await cost(["--all", "--config", within]);
      expect(result.code).toBe(EXIT.OK);
      for (const env of ["dev (us-west-2)", "staging (us-east-1)", "prod (us-east-1)"]) {
        expect(result.stdout).toContain(env);
      }
      expect(result.stdout).not.toContain("WARNING");
    });

    it("estimates every environment by default and exits 3 when any one is over budget", async () => {
      const result = await cost(["--config", over]);
      expect(result.code).toBe(EXIT.OVER_BUDGET);
      expect(result.stdout).toContain("prod (us-east-1)");
    });

    it("prints one JSON document with line items, usage, assumptions and recommendations", async () => {
      const result = await cost(["--all", "--format", "json", "--config", over]);
      expect(result.code).toBe(EXIT.OVER_BUDGET);
      const document = JSON.parse(result.stdout) as CostReportDocument;
      expect(document.environments.map((env) => env.env)).toEqual(["dev", "staging", "prod"]);
      expect(document.overBudget.map((breach) => breach.env)).toEqual(["dev"]);
      const dev = document.environments[0];
      expect(dev?.lineItems.length).toBeGreaterThan(5);
      expect(dev?.usage.runsPerMonth).toBeCloseTo(4 * 30.4375, 6);
      expect(dev?.assumptions.length).toBeGreaterThan(20);
      expect(dev?.recommendations.map((rec) => rec.id)).toContain("pause-dev");
      const sum = document.environments.reduce((total, env) => total + env.totalUsd, 0);
      expect(document.totalUsd).toBeCloseTo(sum, 1);
    });

    it("--json is the same as --format json", async () => {
      const result = await cost(["--env", "prod", "--json", "--config", within]);
      expect(result.code).toBe(EXIT.OK);
      expect((JSON.parse(result.stdout) as CostReportDocument).environments).toHaveLength(1);
    });

    it("prints Markdown for the job summary, with a warning callout when over budget", async () => {
      const result = await cost(["--all", "--format", "md", "--config", over]);
      expect(result.code).toBe(EXIT.OVER_BUDGET);
      expect(result.stdout).toContain("## Monthly cost estimate");
      expect(result.stdout).toContain("> [!WARNING]");
      expect(result.stdout).toContain("| dev | us-west-2 |");
      expect(result.stdout).toContain("<details><summary>Assumptions");
    });

    it("applies --assume overrides and the --arch and --nat deployment facts", async () => {
      const base = JSON.parse(
        (await cost(["--env", "prod", "--json", "--config", within])).stdout,
      ) as CostReportDocument;
      const more = JSON.parse(
        (
          await cost([
            "--env",
            "prod",
            "--json",
            "--config",
            within,
            "--assume",
            "clientEgressGbPerMonth=110",
          ])
        ).stdout,
      ) as CostReportDocument;
      // 100 GB more egress at $0.09/GB.
      expect((more.environments[0]?.totalUsd ?? 0) - (base.environments[0]?.totalUsd ?? 0)).toBeCloseTo(9, 1);

      const arm = JSON.parse(
        (await cost(["--env", "prod", "--json", "--config", within, "--arch", "arm64", "--nat"])).stdout,
      ) as CostReportDocument;
      const ids = arm.environments[0]?.recommendations.map((rec) => rec.id);
      expect(ids).not.toContain("arm64");
      expect(ids).toContain("s3-gateway-endpoint");
    });

    it("exits 2 on conflicting or invalid options and on an unknown environment", async () => {
      expect((await cost(["--env", "dev", "--all", "--config", within])).code).toBe(EXIT.USAGE);
      expect((await cost(["--format", "xml", "--config", within])).code).toBe(EXIT.USAGE);
      expect((await cost(["--assume", "nope=1", "--config", within])).code).toBe(EXIT.USAGE);
      expect((await cost(["--arch", "sparc", "--config", within])).code).toBe(EXIT.USAGE);
      expect((await cost(["--nat", "0", "--config", within])).code).toBe(EXIT.USAGE);
      const unknown = await cost(["--env", "qa", "--config", within]);
      expect(unknown.code).toBe(EXIT.USAGE);
      expect(unknown.stderr).toContain("qa");
    });
  });
});
