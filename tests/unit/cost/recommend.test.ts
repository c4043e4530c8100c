import { describe, expect, it } from "vitest";
import { DEFAULT_ASSUMPTIONS } from "../../../src/pipeline/cost/assumptions.ts";
import { estimateMonthlyCost, microsToUsd } from "../../../src/pipeline/cost/estimate.ts";
import { pricesFor } from "../../../src/pipeline/cost/prices.ts";
import { recommend } from "../../../src/pipeline/cost/recommend.ts";
import type { CostInput, Recommendation } from "../../../src/pipeline/cost/types.ts";
import { costInput } from "./fixtures.ts";

const PRICES = pricesFor("us-east-1");

function advice(input: CostInput): Recommendation[] {
  return recommend(input, PRICES, DEFAULT_ASSUMPTIONS);
}

function ids(input: CostInput): string[] {
  return advice(input).map((rec) => rec.id);
}

function find(input: CostInput, id: Recommendation["id"]): Recommendation {
  const rec = advice(input).find((candidate) => candidate.id === id);
  if (!rec) throw new Error(`expected a ${id} recommendation, got ${ids(input).join(", ") || "none"}`);
  return rec;
}

const ARM = {
  lambda: { orchestratorMemoryMb: 512, syncMemoryMb: 1024, timeoutSeconds: 900, architecture: "arm64" },
  ecs: { cpu: 2048, memoryMb: 8192, ephemeralGb: 21, architecture: "arm64" },
} as const;

/** With the defaults each daily run moves ≈ 1.5 GB: a 1 GB threshold sends it to ECS. */
const ON_ECS = { sizeThresholdGb: 1 };

