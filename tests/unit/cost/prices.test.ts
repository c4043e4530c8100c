import { describe, expect, it } from "vitest";
import { DEFAULT_ASSUMPTIONS, resolveAssumptions } from "../../../src/pipeline/cost/assumptions.ts";
import { CostError } from "../../../src/pipeline/cost/errors.ts";
import { listPrices, PRICE_TABLE, pricesFor, pricesForOrAssumed } from "../../../src/pipeline/cost/prices.ts";

describe("cost/prices", () => {
  describe("PRICE_TABLE", () => {
    it("covers us-east-1 and us-west-2 with a source URL and a date on every number", () => {
      expect(Object.keys(PRICE_TABLE.regions).sort()).toEqual(["us-east-1", "us-west-2"]);
      for (const prices of Object.values(PRICE_TABLE.regions)) {
        const rows = listPrices(prices);
        expect(rows.length).toBeGreaterThanOrEqual(17);
        for (const row of rows) {
          expect(row.source, row.path).toMatch(/^https:\/\/aws\.amazon\.com\//);
          expect(row.asOf, row.path).toMatch(/^\d{4}-\d{2}-\d{2}$/);
          expect(row.usd, row.path).toBeGreaterThanOrEqual(0);
        }
      }
    });

    it("says that us-west-2 prices are assumed equal to us-east-1's, and us-east-1's are not assumed", () => {
      for (const row of listPrices(pricesFor("us-west-2")))
        expect(row.assumedFrom, row.path).toBe("us-east-1");
      for (const row of listPrices(pricesFor("us-east-1"))) expect(row.assumedFrom, row.path).toBeUndefined();
    });

    it("prices arm64 below x86_64 for Lambda and Fargate", () => {
      const prices = pricesFor("us-east-1");
      expect(prices.lambda.arm64.gbSecond.usd).toBeLessThan(prices.lambda.x86_64.gbSecond.usd);
      expect(prices.fargate.arm64.vcpuHour.usd).toBeLessThan(prices.fargate.x86_64.vcpuHour.usd);
      expect(prices.fargate.arm64.gbHour.usd).toBeLessThan(prices.fargate.x86_64.gbHour.usd);
    });

    it("keeps the Spot discount as a documented assumption matching the default", () => {
      expect(PRICE_TABLE.spotDiscount.fraction).toBe(DEFAULT_ASSUMPTIONS.spotDiscount);
      expect(PRICE_TABLE.spotDiscount.note).toContain("--assume spotDiscount");
    });
  });

  describe("pricesFor", () => {
    it("throws a CostError naming the known regions for a region without prices", () => {
      expect(() => pricesFor("eu-west-1")).toThrow(CostError);
      expect(() => pricesFor("eu-west-1")).toThrow(/us-east-1, us-west-2/);
    });
  });

  describe("pricesForOrAssumed", () => {
    it("falls back to us-east-1 prices marked as assumed, with a note", () => {
      const { prices, note } = pricesForOrAssumed("eu-west-1");
      expect(prices.region).toBe("eu-west-1");
      expect(prices.s3.standardGbMonth.assumedFrom).toBe("us-east-1");
      expect(note).toContain("not in the price table");
      expect(pricesForOrAssumed("us-east-1").note).toBeUndefined();
    });
  });
});

describe("cost/assumptions", () => {
  describe("resolveAssumptions", () => {
    it("applies key=value overrides on top of the defaults", () => {
      const assumptions = resolveAssumptions(["clientEgressGbPerMonth=250", "spotDiscount=0.5"]);
      expect(assumptions.clientEgressGbPerMonth).toBe(250);
      expect(assumptions.spotDiscount).toBe(0.5);
      expect(assumptions.averageBottleMb).toBe(DEFAULT_ASSUMPTIONS.averageBottleMb);
    });

    it("rejects unknown keys, malformed pairs, out-of-range fractions and zero rates as usage errors", () => {
      for (const bad of [
        "nope=1",
        "clientEgressGbPerMonth",
        "spotDiscount=1.5",
        "averageBottleMb=-1",
        "daysPerMonth=0",
      ]) {
        let error: unknown;
        try {
          resolveAssumptions([bad]);
        } catch (caught) {
          error = caught;
        }
        expect(error, bad).toBeInstanceOf(CostError);
        expect((error as CostError).kind, bad).toBe("usage");
      }
    });
  });
});
