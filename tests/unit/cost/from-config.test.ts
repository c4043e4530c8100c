import { describe, expect, it } from "vitest";
import { parseConfig } from "../../../src/config/load.ts";
import { resolveEnvironment } from "../../../src/config/resolve.ts";
import { costInputFromEnvironment } from "../../../src/pipeline/cost/from-config.ts";

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
