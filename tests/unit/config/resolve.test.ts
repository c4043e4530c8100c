import { describe, expect, it } from "vitest";
import { parseConfig } from "../../../src/config/load.ts";
import { environmentNames, resolveEnvironment } from "../../../src/config/resolve.ts";
import { closestMatch, editDistance } from "../../../src/config/suggest.ts";
import type { PipelineConfig } from "../../../src/config/types.ts";

const TEXT = `
project: { name: demo }
environments:
  dev:
    aws_region: us-west-2
    schedule_expression: "rate(1 day)"
    resources:
      lambda: { timeout: 300 }
      ecs: { task_cpu: 1024, task_memory: 2048 }
  prod:
    aws_region: us-east-1
    schedule_expression: "cron(0 3 ? * SUN *)"
    budget_usd: 120
resources:
  lambda: { orchestrator_memory: 256 }
`;

function config(): PipelineConfig {
  const result = parseConfig(TEXT);
  if (!result.config) throw new Error(result.errors.map((e) => e.message).join("; "));
  return result.config;
}

describe("config/resolve", () => {
  describe("resolveEnvironment", () => {
    it("merges the environment's overrides over the top-level resources and defaults", () => {
      expect(resolveEnvironment(config(), "dev").resources).toEqual({
        lambda: { orchestrator_memory: 256, sync_memory: 3008, timeout: 300 },
        ecs: { task_cpu: 1024, task_memory: 2048, ephemeral_storage: 100 },
      });
    });

    it("uses the top-level resources where an environment overrides nothing", () => {
      const prod = resolveEnvironment(config(), "prod");
      expect(prod.resources.ecs).toEqual({ task_cpu: 2048, task_memory: 8192, ephemeral_storage: 100 });
      expect(prod).toMatchObject({
        name: "prod",
        budget_usd: 120,
        enable_fargate_spot: false,
        size_threshold_gb: 10,
      });
    });

    it("does not modify the config it reads", () => {
      const original = config();
      const copy = structuredClone(original);
      resolveEnvironment(original, "dev");
      expect(original).toEqual(copy);
    });

    it("lists environments in file order and refuses names that are not environments", () => {
      expect(environmentNames(config())).toEqual(["dev", "prod"]);
      expect(() => resolveEnvironment(config(), "toString")).toThrowError("unknown environment `toString`");
    });
  });

  describe("closestMatch", () => {
    it("suggests a key one or two edits away, and nothing for unrelated words", () => {
      expect(editDistance("size_treshold_gb", "size_threshold_gb")).toBe(1);
      expect(editDistance("tiemout", "timeout")).toBe(1);
      expect(closestMatch("ephemeral_storge", ["task_cpu", "ephemeral_storage"])).toBe("ephemeral_storage");
      expect(closestMatch("colour", ["aws_region", "budget_usd"])).toBeUndefined();
    });
  });
});
