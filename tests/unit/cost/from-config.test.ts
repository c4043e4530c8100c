import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../../src/config/load.ts";
import { resolveEnvironment } from "../../../src/config/resolve.ts";
import { costInputFromEnvironment, DEPLOYED_ALARMS } from "../../../src/pipeline/cost/from-config.ts";

const MODULES = fileURLToPath(new URL("../../../infra/terraform/modules/", import.meta.url));
const moduleText = (name: string): string => readFileSync(join(MODULES, name, "main.tf"), "utf8");

/** `resource "<type>" "<name>" {` blocks of a module, each with its for_each / count expression. */
function resources(text: string, type: string): Array<{ name: string; forEach?: string; count?: string }> {
  return [...text.matchAll(new RegExp(`^resource "${type}" "(\\w+)" \\{\\n([\\s\\S]*?)^\\}`, "gm"))].map(
    (m) => {
      const body = m[2] ?? "";
      const forEach = /^\s*for_each\s*=\s*(.+)$/m.exec(body)?.[1]?.trim();
      const count = /^\s*count\s*=\s*(.+)$/m.exec(body)?.[1]?.trim();
      return { name: m[1] ?? "", ...(forEach ? { forEach } : {}), ...(count ? { count } : {}) };
    },
  );
}

const YAML = `project:
  name: homebrew-bottles-sync
environments:
  dev:
    aws_region: us-west-2
    size_threshold_gb: 5
    schedule_expression: "cron(0 */6 * * ? *)"
    enable_fargate_spot: true
    budget_usd: 25
    resources:
      lambda: { sync_memory: 1024 }
      ecs: { task_cpu: 1024, task_memory: 4096 }
resources:
  lambda: { orchestrator_memory: 512, sync_memory: 3008, timeout: 900 }
  ecs: { task_cpu: 2048, task_memory: 8192, ephemeral_storage: 100 }
mirror:
  tags: [arm64_sequoia, x86_64_linux]
  formulae: { include: [git, jq], exclude: [] }
  retention_days: 14
  concurrency: { transfers: 6 }
`;

describe("cost/from-config", () => {
  describe("costInputFromEnvironment", () => {
    it("maps a resolved environment, with its resource overrides, onto the estimator's input", () => {
      const { config, errors } = parseConfig(YAML);
      expect(errors).toEqual([]);
      if (!config) throw new Error("config did not parse");
      const input = costInputFromEnvironment(resolveEnvironment(config, "dev"));
      expect(input).toMatchObject({
        env: "dev",
        region: "us-west-2",
        sizeThresholdGb: 5,
        enableFargateSpot: true,
        budgetUsd: 25,
        lambda: {
          orchestratorMemoryMb: 512,
          syncMemoryMb: 1024,
          timeoutSeconds: 900,
          architecture: "arm64",
        },
        ecs: { cpu: 1024, memoryMb: 4096, ephemeralGb: 100, architecture: "arm64" },
        mirror: {
          tags: ["arm64_sequoia", "x86_64_linux"],
          include: ["git", "jq"],
          exclude: [],
          retentionDays: 14,
          transfersConcurrency: 6,
        },
        network: { nat: false, natGateways: 0, s3GatewayEndpoint: false },
      });
      expect(input.schedule).toMatchObject({ kind: "cron", hours: [0, 6, 12, 18] });
    });

    it("prices as many alarms, dashboards and secrets as infra/terraform creates", () => {
      const monitoring = moduleText("monitoring");
      // Each alarm is per Lambda function (2: orchestrator, worker), per dead-letter queue (one per
      // function, modules/lambda) or single; anything else must be added to the count.
      const perAlarm = resources(monitoring, "aws_cloudwatch_metric_alarm").map(
        ({ name, forEach, count }) => {
          if (count) throw new Error(`alarm ${name} has a count (${count}): price it in from-config.ts`);
          if (forEach === undefined) return 1;
          if (forEach === "var.lambda_function_names" || forEach === "var.sqs_dlq_names") return 2;
          throw new Error(`alarm ${name} is per ${forEach}: price it in from-config.ts`);
        },
      );
      expect(/for_each\s*=\s*local\.functions/.test(moduleText("lambda"))).toBe(true);
      expect(perAlarm.reduce((a, b) => a + b, 0)).toBe(DEPLOYED_ALARMS);
      expect(resources(monitoring, "aws_cloudwatch_dashboard")).toHaveLength(1);
      expect(resources(moduleText("notifications"), "aws_secretsmanager_secret")).toEqual([
        { name: "this", count: "var.create_slack_secret ? 1 : 0" },
      ]);
      expect(moduleText("ecs")).toMatch(/name\s*=\s*"containerInsights"\s*\n\s*value\s*=\s*"enabled"/);

      const { config } = parseConfig(YAML);
      if (!config) throw new Error("config did not parse");
      const dev = resolveEnvironment(config, "dev");
      expect(costInputFromEnvironment(dev).monitoring).toEqual({
        dashboards: 1,
        alarms: DEPLOYED_ALARMS,
        secrets: dev.notifications.slack.enabled ? 1 : 0,
        containerInsights: true,
      });
      const slack = {
        ...dev,
        notifications: { ...dev.notifications, slack: { ...dev.notifications.slack, enabled: true } },
      };
      expect(costInputFromEnvironment(slack).monitoring.secrets).toBe(1);
    });

    it("takes the architecture and the NAT setup from the deployment facts", () => {
      const { config } = parseConfig(YAML);
      if (!config) throw new Error("config did not parse");
      const input = costInputFromEnvironment(resolveEnvironment(config, "dev"), {
        architecture: "arm64",
        network: { nat: true, natGateways: 3 },
      });
      expect(input.lambda.architecture).toBe("arm64");
      expect(input.ecs.architecture).toBe("arm64");
      expect(input.network).toEqual({ nat: true, natGateways: 3, s3GatewayEndpoint: false });
    });
  });
});
