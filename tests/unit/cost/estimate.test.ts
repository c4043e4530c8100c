import { describe, expect, it } from "vitest";
import { type Assumptions, DEFAULT_ASSUMPTIONS } from "../../../src/pipeline/cost/assumptions.ts";
import { type CostEstimate, estimateMonthlyCost, microsToUsd } from "../../../src/pipeline/cost/estimate.ts";
import { PRICE_TABLE, pricesFor } from "../../../src/pipeline/cost/prices.ts";
import { costInput } from "./fixtures.ts";

function assume(overrides: Partial<Assumptions>): Assumptions {
  return { ...DEFAULT_ASSUMPTIONS, ...overrides };
}

/** item label → micro-dollars, to compare every line with the hand computation. */
function micros(estimate: CostEstimate): Record<string, number> {
  return Object.fromEntries(
    estimate.lineItems.map((line) => [`${line.service}: ${line.item}`, line.costMicros]),
  );
}

describe("cost/estimate", () => {
  describe("estimateMonthlyCost", () => {
    it("prices a Lambda-only environment as computed by hand (case A)", () => {
      // rate(1 day), 30-day month → 30 runs. 1 tag × 1,000 bottles (no `all`) × 10.24 MB = 10 GB mirror.
      // Churn 0.7/week → 1,000 × 0.7 × 30/7 = 3,000 bottles/month → 100 bottles (1.0 GB) per run,
      // plus 102.4 MB (0.1 GB) of API files → 1.1 GB = 1,126.4 MB per run; ≤ 5 GB → worker Lambda.
      //
      // orchestrator: (30 + 0.05 × 100) s × 0.5 GB × 30 = 525 GB-s × $0.0000166667 = $0.0087500175 → 8,750 µ$
      // orchestrator requests: 30 × $0.0000002 = $0.000006 → 6 µ$
      // worker: (15 + 1,126.4 / 40) s = 43.16 s × 1 GB × 30 = 1,294.8 GB-s × $0.0000166667 = $0.0215800432 → 21,580 µ$
      // worker requests: 30 × 1 invocation × $0.0000002 → 6 µ$
      // S3 storage: 10 GB + superseded 10 × 0.7 × 7/7 = 7 GB + 0.1 GB API = 17.1 GB × $0.023 = $0.3933 → 393,300 µ$
      // noncurrent versions (30 days): pruned 10 × 0.7 × 30/7 = 30 GB + rewritten 30 runs × 30/30 ×
      //   (102.4 + 10 state) MB / 1,024 = 3.29296875 GB → 33.29296875 GB × $0.023 = $0.7657382813 → 765,738 µ$
      // PUT per bottle: 2 + 3% multipart × (2 + ⌈200/8⌉ − 1 = 26) = 2.78
      // PUT: 30 × (100 × 2.78 + 20) = 8,940 × $0.000005 = $0.0447 → 44,700 µ$
      // GET: 30 × 10 + client 10 GB × 1,024 / 10.24 MB = 1,000 → 1,300 × $0.0000004 = $0.00052 → 520 µ$
      // data transfer out: 10 GB × $0.09 = $0.90 → 900,000 µ$
      // logs: 30 × (20 + 100 × 0.5) KB = 2,100 KB = 0.0020027161 GB × $0.50 = $0.0010013580 → 1,001 µ$
      // log storage: 0.0020027161 GB × 30/30 × $0.03 = $0.0000600815 → 60 µ$
      // EventBridge: 30 × $0 → 0
      // total = 8,750 + 6 + 21,580 + 6 + 393,300 + 765,738 + 44,700 + 520 + 900,000 + 1,001 + 60
      //       = 2,135,661 µ$ → $2.14
      const estimate = estimateMonthlyCost(
        costInput({ schedule: "rate(1 day)" }),
        pricesFor("us-east-1"),
        assume({
          daysPerMonth: 30,
          bottlesPerTag: 1000,
          allTagFraction: 0,
          averageBottleMb: 10.24,
          weeklyChurnFraction: 0.7,
          apiMbPerRun: 102.4,
          clientEgressGbPerMonth: 10,
        }),
      );
      expect(micros(estimate)).toEqual({
        "Lambda: orchestrator compute (512 MB, x86_64)": 8750,
        "Lambda: orchestrator requests": 6,
        "Lambda: sync worker compute (1024 MB, x86_64)": 21580,
        "Lambda: sync worker requests": 6,
        "S3: Standard storage": 393300,
        "S3: noncurrent versions (pruned bottles, rewritten API and state; 30 days)": 765738,
        "S3: PUT/LIST requests": 44700,
        "S3: GET requests (sync + clients)": 520,
        "Data transfer: out to the internet (brew clients)": 900000,
        "CloudWatch Logs: ingestion": 1001,
        "CloudWatch Logs: storage (30-day retention)": 60,
        "EventBridge: schedule invocations": 0,
      });
      expect(estimate.totalMicros).toBe(2_135_661);
      expect(estimate.totalUsd).toBe(2.14);
      expect(estimate.usage.worker).toBe("lambda");
    });

    it("prices an on-demand ECS environment behind a NAT gateway as computed by hand (case B)", () => {
      // rate(7 days), 28-day month → 4 runs. 2 tags × 2,000 bottles × 25.6 MB = 100 GB mirror.
      // Churn 0.25/week → 4,000 × 0.25 × 28/7 = 4,000 bottles/month → 1,000 bottles = 25 GB per run,
      // no API bytes; 25 GB > 20 GB threshold → ECS. Task: 50 s + 25,600 MB / 64 MB/s = 450 s = 0.125 h;
      // × 4 runs = 0.5 task-hours.
      //
      // orchestrator: (30 + 0.05 × 1,000) s × 0.5 GB × 4 = 160 GB-s × $0.0000166667 = $0.0026666720 → 2,667 µ$
      // orchestrator requests: 4 × $0.0000002 = $0.0000008 → 1 µ$
      // vCPU: 0.5 h × 2 vCPU × $0.04048 = $0.04048 → 40,480 µ$
      // memory: 0.5 h × 8 GB × $0.004445 = $0.01778 → 17,780 µ$
      // ephemeral: 0.5 h × (100 − 20) GB × $0.000111 = $0.00444 → 4,440 µ$
      // S3 storage: 100 GB + superseded 100 × 0.25 × 14/7 = 50 GB = 150 GB × $0.023 = $3.45 → 3,450,000 µ$
      // noncurrent versions: pruned 100 × 0.25 × 30/7 = 107.1428571429 GB + rewritten 4 × 30/28 × 10 MB /
      //   1,024 = 0.0418526786 GB → 107.1847098214 GB × $0.023 = $2.4652483259 → 2,465,248 µ$
      // PUT: 4 × (1,000 × 2.78 + 20) = 11,200 × $0.000005 = $0.056 → 56,000 µ$
      // GET: 4 × 10 = 40 × $0.0000004 = $0.000016 → 16 µ$
      // data transfer out: 0 GB → 0
      // logs: 4 × (20 + 1,000 × 0.5) KB = 2,080 KB = 0.0019836426 GB × $0.50 = $0.0009918213 → 992 µ$
      // log storage: 0.0019836426 GB × 28/28 × $0.03 = $0.0000595093 → 60 µ$
      // EventBridge: 0
      // NAT hours: 1 × 730 h × $0.045 = $32.85 → 32,850,000 µ$
      // NAT processed: 4 runs × 25 GB × 2 (download + S3 upload) = 200 GB × $0.045 = $9.00 → 9,000,000 µ$
      // total = 2,667 + 1 + 40,480 + 17,780 + 4,440 + 3,450,000 + 2,465,248 + 56,000 + 16 + 0 + 992
      //       + 60 + 32,850,000 + 9,000,000 = 47,887,684 µ$ → $47.89
      const estimate = estimateMonthlyCost(
        costInput({
          schedule: "rate(7 days)",
          sizeThresholdGb: 20,
          ecs: { cpu: 2048, memoryMb: 8192, ephemeralGb: 100, architecture: "x86_64" },
          mirror: {
            tags: ["arm64_sequoia", "x86_64_linux"],
            include: [],
            exclude: [],
            retentionDays: 14,
            transfersConcurrency: 4,
          },
          network: { nat: true, natGateways: 1, s3GatewayEndpoint: false },
        }),
        pricesFor("us-east-1"),
        assume({
          daysPerMonth: 28,
          bottlesPerTag: 2000,
          allTagFraction: 0,
          averageBottleMb: 25.6,
          weeklyChurnFraction: 0.25,
          apiMbPerRun: 0,
          ecsThroughputMbPerSecond: 64,
          ecsOverheadSeconds: 50,
          clientEgressGbPerMonth: 0,
          logRetentionDays: 28,
        }),
      );
      expect(micros(estimate)).toEqual({
        "Lambda: orchestrator compute (512 MB, x86_64)": 2667,
        "Lambda: orchestrator requests": 1,
        "ECS Fargate: task vCPU (2 vCPU, x86_64)": 40480,
        "ECS Fargate: task memory (8 GB, x86_64)": 17780,
        "ECS Fargate: ephemeral storage above 20 GB (80 GB)": 4440,
        "S3: Standard storage": 3450000,
        "S3: noncurrent versions (pruned bottles, rewritten API and state; 30 days)": 2465248,
        "S3: PUT/LIST requests": 56000,
        "S3: GET requests (sync + clients)": 16,
        "Data transfer: out to the internet (brew clients)": 0,
        "CloudWatch Logs: ingestion": 992,
        "CloudWatch Logs: storage (28-day retention)": 60,
        "EventBridge: schedule invocations": 0,
        "VPC: NAT gateway hours (1)": 32850000,
        "VPC: NAT gateway data processed": 9000000,
      });
      expect(estimate.totalMicros).toBe(47_887_684);
      expect(estimate.totalUsd).toBe(47.89);
      expect(estimate.usage.worker).toBe("ecs");
    });

    it("prices the dashboard, the alarms, the Slack secret and Container Insights (case D)", () => {
      // Case B's ECS runs (rate(7 days), 28-day month → 4 runs of 450 s = 0.125 h each; 0.5 task-hours)
      // with what the stack deploys besides them: 1 dashboard, 9 alarms, 1 secret, Container Insights.
      //
      // dashboard: 1 × $3.00 → 3,000,000 µ$; alarms: 9 × $0.10 = $0.90 → 900,000 µ$
      // secret: 1 × $0.40 → 400,000 µ$; GetSecretValue: 4 runs × 2 = 8 × $0.000005 = $0.00004 → 40 µ$
      // Container Insights metrics: each run sends during ⌈450 / 3,600⌉ = 1 hour → 4 of 730 hours × 24
      //   series = 0.1315068493 metric-months × $0.30 = $0.0394520548 → 39,452 µ$
      // performance events: 0.5 task-hours × 120 KB = 60 KB = 0.0000572205 GB × $0.50 → 29 µ$
      const input = costInput({
        schedule: "rate(7 days)",
        sizeThresholdGb: 20,
        mirror: {
          tags: ["arm64_sequoia", "x86_64_linux"],
          include: [],
          exclude: [],
          retentionDays: 14,
          transfersConcurrency: 4,
        },
        monitoring: { dashboards: 1, alarms: 9, secrets: 1, containerInsights: true },
      });
      const a = assume({
        daysPerMonth: 28,
        bottlesPerTag: 2000,
        allTagFraction: 0,
        averageBottleMb: 25.6,
        weeklyChurnFraction: 0.25,
        apiMbPerRun: 0,
        ecsThroughputMbPerSecond: 64,
        ecsOverheadSeconds: 50,
        clientEgressGbPerMonth: 0,
      });
      const withMonitoring = estimateMonthlyCost(input, pricesFor("us-east-1"), a);
      expect(withMonitoring.usage.worker).toBe("ecs");
      expect(micros(withMonitoring)).toMatchObject({
        "CloudWatch: dashboard": 3_000_000,
        "CloudWatch: metric alarms (9)": 900_000,
        "Secrets Manager: Slack webhook secret": 400_000,
        "Secrets Manager: GetSecretValue calls": 40,
        "CloudWatch: Container Insights metrics (hours a task runs)": 39_452,
        "CloudWatch Logs: Container Insights performance events": 29,
      });
      const without = estimateMonthlyCost(
        { ...input, monitoring: { dashboards: 0, alarms: 0, secrets: 0, containerInsights: false } },
        pricesFor("us-east-1"),
        a,
      );
      expect(withMonitoring.totalMicros - without.totalMicros).toBe(
        3_000_000 + 900_000 + 400_000 + 40 + 39_452 + 29,
      );
    });

    it("bills no Container Insights when the runs go to the worker Lambda (no task sends metrics)", () => {
      const estimate = estimateMonthlyCost(
        costInput({ monitoring: { dashboards: 1, alarms: 9, secrets: 0, containerInsights: true } }),
        pricesFor("us-east-1"),
        DEFAULT_ASSUMPTIONS,
      );
      expect(estimate.usage.worker).toBe("lambda");
      const items = estimate.lineItems.map((line) => `${line.service}: ${line.item}`);
      expect(items).toContain("CloudWatch: dashboard");
      expect(items.filter((item) => /Container Insights|Secrets Manager/.test(item))).toEqual([]);
    });

    it("prices an arm64 Fargate Spot environment in us-west-2 as computed by hand (case C)", () => {
      // rate(1 day), 30-day month → 30 runs. 1 tag × 500 bottles + 20% `all` = 600 bottles × 51.2 MB = 30 GB.
      // Churn 0.7/week → 600 × 0.7 × 30/7 = 1,800 bottles/month → 60 bottles = 3 GB per run > 2 GB → ECS.
      // Task: 42 s + 3,072 MB / 64 MB/s = 90 s = 0.025 h; × 30 = 0.75 task-hours. Spot = 70% off.
      //
      // orchestrator (arm64): (30 + 0.05 × 60) s × 0.5 GB × 30 = 495 GB-s × $0.0000133334 = $0.0066000330 → 6,600 µ$
      // orchestrator requests: 30 × $0.0000002 → 6 µ$
      // vCPU: 0.75 h × 2 vCPU × ($0.03238 × 0.3 = $0.009714) = $0.014571 → 14,571 µ$
      // memory: 0.75 h × 4 GB × ($0.00356 × 0.3 = $0.001068) = $0.003204 → 3,204 µ$
      // ephemeral (no Spot discount): 0.75 h × 1 GB × $0.000111 = $0.00008325 → 83 µ$
      // S3 storage: 30 GB + superseded 30 × 0.7 × 0/7 = 0 → 30 GB × $0.023 = $0.69 → 690,000 µ$
      // noncurrent versions: pruned 30 × 0.7 × 30/7 = 90 GB + rewritten 30 × 30/30 × 10 MB / 1,024
      //   = 0.29296875 GB → 90.29296875 GB × $0.023 = $2.0767382813 → 2,076,738 µ$
      // PUT: 30 × (60 × 2.78 + 20) = 5,604 × $0.000005 = $0.02802 → 28,020 µ$
      // GET: 30 × 10 + client 5 GB × 1,024 / 51.2 MB = 100 → 400 × $0.0000004 = $0.00016 → 160 µ$
      // data transfer out: 5 GB × $0.09 = $0.45 → 450,000 µ$
      // logs: 30 × (20 + 60 × 0.5) KB = 1,500 KB = 0.0014305115 GB × $0.50 = $0.0007152557 → 715 µ$
      // log storage: 0.0014305115 GB × 30/30 × $0.03 = $0.0000429153 → 43 µ$
      // total = 6,600 + 6 + 14,571 + 3,204 + 83 + 690,000 + 2,076,738 + 28,020 + 160 + 450,000 + 715 + 43
      //       = 3,270,140 µ$ → $3.27
      const estimate = estimateMonthlyCost(
        costInput({
          env: "staging",
          region: "us-west-2",
          schedule: "rate(1 day)",
          sizeThresholdGb: 2,
          enableFargateSpot: true,
          lambda: {
            orchestratorMemoryMb: 512,
            syncMemoryMb: 1024,
            timeoutSeconds: 900,
            architecture: "arm64",
          },
          ecs: { cpu: 2048, memoryMb: 4096, ephemeralGb: 21, architecture: "arm64" },
          mirror: {
            tags: ["arm64_sonoma"],
            include: [],
            exclude: [],
            retentionDays: 0,
            transfersConcurrency: 4,
          },
        }),
        pricesFor("us-west-2"),
        assume({
          daysPerMonth: 30,
          bottlesPerTag: 500,
          allTagFraction: 0.2,
          averageBottleMb: 51.2,
          weeklyChurnFraction: 0.7,
          apiMbPerRun: 0,
          ecsThroughputMbPerSecond: 64,
          ecsOverheadSeconds: 42,
          clientEgressGbPerMonth: 5,
          spotDiscount: 0.7,
        }),
      );
      expect(micros(estimate)).toEqual({
        "Lambda: orchestrator compute (512 MB, arm64)": 6600,
        "Lambda: orchestrator requests": 6,
        "ECS Fargate: task vCPU (2 vCPU, Spot, arm64)": 14571,
        "ECS Fargate: task memory (4 GB, Spot, arm64)": 3204,
        "ECS Fargate: ephemeral storage above 20 GB (1 GB)": 83,
        "S3: Standard storage": 690000,
        "S3: noncurrent versions (pruned bottles, rewritten API and state; 30 days)": 2076738,
        "S3: PUT/LIST requests": 28020,
        "S3: GET requests (sync + clients)": 160,
        "Data transfer: out to the internet (brew clients)": 450000,
        "CloudWatch Logs: ingestion": 715,
        "CloudWatch Logs: storage (30-day retention)": 43,
        "EventBridge: schedule invocations": 0,
      });
      expect(estimate.totalMicros).toBe(3_270_140);
      expect(estimate.totalUsd).toBe(3.27);
      // Every line says its us-west-2 price is assumed from us-east-1.
      for (const line of estimate.lineItems) expect(line.source).toContain("assumed equal to us-east-1");
    });

    it("splits a long worker run into re-invocations at the Lambda timeout", () => {
      // 1 GB per run at 1 MB/s = 1,024 s + 15 s overhead = 1,039 s > 900 s → 2 invocations per run.
      const estimate = estimateMonthlyCost(
        costInput({ schedule: "rate(1 day)" }),
        pricesFor("us-east-1"),
        assume({
          daysPerMonth: 30,
          bottlesPerTag: 1000,
          allTagFraction: 0,
          averageBottleMb: 10.24,
          weeklyChurnFraction: 0.7,
          apiMbPerRun: 0,
          lambdaThroughputMbPerSecond: 1,
        }),
      );
      expect(estimate.usage.lambdaWorker.invocationsPerRun).toBe(2);
      expect(estimate.usage.lambdaWorker.requestsPerMonth).toBe(60);
    });

    it("routes a run to ECS only when its bottle bytes exceed size_threshold_gb", () => {
      const prices = pricesFor("us-east-1");
      // Default assumptions: 3 tags → 25,620 bottles ≈ 300 GB; weekly runs move ≈ 30 GB each.
      const input = costInput({
        schedule: "cron(0 3 ? * SUN *)",
        mirror: { ...costInput().mirror, tags: ["arm64_sequoia", "arm64_sonoma", "x86_64_linux"] },
      });
      const below = estimateMonthlyCost({ ...input, sizeThresholdGb: 50 }, prices, DEFAULT_ASSUMPTIONS);
      const above = estimateMonthlyCost({ ...input, sizeThresholdGb: 20 }, prices, DEFAULT_ASSUMPTIONS);
      expect(below.usage.perRun.bottleGb).toBeGreaterThan(20);
      expect(below.usage.perRun.bottleGb).toBeLessThan(50);
      expect(below.usage.worker).toBe("lambda");
      expect(above.usage.worker).toBe("ecs");
      expect(above.lineItems.some((line) => line.service === "ECS Fargate")).toBe(true);
      expect(below.lineItems.some((line) => line.service === "ECS Fargate")).toBe(false);
    });

    it("counts one bottle per tag for each included formula, minus nothing for exclusions", () => {
      const included = estimateMonthlyCost(
        costInput({ mirror: { ...costInput().mirror, include: ["git", "wget", "jq"], exclude: ["llvm"] } }),
        pricesFor("us-east-1"),
        assume({ allTagFraction: 0 }),
      );
      expect(included.usage.mirror.bottles).toBe(3);
      const excluded = estimateMonthlyCost(
        costInput({ mirror: { ...costInput().mirror, exclude: ["llvm", "gcc"] } }),
        pricesFor("us-east-1"),
        assume({ allTagFraction: 0 }),
      );
      expect(excluded.usage.mirror.bottles).toBe(DEFAULT_ASSUMPTIONS.bottlesPerTag - 2);
    });

    it("counts the OCI layout's server-side copies: bottles stored twice, two copy requests per bottle, the v2/ listings", () => {
      const prices = pricesFor("us-east-1");
      const flat = estimateMonthlyCost(costInput(), prices, DEFAULT_ASSUMPTIONS);
      const oci = estimateMonthlyCost(
        costInput({ mirror: { ...costInput().mirror, layouts: ["flat", "oci"] } }),
        prices,
        DEFAULT_ASSUMPTIONS,
      );
      const api = flat.usage.perRun.apiGb;
      expect(oci.usage.s3.copies).toBe(2);
      expect(oci.usage.s3.storedGb - api).toBeCloseTo(2 * (flat.usage.s3.storedGb - api), 6);
      const bottles = flat.usage.runsPerMonth * flat.usage.perRun.bottles;
      const lists = flat.usage.runsPerMonth * 2 * Math.ceil((flat.usage.mirror.bottles + 8400) / 1000);
      expect(oci.usage.s3.putsPerMonth - flat.usage.s3.putsPerMonth).toBeCloseTo(2 * bottles + lists, 6);
      expect(oci.lineItems.map((line) => line.item)).toContain(
        "Standard storage (bottles twice: flat and OCI layout copies)",
      );
      expect(oci.totalMicros).toBeGreaterThan(flat.totalMicros);
    });

    it("flags an estimate above a non-zero budget and ignores a zero budget", () => {
      const prices = pricesFor("us-east-1");
      const total = estimateMonthlyCost(costInput(), prices, DEFAULT_ASSUMPTIONS).totalUsd;
      expect(
        estimateMonthlyCost(costInput({ budgetUsd: total - 0.01 }), prices, DEFAULT_ASSUMPTIONS).overBudget,
      ).toBe(true);
      expect(
        estimateMonthlyCost(costInput({ budgetUsd: total }), prices, DEFAULT_ASSUMPTIONS).overBudget,
      ).toBe(false);
      expect(estimateMonthlyCost(costInput({ budgetUsd: 0 }), prices, DEFAULT_ASSUMPTIONS).overBudget).toBe(
        false,
      );
    });

    it("lists every assumption with its value and meaning", () => {
      const estimate = estimateMonthlyCost(costInput(), pricesFor("us-east-1"), DEFAULT_ASSUMPTIONS);
      expect(estimate.assumptions.map((line) => line.key)).toEqual(Object.keys(DEFAULT_ASSUMPTIONS));
      for (const line of estimate.assumptions) expect(line.description.length).toBeGreaterThan(5);
      expect(estimate.pricesAsOf).toBe(PRICE_TABLE.asOf);
    });
  });

  describe("microsToUsd", () => {
    it("rounds integer micro-dollars to the cent, half away from zero", () => {
      expect(microsToUsd(1_358_223)).toBe(1.36);
      expect(microsToUsd(1_354_999)).toBe(1.35);
      expect(microsToUsd(1_355_000)).toBe(1.36);
      expect(microsToUsd(4_999)).toBe(0);
      expect(microsToUsd(-5_000)).toBe(-0.01);
    });

    it("does not drift when many small lines add up", () => {
      // 0.1 + 0.2 ≠ 0.3 in floating point; in micro-dollars it is exact.
      expect(microsToUsd(100_000 + 200_000)).toBe(0.3);
      expect(microsToUsd(Array.from({ length: 1000 }, () => 10_000).reduce((a, b) => a + b, 0))).toBe(10);
    });
  });
});
