import { describe, expect, it } from "vitest";
import { intervalMinutesLowerBound, parseSchedule, type Schedule } from "../../../src/config/schedule.ts";

function ok(expr: string): Schedule {
  const result = parseSchedule(expr);
  if (!result.ok) throw new Error(`expected ${expr} to parse: ${result.message}`);
  return result.schedule;
}

function bad(expr: string): { message: string; example: string } {
  const result = parseSchedule(expr);
  if (result.ok) throw new Error(`expected ${expr} to be rejected`);
  return result;
}

describe("config/schedule", () => {
  describe("parseSchedule", () => {
    it("parses rate expressions with singular and plural units", () => {
      expect(ok("rate(1 hour)")).toEqual({ kind: "rate", value: 1, unit: "hour" });
      expect(ok("rate(6 hours)")).toEqual({ kind: "rate", value: 6, unit: "hours" });
      expect(ok("rate(15 minutes)")).toEqual({ kind: "rate", value: 15, unit: "minutes" });
      expect(ok("rate(1 day)")).toEqual({ kind: "rate", value: 1, unit: "day" });
    });

    it("rejects a plural unit for 1 and a singular unit for more than 1, with the corrected example", () => {
      expect(bad("rate(1 hours)")).toMatchObject({ example: "rate(1 hour)" });
      expect(bad("rate(5 minute)")).toMatchObject({ example: "rate(5 minutes)" });
    });

    it("rejects zero, fractions, unknown units and missing parts", () => {
      for (const expr of [
        "rate(0 minutes)",
        "rate(1.5 hours)",
        "rate(2 weeks)",
        "rate(hours)",
        "rate(2  hours)",
      ]) {
        expect(bad(expr).example).toMatch(/^rate\(/);
      }
    });

    it("expands the seed's cron expressions into field values", () => {
      expect(ok("cron(0 */6 * * ? *)")).toEqual({
        kind: "cron",
        minutes: [0],
        hours: [0, 6, 12, 18],
        daysOfMonth: Array.from({ length: 31 }, (_, i) => i + 1),
        months: Array.from({ length: 12 }, (_, i) => i + 1),
        daysOfWeek: "?",
        years: "*",
        source: "cron(0 */6 * * ? *)",
      });
      expect(ok("cron(0 3 ? * SUN *)")).toMatchObject({ daysOfMonth: "?", daysOfWeek: [1], hours: [3] });
      expect(ok("cron(0 3 ? * SAT *)")).toMatchObject({ daysOfWeek: [7] });
    });

    it("supports ranges, lists, steps from a start value, month and day names", () => {
      expect(ok("cron(0/15 8-17 ? JAN-MAR MON-FRI 2025-2026)")).toMatchObject({
        minutes: [0, 15, 30, 45],
        hours: [8, 9, 10, 11, 12, 13, 14, 15, 16, 17],
        months: [1, 2, 3],
        daysOfWeek: [2, 3, 4, 5, 6],
        years: [2025, 2026],
      });
      expect(ok("cron(5,35 1,13 1,15 * ? *)")).toMatchObject({
        minutes: [5, 35],
        hours: [1, 13],
        daysOfMonth: [1, 15],
      });
      expect(ok("cron(0 0 1-10/3 * ? *)")).toMatchObject({ daysOfMonth: [1, 4, 7, 10] });
    });

    it("keeps L, W and # forms as specials", () => {
      expect(ok("cron(0 0 L * ? *)")).toMatchObject({ daysOfMonth: { special: "L" } });
      expect(ok("cron(0 0 15W * ? *)")).toMatchObject({ daysOfMonth: { special: "15W" } });
      expect(ok("cron(0 0 ? * 6L *)")).toMatchObject({ daysOfWeek: { special: "6L" } });
      expect(ok("cron(0 0 ? * MON#1 *)")).toMatchObject({ daysOfWeek: { special: "MON#1" } });
    });

    it("requires exactly one of day-of-month and day-of-week to be ?", () => {
      expect(bad("cron(0 3 * * * *)")).toMatchObject({
        message: expect.stringContaining("exactly one of day-of-month and day-of-week must be `?`"),
        example: "cron(0 3 * * ? *)",
      });
      expect(bad("cron(0 3 ? * ? *)").example).toBe("cron(0 3 * * ? *)");
    });

    it("turns a 5-field crontab into a 6-field example", () => {
      expect(bad("cron(0 */6 * * *)")).toMatchObject({
        message: "cron(…) needs 6 fields (minutes hours day-of-month month day-of-week year), got 5",
        example: "cron(0 */6 * * ? *)",
      });
    });

    it("rejects out-of-range values, backwards ranges and unknown names", () => {
      expect(bad("cron(60 0 * * ? *)").message).toContain("minutes value 60 is out of range 0-59");
      expect(bad("cron(0 24 * * ? *)").message).toContain("hours value 24");
      expect(bad("cron(0 0 32 * ? *)").message).toContain("day-of-month value 32");
      expect(bad("cron(0 0 ? * 8 *)").message).toContain("day-of-week value 8");
      expect(bad("cron(0 0 ? FOO * *)").message).toContain("month value `FOO`");
      expect(bad("cron(0 0 * * ? 1969)").message).toContain("year value 1969");
      expect(bad("cron(0 22-2 * * ? *)").message).toContain("runs backwards");
      expect(bad("cron(0 0 * * ? *) ").example).toBe("cron(0 0 * * ? *)");
    });

    it("rejects expressions that are neither cron nor rate", () => {
      expect(bad("every 6 hours")).toMatchObject({ example: "cron(0 3 ? * SUN *)" });
      expect(bad("")).toMatchObject({ example: "cron(0 3 ? * SUN *)" });
    });
  });

  describe("intervalMinutesLowerBound", () => {
    it.each([
      ["rate(1 minute)", 1],
      ["rate(30 minutes)", 30],
      ["rate(2 hours)", 120],
      ["rate(1 day)", 1440],
      ["cron(0 */6 * * ? *)", 360],
      ["cron(0/15 * * * ? *)", 15],
      ["cron(0 * * * ? *)", 60],
      ["cron(0 3 * * ? *)", 1440],
      ["cron(0 3 ? * SUN *)", 7 * 1440],
      ["cron(0 3 ? * MON-FRI *)", 1440],
      ["cron(0,58 0,23 * * ? *)", 2],
      ["cron(0 0 1 * ? *)", 28 * 1440],
    ])("gives %s a smallest gap of %i minutes", (expr, minutes) => {
      expect(intervalMinutesLowerBound(ok(expr))).toBe(minutes);
    });

    it("never exceeds the real gap across a month boundary", () => {
      // Runs on the 31st then on the 1st: one day apart.
      expect(intervalMinutesLowerBound(ok("cron(0 0 1,31 * ? *)"))).toBeLessThanOrEqual(1440);
    });
  });
});