describe("cost/recommend", () => {
  describe("recommend", () => {
    it("makes no recommendation for a configuration with nothing to improve", () => {
      expect(advice(costInput({ ...ARM }))).toEqual([]);
    });

    it("recommends arm64 when x86_64 is configured, with the saving of the arm64 estimate", () => {
      const input = costInput();
      const rec = find(input, "arm64");
      const armTotal = estimateMonthlyCost({ ...input, ...ARM }, PRICES, DEFAULT_ASSUMPTIONS).totalMicros;
      const base = estimateMonthlyCost(input, PRICES, DEFAULT_ASSUMPTIONS).totalMicros;
      expect(rec.savingMicros).toBe(base - armTotal);
      expect(rec.savingUsd).toBe(microsToUsd(base - armTotal));
      expect(rec.savingUsd).toBeGreaterThan(0);
      expect(ids(costInput({ ...ARM }))).not.toContain("arm64");
    });

    it("recommends Fargate Spot for a non-production environment whose runs go to on-demand ECS", () => {
      const rec = find(costInput({ ...ARM, ...ON_ECS, env: "staging" }), "fargate-spot");
      expect(rec.action).toBe("set environments.staging.enable_fargate_spot: true");
      expect(rec.savingUsd).toBeGreaterThan(0);
    });

    it("does not recommend Fargate Spot in prod, when Spot is on, or when nothing runs on ECS", () => {
      expect(ids(costInput({ ...ARM, ...ON_ECS, env: "prod" }))).not.toContain("fargate-spot");
      expect(ids(costInput({ ...ARM, ...ON_ECS, env: "production" }))).not.toContain("fargate-spot");
      expect(ids(costInput({ ...ARM, ...ON_ECS, env: "staging", enableFargateSpot: true }))).not.toContain(
        "fargate-spot",
      );
      expect(ids(costInput({ ...ARM, env: "staging" }))).not.toContain("fargate-spot");
    });

    it("recommends a smaller sync worker when its memory is at least twice what the transfers need", () => {
      const input = costInput({ lambda: { ...ARM.lambda, syncMemoryMb: 3008 } });
      const rec = find(input, "lambda-memory");
      // 512 MB + 128 MB × 4 transfers = 1,024 MB.
      expect(rec.action).toBe("resources.lambda.sync_memory: 1024");
      const smaller = estimateMonthlyCost(
        { ...input, lambda: { ...input.lambda, syncMemoryMb: 1024 } },
        PRICES,
        DEFAULT_ASSUMPTIONS,
      );
      expect(rec.savingMicros).toBe(
        estimateMonthlyCost(input, PRICES, DEFAULT_ASSUMPTIONS).totalMicros - smaller.totalMicros,
      );
    });

    it("recommends a 512 MB orchestrator when it has more", () => {
      const rec = find(costInput({ lambda: { ...ARM.lambda, orchestratorMemoryMb: 2048 } }), "lambda-memory");
      expect(rec.action).toBe("resources.lambda.orchestrator_memory: 512");
    });

    it("does not recommend memory changes when sizes fit, or when the oversized worker never runs", () => {
      expect(ids(costInput({ ...ARM }))).not.toContain("lambda-memory");
      expect(ids(costInput({ lambda: { ...ARM.lambda, syncMemoryMb: 2047 } }))).not.toContain(
        "lambda-memory",
      );
      // Runs go to ECS: the worker's memory costs nothing.
      expect(ids(costInput({ ...ON_ECS, lambda: { ...ARM.lambda, syncMemoryMb: 3008 } }))).not.toContain(
        "lambda-memory",
      );
    });

    it("recommends an S3 gateway endpoint when S3 traffic goes through NAT, saving its processing charge", () => {
      const input = costInput({ ...ARM, network: { nat: true, natGateways: 1, s3GatewayEndpoint: false } });
      const rec = find(input, "s3-gateway-endpoint");
      const usage = estimateMonthlyCost(input, PRICES, DEFAULT_ASSUMPTIONS).usage;
      // The S3 half of the NAT bytes, at $0.045/GB.
      expect(rec.savingMicros).toBe(
        Math.round(usage.nat.processedGb * 0.045 * 1e6) -
          Math.round(usage.nat.processedGb * 0.5 * 0.045 * 1e6),
      );
    });

    it("does not recommend an S3 gateway endpoint without NAT or when one exists", () => {
      expect(ids(costInput({ ...ARM }))).not.toContain("s3-gateway-endpoint");
      expect(
        ids(costInput({ ...ARM, network: { nat: true, natGateways: 1, s3GatewayEndpoint: true } })),
      ).not.toContain("s3-gateway-endpoint");
    });

    it("recommends Intelligent-Tiering when superseded bottles are kept long", () => {
      const rec = find(
        costInput({ ...ARM, mirror: { ...costInput().mirror, retentionDays: 30 } }),
        "storage-tiering",
      );
      expect(rec.savingUsd).toBeGreaterThan(0);
      expect(rec.action).toContain("INTELLIGENT_TIERING");
    });

    it("recommends Intelligent-Tiering for a large mirror", () => {
      const tags = ["arm64_sequoia", "arm64_sonoma", "arm64_ventura", "sequoia", "sonoma", "x86_64_linux"];
      const input = costInput({ ...ARM, mirror: { ...costInput().mirror, tags } });
      expect(estimateMonthlyCost(input, PRICES, DEFAULT_ASSUMPTIONS).usage.mirror.gb).toBeGreaterThan(500);
      expect(ids(input)).toContain("storage-tiering");
    });

    it("does not recommend tiering for a small mirror with short retention", () => {
      expect(ids(costInput({ ...ARM }))).not.toContain("storage-tiering");
    });

    it("recommends pausing a dev schedule that runs at night and at weekends", () => {
      const rec = find(costInput({ ...ARM, schedule: "cron(0 */6 * * ? *)" }), "pause-dev");
      expect(rec.action).toContain("hbsync env pause dev");
      expect(rec.action).toContain("hbsync env resume dev");
      expect(rec.detail).toContain("fall outside Mon-Fri 08:00-18:00 UTC");
      expect(rec.savingUsd).toBeGreaterThan(0);
    });

    it("does not recommend pausing a dev schedule inside working hours, a prod schedule, or a weekly one", () => {
      expect(ids(costInput({ ...ARM, schedule: "cron(0 9-17 ? * MON-FRI *)" }))).not.toContain("pause-dev");
      expect(ids(costInput({ ...ARM, env: "prod", schedule: "cron(0 */6 * * ? *)" }))).not.toContain(
        "pause-dev",
      );
      // One run a week: pausing could only move it into working hours, at no saving.
      expect(ids(costInput({ ...ARM, schedule: "cron(0 3 ? * SUN *)" }))).not.toContain("pause-dev");
    });

    it("recommends pausing an hourly dev rate, but not a daily one whose time of day is unknown", () => {
      expect(ids(costInput({ ...ARM, schedule: "rate(1 hour)" }))).toContain("pause-dev");
      expect(ids(costInput({ ...ARM, schedule: "rate(1 day)" }))).not.toContain("pause-dev");
    });
  });
});
